//! Opening a database: with the migration lock held (PostgreSQL), check that the configured
//! server keys fit the database — before anything is written — then run pending migrations,
//! then record the key. A command other than `serve` and `migrate` opens only a database that
//! exists ([`Store::open_existing`]); `migrate --check` writes nothing ([`Store::check`]).

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use diesel::prelude::*;
use time::OffsetDateTime;
use tollgate_domain::Keyring;

use super::Store;
use super::keys::{self, KeyPlan};
use crate::backend::{
    AnyConnection, Backend, DatabaseUrl, PoolOptions, build_pool, pending_migrations,
    run_migrations, with_migration_lock,
};
use crate::error::StoreError;

/// What `tollgate migrate --check` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseCheck {
    /// The migrations not yet applied, by name.
    pub pending: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Create the database when there is none (`serve`, `migrate`, tests).
    Create,
    /// Refuse when there is none.
    Existing,
}

#[derive(diesel::QueryableByName)]
struct Found {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    found: i64,
}

/// True when `table` exists.
fn table_exists(conn: &mut AnyConnection, table: &str) -> Result<bool, StoreError> {
    let query = match conn.backend() {
        Backend::Postgres => {
            "SELECT count(*) AS found FROM information_schema.tables \
                              WHERE table_schema = current_schema() AND table_name = $1"
        }
        Backend::Sqlite => {
            "SELECT count(*) AS found FROM sqlite_master WHERE type = 'table' AND name = ?"
        }
    };
    let found: Found = diesel::sql_query(query)
        .bind::<diesel::sql_types::Text, _>(table)
        .get_result(conn)?;
    Ok(found.found > 0)
}

fn no_database(url: &DatabaseUrl) -> StoreError {
    StoreError::NoDatabase {
        url: url.redacted(),
    }
}

/// Where an SQLite database is, and whether it is there.
fn sqlite_file(url: &DatabaseUrl, mode: Mode) -> Result<(), StoreError> {
    let Some(path) = url.sqlite_path().map(std::path::Path::new) else {
        return Ok(());
    };
    if path.exists() {
        return Ok(());
    }
    if mode == Mode::Existing {
        return Err(no_database(url));
    }
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
        && !parent.exists()
    {
        std::fs::create_dir_all(parent).map_err(|error| {
            StoreError::BadUrl(format!(
                "cannot create the folder {}: {error}",
                parent.display()
            ))
        })?;
    }
    Ok(())
}

/// The read-only part: is there a database, and do the keys fit?
fn preflight(
    conn: &mut AnyConnection,
    url: &DatabaseUrl,
    ring: &Keyring,
    mode: Mode,
    now: OffsetDateTime,
) -> Result<KeyPlan, StoreError> {
    if !table_exists(conn, "tokens")? {
        if mode == Mode::Existing {
            return Err(no_database(url));
        }
        return Ok(KeyPlan::First { legacy: None });
    }
    let keyed = table_exists(conn, "server_keys")?;
    keys::plan(conn, ring, keyed, now)
}

/// How long opening a database waits for its first connection.
const OPEN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl Store {
    /// Opens the database at `url` (creating it when there is none), checks that `keys` fit
    /// it, runs pending migrations, records the key, and returns the store.
    pub fn open(
        url: &str,
        keys: impl Into<Keyring>,
        options: PoolOptions,
    ) -> Result<Self, StoreError> {
        Self::open_as(url, keys.into(), options, Mode::Create)
    }

    /// As [`Store::open`], but refuses (`NoDatabase`, naming the URL) when there is no
    /// Tollgate database at `url` instead of creating one.
    pub fn open_existing(
        url: &str,
        keys: impl Into<Keyring>,
        options: PoolOptions,
    ) -> Result<Self, StoreError> {
        Self::open_as(url, keys.into(), options, Mode::Existing)
    }

    /// Whether migrations are pending, and (when the database exists) whether `keys` fit it;
    /// nothing is written.
    pub fn check(url: &str, keys: impl Into<Keyring>) -> Result<DatabaseCheck, StoreError> {
        let ring = keys.into();
        let url = DatabaseUrl::parse(url)?;
        sqlite_file(&url, Mode::Existing)?;
        let pool = build_pool(&url, PoolOptions::default());
        let mut conn = pool.get()?;
        with_migration_lock(&mut conn, |conn| {
            if table_exists(conn, "tokens")? {
                let keyed = table_exists(conn, "server_keys")?;
                keys::plan(conn, &ring, keyed, OffsetDateTime::now_utc())?;
            }
            Ok(DatabaseCheck {
                pending: pending_migrations(conn)?,
            })
        })
    }

    fn open_as(
        url: &str,
        ring: Keyring,
        options: PoolOptions,
        mode: Mode,
    ) -> Result<Self, StoreError> {
        let url = DatabaseUrl::parse(url)?;
        sqlite_file(&url, mode)?;
        let pool = build_pool(&url, options);
        let now = OffsetDateTime::now_utc();
        let recorded = {
            // Opening is no request: it may wait for a slow first connection (a loaded or
            // just-started database) longer than a request would.
            let mut conn = pool.get_timeout(OPEN_TIMEOUT.max(options.connection_timeout))?;
            with_migration_lock(&mut conn, |conn| {
                let plan = preflight(conn, &url, &ring, mode, now)?;
                let ran = run_migrations(conn)?;
                if ran > 0 {
                    log::info!("ran {ran} database migrations");
                }
                keys::apply(conn, &ring, plan, now)?;
                keys::read_keys(conn)
            })?
        };
        let retired = keys::retirements(&recorded);
        Ok(Self {
            pool,
            backend: url.backend(),
            url,
            keys: Arc::new(ring.with_retirements(&retired)),
            request_timeout: options.request_timeout,
            lookups: Arc::new(AtomicU64::new(0)),
            integrity_failures: Arc::new(AtomicU64::new(0)),
        })
    }
}
