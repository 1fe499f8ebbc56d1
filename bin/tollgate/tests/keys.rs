//! The operator's safety nets, as a process (SPEC §8 turn 2): a key that does not fit the
//! database stops `serve` and every command before anything is written; no command but `serve`
//! and `migrate` creates a database (or a key); secrets from files; `migrate --check`;
//! migrations under a lock; `audit verify` catching a deleted tail with a rolled-back head, and
//! kept checkpoints.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use diesel::connection::SimpleConnection;
use serde_json::Value;
use tollgate_store::testing::TestDatabase;

type R<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const KEY_A: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
const KEY_B: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

/// The key id (fingerprint) of a base64 key.
fn key_id(key: &str) -> R<String> {
    Ok(tollgate_domain::ServerKey::from_base64(key)
        .map_err(|e| e.to_string())?
        .derive()
        .id()
        .to_string())
}

/// `tollgate` in `dir` with a clean environment and these variables.
fn tollgate(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> R<Output> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tollgate"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TOLLGATE_") {
            command.env_remove(name);
        }
    }
    command
        .args(args)
        .current_dir(dir)
        .env("TOLLGATE_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "warn");
    for (name, value) in vars {
        command.env(name, value);
    }
    Ok(command.output()?)
}

fn ok(output: &Output, what: &str) -> R<String> {
    if !output.status.success() {
        return Err(format!("{what} failed: {}", String::from_utf8_lossy(&output.stderr)).into());
    }
    Ok(String::from_utf8(output.stdout.clone())?)
}

fn json(output: &Output, what: &str) -> R<Value> {
    Ok(serde_json::from_str(&ok(output, what)?)?)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}/tollgate.db", dir.display())
}

/// An account with a token, made with the CLI after `migrate`: (account id, token value).
fn some_data(dir: &Path, vars: &[(&str, &str)]) -> R<(String, String)> {
    ok(&tollgate(dir, &["migrate"], vars)?, "migrate")?;
    let account = json(
        &tollgate(
            dir,
            &[
                "accounts", "create", "--name", "Acme", "--type", "client", "--json",
            ],
            vars,
        )?,
        "accounts create",
    )?;
    let account_id = account["id"].as_str().ok_or("no id")?.to_owned();
    let token = json(
        &tollgate(
            dir,
            &[
                "tokens",
                "create",
                "--account",
                &account_id,
                "--name",
                "robot",
                "--modules",
                "billing",
                "--json",
            ],
            vars,
        )?,
        "tokens create",
    )?;
    Ok((
        account_id,
        token["token"].as_str().ok_or("no token")?.to_owned(),
    ))
}

fn file_bytes(path: &Path) -> R<Vec<u8>> {
    Ok(std::fs::read(path)?)
}

#[test]
fn serve_and_every_command_refuse_a_key_that_does_not_fit_and_write_nothing() -> R<()> {
    let dir = tempfile::tempdir()?;
    let url = sqlite_url(dir.path());
    let right = [
        ("TOLLGATE_DATABASE_URL", url.as_str()),
        ("TOLLGATE_SECRET_KEY", KEY_A),
    ];
    let wrong = [
        ("TOLLGATE_DATABASE_URL", url.as_str()),
        ("TOLLGATE_SECRET_KEY", KEY_B),
    ];
    let (account, _) = some_data(dir.path(), &right)?;
    let database = dir.path().join("tollgate.db");
    let before = file_bytes(&database)?;
    for args in [
        &["serve"][..],
        &["migrate"],
        &["accounts", "list"],
        &["accounts", "set-status", &account, "disabled"],
        &[
            "tokens",
            "create",
            "--account",
            &account,
            "--name",
            "x",
            "--modules",
            "billing",
        ],
        &["audit", "verify"],
        &["keys", "status"],
    ] {
        let output = tollgate(dir.path(), args, &wrong)?;
        assert!(!output.status.success(), "{args:?} ran with the wrong key");
        let message = stderr(&output);
        assert!(
            message.contains(&key_id(KEY_A)?) && message.contains(&key_id(KEY_B)?),
            "{args:?} must name both key ids: {message}"
        );
        assert!(message.contains("nothing was written"), "{message}");
    }
    assert_eq!(file_bytes(&database)?, before, "the database is untouched");
    ok(
        &tollgate(dir.path(), &["audit", "verify"], &right)?,
        "verify",
    )?;
    Ok(())
}

