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
        env: Vec::new(),
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
        env: Vec::new(),
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

/// Expiry and a rotation's grace on two instances (SPEC §9): both refuse the expired value and
/// the retired previous value at the instant itself, decided in memory on each — no change
/// needs to travel. Prints how long after the instant each instance first refused.
#[test]
fn expiry_and_grace_end_on_two_instances() -> R<()> {
    let database = TestDatabase::create()?;
    let site = Site {
        database_url: database.url().to_owned(),
        secret_key: Some(SECRET_KEY),
        previous_keys: None,
        env: Vec::new(),
    };
    let cli_dir = tempfile::tempdir()?;
    let (_, _, admin) = site.account_and_token(cli_dir.path(), "access-management,billing")?;
    let (dir_a, dir_b) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let a = Instance::start(&site, dir_a.path())?;
    let b = Instance::start(&site, dir_b.path())?;
    let expires = OffsetDateTime::now_utc() + time::Duration::seconds(2);
    let created = a.expect(
        201,
        a.call(
            reqwest::Method::POST,
            &admin,
            TOKENS,
            Some(json!({"name": "Short", "modules": [{"id": "MOD-1104"}],
                        "expiresAt": expires.format(&Rfc3339)?})),
        )?,
    )?;
    let id = text(&created, "/id")?;
    let short = text(&created, "/token")?;
    let rotating = a.expect(
        201,
        a.call(
            reqwest::Method::POST,
            &admin,
            TOKENS,
            Some(json!({"name": "Rotating", "modules": [{"id": "MOD-1104"}]})),
        )?,
    )?;
    let rotating_id = text(&rotating, "/id")?;
    let old = text(&rotating, "/token")?;
    let rotated = a.expect(
        200,
        a.call(
            reqwest::Method::POST,
            &admin,
            &format!("{TOKENS}/{rotating_id}/rotate"),
            Some(json!({"gracePeriodSeconds": 2})),
        )?,
    )?;
    let grace_end = OffsetDateTime::parse(&text(&rotated, "/previousValueExpiresAt")?, &Rfc3339)?;
    let new = text(&rotated, "/token")?;
    for instance in [&a, &b] {
        wait_until("both values during the grace, and the short token", || {
            Ok(instance.authorize(&short, BILLING_PATH)? == 200
                && instance.authorize(&old, BILLING_PATH)? == 200
                && instance.authorize(&new, BILLING_PATH)? == 200)
        })?;
    }
    let mut refused: Vec<(&str, char, time::Duration)> = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut pending = vec![
        ('A', &a, &short, expires, "expiry"),
        ('B', &b, &short, expires, "expiry"),
        ('A', &a, &old, grace_end, "grace end"),
        ('B', &b, &old, grace_end, "grace end"),
    ];
    while !pending.is_empty() && std::time::Instant::now() < deadline {
        pending.retain(|(name, instance, value, instant, what)| {
            match instance.authorize(value, BILLING_PATH) {
                Ok(401) => {
                    refused.push((what, *name, OffsetDateTime::now_utc() - *instant));
                    false
                }
                _ => true,
            }
        });
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(pending.is_empty(), "still accepted after 10 s");
    for (what, name, after) in &refused {
        eprintln!("instances: {name} refused after the {what} at +{after}");
        assert!(*after >= time::Duration::ZERO, "never before the instant");
        assert!(*after < time::Duration::seconds(1), "within a second");
    }
    assert_eq!(a.authorize(&new, BILLING_PATH)?, 200);
    assert_eq!(b.authorize(&new, BILLING_PATH)?, 200);
    let read = b.expect(
        200,
        b.call(
            reqwest::Method::GET,
            &admin,
            &format!("{TOKENS}/{id}"),
            None,
        )?,
    )?;
    assert_eq!(text(&read, "/status")?, "Expired");
    a.stop()?;
    b.stop()?;
    Ok(())
}
