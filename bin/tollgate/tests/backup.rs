//! Backup and restore as `docs/OPERATIONS.md` describes them: PostgreSQL with `pg_dump` into a
//! new database, SQLite with its online backup (`VACUUM INTO`) while the server runs. The
//! restored database is served with the same key: its tokens authenticate and `audit verify`
//! passes. And what a restore brings back: a token revoked after the backup lives again, and a
//! checkpoint kept after the backup fails until a new one is taken.

mod server;

use std::path::{Path, PathBuf};
use std::process::Command;

use diesel::connection::SimpleConnection;
use serde_json::Value;
use tollgate_store::testing::TestDatabase;

use crate::server::*;

/// A PostgreSQL client program (`pg_dump`, `psql`) from the server's installation or PATH.
fn pg_program(name: &str) -> R<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin").join(name))
        .filter(|path| path.is_file())
        .collect();
    versions.sort();
    if let Some(path) = versions.pop() {
        return Ok(path);
    }
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        })
        .ok_or_else(|| {
            format!("{name} is not installed (apt-get install postgresql-client)").into()
        })
}

fn run(command: &mut Command) -> R<String> {
    let output = command.output()?;
    if !output.status.success() {
        return Err(format!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(String::from_utf8(output.stdout)?)
}

/// `tollgate <args>` exit status and stdout.
fn status_of(site: &Site, dir: &Path, args: &[&str]) -> R<(i32, String)> {
    let output = site.command(dir, args).output()?;
    Ok((
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout)?,
    ))
}

#[test]
fn a_postgresql_dump_restored_into_a_new_database_serves_with_the_same_key() -> R<()> {
    let original = TestDatabase::create()?;
    let site = Site {
        database_url: original.url().to_owned(),
        secret_key: Some(SECRET_KEY),
        previous_keys: None,
        env: Vec::new(),
    };
    let dir = tempfile::tempdir()?;
    let (_, token_id, admin) = site.account_and_token(dir.path(), "access-management,billing")?;
    let dump = dir.path().join("tollgate.sql");
    run(Command::new(pg_program("pg_dump")?)
        .args(["--no-owner", "--no-privileges", "--file"])
        .arg(&dump)
        .arg(original.url()))?;

    // After the backup: the token is disabled, and a checkpoint is kept.
    let serving = Instance::start(&site, dir.path())?;
    serving.expect(
        200,
        serving.call(
            reqwest::Method::POST,
            &admin,
            &format!("{TOKENS}/{token_id}/disable"),
            None,
        )?,
    )?;
    serving.stop()?;
    let checkpoint = dir.path().join("checkpoint.txt");
    std::fs::write(
        &checkpoint,
        run(&mut site.command(dir.path(), &["audit", "checkpoint"]))?,
    )?;

    let restored = TestDatabase::create()?;
    run(Command::new(pg_program("psql")?)
        .args(["--quiet", "--set", "ON_ERROR_STOP=1", "--file"])
        .arg(&dump)
        .arg(restored.url()))?;
    let site = Site {
        database_url: restored.url().to_owned(),
        ..site
    };
    let instance = Instance::start(&site, dir.path())?;
    assert_eq!(
        instance.authorize(&admin, BILLING_PATH)?,
        200,
        "the restore brings back a token disabled after the backup: {}",
        instance.log()
    );
    instance.stop()?;
    let verified = site.cli(dir.path(), &["audit", "verify", "--json"])?;
    assert_eq!(verified["intact"], true, "{verified}");
    let (code, stdout) = status_of(
        &site,
        dir.path(),
        &[
            "audit",
            "verify",
            "--checkpoint",
            checkpoint.to_str().ok_or("path")?,
        ],
    )?;
    assert_eq!(
        code, 1,
        "a checkpoint newer than the backup fails: {stdout}"
    );
    assert!(stdout.contains("CHECKPOINT"), "{stdout}");
    Ok(())
}

#[test]
fn an_sqlite_online_backup_taken_while_the_server_runs_restores_whole() -> R<()> {
    let dir = tempfile::tempdir()?;
    let site = Site {
        database_url: format!("sqlite://{}/tollgate.db", dir.path().display()),
        secret_key: None,
        previous_keys: None,
        env: Vec::new(),
    };
    let (_, token_id, admin) = site.account_and_token(dir.path(), "access-management,billing")?;
    let instance = Instance::start(&site, dir.path())?;
    assert_eq!(instance.authorize(&admin, BILLING_PATH)?, 200);
    let copy = dir.path().join("backup.db");
    {
        let mut conn = <diesel::SqliteConnection as diesel::Connection>::establish(
            dir.path().join("tollgate.db").to_str().ok_or("path")?,
        )?;
        conn.batch_execute(&format!("VACUUM INTO '{}'", copy.display()))?;
    }
    instance.expect(
        200,
        instance.call(
            reqwest::Method::POST,
            &admin,
            &format!("{TOKENS}/{token_id}/disable"),
            None,
        )?,
    )?;
    wait_until("the disabled token to be refused", || {
        Ok(instance.authorize(&admin, BILLING_PATH)? == 401)
    })?;
    instance.stop()?;
    let checkpoint = dir.path().join("checkpoint.txt");
    std::fs::write(
        &checkpoint,
        run(&mut site.command(dir.path(), &["audit", "checkpoint"]))?,
    )?;

    // The restore: the copy as the database of a new folder, with the same key file.
    let restored = tempfile::tempdir()?;
    std::fs::copy(&copy, restored.path().join("tollgate.db"))?;
    std::fs::copy(
        dir.path().join("secret.key"),
        restored.path().join("secret.key"),
    )?;
    let site = Site {
        database_url: format!("sqlite://{}/tollgate.db", restored.path().display()),
        ..site
    };
    let instance = Instance::start(&site, restored.path())?;
    assert_eq!(
        instance.authorize(&admin, BILLING_PATH)?,
        200,
        "the restore brings back a token disabled after the backup"
    );
    let listed: Value = instance.expect(
        200,
        instance.call(reqwest::Method::GET, &admin, TOKENS, None)?,
    )?;
    assert_eq!(text(&listed, "/data/0/status")?, "Active");
    instance.stop()?;
    let verified = site.cli(restored.path(), &["audit", "verify", "--json"])?;
    assert_eq!(verified["intact"], true, "{verified}");
    let (code, stdout) = status_of(
        &site,
        restored.path(),
        &[
            "audit",
            "verify",
            "--checkpoint",
            checkpoint.to_str().ok_or("path")?,
        ],
    )?;
    assert_eq!(code, 1, "{stdout}");
    // A new checkpoint of the restored trail is the one to keep from now on.
    let fresh = restored.path().join("fresh.txt");
    std::fs::write(
        &fresh,
        run(&mut site.command(restored.path(), &["audit", "checkpoint"]))?,
    )?;
    let (code, stdout) = status_of(
        &site,
        restored.path(),
        &[
            "audit",
            "verify",
            "--checkpoint",
            fresh.to_str().ok_or("path")?,
        ],
    )?;
    assert_eq!(code, 0, "{stdout}");
    Ok(())
}
