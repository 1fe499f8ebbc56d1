//! `tollgate keys …`: what depends on each server key, and moving to the current key
//! (docs/OPERATIONS.md, "Rotating the server key").

use serde_json::{Value, json};
use time::OffsetDateTime;
use tollgate_audit::format_timestamp;
use tollgate_domain::ticket::MAX_TICKET_LIFETIME;
use tollgate_http::web::session::SESSION_LIFETIME;
use tollgate_store::{KeyStatus, Store};

use crate::cli::KeysCommand;
use crate::commands::print;

/// `tollgate keys …`: returns whether it succeeded.
pub fn keys(store: &Store, command: KeysCommand) -> anyhow::Result<bool> {
    match command {
        KeysCommand::Status { json } => status(store, json.json),
        KeysCommand::Rotate { json } => rotate(store, json.json),
    }
}

/// Until when sessions and tickets signed with a retired key may still be accepted.
fn sign_ins_until(key: &KeyStatus) -> Option<OffsetDateTime> {
    let retired = key.record.as_ref()?.retired_at?;
    Some(retired + SESSION_LIFETIME.max(MAX_TICKET_LIFETIME))
}

fn key_value(key: &KeyStatus, now: OffsetDateTime) -> Value {
    let d = &key.dependents;
    json!({
        "id": key.key_id.to_string(),
        "role": key.role,
        "recordedAt": key.record.as_ref().map(|r| format_timestamp(r.added_at)),
        "retiredAt": key.record.as_ref().and_then(|r| r.retired_at).map(format_timestamp),
        "tokens": d.tokens,
        "deletedTokens": d.deleted_tokens,
        "sealedCopies": d.sealed_copies,
        "auditRecords": d.records,
        "rowMacs": d.row_macs,
        "liveSessions": d.live_sessions,
        "signInsAcceptedUntil": sign_ins_until(key).filter(|until| *until > now).map(format_timestamp),
        "canBeDropped": key.role != "current" && !d.blocking(),
    })
}

fn key_line(key: &KeyStatus, now: OffsetDateTime) -> String {
    let recorded = match &key.record {
        Some(record) => match record.retired_at {
            Some(retired) => format!(
                "recorded {}, retired {}",
                format_timestamp(record.added_at),
                format_timestamp(retired)
            ),
            None => format!("recorded {}", format_timestamp(record.added_at)),
        },
        None => "not recorded (never current)".to_owned(),
    };
    let mut line = format!(
        "{}  {:<8}  {recorded}\n          depends on it: {}",
        key.key_id,
        key.role,
        key.dependents.describe()
    );
    if let Some(until) = sign_ins_until(key).filter(|until| *until > now) {
        line.push_str(&format!(
            "\n          sessions and sign-in tickets it signed are accepted until {} at the latest",
            format_timestamp(until)
        ));
    }
    let advice = match key.role {
        "current" => None,
        _ if key.dependents.blocking() => Some(format!(
            "keep it in TOLLGATE_PREVIOUS_SECRET_KEYS{}",
            if key.dependents.tokens + key.dependents.sealed_copies > 0 {
                " (run `tollgate keys rotate`; tokens without a sealed copy move when next used)"
            } else {
                " (audit records stay under the key they were chained under)"
            }
        )),
        "missing" => None,
        _ => Some(
            "nothing depends on it: it can be dropped from TOLLGATE_PREVIOUS_SECRET_KEYS"
                .to_owned(),
        ),
    };
    if let Some(advice) = advice {
        line.push_str(&format!("\n          {advice}"));
    }
    line
}

/// `tollgate keys status`.
fn status(store: &Store, json_mode: bool) -> anyhow::Result<bool> {
    let now = OffsetDateTime::now_utc();
    let keys = store.key_status(now)?;
    let value = json!({"keys": keys.iter().map(|key| key_value(key, now)).collect::<Vec<_>>()});
    print(json_mode, &value, || {
        keys.iter()
            .map(|key| key_line(key, now))
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    Ok(true)
}

/// `tollgate keys rotate`.
fn rotate(store: &Store, json_mode: bool) -> anyhow::Result<bool> {
    let rotated = store.rotate_keys()?;
    let value = json!({
        "currentKey": store.keyring().current().id().to_string(),
        "resealed": rotated.resealed,
        "rowMacs": rotated.row_macs,
        "waiting": rotated.waiting,
        "refused": rotated.refused,
    });
    print(json_mode, &value, || {
        let mut lines = vec![
            format!(
                "under key {}: tokens re-hashed and re-sealed: {}; row MACs made again: {}",
                store.keyring().current().id(),
                rotated.resealed,
                rotated.row_macs
            ),
            format!(
                "tokens without a sealed copy still under an older key: {} (each moves when it \
                 is next used; see `tollgate keys status`)",
                rotated.waiting
            ),
        ];
        lines.extend(
            rotated
                .refused
                .iter()
                .map(|refused| format!("REFUSED: {refused}")),
        );
        lines.join("\n")
    })?;
    Ok(rotated.refused.is_empty())
}
