//! Tokens: create, read, change (with the audit record in the same transaction), reveal,
//! icons, the hot path's view, batched `lastAccessAt`.
//!
//! This file holds the token types and the reads (one token, its icon, the hot path's view,
//! every id); `write` holds the changes, `upkeep` the work done off the request path.

use std::collections::BTreeMap;

use diesel::prelude::*;
use tollgate_domain::authz::PreviousValue;
use tollgate_domain::secret::{KeyId, SealedValue};
use tollgate_domain::{ModuleId, ModuleSet, Token, TokenEvent, TokenHash, TokenId, TokenView};

use super::accounts::account_summaries;
use super::integrity::{account_fields, account_module_texts, token_fields, token_module_texts};
use super::rows::{AccountRow, IconRow, TokenRow, corrupt, from_db, parse_id};
use super::{AccountSummary, Store};
use crate::backend::AnyConnection;
use crate::error::StoreError;
use crate::schema::{accounts, token_icons, token_modules, token_previous_values, tokens};

mod upkeep;
mod write;

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

impl Store {
    /// One token (any status).
    pub fn token(&self, id: TokenId) -> Result<Option<StoredToken>, StoreError> {
        let mut conn = self.conn()?;
        match load_token_row(&mut conn, id)? {
            Some(row) => Ok(stored_tokens(&mut conn, vec![row])?.pop()),
            None => Ok(None),
        }
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
}
