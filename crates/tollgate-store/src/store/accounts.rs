//! Accounts, users and the module catalog. Every row written carries its row MAC; an account
//! or user read for a decision, and every catalog entry, must match it (a catalog entry that
//! does not is left out of the catalog, so it grants nothing).

use diesel::prelude::*;
use time::OffsetDateTime;
use tollgate_domain::{
    Account, AccountId, AccountStatus, AccountType, Catalog, DisplayName, Keyring, Keys, Module,
    ModuleId, ModuleSet, User, UserId,
};

use super::integrity::{account_fields, account_module_texts, ensure, module_fields, user_fields};
use super::rows::{AccountRow, ModuleRow, UserRow, corrupt, parse_id, to_db};
use super::{AccountSummary, Context, Store};
use crate::backend::AnyConnection;
use crate::error::StoreError;
use crate::schema::{account_modules, accounts, audit_chain_heads, modules, users};

const ID_ATTEMPTS: usize = 32;

pub(crate) fn load_account_modules(
    conn: &mut AnyConnection,
    account: &str,
) -> Result<ModuleSet, StoreError> {
    let ids: Vec<String> = account_modules::table
        .filter(account_modules::account_id.eq(account))
        .select(account_modules::module_id)
        .load(conn)?;
    ids.iter()
        .map(|id| parse_id::<tollgate_domain::id::ModuleKind>(id))
        .collect()
}

/// An account, checked against its row MAC (`Integrity` when it does not match).
pub(crate) fn load_account(
    conn: &mut AnyConnection,
    ring: &Keyring,
    id: AccountId,
) -> Result<Option<Account>, StoreError> {
    let row: Option<AccountRow> = accounts::table
        .find(id.to_string())
        .select(AccountRow::as_select())
        .first(conn)
        .optional()?;
    match row {
        Some(row) => {
            let texts = account_module_texts(conn, &row.id)?;
            ensure(
                ring,
                &format!("account {}", row.id),
                account_fields(&row, &texts),
                row.row_mac.as_deref(),
            )?;
            let modules = load_account_modules(conn, &row.id)?;
            row.into_account(modules).map(Some)
        }
        None => Ok(None),
    }
}

/// Makes the account's row MAC again, from the row and its modules as they now are (after a
/// change made in this transaction, to a row checked before it).
pub(crate) fn write_account_mac(
    conn: &mut AnyConnection,
    keys: &Keys,
    id: &str,
) -> Result<(), StoreError> {
    let row: AccountRow = accounts::table
        .find(id)
        .select(AccountRow::as_select())
        .first(conn)?;
    let modules = account_module_texts(conn, id)?;
    let mac = account_fields(&row, &modules).mac(keys);
    diesel::update(accounts::table.find(id))
        .set(accounts::row_mac.eq(mac))
        .execute(conn)?;
    Ok(())
}

pub(crate) fn account_summary(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<AccountSummary, StoreError> {
    let row: AccountRow = accounts::table
        .find(id)
        .select(AccountRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("account {id}")))?;
    let account = row.into_account(ModuleSet::new())?;
    Ok(AccountSummary {
        id: account.id,
        name: account.name.to_string(),
        account_type: account.account_type,
        status: account.status,
    })
}

pub(crate) fn account_summaries(
    conn: &mut AnyConnection,
    ids: &[String],
) -> Result<std::collections::BTreeMap<String, AccountSummary>, StoreError> {
    let rows: Vec<AccountRow> = accounts::table
        .filter(accounts::id.eq_any(ids))
        .select(AccountRow::as_select())
        .load(conn)?;
    rows.into_iter()
        .map(|row| {
            let key = row.id.clone();
            let account = row.into_account(ModuleSet::new())?;
            Ok((
                key,
                AccountSummary {
                    id: account.id,
                    name: account.name.to_string(),
                    account_type: account.account_type,
                    status: account.status,
                },
            ))
        })
        .collect()
}

fn module_row(module: &Module, keys: &Keys) -> ModuleRow {
    let mut row = ModuleRow {
        id: module.id.to_string(),
        code: module.code.to_string(),
        name: module.name.to_string(),
        description: module.description.clone(),
        account_types: module
            .account_types
            .iter()
            .map(AccountType::as_str)
            .collect::<Vec<_>>()
            .join(","),
        paths: module
            .paths
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(","),
        row_mac: None,
    };
    row.row_mac = Some(module_fields(&row).mac(keys));
    row
}

fn parse_module(row: ModuleRow) -> Result<Module, StoreError> {
    let id: ModuleId = parse_id(&row.id)?;
    let kinds: Vec<AccountType> = row
        .account_types
        .split(',')
        .filter(|part| !part.is_empty())
        .map(|part| AccountType::parse(part).ok_or_else(|| corrupt("module account type", part)))
        .collect::<Result<_, _>>()?;
    let paths: Vec<&str> = row
        .paths
        .split(',')
        .filter(|part| !part.is_empty())
        .collect();
    Module::new(id, &row.code, &row.name, &row.description, &kinds, &paths)
        .map_err(|errors| StoreError::Corrupt(format!("module {}: {errors}", row.id)))
}

