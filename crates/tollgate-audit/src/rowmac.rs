//! Row MACs (SPEC §6, live state): an HMAC under `k_row` over the security fields of each
//! token, account, user and module row, so a database superuser who edits them (a token's
//! modules, an account's status, a module's paths) grants nothing: a row whose MAC fails is
//! refused where it would decide something, and `audit verify` names it.
//!
//! What each MAC covers (the row's columns as stored, in RFC 8785 JSON with a `row` tag, so a
//! MAC of one kind of row can never pass for another):
//!
//! | row | fields |
//! |---|---|
//! | token | `id`, `account_id`, `status`, `revision`, its modules (`token_modules`, sorted), `secret_key_id`, `secret_hash`, `expires_at`, `compromised` |
//! | account | `id`, `account_type`, `status`, its enabled modules (`account_modules`, sorted) |
//! | user | `id`, `account_id`, `admin` |
//! | module | `id`, `code`, `account_types`, `paths` |
//!
//! Names, descriptions, icons, timestamps and `last_access_at` are not covered: they decide
//! nothing. The stored form is `v1.<key id>.<64 hex digits>`, the key id naming the server key
//! whose `k_row` made it (so MACs survive a key rotation until `tollgate keys rotate` remakes
//! them under the current key).

use serde_json::{Value, json};
use tollgate_domain::{KeyId, Keyring, Keys};

/// The security fields of one row, as stored. `Debug` names the row only.
#[derive(Clone, Copy)]
pub enum Row<'a> {
    /// A `tokens` row and its `token_modules`.
    Token {
        /// `id`.
        id: &'a str,
        /// `account_id`.
        account_id: &'a str,
        /// `status`.
        status: &'a str,
        /// `revision`.
        revision: i64,
        /// Its module ids (any order).
        modules: &'a [String],
        /// `secret_key_id`.
        secret_key_id: &'a str,
        /// `secret_hash`.
        secret_hash: &'a [u8],
        /// `expires_at`, in milliseconds since the epoch.
        expires_at: Option<i64>,
        /// `compromised`.
        compromised: bool,
    },
    /// An `accounts` row and its `account_modules`.
    Account {
        /// `id`.
        id: &'a str,
        /// `account_type`.
        account_type: &'a str,
        /// `status`.
        status: &'a str,
        /// Its enabled module ids (any order).
        modules: &'a [String],
    },
    /// A `users` row.
    User {
        /// `id`.
        id: &'a str,
        /// `account_id`.
        account_id: &'a str,
        /// `admin`.
        admin: bool,
    },
    /// A `modules` row.
    Module {
        /// `id`.
        id: &'a str,
        /// `code`.
        code: &'a str,
        /// `account_types`, as stored.
        account_types: &'a str,
        /// `paths`, as stored.
        paths: &'a str,
    },
}

impl std::fmt::Debug for Row<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Row::Token { id, .. } => write!(f, "Row::Token({id}, …)"),
            Row::Account { id, .. } => write!(f, "Row::Account({id}, …)"),
            Row::User { id, .. } => write!(f, "Row::User({id}, …)"),
            Row::Module { id, .. } => write!(f, "Row::Module({id}, …)"),
        }
    }
}

/// Why a row's MAC does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RowMacError {
    /// The row has no MAC (written outside Tollgate, or the MAC was removed).
    #[error("has no row MAC")]
    Missing,
    /// The stored MAC is not of the form `v1.<key id>.<hex>`.
    #[error("has a malformed row MAC")]
    Malformed,
    /// Made under a key that is not configured.
    #[error("has a row MAC under key {0}, which is not configured")]
    UnknownKey(KeyId),
    /// The security fields do not match the MAC: changed outside Tollgate.
    #[error("does not match its row MAC: its security fields were changed outside Tollgate")]
    Mismatch,
}

