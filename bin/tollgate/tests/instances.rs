//! Tollgate instances as real processes (SPEC §4 "Speed"): two servers on one PostgreSQL
//! database hear each other's changes through `LISTEN/NOTIFY`; on SQLite a server notices the
//! CLI's changes, and a clean stop (SIGTERM) writes the pending `lastAccessAt`.

mod server;

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tollgate_store::testing::TestDatabase;

use crate::server::*;

/// Two instances on one PostgreSQL database: a token created through A is accepted by B;
/// disabled through A, refused by B; enabled again, accepted again; deleted through B, refused
/// by A; its account disabled by the CLI, refused by both.
#[test]
fn two_instances_on_one_postgresql_database() -> R<()> {
    let database = TestDatabase::create()?;
    let site = Site {
        database_url: database.url().to_owned(),
        secret_key: Some(SECRET_KEY),
        previous_keys: None,
    };
    let cli_dir = tempfile::tempdir()?;
    let (account_id, _, admin) =
        site.account_and_token(cli_dir.path(), "access-management,billing")?;
    let (dir_a, dir_b) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let a = Instance::start(&site, dir_a.path())?;
    let b = Instance::start(&site, dir_b.path())?;
    for instance in [&a, &b] {
        if instance.authorize(&admin, BILLING_PATH)? != 200 {
            return Err(format!("the CLI's token is refused: {}", instance.log()).into());
        }
    }

    let created = a.expect(
        201,
        a.call(
            reqwest::Method::POST,
            &admin,
            TOKENS,
            Some(json!({"name": "Robot", "modules": [{"id": "MOD-1104"}]})),
        )?,
    )?;
    let id = text(&created, "/id")?;
    let robot = text(&created, "/token")?;
    assert_eq!(a.authorize(&robot, BILLING_PATH)?, 200, "A knows at once");
    wait_until("B to accept the token created through A", || {
        Ok(b.authorize(&robot, BILLING_PATH)? == 200)
    })?;
    assert_eq!(
        b.authorize(&robot, BILLING_PATH)?,
        200,
        "and keeps accepting it"
    );

    let switch = |instance: &Instance, action: &str| -> R<Value> {
        instance.expect(
            200,
            instance.call(
                reqwest::Method::POST,
                &admin,
                &format!("{TOKENS}/{id}/{action}"),
                None,
            )?,
        )
    };
    let disabled = switch(&a, "disable")?;
    assert_eq!(text(&disabled, "/status")?, "Disabled");
    assert_eq!(a.authorize(&robot, BILLING_PATH)?, 401, "A refuses at once");
    wait_until("B to refuse the token disabled through A", || {
        Ok(b.authorize(&robot, BILLING_PATH)? == 401)
    })?;

    switch(&a, "enable")?;
    assert_eq!(a.authorize(&robot, BILLING_PATH)?, 200, "A accepts at once");
    wait_until("B to accept the token enabled through A", || {
        Ok(b.authorize(&robot, BILLING_PATH)? == 200)
    })?;

    b.expect(
        204,
        b.call(
            reqwest::Method::DELETE,
            &admin,
            &format!("{TOKENS}/{id}"),
            None,
        )?,
    )?;
    assert_eq!(b.authorize(&robot, BILLING_PATH)?, 401, "B refuses at once");
    wait_until("A to refuse the token deleted through B", || {
        Ok(a.authorize(&robot, BILLING_PATH)? == 401)
    })?;

    // A third process (the CLI) disables the account.
    site.cli(
        cli_dir.path(),
        &["accounts", "set-status", &account_id, "disabled", "--json"],
    )?;
    wait_until(
        "both instances to refuse a token of a disabled account",
        || {
            Ok(a.authorize(&admin, BILLING_PATH)? == 401
                && b.authorize(&admin, BILLING_PATH)? == 401)
        },
    )?;

    a.stop()?;
    b.stop()?;
    Ok(())
}

fn last_access(body: &Value) -> R<Option<OffsetDateTime>> {
    body.get("lastAccessAt")
        .map(|at| -> R<OffsetDateTime> {
            let text = at.as_str().ok_or("lastAccessAt is not a string")?;
            Ok(OffsetDateTime::parse(text, &Rfc3339)?)
        })
        .transpose()
}

/// On SQLite: a use is written by the clean stop (SIGTERM) and shows after a restart; a token
/// created and an account disabled by the CLI while the server runs are noticed.
#[test]
fn last_access_survives_a_clean_restart_and_cli_changes_are_noticed_on_sqlite() -> R<()> {
    let dir = tempfile::tempdir()?;
    let site = Site {
        database_url: format!("sqlite://{}/tollgate.db", dir.path().display()),
        secret_key: None,
        previous_keys: None,
    };
    let (account_id, admin_id, admin) =
        site.account_and_token(dir.path(), "access-management,billing")?;
    let own = format!("{TOKENS}/{admin_id}");

    let first = Instance::start(&site, dir.path())?;
    let before = OffsetDateTime::now_utc() - time::Duration::seconds(1);
    let body = first.expect(200, first.call(reqwest::Method::GET, &admin, &own, None)?)?;
    assert_eq!(last_access(&body)?, None, "never used before");
    assert_eq!(first.authorize(&admin, BILLING_PATH)?, 200);
    first.stop()?;

    let second = Instance::start(&site, dir.path())?;
    let body = second.expect(200, second.call(reqwest::Method::GET, &admin, &own, None)?)?;
    let at =
        last_access(&body)?.ok_or_else(|| format!("no lastAccessAt after a restart: {body}"))?;
    let after = OffsetDateTime::now_utc() + time::Duration::seconds(1);
    assert!(before <= at && at <= after, "lastAccessAt {at}");

    // A token created by the CLI while the server runs.
    let created = site.cli(
        dir.path(),
        &[
            "tokens",
            "create",
            "--account",
            &account_id,
            "--name",
            "Robot",
            "--modules",
            "billing",
            "--json",
        ],
    )?;
    let robot = text(&created, "/token")?;
    wait_until("the server to accept a token the CLI created", || {
        Ok(second.authorize(&robot, BILLING_PATH)? == 200)
    })?;
    // Its account disabled by the CLI.
    site.cli(
        dir.path(),
        &["accounts", "set-status", &account_id, "disabled", "--json"],
    )?;
    wait_until(
        "the server to refuse the tokens of a disabled account",
        || {
            Ok(second.authorize(&robot, BILLING_PATH)? == 401
                && second.authorize(&admin, BILLING_PATH)? == 401)
        },
    )?;
    second.stop()?;
    Ok(())
}
