//! `tollgate keys rotate` (SPEC §8): moves to the current key what can be moved without the
//! values being presented — every token that has a sealed copy is re-hashed and re-sealed, and
//! every row MAC under another key is made again. Tokens without a copy (reveal policy `never`)
//! move when next used (the write-behind's [`Store::rehash_tokens`]). Audit records stay under
//! the key they were chained under: the chain is never rewritten.
//!
//! Each token moves in a transaction of its own, with its account's chain head locked like any
//! change to it, so a concurrent change cannot write a row MAC over the hash it replaced. A row
//! that fails its row MAC is not moved (that would sign what a superuser wrote); it is named.

use diesel::prelude::*;
use tollgate_audit::RowMacError;
use tollgate_domain::secret::SealedValue;
use tollgate_domain::{Keyring, Keys, TokenId};

use super::audit::lock_head;
use super::integrity::{
    account_fields, account_module_texts, integrity_error, module_fields, token_fields,
    token_module_texts, user_fields,
};
use super::rows::{AccountRow, ModuleRow, TokenRow, UserRow, parse_id};
use super::tokens::load_token_row;
use super::{Store, transaction_on};
use crate::backend::AnyConnection;
use crate::error::StoreError;
use crate::schema::{accounts, modules, tokens, users};

/// What a rotation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rotated {
    /// Tokens re-hashed and re-sealed under the current key.
    pub resealed: u64,
    /// Row MACs made again under the current key (tokens, accounts, users, modules).
    pub row_macs: u64,
    /// Rows left as they were because they fail their row MAC, or whose copy does not open.
    pub refused: Vec<String>,
    /// Active and Disabled tokens still under an older key (no sealed copy): each moves when
    /// it is next used.
    pub waiting: u64,
}

/// What moving one token did.
#[derive(Debug, Clone, Copy, Default)]
struct Moved {
    resealed: bool,
    remaced: bool,
}

/// One token, moved (inside the caller's transaction).
fn move_token(
    conn: &mut AnyConnection,
    store: &Store,
    id: TokenId,
    refused: &mut Vec<String>,
) -> Result<Moved, StoreError> {
    let current = store.keys.current();
    let current_id = current.id().to_string();
    let Some(first) = load_token_row(conn, id)? else {
        return Ok(Moved::default());
    };
    lock_head(conn, &first.account_id)?;
    let Some(row): Option<TokenRow> = load_token_row(conn, id)? else {
        return Ok(Moved::default());
    };
    let modules = token_module_texts(conn, &row.id)?;
    let mac_is_current = row
        .row_mac
        .as_deref()
        .and_then(tollgate_audit::rowmac::mac_key_id)
        == Some(current.id());
    let reseal = row.sealed_value.is_some() && row.secret_key_id != current_id;
    if !reseal && mac_is_current {
        return Ok(Moved::default());
    }
    if let Err(error) = token_fields(&row, &modules).check(&store.keys, row.row_mac.as_deref()) {
        refused.push(integrity_error(&format!("token {}", row.id), error).to_string());
        return Ok(Moved::default());
    }
    let mut moved = row.clone();
    if reseal {
        let sealed = SealedValue(row.sealed_value.clone().unwrap_or_default());
        let value = match store.keys.unseal(id, &sealed) {
            Ok((value, _)) => value,
            Err(error) => {
                refused.push(format!(
                    "token {}: its sealed copy cannot be opened ({error})",
                    row.id
                ));
                return Ok(Moved::default());
            }
        };
        let hash = current.hash.hash(value.expose_secret());
        moved.secret_key_id = current_id;
        moved.secret_hash = hash.digest.to_vec();
        moved.sealed_value = Some(current.seal.seal(&value, &mut rand::thread_rng()).0);
    }
    let mac = token_fields(&moved, &modules).mac(current);
    diesel::update(
        tokens::table
            .filter(tokens::id.eq(&row.id))
            .filter(tokens::secret_hash.eq(&row.secret_hash)),
    )
    .set((
        tokens::secret_key_id.eq(&moved.secret_key_id),
        tokens::secret_hash.eq(&moved.secret_hash),
        tokens::sealed_value.eq(&moved.sealed_value),
        tokens::row_mac.eq(mac),
    ))
    .execute(conn)?;
    Store::signal_change(conn, &row.id)?;
    Ok(Moved {
        resealed: reseal,
        remaced: true,
    })
}

/// The tables whose rows carry a row MAC besides `tokens` (whose rows move with their hashes).
#[derive(Debug, Clone, Copy)]
enum Table {
    Accounts,
    Users,
    Modules,
}

impl Table {
    const ALL: [Table; 3] = [Table::Accounts, Table::Users, Table::Modules];