fn sorted(ids: &[String]) -> Vec<&str> {
    let mut ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| {
            text.get(at..at + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect()
}

impl Row<'_> {
    fn value(&self) -> Value {
        match *self {
            Row::Token {
                id,
                account_id,
                status,
                revision,
                modules,
                secret_key_id,
                secret_hash,
                expires_at,
                compromised,
            } => json!({
                "row": "token", "id": id, "accountId": account_id, "status": status,
                "revision": revision, "modules": sorted(modules),
                "secretKeyId": secret_key_id, "secretHash": hex(secret_hash),
                "expiresAt": expires_at, "compromised": compromised,
            }),
            Row::Account {
                id,
                account_type,
                status,
                modules,
            } => json!({
                "row": "account", "id": id, "accountType": account_type, "status": status,
                "modules": sorted(modules),
            }),
            Row::User {
                id,
                account_id,
                admin,
            } => json!({"row": "user", "id": id, "accountId": account_id, "admin": admin}),
            Row::Module {
                id,
                code,
                account_types,
                paths,
            } => json!({
                "row": "module", "id": id, "code": code, "accountTypes": account_types,
                "paths": paths,
            }),
        }
    }

    fn tag(&self, keys: &Keys) -> [u8; 32] {
        // A JSON value of strings, numbers and arrays always canonicalises.
        let bytes = serde_json_canonicalizer::to_vec(&self.value()).unwrap_or_default();
        keys.row.sign(&[b"tollgate-row|v1|", &bytes])
    }

    /// The MAC to store with this row, under `keys` (the current key).
    pub fn mac(&self, keys: &Keys) -> String {
        format!("v1.{}.{}", keys.id(), hex(&self.tag(keys)))
    }

    /// Checks the stored MAC under the key it names; returns that key's id.
    pub fn check(&self, ring: &Keyring, stored: Option<&str>) -> Result<KeyId, RowMacError> {
        let stored = stored.ok_or(RowMacError::Missing)?;
        let key_id = mac_key_id(stored).ok_or(RowMacError::Malformed)?;
        let tag = stored
            .rsplit('.')
            .next()
            .and_then(unhex)
            .filter(|tag| tag.len() == 32)
            .ok_or(RowMacError::Malformed)?;
        let keys = ring.get(key_id).ok_or(RowMacError::UnknownKey(key_id))?;
        let bytes = serde_json_canonicalizer::to_vec(&self.value()).unwrap_or_default();
        if keys.row.verify(&[b"tollgate-row|v1|", &bytes], &tag) {
            Ok(key_id)
        } else {
            Err(RowMacError::Mismatch)
        }
    }
}

/// The key id a stored MAC names.
pub fn mac_key_id(stored: &str) -> Option<KeyId> {
    let mut parts = stored.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("v1"), Some(id), Some(_), None) => KeyId::parse(id),
        _ => None,
    }
}

/// The `LIKE` pattern of the MACs made under `key` (for counting them in SQL).
pub fn mac_pattern(key: KeyId) -> String {
    format!("v1.{key}.%")
}

#[cfg(test)]
mod tests {
    use tollgate_domain::ServerKey;

    use super::*;

    fn keys(byte: u8) -> Keys {
        ServerKey::from_bytes(vec![byte; 32])
            .map(|key| key.derive())
            .unwrap_or_else(|_| unreachable!())
    }

    fn token<'a>(status: &'a str, modules: &'a [String]) -> Row<'a> {
        Row::Token {
            id: "TKN-1234-5678",
            account_id: "ACC-1234-5678",
            status,
            revision: 3,
            modules,
            secret_key_id: "0a0b0c0d",
            secret_hash: &[7; 32],
            expires_at: None,
            compromised: false,
        }
    }

    #[test]
    fn a_changed_field_fails_and_the_key_is_named() {
        let (old, new) = (keys(1), keys(2));
        let ring = Keyring::new(new.clone(), vec![old.clone()]).unwrap_or_else(|_| unreachable!());
        let modules = vec!["MOD-1104".to_owned(), "MOD-1102".to_owned()];
        let mac = token("Active", &modules).mac(&old);
        assert!(mac.starts_with(&format!("v1.{}.", old.id())), "{mac}");
        assert_eq!(mac_key_id(&mac), Some(old.id()));
        assert!(mac.starts_with(mac_pattern(old.id()).trim_end_matches('%')));
        assert_eq!(
            token("Active", &modules).check(&ring, Some(&mac)),
            Ok(old.id())
        );
        let reordered = vec!["MOD-1102".to_owned(), "MOD-1104".to_owned()];
        assert_eq!(
            token("Active", &reordered).check(&ring, Some(&mac)),
            Ok(old.id()),
            "the module order does not matter"
        );
        let wider = vec![
            "MOD-1102".to_owned(),
            "MOD-1104".to_owned(),
            "MOD-1756".to_owned(),
        ];
        assert_eq!(
            token("Active", &wider).check(&ring, Some(&mac)),
            Err(RowMacError::Mismatch)
        );
        assert_eq!(
            token("Disabled", &modules).check(&ring, Some(&mac)),
            Err(RowMacError::Mismatch)
        );
        assert_eq!(
            token("Active", &modules).check(&ring, None),
            Err(RowMacError::Missing)
        );
        assert_eq!(
            token("Active", &modules).check(&ring, Some("forged")),
            Err(RowMacError::Malformed)
        );
        assert_eq!(
            token("Active", &modules).check(&Keyring::from(new), Some(&mac)),
            Err(RowMacError::UnknownKey(old.id()))
        );
    }

    #[test]
    fn a_mac_of_one_kind_of_row_never_passes_for_another() {
        let keys = keys(3);
        let ring = Keyring::from(keys.clone());
        let account = Row::Account {
            id: "X",
            account_type: "Client",
            status: "Active",
            modules: &[],
        };
        let module = Row::Module {
            id: "X",
            code: "Client",
            account_types: "Active",
            paths: "",
        };
        let mac = account.mac(&keys);
        assert_eq!(module.check(&ring, Some(&mac)), Err(RowMacError::Mismatch));
        let user = Row::User {
            id: "USR-1111-2222",
            account_id: "ACC-1234-5678",
            admin: false,
        };
        let admin = Row::User {
            id: "USR-1111-2222",
            account_id: "ACC-1234-5678",
            admin: true,
        };
        assert_eq!(
            admin.check(&ring, Some(&user.mac(&keys))),
            Err(RowMacError::Mismatch)
        );
    }
}
