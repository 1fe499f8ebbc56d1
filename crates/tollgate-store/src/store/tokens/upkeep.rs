//! Work done off the request path: the expiry sweep's records, batched `lastAccessAt`,
//! rehashing under the current key, and recorded authentication failures.

use std::collections::BTreeMap;

use diesel::prelude::*;
use time::{OffsetDateTime, PrimitiveDateTime};
use tollgate_domain::{FailureReason, TokenId, TokenStatus};

use super::{Rehash, load_token_row};
use crate::backend::AnyConnection;
use crate::error::StoreError;
use crate::schema::{token_expiry_records, tokens};
use crate::sql::{Bind, Sql, execute};
use crate::store::audit::lock_head;
use crate::store::integrity::{token_fields, token_module_texts};
use crate::store::rows::{TokenRow, parse_id, to_db};
use crate::store::{Context, Store};

/// The most tokens one `touch_tokens` statement updates (each takes five bind parameters).
const TOUCH_CHUNK: usize = 500;

/// The latest use per token, as stored (UTC, milliseconds), in ascending id order: one `WHEN`
/// per id (with a repeated id, `CASE` would take the first, not the latest), and every writer
/// locks rows in the same order.
fn latest_uses(uses: &[(TokenId, OffsetDateTime)]) -> Vec<(String, PrimitiveDateTime)> {
    let mut latest: BTreeMap<TokenId, PrimitiveDateTime> = BTreeMap::new();
    for (id, at) in uses {
        let at = to_db(*at);
        latest
            .entry(*id)
            .and_modify(|kept| *kept = (*kept).max(at))
            .or_insert(at);
    }
    latest
        .into_iter()
        .map(|(id, at)| (id.to_string(), at))
        .collect()
}

/// One statement moving `lastAccessAt` forward for a chunk of distinct ids. On SQLite the
/// timestamps are text in diesel's one format (`YYYY-MM-DD HH:MM:SS[.fff]`, UTC, trailing zeros
/// of the fraction dropped), whose text order is time order; on PostgreSQL they are `TIMESTAMP`.
fn touch_statement(chunk: &[(String, PrimitiveDateTime)]) -> Sql {
    let case = |sql: &mut Sql| {
        sql.push("CASE id");
        for (id, at) in chunk {
            sql.push(" WHEN ")
                .text(id.as_str())
                .push(" THEN ")
                .bind(Bind::Time(*at));
        }
        sql.push(" END");
    };
    let mut sql = Sql::new("UPDATE tokens SET last_access_at = ");
    case(&mut sql);
    sql.push(" WHERE id IN (");
    for (index, (id, _)) in chunk.iter().enumerate() {
        if index > 0 {
            sql.push(", ");
        }
        sql.text(id.as_str());
    }
    sql.push(") AND (last_access_at IS NULL OR last_access_at < ");
    case(&mut sql);
    sql.push(")");
    sql
}

