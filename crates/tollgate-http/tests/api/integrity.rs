//! A database superuser without the server key edits the security fields (SPEC §6, live
//! state): a token given a module through `token_modules`, a module given a path through its
//! `paths`. Neither grants anything — the REST API and `/v1/authorize` stay refused — and
//! `audit verify` (the store's report) names both rows.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use reqwest::Method;
use tollgate_domain::{AccountType, ModuleId};

use crate::common::*;

const TOKENS: &str = "/public/v1/accounts/api-tokens";

fn authorize(s: &Server, value: &str, uri: &str) -> R<u16> {
    Ok(s.send(
        s.client
            .get(s.url("/v1/authorize"))
            .bearer_auth(value)
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-method", "GET")
            .header("x-forwarded-uri", uri),
    )?
    .status)
}

/// SQL as the superuser runs it, then the nudge that makes every instance re-read what changed
/// (a notification on PostgreSQL, the change sequence on SQLite).
fn as_superuser(s: &Server, sql: &str) -> TestResult {
    let mut conn = s.store.conn()?;
    conn.batch_execute(sql)?;
    // A superuser's edit tells nobody; the test says "the catalog changed" as Tollgate would.
    let nudge = match s.backend {
        Backend::Postgres => {
            "INSERT INTO change_log (payload, changed_at) VALUES ('modules', now()); \
             SELECT pg_notify('tollgate_changes', 'modules')"
        }
        Backend::Sqlite => {
            "INSERT INTO change_log (seq, payload, changed_at) \
             SELECT COALESCE(MAX(seq), 0) + 1, 'modules', CURRENT_TIMESTAMP FROM change_log"
        }
    };
    conn.batch_execute(nudge)?;
    Ok(())
}

#[test]
fn token_modules_and_module_paths_edited_by_sql_grant_nothing() -> TestResult {
    each_backend(|s| {
        let acct = s.account(AccountType::Client, "Acme")?;
        let billing = s.token(&acct, "Billing robot", &[1104])?;
        let market = s.token(&acct, "Market robot", &[1102])?;
        ensure_eq!(s.get(&billing, TOKENS)?.status, 403);
        ensure_eq!(authorize(s, &billing.value, "/public/v1/billing/x")?, 200);
        ensure_eq!(
            authorize(s, &market.value, "/public/v1/commerce/orders")?,
            200
        );
        ensure_eq!(authorize(s, &market.value, "/public/v1/secret/files")?, 403);

        as_superuser(
            s,
            &format!(
                "INSERT INTO token_modules (token_id, module_id) VALUES ('{}', 'MOD-1756'); \
                 UPDATE modules SET paths = 'commerce/,secret/' WHERE id = 'MOD-1102';",
                billing.id
            ),
        )?;
        let marketplace = ModuleId::from_number(1102).ok_or("id")?;
        let started = Instant::now();
        while s.gate.catalog().get(marketplace).is_some() {
            ensure!(
                started.elapsed() < Duration::from_secs(10),
                "the gate did not re-read the catalog"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        s.changed_elsewhere();

        // The token given access-management by SQL: refused outright (its row fails its MAC).
        ensure_eq!(s.get(&billing, TOKENS)?.status, 401);
        ensure_eq!(
            authorize(s, &billing.value, "/public/v1/accounts/users")?,
            401
        );
        ensure_eq!(authorize(s, &billing.value, "/public/v1/billing/x")?, 401);
        // The module given a path by SQL: out of the catalog, so it grants nothing at all.
        ensure_eq!(authorize(s, &market.value, "/public/v1/secret/files")?, 403);
        ensure_eq!(
            authorize(s, &market.value, "/public/v1/commerce/orders")?,
            403
        );

        let metrics = s.call(Method::GET, "/metrics", None, Body::None)?.text();
        ensure!(
            metrics.lines().any(
                |line| line.starts_with("tollgate_row_integrity_failures_total ")
                    && !line.ends_with(" 0")
            ),
            "{metrics}"
        );
        let mut rows: Vec<String> = s
            .store
            .audit_report(None, &[])?
            .rows
            .into_iter()
            .map(|problem| problem.row)
            .collect();
        rows.sort();
        ensure_eq!(
            rows,
            vec![
                "module MOD-1102".to_owned(),
                format!("token {}", billing.id)
            ]
        );
        Ok(())
    })
}
