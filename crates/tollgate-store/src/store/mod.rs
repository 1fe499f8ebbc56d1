//! The store: every read and write of Tollgate's data.
//!
//! Error contract: `StoreError::Unavailable` when the database cannot be reached;
//! `NotFound` for a missing object; `Transition`/`Conflict` when a change is refused or lost a
//! race (nothing written); `Integrity` when a row about to be changed does not match its row
//! MAC; callers' own errors pass through the closures unchanged.

mod accounts;
mod audit;
mod change_log;
mod changes;
mod integrity;
mod keys;
mod leaks;
mod list;
mod open;
mod rotate;
mod rows;
mod signin;
mod tokens;
mod verify;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use diesel::prelude::*;
use time::OffsetDateTime;
use tollgate_audit::{AccountRef, RequestInfo};
use tollgate_domain::{AccountStatus, AccountType, Keyring, Principal};

pub use self::audit::StoredRecord;
pub use self::change_log::LoggedChange;
pub use self::changes::{Change, ChangeFeed, FeedOptions, FeedState, Regime};
pub use self::keys::{KeyDependents, KeyStatus, ServerKeyRecord};
pub use self::leaks::{LeakOutcome, NewLeakReport};
pub use self::list::{Trouble, TroubleList, TroubleQuery, TroubleToken};
pub use self::open::DatabaseCheck;
pub use self::rotate::Rotated;
pub use self::rows::fold;
pub use self::signin::NonceKind;
pub use self::tokens::{Icon, NewSecret, Rehash, StoredToken, TokenChanged};
pub use self::verify::{AuditReport, ChainReport, CheckpointReport, RevisionProblem, RowProblem};
use crate::backend::{AnyConnection, Backend, DatabaseUrl, Pool, PooledConnection};
use crate::error::StoreError;

/// An account as token objects show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSummary {
    /// Id.
    pub id: tollgate_domain::AccountId,
    /// Name.
    pub name: String,
    /// Type.
    pub account_type: AccountType,
    /// Status.
    pub status: AccountStatus,
}

/// Who is making a change, and from where: what its audit record says.
#[derive(Debug, Clone)]
pub struct Context {
    /// The actor.
    pub actor: Principal,
    /// The actor's account (none for Tollgate itself).
    pub actor_account: Option<AccountRef>,
    /// Request details.
    pub request: RequestInfo,
    /// The time of the change.
    pub now: OffsetDateTime,
}

impl Context {
    /// Tollgate itself acting (operator CLI, cascades), with no request.
    pub fn system(now: OffsetDateTime) -> Self {
        Self {
            actor: Principal::System,
            actor_account: None,
            request: RequestInfo::default(),
            now,
        }
    }
}

/// Tollgate's data over PostgreSQL or SQLite.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    backend: Backend,
    url: DatabaseUrl,
    keys: Arc<Keyring>,
    request_timeout: std::time::Duration,
    lookups: Arc<AtomicU64>,
    integrity_failures: Arc<AtomicU64>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// The database URL (for the change feed's own connection).
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// The server keys, with the retirement times this database recorded.
    pub fn keyring(&self) -> Arc<Keyring> {
        Arc::clone(&self.keys)
    }

    /// How many token lookups for the request path (`token_view`) reached the database.
    pub fn token_lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }

    /// How many rows were refused because their security fields did not match their row MAC
    /// (each is also logged).
    pub fn integrity_failures(&self) -> u64 {
        self.integrity_failures.load(Ordering::Relaxed)
    }

    /// Counts and logs a row refused for its row MAC.
    pub(crate) fn refuse_row(&self, what: &str, error: tollgate_audit::RowMacError) {
        self.integrity_failures.fetch_add(1, Ordering::Relaxed);
        log::error!(
            "{what} {error}; it is refused (`tollgate audit verify` lists such rows; see docs/OPERATIONS.md)"
        );
    }

    /// Which backend this store uses.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks that the database answers (for `/readyz`).
    pub fn ping(&self) -> Result<(), StoreError> {
        use diesel::connection::SimpleConnection;
        let mut conn = self.conn()?;
        conn.batch_execute("SELECT 1").map_err(StoreError::from)
    }

    /// A pooled connection (for tests and tools that need raw SQL).
    pub fn conn(&self) -> Result<PooledConnection, StoreError> {
        self.pool.get().map_err(StoreError::from)
    }

    /// A pooled connection for the request path and the change feed: waits at most the
    /// request timeout, so nothing on the request path waits long on an unreachable database.
    pub(crate) fn request_conn(&self) -> Result<PooledConnection, StoreError> {
        self.pool
            .get_timeout(self.request_timeout)
            .map_err(StoreError::from)
    }

    /// Runs `f` in a transaction; commits when it returns `Ok`.
    pub(crate) fn transaction<T, E>(
        &self,
        f: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut conn = self.conn()?;
        transaction_on(&mut conn, f)
    }

    /// Signals a committed change to every instance: a row in the change log and, on
    /// PostgreSQL, `NOTIFY tollgate_changes`. Runs inside the change's transaction, so it is
    /// seen at commit and never for a rolled-back change.
    pub(crate) fn signal_change(conn: &mut AnyConnection, what: &str) -> QueryResult<()> {
        change_log::append(conn, what)?;
        if conn.backend() == Backend::Postgres {
            diesel::sql_query("SELECT pg_notify('tollgate_changes', $1)")
                .bind::<diesel::sql_types::Text, _>(what)
                .execute(conn)?;
        }
        Ok(())
    }
}

/// Runs `f` in a transaction on `conn`; commits when it returns `Ok`.
pub(crate) fn transaction_on<T, E>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<StoreError>,
{
    let mut outcome: Option<Result<T, E>> = None;
    let result = conn.transaction::<(), TxAbort, _>(|conn| {
        if conn.backend() == Backend::Sqlite {
            // Take SQLite's write lock first (waiting up to the busy timeout): a transaction
            // that reads before it writes cannot upgrade once another writer has committed.
            diesel::sql_query("UPDATE change_sequence SET value = value WHERE id = 1")
                .execute(conn)?;
        }
        match f(conn) {
            Ok(value) => {
                outcome = Some(Ok(value));
                Ok(())
            }
            Err(error) => {
                outcome = Some(Err(error));
                Err(TxAbort::Caller)
            }
        }
    });
    match (result, outcome) {
        (Ok(()), Some(outcome)) => outcome,
        (Err(TxAbort::Caller), Some(outcome)) => outcome,
        // The closure succeeded, so the failure was the commit's: lost with the connection,
        // it may or may not have happened.
        (Err(TxAbort::Database(error)), Some(Ok(_))) => {
            Err(E::from(match StoreError::from(error) {
                StoreError::Unavailable(cause) => StoreError::OutcomeUnknown(cause),
                other => other,
            }))
        }
        (Err(TxAbort::Database(error)), _) => Err(E::from(StoreError::from(error))),
        (_, None) => Err(E::from(StoreError::Database(
            "transaction did not run".into(),
        ))),
    }
}

/// Why a transaction closure asked for a rollback.
#[derive(Debug)]
enum TxAbort {
    Caller,
    Database(diesel::result::Error),
}

impl From<diesel::result::Error> for TxAbort {
    fn from(error: diesel::result::Error) -> Self {
        Self::Database(error)
    }
}