impl Store {
    /// Tokens whose `expiresAt` has passed by `now` without an `expired` record for that
    /// instant yet (Active ones only), at most `limit`.
    pub fn expired_unrecorded(
        &self,
        now: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<TokenId>, StoreError> {
        let mut conn = self.request_conn()?;
        let ids: Vec<String> = tokens::table
            .filter(tokens::status.eq(TokenStatus::Active.as_str()))
            .filter(tokens::expires_at.le(to_db(now)))
            .filter(diesel::dsl::not(diesel::dsl::exists(
                token_expiry_records::table
                    .filter(token_expiry_records::token_id.eq(tokens::id))
                    .filter(
                        token_expiry_records::expires_at
                            .nullable()
                            .eq(tokens::expires_at),
                    ),
            )))
            .order(tokens::id.asc())
            .limit(limit)
            .select(tokens::id)
            .load(&mut conn)?;
        ids.iter().map(|id| parse_id(id)).collect()
    }

    /// How many Active tokens expire after `now` and at or before `by` (every account).
    pub fn count_expiring(
        &self,
        now: OffsetDateTime,
        by: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let mut conn = self.request_conn()?;
        let count: i64 = tokens::table
            .filter(tokens::status.eq(TokenStatus::Active.as_str()))
            .filter(tokens::expires_at.gt(to_db(now)))
            .filter(tokens::expires_at.le(to_db(by)))
            .count()
            .get_result(&mut conn)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Writes the `expired` record of `id` for its current expiry instant, once: an instance
    /// that finds it already written (by another instance, or before a restart) writes
    /// nothing. No revision is raised. Returns whether this call wrote it.
    pub fn record_expiry(&self, id: TokenId, now: OffsetDateTime) -> Result<bool, StoreError> {
        let mut written = false;
        self.change_token_with::<StoreError>(
            id,
            &Context::system(now),
            |token, _| {
                let due = token.status() == TokenStatus::Active && token.is_expired(now);
                Ok(due.then(|| token.expired(now)))
            },
            |conn, token| {
                let text = token.id().to_string();
                let at = token
                    .expires_at()
                    .map(to_db)
                    .ok_or_else(|| StoreError::Database("no expiry to record".into()))?;
                let done: i64 = token_expiry_records::table
                    .filter(token_expiry_records::token_id.eq(&text))
                    .filter(token_expiry_records::expires_at.eq(at))
                    .count()
                    .get_result(conn)?;
                if done > 0 {
                    return Err(StoreError::Duplicate("expired record".into()));
                }
                diesel::insert_into(token_expiry_records::table)
                    .values((
                        token_expiry_records::token_id.eq(&text),
                        token_expiry_records::expires_at.eq(at),
                    ))
                    .execute(conn)?;
                written = true;
                Ok(())
            },
        )
        .map(|changed| changed.event.is_some() && written)
        .or_else(|error| match error {
            StoreError::Duplicate(_) => Ok(false),
            other => Err(other),
        })
    }

    /// Records authenticated uses, forward-only: a time never moves `lastAccessAt` back, and
    /// a time equal to the stored one (both at millisecond precision) does not count as a move.
    /// An id given more than once counts with its latest time; ids of tokens that do not exist
    /// are ignored. Returns how many tokens moved.
    ///
    /// The uses are written in statements of at most 500 tokens (five bind parameters each:
    /// well under SQLite's limit of 32,766 per statement, and a cost linear in the batch), in
    /// ascending id order, inside one transaction: all of them or none.
    pub fn touch_tokens(&self, uses: &[(TokenId, OffsetDateTime)]) -> Result<usize, StoreError> {
        let latest = latest_uses(uses);
        if latest.is_empty() {
            return Ok(0);
        }
        self.transaction(|conn| {
            let mut moved = 0;
            for chunk in latest.chunks(TOUCH_CHUNK) {
                moved += execute(conn, &touch_statement(chunk)).map_err(StoreError::from)?;
            }
            Ok(moved)
        })
    }

    /// Moves tokens seen to authenticate under a previous key to the current key (the
    /// write-behind calls this, off the request path), each in a transaction of its own: a hash
    /// is replaced only when the row still holds the old one, has no sealed copy (those move
    /// with `tollgate keys rotate`, hash and copy together) and passes its row MAC; the row MAC
    /// is made again. Returns how many moved.
    pub fn rehash_tokens(&self, rehashes: &[Rehash]) -> Result<usize, StoreError> {
        let mut moved = 0;
        for rehash in rehashes {
            if rehash.to.key_id == self.keys.current().id() {
                moved += self.transaction(|conn| self.rehash_one(conn, rehash))?;
            }
        }
        Ok(moved)
    }

    /// One token moved (in the caller's transaction), with its account's chain head locked
    /// first like any change to it: a change that read the old hash cannot then write a row
    /// MAC over it.
    fn rehash_one(&self, conn: &mut AnyConnection, rehash: &Rehash) -> Result<usize, StoreError> {
        let Some(first) = load_token_row(conn, rehash.id)? else {
            return Ok(0);
        };
        lock_head(conn, &first.account_id)?;
        let Some(row) = load_token_row(conn, rehash.id)? else {
            return Ok(0);
        };
        let unchanged = row.secret_key_id == rehash.from.key_id.to_string()
            && row.secret_hash == rehash.from.digest
            && row.sealed_value.is_none();
        if !unchanged {
            return Ok(0);
        }
        let modules = token_module_texts(conn, &row.id)?;
        if let Err(error) = token_fields(&row, &modules).check(&self.keys, row.row_mac.as_deref()) {
            self.refuse_row(&format!("token {}", row.id), error);
            return Ok(0);
        }
        let key_id = rehash.to.key_id.to_string();
        let moved_row = TokenRow {
            secret_key_id: key_id.clone(),
            secret_hash: rehash.to.digest.to_vec(),
            ..row.clone()
        };
        let mac = token_fields(&moved_row, &modules).mac(self.keys.current());
        let moved = diesel::update(
            tokens::table
                .filter(tokens::id.eq(&row.id))
                .filter(tokens::secret_key_id.eq(&row.secret_key_id))
                .filter(tokens::secret_hash.eq(&row.secret_hash)),
        )
        .set((
            tokens::secret_key_id.eq(key_id),
            tokens::secret_hash.eq(rehash.to.digest.to_vec()),
            tokens::row_mac.eq(mac),
        ))
        .execute(conn)?;
        Self::signal_change(conn, &row.id)?;
        Ok(moved)
    }

    /// Records a failed authentication with a known token id (the write-behind calls this).
    pub fn record_authentication_failure(
        &self,
        id: TokenId,
        reason: FailureReason,
        ctx: &Context,
    ) -> Result<(), StoreError> {
        self.change_token::<StoreError>(id, ctx, |token, _| {
            Ok(Some(token.authentication_failed(reason, ctx.now)))
        })
        .map(|_| ())
    }
}
