//! Row structs and their conversion to and from domain types.

use diesel::prelude::*;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};
use tollgate_domain::token::{Milestones, Stamp, to_millis};
use tollgate_domain::{
    Account, AccountStatus, AccountType, DisplayName, ModuleSet, Principal, Token,
    TokenDescription, TokenName, TokenParts, TokenStatus, User,
};

use crate::error::StoreError;
use crate::schema::{accounts, audit_records, modules, token_icons, tokens, users};

/// UTC `OffsetDateTime` → the stored `TIMESTAMP` (milliseconds, UTC by convention).
pub(crate) fn to_db(at: OffsetDateTime) -> PrimitiveDateTime {
    let at = to_millis(at).to_offset(UtcOffset::UTC);
    PrimitiveDateTime::new(at.date(), at.time())
}

/// Stored `TIMESTAMP` → UTC `OffsetDateTime`.
pub(crate) fn from_db(at: PrimitiveDateTime) -> OffsetDateTime {
    at.assume_utc()
}

pub(crate) fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what}: {value:?}"))
}

pub(crate) fn parse_id<K: tollgate_domain::id::IdKind>(
    text: &str,
) -> Result<tollgate_domain::Id<K>, StoreError> {
    tollgate_domain::Id::<K>::parse(text).map_err(|_| corrupt(K::NOUN, text))
}

/// The text a name or description is matched against case-insensitively (`ilike`): its Unicode
/// lower-case mapping, computed here so both backends compare identically.
pub fn fold(text: &str) -> String {
    text.to_lowercase()
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = accounts)]
pub(crate) struct AccountRow {
    pub id: String,
    pub name: String,
    pub account_type: String,
    pub status: String,
    pub created_at: PrimitiveDateTime,
    pub max_token_lifetime_days: Option<i32>,
    pub require_token_expiry: bool,
    pub row_mac: Option<String>,
}

