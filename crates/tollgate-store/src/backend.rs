//! One connection type over PostgreSQL and SQLite, chosen by the URL scheme, and its pool.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, ConnectionError};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::StoreError;

/// PostgreSQL or SQLite, behind one diesel connection type.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    /// PostgreSQL.
    Postgresql(PgConnection),
    /// SQLite.
    Sqlite(SqliteConnection),
}

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `postgres://` or `postgresql://`.
    Postgres,
    /// `sqlite://path` (relative) or `sqlite:///abs/path`.
    Sqlite,
}

/// `url` with `gssencmode=disable` unless it sets `gssencmode` itself.
///
/// libpq's default (`prefer`) initialises Kerberos on every connection attempt; Debian's krb5
/// then aborts the process at exit (`k5_mutex_lock: Assertion 'r == 0' failed`) when another
/// thread is still connecting — a pool or the change feed reconnecting. Tollgate authenticates
/// to PostgreSQL by password or TLS; a URL can still ask for GSSAPI explicitly.
pub fn without_gss_encryption(url: &str) -> String {
    let query = url.split_once('?').map(|(_, query)| query).unwrap_or("");
    if query
        .split('&')
        .any(|pair| pair.split('=').next() == Some("gssencmode"))
    {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}gssencmode=disable")
}

/// `url` with `name=value` added unless it sets `name` itself.
pub fn with_default_param(url: &str, name: &str, value: &str) -> String {
    let query = url.split_once('?').map(|(_, query)| query).unwrap_or("");
    if query
        .split('&')
        .any(|pair| pair.split('=').next() == Some(name))
    {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{name}={value}")
}

/// The application name of the pool's PostgreSQL connections (`pg_stat_activity`).
pub const POOL_APPLICATION_NAME: &str = "tollgate";

/// `url` with any password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let after_scheme = scheme_end + 3;
    let authority_end = url[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after_scheme + i);
    let authority = &url[after_scheme..authority_end];
    let mut out = match authority.rfind('@') {
        Some(at) => match authority[..at].find(':') {
            Some(colon) => format!(
                "{}***{}",
                &url[..after_scheme + colon + 1],
                &url[after_scheme + at..]
            ),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    };
    // libpq also takes the password as a parameter.
    if let Some((head, query)) = out.clone().split_once('?') {
        let query: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if name.eq_ignore_ascii_case("password") => format!("{name}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out = format!("{head}?{}", query.join("&"));
    }
    out
}

/// A parsed database URL. It may hold a password: `Debug` and `Display` show it as `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    backend: Backend,
    /// What the driver is given: the URL for PostgreSQL, the file path for SQLite.
    target: String,
}

impl DatabaseUrl {
    /// Parses a URL; a URL without a known scheme is refused (never silently a file).
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self {
                backend: Backend::Postgres,
                target: without_gss_encryption(url),
            });
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(StoreError::BadUrl(
                    "sqlite:// needs a path: sqlite://./data/tollgate.db or sqlite:///abs/path.db"
                        .into(),
                ));
            }
            return Ok(Self {
                backend: Backend::Sqlite,
                target: path.to_owned(),
            });
        }
        Err(StoreError::BadUrl(
            "expected a URL starting with postgres://, postgresql:// or sqlite://".into(),
        ))
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL or path the driver is given.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The SQLite file path (None for PostgreSQL).
    pub fn sqlite_path(&self) -> Option<&str> {
        (self.backend == Backend::Sqlite).then_some(self.target.as_str())
    }

    /// The PostgreSQL URL a dedicated connection named `application_name` uses: a connect
    /// timeout (libpq's least, 2 s) unless the URL sets one, so an unreachable server never
    /// holds a connection attempt for long.
    pub fn postgres_url_for(&self, application_name: &str) -> String {
        let url = with_default_param(&self.target, "connect_timeout", "2");
        with_default_param(&url, "application_name", application_name)
    }

    /// The URL as an operator wrote it, password hidden (`sqlite://…` for SQLite).
    pub fn redacted(&self) -> String {
        match self.backend {
            Backend::Postgres => redact_url(&self.target),
            Backend::Sqlite => format!("sqlite://{}", self.target),
        }
    }

    fn establish(&self, busy_timeout: Duration) -> Result<AnyConnection, ConnectionError> {
        match self.backend {
            Backend::Postgres => {
                PgConnection::establish(&self.postgres_url_for(POOL_APPLICATION_NAME))
                    .map(AnyConnection::Postgresql)
            }
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.target)?;
                // WAL lets readers work beside the writer; the busy timeout makes concurrent
                // writers wait instead of failing with "database is locked" — for at most the
                // request path's bound (SPEC §4 "Faults": ≤ 1 s).
                conn.batch_execute(&format!(
                    "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = {}; \
                     PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                    busy_timeout.as_millis()
                ))
                .map_err(|error| ConnectionError::BadConnection(error.to_string()))?;
                Ok(AnyConnection::Sqlite(conn))
            }
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// An r2d2 manager that dispatches on the URL scheme (so a bad PostgreSQL URL reports its real
/// error instead of falling through to SQLite).
#[derive(Debug, Clone)]
pub struct Manager {
    url: DatabaseUrl,
    busy_timeout: Duration,
}

