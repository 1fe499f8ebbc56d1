//! Tokens: create, read, change (with the audit record in the same transaction), reveal,
//! icons, the hot path's view, batched `lastAccessAt`.

use std::collections::BTreeMap;

use diesel::prelude::*;
use time::{OffsetDateTime, PrimitiveDateTime};
use tollgate_domain::authz::PreviousValue;
use tollgate_domain::secret::{KeyId, SealedValue};
use tollgate_domain::{
    AccountId, EventKind, FailureReason, ModuleId, ModuleSet, NewToken, Token, TokenEvent,
    TokenHash, TokenId, TokenStatus, TokenView,
};

use super::accounts::{account_summaries, account_summary};
use super::audit::{append_record, lock_head};
use super::integrity::{
    account_fields, account_module_texts, ensure, token_fields, token_mac, token_module_texts,
};
use super::rows::{AccountRow, IconRow, TokenChanges, TokenRow, corrupt, from_db, parse_id, to_db};
use super::{AccountSummary, Context, Store};
use crate::backend::AnyConnection;
use crate::error::StoreError;
use crate::schema::{
    accounts, token_expiry_records, token_icons, token_modules, token_previous_values, tokens,
};
use crate::sql::{Bind, Sql, execute};

const ID_ATTEMPTS: usize = 64;

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

/// A token with its account, as the REST API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    /// The token.
    pub token: Token,
    /// Its account.
    pub account: AccountSummary,
}

/// The secret material of a new token: its verification hash and, when reveal is allowed, its
/// sealed copy.
#[derive(Debug, Clone)]
pub struct NewSecret {
    /// `HMAC-SHA256(k_hash, value)` and the key id.
    pub hash: TokenHash,
    /// The sealed copy (`TOLLGATE_REVEAL=audited`), or none (`never`).
    pub sealed: Option<SealedValue>,
}

/// A token seen to authenticate under an old key, to be moved to the current one (by the
/// write-behind, off the request path): its hash under the old key and under the new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rehash {
    /// The token.
    pub id: TokenId,
    /// Its stored hash, under a previous key.
    pub from: TokenHash,
    /// The same value's hash under the current key.
    pub to: TokenHash,
}

/// An icon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icon {
    /// `image/png` or `image/jpeg`.
    pub content_type: String,
    /// The image.
    pub data: Vec<u8>,
}

/// The outcome of a change.
#[derive(Debug, Clone)]
pub struct TokenChanged {
    /// The token after the change.
    pub token: StoredToken,
    /// The event recorded (none when nothing changed).
    pub event: Option<TokenEvent>,
}

pub(crate) fn load_token_modules(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<BTreeMap<String, ModuleSet>, StoreError> {
    let rows: Vec<(String, String)> = token_modules::table
        .filter(token_modules::token_id.eq_any(ids))
        .select((token_modules::token_id, token_modules::module_id))
        .load(conn)?;
    let mut out: BTreeMap<String, ModuleSet> = BTreeMap::new();
    for (token, module) in rows {
        let module: ModuleId = parse_id(&module)?;
        out.entry(token).or_default().insert(module);
    }
    Ok(out)
}

pub(crate) fn load_token_row(
    conn: &mut AnyConnection,
    id: TokenId,
) -> Result<Option<TokenRow>, StoreError> {
    tokens::table
        .find(id.to_string())
        .select(TokenRow::as_select())
        .first(conn)
        .optional()
        .map_err(StoreError::from)
}

/// The value a token's latest rotation replaced, as stored.
#[derive(Debug, Clone)]
pub(crate) struct PreviousRow {
    pub secret_key_id: String,
    pub secret_hash: Vec<u8>,
    pub expires_at: Option<time::PrimitiveDateTime>,
}

impl PreviousRow {
    fn into_value(self, token: &str) -> Result<PreviousValue, StoreError> {
        Ok(PreviousValue {
            hash: stored_hash(token, &self.secret_key_id, &self.secret_hash)?,
            until: self.expires_at.map(from_db),
        })
    }
}

fn stored_hash(token: &str, key_id: &str, digest: &[u8]) -> Result<TokenHash, StoreError> {
    Ok(TokenHash {
        key_id: KeyId::parse(key_id).ok_or_else(|| corrupt("secret key id", key_id))?,
        digest: digest
            .try_into()
            .map_err(|_| corrupt("secret hash", token))?,
    })
}

pub(crate) fn load_previous(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<BTreeMap<String, PreviousRow>, StoreError> {
    let rows: Vec<(String, String, Vec<u8>, Option<time::PrimitiveDateTime>)> =
        token_previous_values::table
            .filter(token_previous_values::token_id.eq_any(ids))
            .select((
                token_previous_values::token_id,
                token_previous_values::secret_key_id,
                token_previous_values::secret_hash,
                token_previous_values::expires_at,
            ))
            .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(token, secret_key_id, secret_hash, expires_at)| {
            (
                token,
                PreviousRow {
                    secret_key_id,
                    secret_hash,
                    expires_at,
                },
            )
        })
        .collect())
}