    fn noun(self) -> &'static str {
        match self {
            Table::Accounts => "account",
            Table::Users => "user",
            Table::Modules => "module",
        }
    }

    /// The ids of rows whose MAC is not under the current key (`pattern`), or missing.
    fn stale(self, conn: &mut AnyConnection, pattern: &str) -> Result<Vec<String>, StoreError> {
        Ok(match self {
            Table::Accounts => accounts::table
                .filter(
                    accounts::row_mac
                        .not_like(pattern)
                        .or(accounts::row_mac.is_null()),
                )
                .select(accounts::id)
                .load(conn)?,
            Table::Users => users::table
                .filter(
                    users::row_mac
                        .not_like(pattern)
                        .or(users::row_mac.is_null()),
                )
                .select(users::id)
                .load(conn)?,
            Table::Modules => modules::table
                .filter(
                    modules::row_mac
                        .not_like(pattern)
                        .or(modules::row_mac.is_null()),
                )
                .select(modules::id)
                .load(conn)?,
        })
    }

    /// Checks row `id` under `ring` and makes its MAC again under `keys` (inside the caller's
    /// transaction, the row locked first by a write). `Ok(None)`: the row is gone.
    fn remac(
        self,
        conn: &mut AnyConnection,
        id: &str,
        ring: &Keyring,
        keys: &Keys,
    ) -> Result<Option<Result<(), RowMacError>>, StoreError> {
        match self {
            Table::Accounts => {
                diesel::update(accounts::table.find(id))
                    .set(accounts::row_mac.eq(accounts::row_mac))
                    .execute(conn)?;
                let Some(row) = accounts::table
                    .find(id)
                    .select(AccountRow::as_select())
                    .first(conn)
                    .optional()?
                else {
                    return Ok(None);
                };
                let modules = account_module_texts(conn, id)?;
                let fields = account_fields(&row, &modules);
                if let Err(error) = fields.check(ring, row.row_mac.as_deref()) {
                    return Ok(Some(Err(error)));
                }
                diesel::update(accounts::table.find(id))
                    .set(accounts::row_mac.eq(fields.mac(keys)))
                    .execute(conn)?;
            }
            Table::Users => {
                diesel::update(users::table.find(id))
                    .set(users::row_mac.eq(users::row_mac))
                    .execute(conn)?;
                let Some(row) = users::table
                    .find(id)
                    .select(UserRow::as_select())
                    .first(conn)
                    .optional()?
                else {
                    return Ok(None);
                };
                let fields = user_fields(&row);
                if let Err(error) = fields.check(ring, row.row_mac.as_deref()) {
                    return Ok(Some(Err(error)));
                }
                diesel::update(users::table.find(id))
                    .set(users::row_mac.eq(fields.mac(keys)))
                    .execute(conn)?;
            }
            Table::Modules => {
                diesel::update(modules::table.find(id))
                    .set(modules::row_mac.eq(modules::row_mac))
                    .execute(conn)?;
                let Some(row) = modules::table
                    .find(id)
                    .select(ModuleRow::as_select())
                    .first(conn)
                    .optional()?
                else {
                    return Ok(None);
                };
                let fields = module_fields(&row);
                if let Err(error) = fields.check(ring, row.row_mac.as_deref()) {
                    return Ok(Some(Err(error)));
                }
                diesel::update(modules::table.find(id))
                    .set(modules::row_mac.eq(fields.mac(keys)))
                    .execute(conn)?;
                Store::signal_change(conn, "modules")?;
            }
        }
        Ok(Some(Ok(())))
    }
}

impl Store {
    /// Moves everything that can be moved to the current key (see the module comment).
    pub fn rotate_keys(&self) -> Result<Rotated, StoreError> {
        let mut rotated = Rotated::default();
        let current = self.keys.current().id();
        let current_text = current.to_string();
        let pattern = tollgate_audit::rowmac::mac_pattern(current);
        let mut conn = self.conn()?;
        let token_ids: Vec<String> = tokens::table
            .filter(
                tokens::row_mac
                    .not_like(&pattern)
                    .or(tokens::row_mac.is_null())
                    .or(tokens::secret_key_id
                        .ne(&current_text)
                        .and(tokens::sealed_value.is_not_null())),
            )
            .order(tokens::id.asc())
            .select(tokens::id)
            .load(&mut conn)?;
        for id in token_ids {
            let id: TokenId = parse_id(&id)?;
            let mut refused = Vec::new();
            let moved = self.transaction(|conn| move_token(conn, self, id, &mut refused))?;
            rotated.resealed += u64::from(moved.resealed);
            rotated.row_macs += u64::from(moved.remaced);
            rotated.refused.extend(refused);
        }

        for table in Table::ALL {
            for id in table.stale(&mut conn, &pattern)? {
                let mut row_conn = self.conn()?;
                let outcome = transaction_on(&mut row_conn, |conn| {
                    table.remac(conn, &id, &self.keys, self.keys.current())
                })?;
                match outcome {
                    Some(Ok(())) => rotated.row_macs += 1,
                    Some(Err(error)) => rotated.refused.push(
                        integrity_error(&format!("{} {id}", table.noun()), error).to_string(),
                    ),
                    None => {}
                }
            }
        }
        rotated.waiting = u64::try_from(
            tokens::table
                .filter(tokens::secret_key_id.ne(&current_text))
                .filter(tokens::status.ne(tollgate_domain::TokenStatus::Deleted.as_str()))
                .count()
                .get_result::<i64>(&mut conn)?,
        )
        .unwrap_or(0);
        Ok(rotated)
    }
}