impl Store {
    /// The module catalog: every entry that matches its row MAC (one that does not is left
    /// out, counted and logged, so its paths grant nothing; `tollgate modules upsert` writes it
    /// again).
    pub fn catalog(&self) -> Result<Catalog, StoreError> {
        let mut conn = self.conn()?;
        let rows: Vec<ModuleRow> = modules::table
            .select(ModuleRow::as_select())
            .load(&mut conn)?;
        let mut modules = Vec::with_capacity(rows.len());
        for row in rows {
            if let Err(error) = module_fields(&row).check(&self.keys, row.row_mac.as_deref()) {
                self.refuse_row(&format!("module {}", row.id), error);
                continue;
            }
            modules.push(parse_module(row)?);
        }
        Ok(Catalog::new(modules))
    }

    /// Inserts or replaces a catalog entry (by id), with its row MAC. A code already used by
    /// another id is a `Duplicate`.
    pub fn upsert_module(&self, module: &Module) -> Result<(), StoreError> {
        let row = module_row(module, self.keys.current());
        self.transaction(|conn| {
            let updated = diesel::update(modules::table.find(&row.id))
                .set(&row)
                .execute(conn)?;
            if updated == 0 {
                diesel::insert_into(modules::table)
                    .values(&row)
                    .execute(conn)?;
            }
            Self::signal_change(conn, "modules")?;
            Ok::<_, StoreError>(())
        })
    }

    /// Creates an account with these modules enabled, and its audit chain head.
    pub fn create_account(
        &self,
        name: &DisplayName,
        account_type: AccountType,
        modules: &ModuleSet,
        now: OffsetDateTime,
    ) -> Result<Account, StoreError> {
        self.transaction(|conn| {
            let id = (0..ID_ATTEMPTS)
                .map(|_| AccountId::random(&mut rand::thread_rng()))
                .find(|id| {
                    accounts::table
                        .find(id.to_string())
                        .count()
                        .get_result::<i64>(conn)
                        .map(|n| n == 0)
                        .unwrap_or(false)
                })
                .ok_or_else(|| StoreError::Database("could not find a free account id".into()))?;
            diesel::insert_into(accounts::table)
                .values(AccountRow {
                    id: id.to_string(),
                    name: name.to_string(),
                    account_type: account_type.as_str().to_owned(),
                    status: AccountStatus::Active.as_str().to_owned(),
                    created_at: to_db(now),
                    max_token_lifetime_days: None,
                    require_token_expiry: false,
                    row_mac: None,
                })
                .execute(conn)?;
            diesel::insert_into(audit_chain_heads::table)
                .values((
                    audit_chain_heads::account_id.eq(id.to_string()),
                    audit_chain_heads::record_count.eq(0i64),
                    audit_chain_heads::last_hash.eq(tollgate_audit::chain::GENESIS.to_vec()),
                ))
                .execute(conn)?;
            for module in modules.iter() {
                diesel::insert_into(account_modules::table)
                    .values((
                        account_modules::account_id.eq(id.to_string()),
                        account_modules::module_id.eq(module.to_string()),
                    ))
                    .execute(conn)?;
            }
            write_account_mac(conn, self.keys.current(), &id.to_string())?;
            load_account(conn, &self.keys, id)?
                .ok_or_else(|| StoreError::NotFound(format!("account {id}")))
        })
    }