pub(crate) fn stored_tokens(
    conn: &mut AnyConnection,
    rows: Vec<TokenRow>,
) -> Result<Vec<StoredToken>, StoreError> {
    let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
    let mut modules = load_token_modules(conn, &ids)?;
    let previous = load_previous(conn, &ids)?;
    let mut account_ids: Vec<String> = rows.iter().map(|row| row.account_id.clone()).collect();
    account_ids.sort_unstable();
    account_ids.dedup();
    let accounts = account_summaries(conn, &account_ids)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let account = accounts
            .get(&row.account_id)
            .cloned()
            .ok_or_else(|| corrupt("account", &row.account_id))?;
        let previous_until = previous
            .get(&row.id)
            .and_then(|p| p.expires_at.map(from_db));
        let token = row.to_token(modules.remove(&row.id).unwrap_or_default(), previous_until)?;
        out.push(StoredToken { token, account });
    }
    Ok(out)
}

fn write_modules(
    conn: &mut AnyConnection,
    token: &str,
    modules: &ModuleSet,
) -> Result<(), StoreError> {
    diesel::delete(token_modules::table.filter(token_modules::token_id.eq(token))).execute(conn)?;
    for module in modules.iter() {
        diesel::insert_into(token_modules::table)
            .values((
                token_modules::token_id.eq(token),
                token_modules::module_id.eq(module.to_string()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Checks the row MAC of a token row read to be changed (or to decide something).
pub(crate) fn ensure_token_row(
    conn: &mut AnyConnection,
    ring: &tollgate_domain::Keyring,
    row: &TokenRow,
) -> Result<(), StoreError> {
    let modules = token_module_texts(conn, &row.id)?;
    ensure(
        ring,
        &format!("token {}", row.id),
        token_fields(row, &modules),
        row.row_mac.as_deref(),
    )
}

/// Writes a changed token, conditional on the revision it was read at, so a concurrent writer
/// that got there first makes this one fail (`Conflict`) instead of overwriting it. `read` is
/// the row as read (its hash goes into the new row MAC, made under `keys`).
fn write_change(
    conn: &mut AnyConnection,
    keys: &tollgate_domain::Keys,
    token: &Token,
    read: &TokenRow,
    event: &TokenEvent,
) -> Result<(), StoreError> {
    let id = token.id().to_string();
    let read_revision = read.revision;
    let mac = token_mac(keys, token, &read.secret_key_id, &read.secret_hash);
    let changes = TokenChanges::of(token, Some(mac));
    let updated = diesel::update(
        tokens::table
            .filter(tokens::id.eq(&id))
            .filter(tokens::revision.eq(read_revision)),
    )
    .set(&changes)
    .execute(conn)?;
    if updated != 1 {
        return Err(StoreError::Conflict);
    }
    if event
        .changes
        .iter()
        .any(|change| matches!(change, tollgate_domain::Change::Modules { .. }))
    {
        write_modules(conn, &id, token.modules())?;
    }
    if event
        .changes
        .iter()
        .any(|change| matches!(change, tollgate_domain::Change::Grace { .. }))
        && event.kind != EventKind::Rotated
    {
        // A grace ended early (a leak report): the previous value's row says until when.
        diesel::update(token_previous_values::table.find(&id))
            .set(
                token_previous_values::expires_at
                    .eq(token.parts().previous_value_expires_at.map(to_db)),
            )
            .execute(conn)?;
    }
    if event.kind == EventKind::Deleted {
        // Delete wipes the recoverable copy; the hash stays so a later use is recognised.
        diesel::update(tokens::table.filter(tokens::id.eq(&id)))
            .set(tokens::sealed_value.eq(None::<Vec<u8>>))
            .execute(conn)?;
    }
    Ok(())
}

impl Store {
    /// Creates a token. `build` is given a free random id and returns the token's fields and
    /// secret (the value embeds the id, so the caller generates it); ids are retried on
    /// collision. The token, its modules and its `created` record commit together.
    pub fn create_token<E>(
        &self,
        account: AccountId,
        ctx: &Context,
        mut build: impl FnMut(TokenId) -> Result<(NewToken, NewSecret), E>,
    ) -> Result<StoredToken, E>
    where
        E: From<StoreError>,
    {
        self.transaction(|conn| {
            let account_text = account.to_string();
            lock_head(conn, &account_text)?;
            let mut rng = rand::thread_rng();
            let mut free = None;
            for _ in 0..ID_ATTEMPTS {
                let id = TokenId::random(&mut rng);
                let taken: i64 = tokens::table
                    .find(id.to_string())
                    .count()
                    .get_result(conn)
                    .map_err(StoreError::from)?;
                if taken == 0 {
                    free = Some(id);
                    break;
                }
            }
            let id =
                free.ok_or_else(|| StoreError::Database("could not find a free token id".into()))?;
            let (new, secret) = build(id)?;
            if new.id != id || new.account_id != account {
                return Err(StoreError::Database(
                    "the new token's id or account does not match".into(),
                )
                .into());
            }
            let (token, event) = Token::create(new, ctx.actor.clone(), ctx.now);
            let key_id = secret.hash.key_id.to_string();
            let mac = token_mac(self.keys.current(), &token, &key_id, &secret.hash.digest);
            let row = TokenRow::new(
                &token,
                key_id,
                secret.hash.digest.to_vec(),
                secret.sealed.map(|sealed| sealed.0),
                mac,
            );
            diesel::insert_into(tokens::table)
                .values(&row)
                .execute(conn)
                .map_err(StoreError::from)?;
            write_modules(conn, &row.id, token.modules())?;
            append_record(conn, self.keys.current(), &token, &event, ctx)?;
            Self::signal_change(conn, &row.id).map_err(StoreError::from)?;
            let summary = account_summary(conn, &account_text)?;
            Ok(StoredToken {
                token,
                account: summary,
            })
        })
    }

    /// One token (any status).
    pub fn token(&self, id: TokenId) -> Result<Option<StoredToken>, StoreError> {
        let mut conn = self.conn()?;
        match load_token_row(&mut conn, id)? {
            Some(row) => Ok(stored_tokens(&mut conn, vec![row])?.pop()),
            None => Ok(None),
        }
    }

    /// Applies a change to a token: `op` gets the current token (read inside the transaction,
    /// after the account's audit chain is locked) and returns the event it produced, `None`
    /// for no change, or the caller's refusal. The change and its audit record commit together.
    pub fn change_token<E>(
        &self,
        id: TokenId,
        ctx: &Context,
        op: impl FnOnce(&mut Token, &AccountSummary) -> Result<Option<TokenEvent>, E>,
    ) -> Result<TokenChanged, E>
    where
        E: From<StoreError>,
    {
        self.change_token_with(id, ctx, op, |_, _| Ok(()))
    }

    fn change_token_with<E>(
        &self,
        id: TokenId,
        ctx: &Context,
        op: impl FnOnce(&mut Token, &AccountSummary) -> Result<Option<TokenEvent>, E>,
        also: impl FnOnce(&mut AnyConnection, &Token) -> Result<(), StoreError>,
    ) -> Result<TokenChanged, E>
    where
        E: From<StoreError>,
    {
        self.transaction(|conn| {
            let account = load_token_row(conn, id)?
                .ok_or_else(|| StoreError::NotFound(format!("token {id}")))?
                .account_id;
            lock_head(conn, &account)?;
            let row = load_token_row(conn, id)?
                .ok_or_else(|| StoreError::NotFound(format!("token {id}")))?;
            ensure_token_row(conn, &self.keys, &row)?;
            let mut stored = stored_tokens(conn, vec![row.clone()])?
                .pop()
                .ok_or_else(|| StoreError::NotFound(format!("token {id}")))?;
            let read_revision = stored.token.revision();
            let event = op(&mut stored.token, &stored.account)?;
            if let Some(event) = &event {
                let changed = event.revision != read_revision;
                if changed {
                    write_change(conn, self.keys.current(), &stored.token, &row, event)?;
                }
                also(conn, &stored.token)?;
                append_record(conn, self.keys.current(), &stored.token, event, ctx)?;
                // Only a change of the token itself concerns the instances' caches (a reveal
                // or an expiry record does not).
                if changed {
                    Self::signal_change(conn, &id.to_string()).map_err(StoreError::from)?;
                }
            }
            Ok(TokenChanged {
                token: stored,
                event,
            })
        })
    }

    /// Rotates a token: `op` applies the domain's rotation (after its own checks); then the
    /// current value becomes the previous one (replacing any earlier previous value, so at most
    /// two are valid) until the grace the token now carries, and `secret` becomes current. The
    /// change, the swap and the `rotated` record commit together.
    pub fn rotate_token<E>(
        &self,
        id: TokenId,
        ctx: &Context,
        secret: NewSecret,
        op: impl FnOnce(&mut Token, &AccountSummary) -> Result<TokenEvent, E>,
    ) -> Result<TokenChanged, E>
    where
        E: From<StoreError>,
    {
        self.change_token_with(
            id,
            ctx,
            |token, account| op(token, account).map(Some),
            |conn, token| {
                let text = token.id().to_string();
                let (key_id, digest): (String, Vec<u8>) = tokens::table
                    .find(&text)
                    .select((tokens::secret_key_id, tokens::secret_hash))
                    .first(conn)?;
                diesel::delete(
                    token_previous_values::table.filter(token_previous_values::token_id.eq(&text)),
                )
                .execute(conn)?;
                diesel::insert_into(token_previous_values::table)
                    .values((
                        token_previous_values::token_id.eq(&text),
                        token_previous_values::secret_key_id.eq(key_id),
                        token_previous_values::secret_hash.eq(digest),
                        token_previous_values::expires_at
                            .eq(token.parts().previous_value_expires_at.map(to_db)),
                    ))
                    .execute(conn)?;
                // The row MAC covers the hash: made again over the new one.
                let key_id = secret.hash.key_id.to_string();
                let mac = token_mac(self.keys.current(), token, &key_id, &secret.hash.digest);
                diesel::update(tokens::table.find(&text))
                    .set((
                        tokens::secret_key_id.eq(key_id),
                        tokens::secret_hash.eq(secret.hash.digest.to_vec()),
                        tokens::sealed_value.eq(secret.sealed.map(|sealed| sealed.0)),
                        tokens::row_mac.eq(Some(mac)),
                    ))
                    .execute(conn)?;
                Ok(())
            },
        )
    }

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

    /// Reveals a token's value: `check` may refuse; otherwise the `revealed` record is written
    /// and the sealed copy returned (none when the token was created with reveal `never`).
    pub fn reveal_token<E>(
        &self,
        id: TokenId,
        ctx: &Context,
        check: impl FnOnce(&Token, &AccountSummary) -> Result<(), E>,
    ) -> Result<(StoredToken, Option<SealedValue>), E>
    where
        E: From<StoreError>,
    {
        let mut sealed = None;
        let changed = self.change_token_with(
            id,
            ctx,
            |token, account| {
                check(token, account)?;
                token
                    .reveal(ctx.actor.clone(), ctx.now)
                    .map(Some)
                    .map_err(|error| E::from(StoreError::Transition(error)))
            },
            |conn, token| {
                let value: Option<Vec<u8>> = tokens::table
                    .find(token.id().to_string())
                    .select(tokens::sealed_value)
                    .first(conn)?;
                sealed = value.map(SealedValue);
                Ok(())
            },
        )?;
        Ok((changed.token, sealed))
    }

    /// Sets a token's icon (`check` may refuse first).
    pub fn set_icon<E>(
        &self,
        id: TokenId,
        ctx: &Context,
        icon: Icon,
        check: impl FnOnce(&Token, &AccountSummary) -> Result<(), E>,
    ) -> Result<TokenChanged, E>
    where
        E: From<StoreError>,
    {
        let now = to_db(ctx.now);
        self.change_token_with(
            id,
            ctx,
            |token, account| {
                check(token, account)?;
                token
                    .set_icon(ctx.actor.clone(), ctx.now)
                    .map(Some)
                    .map_err(|error| E::from(StoreError::Transition(error)))
            },
            move |conn, token| {
                let token_id = token.id().to_string();
                diesel::delete(token_icons::table.find(&token_id)).execute(conn)?;
                diesel::insert_into(token_icons::table)
                    .values(IconRow {
                        token_id,
                        content_type: icon.content_type,
                        data: icon.data,
                        updated_at: now,
                    })
                    .execute(conn)?;
                Ok(())
            },
        )
    }

    /// Removes a token's icon (`check` may refuse first). No change when there is none.
    pub fn clear_icon<E>(
        &self,
        id: TokenId,
        ctx: &Context,
        check: impl FnOnce(&Token, &AccountSummary) -> Result<(), E>,
    ) -> Result<TokenChanged, E>
    where
        E: From<StoreError>,
    {
        self.change_token_with(
            id,
            ctx,
            |token, account| {
                check(token, account)?;
                token
                    .clear_icon(ctx.actor.clone(), ctx.now)
                    .map_err(|error| E::from(StoreError::Transition(error)))
            },
            |conn, token| {
                diesel::delete(token_icons::table.find(token.id().to_string())).execute(conn)?;
                Ok(())
            },
        )
    }

    /// A token's icon.
    pub fn icon(&self, id: TokenId) -> Result<Option<Icon>, StoreError> {
        let mut conn = self.conn()?;
        let row: Option<IconRow> = token_icons::table
            .find(id.to_string())
            .select(IconRow::as_select())
            .first(&mut conn)
            .optional()?;
        Ok(row.map(|row| Icon {
            content_type: row.content_type,
            data: row.data,
        }))
    }

    /// What the request decision needs to know about a token. A token whose row, or whose
    /// account's row, does not match its row MAC is refused as unknown (counted and logged):
    /// what a superuser changed in the database decides nothing.
    pub fn token_view(&self, id: TokenId) -> Result<Option<TokenView>, StoreError> {
        self.lookups
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut conn = self.request_conn()?;
        let Some(row) = load_token_row(&mut conn, id)? else {
            return Ok(None);
        };
        let modules = token_module_texts(&mut conn, &row.id)?;
        if let Err(error) = token_fields(&row, &modules).check(&self.keys, row.row_mac.as_deref()) {
            self.refuse_row(&format!("token {}", row.id), error);
            return Ok(None);
        }
        let account_row: Option<AccountRow> = accounts::table
            .find(&row.account_id)
            .select(AccountRow::as_select())
            .first(&mut conn)
            .optional()?;
        let Some(account_row) = account_row else {
            return Ok(None);
        };
        let enabled = account_module_texts(&mut conn, &account_row.id)?;
        if let Err(error) =
            account_fields(&account_row, &enabled).check(&self.keys, account_row.row_mac.as_deref())
        {
            self.refuse_row(&format!("account {}", account_row.id), error);
            return Ok(None);
        }
        let Some(stored) = stored_tokens(&mut conn, vec![row.clone()])?.pop() else {
            return Ok(None);
        };
        let hash = stored_hash(&row.id, &row.secret_key_id, &row.secret_hash)?;
        let previous = load_previous(&mut conn, std::slice::from_ref(&row.id))?
            .remove(&row.id)
            .map(|previous| previous.into_value(&row.id))
            .transpose()?;
        Ok(Some(TokenView {
            id,
            name: stored.token.name().to_string(),
            account_id: stored.account.id,
            account_type: stored.account.account_type,
            account_status: stored.account.status,
            status: stored.token.status(),
            hash,
            modules: stored.token.modules().clone(),
            revision: stored.token.revision(),
            expires_at: stored.token.expires_at(),
            previous,
        }))
    }

    /// Every token id (for the in-memory id set).
    pub fn token_ids(&self) -> Result<Vec<TokenId>, StoreError> {
        let mut conn = self.conn()?;
        let ids: Vec<String> = tokens::table.select(tokens::id).load(&mut conn)?;
        ids.iter().map(|id| parse_id(id)).collect()
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

    /// Removes `module` from every non-deleted token of `account` that holds it, with a record
    /// per token (inside the caller's transaction, the chain head already locked).
    pub(crate) fn cascade_module_removal(
        &self,
        conn: &mut AnyConnection,
        account: AccountId,
        module: ModuleId,
        ctx: &Context,
    ) -> Result<(), StoreError> {
        let ids: Vec<String> = token_modules::table
            .inner_join(tokens::table)
            .filter(tokens::account_id.eq(account.to_string()))
            .filter(tokens::status.ne(TokenStatus::Deleted.as_str()))
            .filter(token_modules::module_id.eq(module.to_string()))
            .select(tokens::id)
            .order(tokens::id.asc())
            .load(conn)?;
        for id in ids {
            let Some(row) = load_token_row(conn, parse_id(&id)?)? else {
                continue;
            };
            ensure_token_row(conn, &self.keys, &row)?;
            let Some(mut stored) = stored_tokens(conn, vec![row.clone()])?.pop() else {
                continue;
            };
            if let Some(event) = stored.token.remove_module(module, ctx.now) {
                write_change(conn, self.keys.current(), &stored.token, &row, &event)?;
                let system = Context::system(ctx.now);
                append_record(conn, self.keys.current(), &stored.token, &event, &system)?;
                Self::signal_change(conn, &id)?;
            }
        }
        Ok(())
    }
}