impl r2d2::ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = ConnectionError;

    fn connect(&self) -> Result<AnyConnection, ConnectionError> {
        self.url.establish(self.busy_timeout)
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), ConnectionError> {
        conn.batch_execute("SELECT 1")
            .map_err(|error| ConnectionError::BadConnection(error.to_string()))
    }

    fn has_broken(&self, _conn: &mut AnyConnection) -> bool {
        false
    }
}

/// The connection pool.
pub type Pool = r2d2::Pool<Manager>;

/// A pooled connection.
pub type PooledConnection = r2d2::PooledConnection<Manager>;

/// Pool settings.
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    /// Most connections.
    pub max_size: u32,
    /// How long a write or a management read waits for a connection before the database is
    /// reported unavailable (503).
    pub connection_timeout: Duration,
    /// How long the request path (cache fills) and the change feed wait for a connection:
    /// a decision never waits longer on an unreachable database.
    pub request_timeout: Duration,
    /// SQLite's busy timeout: how long a statement waits for another writer.
    pub busy_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_size: 16,
            // Less than the HTTP layer's write timeout (1 s), so a write that never got a
            // connection answers "unavailable", not "outcome unknown".
            connection_timeout: Duration::from_millis(750),
            request_timeout: Duration::from_millis(250),
            busy_timeout: Duration::from_secs(1),
        }
    }
}

/// Builds a pool. It does not fail when the database is down: connections are made on demand,
/// so the pool recovers by itself when the database returns.
pub fn build_pool(url: &DatabaseUrl, options: PoolOptions) -> Pool {
    let max_size = match url.backend {
        Backend::Postgres => options.max_size,
        // One file: a few connections are plenty, more only contend for the write lock.
        Backend::Sqlite => options.max_size.min(8),
    };
    r2d2::Pool::builder()
        .max_size(max_size)
        .min_idle(Some(0))
        .connection_timeout(options.connection_timeout)
        .test_on_check_out(true)
        .build_unchecked(Manager {
            url: url.clone(),
            busy_timeout: options.busy_timeout,
        })
}

/// The PostgreSQL migrations.
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
/// The SQLite migrations (same names as the PostgreSQL ones).
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// The names of the migrations not yet applied (nothing is written).
pub fn pending_migrations(conn: &mut AnyConnection) -> Result<Vec<String>, StoreError> {
    let names = match conn {
        AnyConnection::Postgresql(conn) => conn
            .pending_migrations(POSTGRES_MIGRATIONS)
            .map(|list| list.iter().map(|m| m.name().to_string()).collect()),
        AnyConnection::Sqlite(conn) => conn
            .pending_migrations(SQLITE_MIGRATIONS)
            .map(|list| list.iter().map(|m| m.name().to_string()).collect()),
    };
    names.map_err(|error| StoreError::Migration(error.to_string()))
}