impl AccountRow {
    pub(crate) fn into_account(self, modules: ModuleSet) -> Result<Account, StoreError> {
        Ok(Account {
            id: parse_id(&self.id)?,
            name: DisplayName::parse("name", &self.name)
                .map_err(|_| corrupt("account name", &self.name))?,
            account_type: AccountType::parse(&self.account_type)
                .ok_or_else(|| corrupt("account type", &self.account_type))?,
            status: AccountStatus::parse(&self.status)
                .ok_or_else(|| corrupt("account status", &self.status))?,
            modules,
            token_policy: tollgate_domain::TokenPolicy {
                max_lifetime_days: self
                    .max_token_lifetime_days
                    .map(|days| {
                        u32::try_from(days).map_err(|_| corrupt("lifetime", &days.to_string()))
                    })
                    .transpose()?,
                require_expiry: self.require_token_expiry,
            },
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub(crate) struct UserRow {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub admin: bool,
    pub created_at: PrimitiveDateTime,
    pub row_mac: Option<String>,
}

impl UserRow {
    pub(crate) fn into_user(self) -> Result<User, StoreError> {
        Ok(User {
            id: parse_id::<tollgate_domain::id::UserKind>(&self.id)?,
            account_id: parse_id(&self.account_id)?,
            name: DisplayName::parse("name", &self.name)
                .map_err(|_| corrupt("user name", &self.name))?,
            admin: self.admin,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = modules)]
pub(crate) struct ModuleRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub description: String,
    pub account_types: String,
    pub paths: String,
    pub row_mac: Option<String>,
}

/// A `tokens` row. `Debug` leaves out the hash and the sealed copy.
#[derive(Clone, Queryable, Selectable, QueryableByName, Insertable)]
#[diesel(table_name = tokens)]
pub(crate) struct TokenRow {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub name_folded: String,
    pub description: String,
    pub description_folded: String,
    pub has_icon: bool,
    pub status: String,
    pub revision: i64,
    pub secret_key_id: String,
    pub secret_hash: Vec<u8>,
    pub sealed_value: Option<Vec<u8>>,
    pub last_access_at: Option<PrimitiveDateTime>,
    pub created_at: PrimitiveDateTime,
    pub created_by_id: String,
    pub created_by_name: String,
    pub updated_at: Option<PrimitiveDateTime>,
    pub updated_by_id: Option<String>,
    pub updated_by_name: Option<String>,
    pub enabled_at: Option<PrimitiveDateTime>,
    pub enabled_by_id: Option<String>,
    pub enabled_by_name: Option<String>,
    pub disabled_at: Option<PrimitiveDateTime>,
    pub disabled_by_id: Option<String>,
    pub disabled_by_name: Option<String>,
    pub deleted_at: Option<PrimitiveDateTime>,
    pub deleted_by_id: Option<String>,
    pub deleted_by_name: Option<String>,
    pub expires_at: Option<PrimitiveDateTime>,
    pub self_rotate: bool,
    pub compromised: bool,
    pub row_mac: Option<String>,
}

impl std::fmt::Debug for TokenRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRow")
            .field("id", &self.id)
            .field("account_id", &self.account_id)
            .field("status", &self.status)
            .field("revision", &self.revision)
            .field("secret_key_id", &self.secret_key_id)
            .finish_non_exhaustive()
    }
}

/// The columns a change writes (never the secret hash, the creation stamp or `lastAccessAt`,
/// which the write-behind owns), and the row MAC over the result.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = tokens)]
#[diesel(treat_none_as_null = true)]
pub(crate) struct TokenChanges {
    pub name: String,
    pub name_folded: String,
    pub description: String,
    pub description_folded: String,
    pub has_icon: bool,
    pub status: String,
    pub revision: i64,
    pub updated_at: Option<PrimitiveDateTime>,
    pub updated_by_id: Option<String>,
    pub updated_by_name: Option<String>,
    pub enabled_at: Option<PrimitiveDateTime>,
    pub enabled_by_id: Option<String>,
    pub enabled_by_name: Option<String>,
    pub disabled_at: Option<PrimitiveDateTime>,
    pub disabled_by_id: Option<String>,
    pub disabled_by_name: Option<String>,
    pub deleted_at: Option<PrimitiveDateTime>,
    pub deleted_by_id: Option<String>,
    pub deleted_by_name: Option<String>,
    pub expires_at: Option<PrimitiveDateTime>,
    pub self_rotate: bool,
    pub compromised: bool,
    pub row_mac: Option<String>,
}

type StampColumns = (Option<PrimitiveDateTime>, Option<String>, Option<String>);

fn stamp_columns(stamp: Option<&Stamp>) -> StampColumns {
    match stamp {
        Some(stamp) => (
            Some(to_db(stamp.at)),
            Some(stamp.by.id_text()),
            Some(stamp.by.name().to_owned()),
        ),
        None => (None, None, None),
    }
}

/// The principal stored as an id (`USR-…`, `TKN-…` or `SYSTEM`, which also tells its kind) and
/// a name.
pub(crate) fn principal(id: &str, name: &str) -> Result<Principal, StoreError> {
    if id == "SYSTEM" {
        return Ok(Principal::System);
    }
    if id.starts_with("USR-") {
        return Ok(Principal::User {
            id: parse_id::<tollgate_domain::id::UserKind>(id)?,
            name: name.to_owned(),
        });
    }
    Ok(Principal::Token {
        id: parse_id::<tollgate_domain::id::TokenKind>(id)?,
        name: name.to_owned(),
    })
}

fn stamp(
    at: Option<PrimitiveDateTime>,
    id: Option<&String>,
    name: Option<&String>,
) -> Result<Option<Stamp>, StoreError> {
    match (at, id, name) {
        (Some(at), Some(id), Some(name)) => Ok(Some(Stamp {
            at: from_db(at),
            by: principal(id, name)?,
        })),
        _ => Ok(None),
    }
}

impl TokenChanges {
    /// The columns of `token`, and `row_mac` (made over them by the caller).
    pub(crate) fn of(token: &Token, row_mac: Option<String>) -> Self {
        let parts = token.parts();
        let m = &parts.milestones;
        let (updated_at, updated_by_id, updated_by_name) = stamp_columns(m.updated.as_ref());
        let (enabled_at, enabled_by_id, enabled_by_name) = stamp_columns(m.enabled.as_ref());
        let (disabled_at, disabled_by_id, disabled_by_name) = stamp_columns(m.disabled.as_ref());
        let (deleted_at, deleted_by_id, deleted_by_name) = stamp_columns(m.deleted.as_ref());
        Self {
            name: parts.name.to_string(),
            name_folded: fold(parts.name.as_str()),
            description: parts.description.to_string(),
            description_folded: fold(parts.description.as_str()),
            has_icon: parts.has_icon,
            status: parts.status.as_str().to_owned(),
            revision: i64::from(parts.revision),
            updated_at,
            updated_by_id,
            updated_by_name,
            enabled_at,
            enabled_by_id,
            enabled_by_name,
            disabled_at,
            disabled_by_id,
            disabled_by_name,
            deleted_at,
            deleted_by_id,
            deleted_by_name,
            expires_at: parts.expires_at.map(to_db),
            self_rotate: parts.self_rotate,
            compromised: parts.compromised,
            row_mac,
        }
    }
}

impl TokenRow {
    pub(crate) fn new(
        token: &Token,
        key_id: String,
        hash: Vec<u8>,
        sealed: Option<Vec<u8>>,
        row_mac: String,
    ) -> Self {
        let parts = token.parts();
        let changes = TokenChanges::of(token, Some(row_mac));
        let created = &parts.milestones.created;
        Self {
            id: parts.id.to_string(),
            account_id: parts.account_id.to_string(),
            name: changes.name,
            name_folded: changes.name_folded,
            description: changes.description,
            description_folded: changes.description_folded,
            has_icon: changes.has_icon,
            status: changes.status,
            revision: changes.revision,
            secret_key_id: key_id,
            secret_hash: hash,
            sealed_value: sealed,
            last_access_at: parts.last_access_at.map(to_db),
            created_at: to_db(created.at),
            created_by_id: created.by.id_text(),
            created_by_name: created.by.name().to_owned(),
            updated_at: changes.updated_at,
            updated_by_id: changes.updated_by_id,
            updated_by_name: changes.updated_by_name,
            enabled_at: changes.enabled_at,
            enabled_by_id: changes.enabled_by_id,
            enabled_by_name: changes.enabled_by_name,
            disabled_at: changes.disabled_at,
            disabled_by_id: changes.disabled_by_id,
            disabled_by_name: changes.disabled_by_name,
            deleted_at: changes.deleted_at,
            deleted_by_id: changes.deleted_by_id,
            deleted_by_name: changes.deleted_by_name,
            expires_at: changes.expires_at,
            self_rotate: changes.self_rotate,
            compromised: changes.compromised,
            row_mac: changes.row_mac,
        }
    }

    /// The token; `previous_until` is the grace end of the value its latest rotation replaced
    /// (from `token_previous_values`).
    pub(crate) fn to_token(
        &self,
        modules: ModuleSet,
        previous_until: Option<OffsetDateTime>,
    ) -> Result<Token, StoreError> {
        let revision = u32::try_from(self.revision)
            .map_err(|_| corrupt("revision", &self.revision.to_string()))?;
        Ok(Token::from_parts(TokenParts {
            id: parse_id::<tollgate_domain::id::TokenKind>(&self.id)?,
            account_id: parse_id::<tollgate_domain::id::AccountKind>(&self.account_id)?,
            name: TokenName::parse(&self.name).map_err(|_| corrupt("token name", &self.name))?,
            description: TokenDescription::parse(&self.description)
                .map_err(|_| corrupt("token description", &self.description))?,
            has_icon: self.has_icon,
            modules,
            status: TokenStatus::parse(&self.status)
                .ok_or_else(|| corrupt("token status", &self.status))?,
            revision,
            last_access_at: self.last_access_at.map(from_db),
            milestones: Milestones {
                created: Stamp {
                    at: from_db(self.created_at),
                    by: principal(&self.created_by_id, &self.created_by_name)?,
                },
                updated: stamp(
                    self.updated_at,
                    self.updated_by_id.as_ref(),
                    self.updated_by_name.as_ref(),
                )?,
                enabled: stamp(
                    self.enabled_at,
                    self.enabled_by_id.as_ref(),
                    self.enabled_by_name.as_ref(),
                )?,
                disabled: stamp(
                    self.disabled_at,
                    self.disabled_by_id.as_ref(),
                    self.disabled_by_name.as_ref(),
                )?,
                deleted: stamp(
                    self.deleted_at,
                    self.deleted_by_id.as_ref(),
                    self.deleted_by_name.as_ref(),
                )?,
            },
            expires_at: self.expires_at.map(from_db),
            self_rotate: self.self_rotate,
            compromised: self.compromised,
            previous_value_expires_at: previous_until,
        }))
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = token_icons)]
pub(crate) struct IconRow {
    pub token_id: String,
    pub content_type: String,
    pub data: Vec<u8>,
    pub updated_at: PrimitiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName, Insertable)]
#[diesel(table_name = audit_records)]
pub(crate) struct AuditRow {
    pub id: String,
    pub account_id: String,
    pub chain_seq: i64,
    pub event: String,
    pub object_id: String,
    pub actor_id: String,
    pub occurred_at: PrimitiveDateTime,
    pub record: String,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
    pub key_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::TokenRow;

    #[test]
    fn a_token_row_never_prints_its_hash_or_sealed_copy() {
        let row = TokenRow {
            id: "TKN-1234-5678".into(),
            account_id: "ACC-1234-5678".into(),
            name: "robot".into(),
            name_folded: "robot".into(),
            description: String::new(),
            description_folded: String::new(),
            has_icon: false,
            status: "Active".into(),
            revision: 1,
            secret_key_id: "0a0b0c0d".into(),
            secret_hash: vec![0xab; 32],
            sealed_value: Some(vec![0xcd; 60]),
            last_access_at: None,
            created_at: datetime!(2026-12-01 10:00:00),
            created_by_id: "SYSTEM".into(),
            created_by_name: "Tollgate".into(),
            updated_at: None,
            updated_by_id: None,
            updated_by_name: None,
            enabled_at: None,
            enabled_by_id: None,
            enabled_by_name: None,
            disabled_at: None,
            disabled_by_id: None,
            disabled_by_name: None,
            deleted_at: None,
            deleted_by_id: None,
            deleted_by_name: None,
            row_mac: Some("v1.0a0b0c0d.00".into()),
            expires_at: None,
            self_rotate: false,
            compromised: false,
        };
        let printed = format!("{row:?}");
        assert!(printed.contains("TKN-1234-5678"), "{printed}");
        for secret in ["171", "205", "ab, ab", "cd, cd"] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }
}