    /// One account (`Integrity` when its row does not match its row MAC).
    pub fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        let mut conn = self.conn()?;
        load_account(&mut conn, &self.keys, id)
    }

    /// One account, for a cache fill on the request path (waits at most the request timeout
    /// for a connection).
    pub fn request_account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        let mut conn = self.request_conn()?;
        load_account(&mut conn, &self.keys, id)
    }

    /// Every account, by name then id.
    pub fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let mut conn = self.conn()?;
        let rows: Vec<AccountRow> = accounts::table
            .select(AccountRow::as_select())
            .order((accounts::name.asc(), accounts::id.asc()))
            .load(&mut conn)?;
        rows.into_iter()
            .map(|row| {
                let modules = load_account_modules(&mut conn, &row.id)?;
                row.into_account(modules)
            })
            .collect()
    }

    /// Sets an account's token lifetime policy (for the tokens' next `expiresAt`).
    pub fn set_account_policy(
        &self,
        id: AccountId,
        policy: tollgate_domain::TokenPolicy,
    ) -> Result<Account, StoreError> {
        self.transaction(|conn| {
            let days = policy
                .max_lifetime_days
                .map(|days| i32::try_from(days).unwrap_or(i32::MAX));
            let updated = diesel::update(accounts::table.find(id.to_string()))
                .set((
                    accounts::max_token_lifetime_days.eq(days),
                    accounts::require_token_expiry.eq(policy.require_expiry),
                ))
                .execute(conn)?;
            if updated == 0 {
                return Err(StoreError::NotFound(format!("account {id}")));
            }
            Self::signal_change(conn, &format!("account:{id}"))?;
            load_account(conn, &self.keys, id)?
                .ok_or_else(|| StoreError::NotFound(format!("account {id}")))
        })
    }

    /// Sets an account's status.
    pub fn set_account_status(
        &self,
        id: AccountId,
        status: AccountStatus,
    ) -> Result<Account, StoreError> {
        self.transaction(|conn| {
            if load_account(conn, &self.keys, id)?.is_none() {
                return Err(StoreError::NotFound(format!("account {id}")));
            }
            diesel::update(accounts::table.find(id.to_string()))
                .set(accounts::status.eq(status.as_str()))
                .execute(conn)?;
            write_account_mac(conn, self.keys.current(), &id.to_string())?;
            Self::signal_change(conn, &format!("account:{id}"))?;
            load_account(conn, &self.keys, id)?
                .ok_or_else(|| StoreError::NotFound(format!("account {id}")))
        })
    }

    /// Sets the modules enabled for an account. A module removed from the account is removed
    /// from every token of the account, with an audit record per token, in the same
    /// transaction; the tokens keep their state.
    pub fn set_account_modules(
        &self,
        id: AccountId,
        modules: &ModuleSet,
        ctx: &Context,
    ) -> Result<Account, StoreError> {
        self.transaction(|conn| {
            let before = load_account(conn, &self.keys, id)?
                .ok_or_else(|| StoreError::NotFound(format!("account {id}")))?;
            super::audit::lock_head(conn, &id.to_string())?;
            let removed: Vec<ModuleId> = before.modules.difference(modules).collect();
            diesel::delete(
                account_modules::table.filter(account_modules::account_id.eq(id.to_string())),
            )
            .execute(conn)?;
            for module in modules.iter() {
                diesel::insert_into(account_modules::table)
                    .values((
                        account_modules::account_id.eq(id.to_string()),
                        account_modules::module_id.eq(module.to_string()),
                    ))
                    .execute(conn)?;
            }
            write_account_mac(conn, self.keys.current(), &id.to_string())?;
            for module in removed {
                self.cascade_module_removal(conn, id, module, ctx)?;
            }
            Self::signal_change(conn, &format!("account:{id}"))?;
            load_account(conn, &self.keys, id)?
                .ok_or_else(|| StoreError::NotFound(format!("account {id}")))
        })
    }

    /// Creates a user.
    pub fn create_user(
        &self,
        account: AccountId,
        name: &DisplayName,
        admin: bool,
        now: OffsetDateTime,
    ) -> Result<User, StoreError> {
        self.transaction(|conn| {
            if load_account(conn, &self.keys, account)?.is_none() {
                return Err(StoreError::NotFound(format!("account {account}")));
            }
            let id = (0..ID_ATTEMPTS)
                .map(|_| UserId::random(&mut rand::thread_rng()))
                .find(|id| {
                    users::table
                        .find(id.to_string())
                        .count()
                        .get_result::<i64>(conn)
                        .map(|n| n == 0)
                        .unwrap_or(false)
                })
                .ok_or_else(|| StoreError::Database("could not find a free user id".into()))?;
            let mut row = UserRow {
                id: id.to_string(),
                account_id: account.to_string(),
                name: name.to_string(),
                admin,
                created_at: to_db(now),
                row_mac: None,
            };
            row.row_mac = Some(user_fields(&row).mac(self.keys.current()));
            diesel::insert_into(users::table)
                .values(&row)
                .execute(conn)?;
            row.into_user()
        })
    }

    /// One user (`Integrity` when its row does not match its row MAC: who is an
    /// administrator is decided by it).
    pub fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let mut conn = self.conn()?;
        let row: Option<UserRow> = users::table
            .find(id.to_string())
            .select(UserRow::as_select())
            .first(&mut conn)
            .optional()?;
        if let Some(row) = &row {
            ensure(
                &self.keys,
                &format!("user {}", row.id),
                user_fields(row),
                row.row_mac.as_deref(),
            )?;
        }
        row.map(UserRow::into_user).transpose()
    }

    /// Users, of one account or all, by name then id.
    pub fn users(&self, account: Option<AccountId>) -> Result<Vec<User>, StoreError> {
        let mut conn = self.conn()?;
        let mut query = users::table
            .select(UserRow::as_select())
            .order((users::name.asc(), users::id.asc()))
            .into_boxed();
        if let Some(account) = account {
            query = query.filter(users::account_id.eq(account.to_string()));
        }
        let rows: Vec<UserRow> = query.load(&mut conn)?;
        rows.into_iter().map(UserRow::into_user).collect()
    }
}
