//! Token changes, each with its audit record in the same transaction: create, change, rotate,
//! reveal, icons, and the cascade of a module's removal from an account.

use diesel::prelude::*;
use tollgate_domain::secret::SealedValue;
use tollgate_domain::{
    AccountId, EventKind, ModuleId, ModuleSet, NewToken, Token, TokenEvent, TokenId, TokenStatus,
};

use super::{Icon, NewSecret, StoredToken, TokenChanged, load_token_row, stored_tokens};
use crate::backend::AnyConnection;
use crate::error::StoreError;
use crate::schema::{token_icons, token_modules, token_previous_values, tokens};
use crate::store::accounts::account_summary;
use crate::store::audit::{append_record, lock_head};
use crate::store::integrity::{ensure, token_fields, token_mac, token_module_texts};
use crate::store::rows::{IconRow, TokenChanges, TokenRow, parse_id, to_db};
use crate::store::{AccountSummary, Context, Store};

const ID_ATTEMPTS: usize = 64;

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

    pub(super) fn change_token_with<E>(
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
