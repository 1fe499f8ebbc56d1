//! The change log table: one row per committed change (appended inside the change's
//! transaction), read by the change feed's poller, pruned by age (the newest row is always
//! kept, so sequence numbers only grow).

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};
use time::OffsetDateTime;

use super::Store;
use super::rows::to_db;
use crate::backend::{AnyConnection, Backend};
use crate::error::StoreError;

/// One row of the change log.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct LoggedChange {
    /// Its position; PostgreSQL may leave gaps (a rolled-back or not yet committed insert).
    #[diesel(sql_type = BigInt)]
    pub seq: i64,
    /// What changed: a token id, `account:<id>` or `modules`.
    #[diesel(sql_type = Text)]
    pub payload: String,
}

#[derive(QueryableByName)]
struct Number {
    #[diesel(sql_type = BigInt)]
    value: i64,
}

/// Appends `payload` (inside the caller's transaction).
pub(crate) fn append(conn: &mut AnyConnection, payload: &str) -> QueryResult<()> {
    let now = to_db(OffsetDateTime::now_utc());
    match conn.backend() {
        Backend::Postgres => {
            diesel::sql_query("INSERT INTO change_log (payload, changed_at) VALUES ($1, $2)")
                .bind::<Text, _>(payload)
                .bind::<Timestamp, _>(now)
                .execute(conn)?;
        }
        Backend::Sqlite => {
            // One writer at a time (the transaction holds the write lock): MAX + 1 has no gaps.
            diesel::sql_query(
                "INSERT INTO change_log (seq, payload, changed_at) \
                 SELECT COALESCE(MAX(seq), 0) + 1, ?, ? FROM change_log",
            )
            .bind::<Text, _>(payload)
            .bind::<Timestamp, _>(now)
            .execute(conn)?;
        }
    }
    Ok(())
}

impl Store {
    /// The newest sequence number (0 for an empty log).
    pub fn change_log_head(&self) -> Result<i64, StoreError> {
        let mut conn = self.request_conn()?;
        let row: Number =
            diesel::sql_query("SELECT COALESCE(MAX(seq), 0) AS value FROM change_log")
                .get_result(&mut conn)?;
        Ok(row.value)
    }

    /// The oldest sequence number still kept (0 for an empty log).
    pub fn change_log_tail(&self) -> Result<i64, StoreError> {
        let mut conn = self.request_conn()?;
        let row: Number =
            diesel::sql_query("SELECT COALESCE(MIN(seq), 0) AS value FROM change_log")
                .get_result(&mut conn)?;
        Ok(row.value)
    }

    /// Up to `limit` rows after `after`, in order.
    pub fn changes_after(&self, after: i64, limit: i64) -> Result<Vec<LoggedChange>, StoreError> {
        let mut conn = self.request_conn()?;
        let sql = match self.backend() {
            Backend::Postgres => {
                "SELECT seq, payload FROM change_log WHERE seq > $1 ORDER BY seq LIMIT $2"
            }
            Backend::Sqlite => {
                "SELECT seq, payload FROM change_log WHERE seq > ? ORDER BY seq LIMIT ?"
            }
        };
        Ok(diesel::sql_query(sql)
            .bind::<BigInt, _>(after)
            .bind::<BigInt, _>(limit)
            .load(&mut conn)?)
    }

    /// Deletes rows older than `before`, except the newest; returns how many.
    pub fn prune_change_log(&self, before: OffsetDateTime) -> Result<usize, StoreError> {
        let mut conn = self.request_conn()?;
        let sql = match self.backend() {
            Backend::Postgres => {
                "DELETE FROM change_log WHERE changed_at < $1 \
                 AND seq < (SELECT MAX(seq) FROM change_log)"
            }
            Backend::Sqlite => {
                "DELETE FROM change_log WHERE changed_at < ? \
                 AND seq < (SELECT MAX(seq) FROM change_log)"
            }
        };
        Ok(diesel::sql_query(sql)
            .bind::<Timestamp, _>(to_db(before))
            .execute(&mut conn)?)
    }

    /// Sends `payload` on the change channel through the pool (the feed's heartbeat, which must
    /// come back on the listening connection). PostgreSQL only; a no-op on SQLite.
    pub fn notify(&self, payload: &str) -> Result<(), StoreError> {
        if self.backend() != Backend::Postgres {
            return Ok(());
        }
        let mut conn = self.request_conn()?;
        diesel::sql_query("SELECT pg_notify('tollgate_changes', $1)")
            .bind::<Text, _>(payload)
            .execute(&mut conn)?;
        Ok(())
    }
}
