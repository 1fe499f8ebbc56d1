//! `tollgate audit …`: verify the trail (chains, revisions, row MACs, kept checkpoints) and
//! take checkpoints.

use anyhow::Context as _;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tollgate_audit::{Checkpoint, format_timestamp};
use tollgate_domain::token::to_millis;
use tollgate_store::{AuditReport, Store};

use crate::cli::AuditCommand;
use crate::commands::{account_id, print};

/// `tollgate audit …`: returns whether the trail is intact.
pub fn audit(store: &Store, command: AuditCommand) -> anyhow::Result<bool> {
    match command {
        AuditCommand::Verify {
            account,
            checkpoint,
            json,
        } => verify(store, account.as_deref(), checkpoint.as_deref(), json.json),
        AuditCommand::Checkpoint { account, json } => {
            take_checkpoint(store, account.as_deref(), json.json)
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn report_value(report: &AuditReport, file_problems: &[String], intact: bool) -> Value {
    json!({
        "intact": intact,
        "accounts": report.chains.iter().map(|r| match &r.result {
            Ok(count) => json!({"id": r.account_id, "intact": true, "records": count}),
            Err(error) => json!({"id": r.account_id, "intact": false, "error": error.to_string()}),
        }).collect::<Vec<_>>(),
        "revisions": report.revisions.iter().map(|p| json!({
            "account": p.account_id, "token": p.token_id, "problem": p.problem,
        })).collect::<Vec<_>>(),
        "rows": report.rows.iter().map(|p| json!({"row": p.row, "problem": p.problem}))
            .collect::<Vec<_>>(),
        "checkpoints": report.checkpoints.iter().map(|c| match &c.result {
            Ok(()) => json!({"account": c.account_id, "count": c.count, "intact": true}),
            Err(error) => json!({
                "account": c.account_id, "count": c.count, "intact": false,
                "error": error.to_string(),
            }),
        }).collect::<Vec<_>>(),
        "checkpointFile": file_problems,
    })
}

fn report_lines(report: &AuditReport, file_problems: &[String], intact: bool) -> String {
    let mut lines: Vec<String> = report
        .chains
        .iter()
        .map(|r| match &r.result {
            Ok(count) => format!("{}  intact ({count} records)", r.account_id),
            Err(error) => format!("{}  BROKEN: {error}", r.account_id),
        })
        .collect();
    lines.extend(
        report
            .revisions
            .iter()
            .map(|p| format!("{}  REVISION: {}", p.account_id, p.problem)),
    );
    lines.extend(
        report
            .rows
            .iter()
            .map(|p| format!("{}  ALTERED: {}", p.row, p.problem)),
    );
    lines.extend(report.checkpoints.iter().map(|c| match &c.result {
        Ok(()) => format!(
            "{}  passes the checkpoint at record #{}",
            c.account_id, c.count
        ),
        Err(error) => format!("{}  CHECKPOINT: {error}", c.account_id),
    }));
    lines.extend(
        file_problems
            .iter()
            .map(|problem| format!("CHECKPOINT FILE: {problem}")),
    );
    lines.push(if intact {
        "every audit chain is intact".into()
    } else {
        "the audit trail does not verify".into()
    });
    lines.join("\n")
}

/// `tollgate audit verify`.
fn verify(
    store: &Store,
    account: Option<&str>,
    checkpoint: Option<&std::path::Path>,
    json_mode: bool,
) -> anyhow::Result<bool> {
    let account = account.map(account_id).transpose()?;
    let mut kept = Vec::new();
    let mut file_problems = Vec::new();
    if let Some(path) = checkpoint {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the checkpoint file {}", path.display()))?;
        for line in Checkpoint::parse_all(&text, &store.keyring()) {
            match line {
                Ok(checkpoint) => kept.push(checkpoint),
                Err(error) => file_problems.push(error.to_string()),
            }
        }
        if kept.is_empty() && file_problems.is_empty() {
            file_problems.push(format!("{} holds no checkpoint", path.display()));
        }
    }
    let report = store.audit_report(account, &kept)?;
    let intact = report.intact() && file_problems.is_empty();
    print(
        json_mode,
        &report_value(&report, &file_problems, intact),
        || report_lines(&report, &file_problems, intact),
    )?;
    Ok(intact)
}

/// `tollgate audit checkpoint`: signed heads of a verified trail.
fn take_checkpoint(store: &Store, account: Option<&str>, json_mode: bool) -> anyhow::Result<bool> {
    let account = account.map(account_id).transpose()?;
    let report = store.audit_report(account, &[])?;
    if !report.intact() {
        eprintln!(
            "tollgate: the audit trail does not verify, so no checkpoint was taken; run \
             `tollgate audit verify` to see why"
        );
        return Ok(false);
    }
    let at = to_millis(OffsetDateTime::now_utc());
    let keys = store.keyring();
    let checkpoints: Vec<Checkpoint> = store
        .chain_heads(account)?
        .into_iter()
        .map(|(account, head)| Checkpoint {
            account,
            count: head.count,
            hash: head.last_hash,
            at,
        })
        .collect();
    let lines: Vec<String> = checkpoints
        .iter()
        .map(|checkpoint| checkpoint.line(keys.current()))
        .collect();
    let value = json!({
        "takenAt": format_timestamp(at),
        "checkpoints": checkpoints.iter().zip(&lines).map(|(c, line)| json!({
            "account": c.account, "count": c.count, "hash": hex(&c.hash), "line": line,
        })).collect::<Vec<_>>(),
    });
    print(json_mode, &value, || {
        let mut text = vec![format!(
            "# Tollgate audit checkpoint, taken {}. Keep it outside the database; check with \
             `tollgate audit verify --checkpoint FILE`.",
            format_timestamp(at)
        )];
        text.extend(lines.iter().cloned());
        text.join("\n")
    })?;
    Ok(true)
}