#[test]
fn no_command_but_serve_and_migrate_creates_a_database_or_a_key() -> R<()> {
    let dir = tempfile::tempdir()?;
    // The default URL, sqlite://./data/tollgate.db, in an empty folder.
    let output = tollgate(dir.path(), &["accounts", "list"], &[])?;
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("sqlite://./data/tollgate.db") && message.contains("tollgate migrate"),
        "{message}"
    );
    assert!(!dir.path().join("data").exists(), "nothing was created");

    // A database whose key file is lost is not given a new key.
    let url = sqlite_url(dir.path());
    let vars = [
        ("TOLLGATE_DATABASE_URL", url.as_str()),
        ("TOLLGATE_DATA_DIR", dir.path().to_str().ok_or("path")?),
    ];
    some_data(dir.path(), &vars)?;
    let key_file = dir.path().join("secret.key");
    assert!(
        key_file.exists(),
        "migrate generated the new database's key"
    );
    std::fs::remove_file(&key_file)?;
    for args in [&["serve"][..], &["migrate"], &["accounts", "list"]] {
        let output = tollgate(dir.path(), args, &vars)?;
        assert!(!output.status.success(), "{args:?}");
        assert!(
            stderr(&output).contains("secret.key"),
            "{}",
            stderr(&output)
        );
        assert!(!key_file.exists(), "{args:?} made a new key");
    }
    Ok(())
}

#[test]
fn secrets_may_come_from_files() -> R<()> {
    let dir = tempfile::tempdir()?;
    let url = sqlite_url(dir.path());
    let key_file = dir.path().join("key.txt");
    std::fs::write(&key_file, format!("{KEY_A}\n"))?;
    let url_file = dir.path().join("url.txt");
    std::fs::write(&url_file, &url)?;
    let from_files = [
        (
            "TOLLGATE_DATABASE_URL_FILE",
            url_file.to_str().ok_or("path")?,
        ),
        ("TOLLGATE_SECRET_KEY_FILE", key_file.to_str().ok_or("path")?),
    ];
    some_data(dir.path(), &from_files)?;
    // The same key given directly fits the same database.
    let direct = [
        ("TOLLGATE_DATABASE_URL", url.as_str()),
        ("TOLLGATE_SECRET_KEY", KEY_A),
    ];
    ok(
        &tollgate(dir.path(), &["accounts", "list"], &direct)?,
        "list",
    )?;
    let previous_file = dir.path().join("previous.txt");
    std::fs::write(&previous_file, KEY_A)?;
    let rotated = [
        ("TOLLGATE_DATABASE_URL", url.as_str()),
        ("TOLLGATE_SECRET_KEY", KEY_B),
        (
            "TOLLGATE_PREVIOUS_SECRET_KEYS_FILE",
            previous_file.to_str().ok_or("path")?,
        ),
    ];
    ok(
        &tollgate(dir.path(), &["accounts", "list"], &rotated)?,
        "rotated",
    )?;

    let both = [
        ("TOLLGATE_DATABASE_URL", url.as_str()),
        ("TOLLGATE_SECRET_KEY", KEY_B),
        ("TOLLGATE_SECRET_KEY_FILE", key_file.to_str().ok_or("path")?),
    ];
    let output = tollgate(dir.path(), &["accounts", "list"], &both)?;
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("set one of them"),
        "{}",
        stderr(&output)
    );
    let missing = [
        ("TOLLGATE_DATABASE_URL", url.as_str()),
        ("TOLLGATE_SECRET_KEY_FILE", "/nonexistent/key"),
    ];
    let output = tollgate(dir.path(), &["accounts", "list"], &missing)?;
    assert!(stderr(&output).contains("TOLLGATE_SECRET_KEY_FILE: cannot read /nonexistent/key"));
    for output in [
        tollgate(dir.path(), &["accounts", "list"], &both)?,
        tollgate(dir.path(), &["accounts", "list"], &rotated)?,
    ] {
        let all = format!(
            "{}{}",
            stderr(&output),
            String::from_utf8_lossy(&output.stdout)
        );
        assert!(!all.contains(KEY_A) && !all.contains(KEY_B), "{all}");
    }
    Ok(())
}

/// Reverts the newest migration straight in SQLite (its `down.sql`), as a database from before.
fn revert_newest(database: &Path) -> R<()> {
    let down = include_str!("../../../migrations/sqlite/2026-12-01-000010_server_keys/down.sql");
    let mut conn = <diesel::SqliteConnection as diesel::Connection>::establish(
        database.to_str().ok_or("path")?,
    )?;
    conn.batch_execute(down)?;
    conn.batch_execute("DELETE FROM __diesel_schema_migrations WHERE version = '20261201000010'")?;
    Ok(())
}

#[test]
fn migrate_check_reports_pending_migrations_and_changes_nothing() -> R<()> {
    let dir = tempfile::tempdir()?;
    let url = sqlite_url(dir.path());
    let vars = [
        ("TOLLGATE_DATABASE_URL", url.as_str()),
        ("TOLLGATE_SECRET_KEY", KEY_A),
    ];
    let output = tollgate(dir.path(), &["migrate", "--check"], &vars)?;
    assert_eq!(
        output.status.code(),
        Some(1),
        "no database: {}",
        stderr(&output)
    );
    assert!(!dir.path().join("tollgate.db").exists());
    some_data(dir.path(), &vars)?;
    let output = tollgate(dir.path(), &["migrate", "--check"], &vars)?;
    assert!(output.status.success(), "{}", stderr(&output));
    let database = dir.path().join("tollgate.db");
    revert_newest(&database)?;
    let before = file_bytes(&database)?;
    let output = tollgate(dir.path(), &["migrate", "--check"], &vars)?;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8(output.stdout)?.contains("2026-12-01-000010_server_keys"),
        "names the pending migration"
    );
    assert_eq!(file_bytes(&database)?, before, "--check changed nothing");
    ok(&tollgate(dir.path(), &["migrate"], &vars)?, "migrate")?;
    assert!(
        tollgate(dir.path(), &["migrate", "--check"], &vars)?
            .status
            .success()
    );
    Ok(())
}

