//! Row MACs in the store (see `tollgate_audit::rowmac` for what each covers): made over every
//! row Tollgate writes, checked where a row would decide something — a cache fill, the catalog,
//! an account or user read for a permission, and every row read to be changed (so a change
//! never re-signs a row a superuser altered).

use diesel::prelude::*;
use tollgate_audit::{Row, RowMacError};
use tollgate_domain::{Keyring, Keys, ModuleSet, Token};

use super::rows::{AccountRow, ModuleRow, TokenRow, UserRow};
use crate::backend::AnyConnection;
use crate::error::StoreError;
use crate::schema::{account_modules, token_modules};

/// Module ids as stored text.
pub(crate) fn module_texts(modules: &ModuleSet) -> Vec<String> {
    modules.iter().map(|id| id.to_string()).collect()
}

/// The module ids of a token, as stored.
pub(crate) fn token_module_texts(
    conn: &mut AnyConnection,
    token: &str,
) -> Result<Vec<String>, StoreError> {
    Ok(token_modules::table
        .filter(token_modules::token_id.eq(token))
        .select(token_modules::module_id)
        .load(conn)?)
}

/// The enabled module ids of an account, as stored.
pub(crate) fn account_module_texts(
    conn: &mut AnyConnection,
    account: &str,
) -> Result<Vec<String>, StoreError> {
    Ok(account_modules::table
        .filter(account_modules::account_id.eq(account))
        .select(account_modules::module_id)
        .load(conn)?)
}

/// The security fields of a stored token row.
pub(crate) fn token_fields<'a>(row: &'a TokenRow, modules: &'a [String]) -> Row<'a> {
    Row::Token {
        id: &row.id,
        account_id: &row.account_id,
        status: &row.status,
        revision: row.revision,
        modules,
        secret_key_id: &row.secret_key_id,
        secret_hash: &row.secret_hash,
        expires_at: row.expires_at.map(|at| millis(super::rows::from_db(at))),
        compromised: row.compromised,
    }
}

/// Milliseconds since the epoch (what a token MAC covers of a time).
fn millis(at: time::OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The MAC of `token` as it is about to be written, with its hash (`key_id`, `hash`).
pub(crate) fn token_mac(keys: &Keys, token: &Token, key_id: &str, hash: &[u8]) -> String {
    let id = token.id().to_string();
    let account_id = token.account_id().to_string();
    let modules = module_texts(token.modules());
    Row::Token {
        id: &id,
        account_id: &account_id,
        status: token.status().as_str(),
        revision: i64::from(token.revision()),
        modules: &modules,
        secret_key_id: key_id,
        secret_hash: hash,
        expires_at: token.expires_at().map(millis),
        compromised: token.parts().compromised,
    }
    .mac(keys)
}

/// The security fields of a stored account row.
pub(crate) fn account_fields<'a>(row: &'a AccountRow, modules: &'a [String]) -> Row<'a> {
    Row::Account {
        id: &row.id,
        account_type: &row.account_type,
        status: &row.status,
        modules,
    }
}

/// The security fields of a stored user row.
pub(crate) fn user_fields(row: &UserRow) -> Row<'_> {
    Row::User {
        id: &row.id,
        account_id: &row.account_id,
        admin: row.admin,
    }
}

/// The security fields of a stored module row.
pub(crate) fn module_fields(row: &ModuleRow) -> Row<'_> {
    Row::Module {
        id: &row.id,
        code: &row.code,
        account_types: &row.account_types,
        paths: &row.paths,
    }
}

/// `Ok` when the row's MAC holds; otherwise the refusal, naming the row.
pub(crate) fn ensure(
    ring: &Keyring,
    what: &str,
    row: Row<'_>,
    stored: Option<&str>,
) -> Result<(), StoreError> {
    row.check(ring, stored)
        .map(|_| ())
        .map_err(|error| integrity_error(what, error))
}

/// The error for a row that fails its MAC.
pub(crate) fn integrity_error(what: &str, error: RowMacError) -> StoreError {
    StoreError::Integrity(format!(
        "{what} {error}; it is refused until it is restored (see `tollgate audit verify`)"
    ))
}