/// The advisory lock every Tollgate process takes on PostgreSQL while it migrates and checks
/// the server key, so instances starting together do not race ("tollgate" in ASCII).
pub const MIGRATION_LOCK: i64 = 0x746f_6c6c_6761_7465;

/// Runs `f` holding the migration lock: on PostgreSQL the session-level advisory lock
/// [`MIGRATION_LOCK`] (other processes wait for it), released when `f` returns; on SQLite
/// (one file, one server) `f` runs as it is, its writes taking the database's write lock.
pub fn with_migration_lock<T>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    use diesel::RunQueryDsl;
    if conn.backend() != Backend::Postgres {
        return f(conn);
    }
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK)
        .execute(conn)?;
    let result = f(conn);
    let unlocked = diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK)
        .execute(conn);
    match (result, unlocked) {
        (Ok(value), Ok(_)) => Ok(value),
        (Err(error), _) => Err(error),
        (Ok(_), Err(error)) => Err(error.into()),
    }
}

/// Runs pending migrations; returns how many ran.
pub fn run_migrations(conn: &mut AnyConnection) -> Result<usize, StoreError> {
    let ran = match conn {
        AnyConnection::Postgresql(conn) => conn
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
        AnyConnection::Sqlite(conn) => conn
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|v| v.len()),
    };
    ran.map_err(|error| StoreError::Migration(error.to_string()))
}

/// Reverts every migration (for tests of down migrations).
pub fn revert_all_migrations(conn: &mut AnyConnection) -> Result<(), StoreError> {
    let result = match conn {
        AnyConnection::Postgresql(conn) => {
            conn.revert_all_migrations(POSTGRES_MIGRATIONS).map(|_| ())
        }
        AnyConnection::Sqlite(conn) => conn.revert_all_migrations(SQLITE_MIGRATIONS).map(|_| ()),
    };
    result.map_err(|error| StoreError::Migration(error.to_string()))
}

impl std::fmt::Debug for AnyConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AnyConnection({:?})", self.backend())
    }
}

impl AnyConnection {
    /// Which backend this connection talks to.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Postgresql(_) => Backend::Postgres,
            Self::Sqlite(_) => Backend::Sqlite,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{DatabaseUrl, redact_url, without_gss_encryption};

    #[test]
    fn urls_never_print_their_password() -> Result<(), crate::StoreError> {
        for url in [
            "postgres://tollgate:s3cr3t-pw@db.internal:5432/tollgate",
            "postgresql://db.internal/tollgate?user=tollgate&password=s3cr3t-pw",
        ] {
            let parsed = DatabaseUrl::parse(url)?;
            for printed in [format!("{parsed:?}"), parsed.to_string(), redact_url(url)] {
                assert!(!printed.contains("s3cr3t-pw"), "{printed}");
                assert!(printed.contains("db.internal"), "{printed}");
            }
            let manager = format!(
                "{:?}",
                super::Manager {
                    url: parsed,
                    busy_timeout: std::time::Duration::from_secs(1),
                }
            );
            assert!(!manager.contains("s3cr3t-pw"), "{manager}");
        }
        let lite = DatabaseUrl::parse("sqlite://./data/tollgate.db")?;
        assert_eq!(lite.to_string(), "sqlite://./data/tollgate.db");
        Ok(())
    }

    #[test]
    fn gss_encryption_is_off_unless_the_url_asks() {
        assert_eq!(
            without_gss_encryption("postgres://u@h/db"),
            "postgres://u@h/db?gssencmode=disable"
        );
        assert_eq!(
            without_gss_encryption("postgres://u@h/db?sslmode=require"),
            "postgres://u@h/db?sslmode=require&gssencmode=disable"
        );
        assert_eq!(
            without_gss_encryption("postgres://u@h/db?gssencmode=require"),
            "postgres://u@h/db?gssencmode=require"
        );
    }
}