#[test]
fn four_migrations_at_once_on_one_postgresql_database() -> R<()> {
    let database = TestDatabase::create()?;
    let dir = tempfile::tempdir()?;
    let mut children = Vec::new();
    for _ in 0..4 {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tollgate"));
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("TOLLGATE_") {
                command.env_remove(name);
            }
        }
        children.push(
            command
                .arg("migrate")
                .current_dir(dir.path())
                .env("TOLLGATE_DATABASE_URL", database.url())
                .env("TOLLGATE_SECRET_KEY", KEY_A)
                .env("RUST_LOG", "warn")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()?,
        );
    }
    for child in children {
        let output = child.wait_with_output()?;
        assert!(output.status.success(), "{}", stderr(&output));
    }
    let vars = [
        ("TOLLGATE_DATABASE_URL", database.url()),
        ("TOLLGATE_SECRET_KEY", KEY_A),
    ];
    let status = json(
        &tollgate(dir.path(), &["keys", "status", "--json"], &vars)?,
        "keys status",
    )?;
    assert_eq!(status["keys"].as_array().map(Vec::len), Some(1), "{status}");
    assert!(
        tollgate(dir.path(), &["migrate", "--check"], &vars)?
            .status
            .success()
    );
    Ok(())
}

#[test]
fn audit_verify_catches_a_deleted_tail_and_checkpoints_catch_a_shorter_chain() -> R<()> {
    let dir = tempfile::tempdir()?;
    let url = sqlite_url(dir.path());
    let vars = [
        ("TOLLGATE_DATABASE_URL", url.as_str()),
        ("TOLLGATE_SECRET_KEY", KEY_A),
    ];
    let (account, _) = some_data(dir.path(), &vars)?;
    // A second record: the cascade of removing billing from the account.
    ok(
        &tollgate(
            dir.path(),
            &[
                "accounts",
                "set-modules",
                &account,
                "--modules",
                "access-management",
            ],
            &vars,
        )?,
        "set-modules",
    )?;
    let checkpoint = ok(
        &tollgate(dir.path(), &["audit", "checkpoint"], &vars)?,
        "checkpoint",
    )?;
    assert!(
        checkpoint.contains(&format!("tollgate-checkpoint v1 {account} 2 ")),
        "{checkpoint}"
    );
    let kept: PathBuf = dir.path().join("kept.txt");
    std::fs::write(&kept, &checkpoint)?;
    let verified = tollgate(
        dir.path(),
        &[
            "audit",
            "verify",
            "--checkpoint",
            kept.to_str().ok_or("path")?,
        ],
        &vars,
    )?;
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );

    // The superuser of the issue: trigger dropped, last record deleted, head rolled back.
    let mut conn = <diesel::SqliteConnection as diesel::Connection>::establish(
        dir.path().join("tollgate.db").to_str().ok_or("path")?,
    )?;
    conn.batch_execute(&format!(
        "DROP TRIGGER audit_records_no_delete; \
         DELETE FROM audit_records WHERE chain_seq = 2; \
         UPDATE audit_chain_heads SET record_count = 1, last_hash = \
           (SELECT hash FROM audit_records WHERE account_id = '{account}' AND chain_seq = 1) \
         WHERE account_id = '{account}';"
    ))?;
    let output = tollgate(dir.path(), &["audit", "verify"], &vars)?;
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8(output.stdout)?;
    assert!(
        stdout.contains("REVISION") && stdout.contains("revision 2"),
        "{stdout}"
    );
    let output = tollgate(
        dir.path(),
        &[
            "audit",
            "verify",
            "--checkpoint",
            kept.to_str().ok_or("path")?,
            "--json",
        ],
        &vars,
    )?;
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&output.stdout)?;
    assert_eq!(
        report["checkpoints"][0]["intact"],
        Value::Bool(false),
        "{report}"
    );
    assert!(
        report["checkpoints"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("fewer than the 2")),
        "{report}"
    );
    // A broken trail is not checkpointed.
    let output = tollgate(dir.path(), &["audit", "checkpoint"], &vars)?;
    assert_eq!(output.status.code(), Some(1));
    // A checkpoint line altered by hand is refused.
    std::fs::write(&kept, checkpoint.replacen(" 2 ", " 1 ", 1))?;
    let output = tollgate(
        dir.path(),
        &[
            "audit",
            "verify",
            "--checkpoint",
            kept.to_str().ok_or("path")?,
        ],
        &vars,
    )?;
    assert!(String::from_utf8(output.stdout)?.contains("signature does not match"));
    Ok(())
}
