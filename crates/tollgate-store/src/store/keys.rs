//! The server keys a database has been used with (table `server_keys`, SPEC §8): each by its
//! key id, the fingerprint its hashes carry (derived from the key, never the key). The key with
//! the highest ordinal is current; each earlier one was retired when the next became current.
//!
//! Opening a database decides, before anything is written, whether the configured keys fit
//! ([`plan`]):
//!
//! 1. No key recorded yet (a new database, or one from before keys were recorded): the tokens'
//!    hashes must all carry one key id, and it must be a configured key — the current one, or a
//!    previous one (then the current key becomes current at once). An empty database takes the
//!    current key.
//! 2. The configured current key is the database's current key: it fits.
//! 3. The database's current key is among the previous keys: a rotation — the configured
//!    current key becomes current and the other is retired.
//! 4. Anything else is refused, naming both key ids: a retired key never becomes current again.
//!
//! And a recorded key that is not configured at all is refused while anything still depends on
//! it (tokens, sealed copies, audit records, row MACs): dropping it would make them fail.

use diesel::prelude::*;
use time::OffsetDateTime;
use tollgate_domain::{KeyId, Keyring, TokenStatus};

use super::integrity::{
    account_fields, account_module_texts, module_fields, token_fields, token_module_texts,
    user_fields,
};
use super::rows::{AccountRow, ModuleRow, TokenRow, UserRow, from_db, to_db};
use super::{Store, transaction_on};
use crate::backend::AnyConnection;
use crate::error::StoreError;
use crate::schema::{
    accounts, audit_records, modules, server_keys, sign_in_sessions, tokens, users,
};

/// A key the database has recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerKeyRecord {
    /// Its key id.
    pub key_id: KeyId,
    /// Its place in the order of keys, from 1.
    pub ordinal: i64,
    /// When it was recorded (it became current then).
    pub added_at: OffsetDateTime,
    /// When the next key became current (none for the current key).
    pub retired_at: Option<OffsetDateTime>,
}

/// What still depends on a key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyDependents {
    /// Active and Disabled tokens whose hash is under it.
    pub tokens: u64,
    /// Deleted tokens whose hash is under it (kept only to recognise a later use; without the
    /// key such a use counts as a wrong secret).
    pub deleted_tokens: u64,
    /// Sealed copies under it (always of tokens whose hash is under it).
    pub sealed_copies: u64,
    /// Audit records chained under it.
    pub records: u64,
    /// Rows whose MAC is under it.
    pub row_macs: u64,
    /// Sessions signed in under it that have not expired or ended.
    pub live_sessions: u64,
}

impl KeyDependents {
    /// True when dropping the key would break something: a token, a copy, a record or a row
    /// MAC depends on it. (Live sessions end with it: their users sign in again.)
    pub fn blocking(&self) -> bool {
        self.tokens + self.sealed_copies + self.records + self.row_macs > 0
    }

    /// The dependents, in words (`3 tokens, 12 audit records`), or `nothing`.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = [
            (self.tokens, "token"),
            (self.deleted_tokens, "deleted token"),
            (self.sealed_copies, "sealed copy"),
            (self.records, "audit record"),
            (self.row_macs, "row MAC"),
            (self.live_sessions, "live session"),
        ]
        .into_iter()
        .filter(|(count, _)| *count > 0)
        .map(|(count, noun)| {
            let plural = match (count, noun) {
                (1, _) => noun.to_owned(),
                (_, "sealed copy") => "sealed copies".to_owned(),
                _ => format!("{noun}s"),
            };
            format!("{count} {plural}")
        })
        .collect();
        if parts.is_empty() {
            "nothing".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

/// One key as `tollgate keys status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStatus {
    /// Its key id.
    pub key_id: KeyId,
    /// `current`, `previous` (configured) or `missing` (recorded, not configured).
    pub role: &'static str,
    /// What the database recorded about it (none for a previous key never made current).
    pub record: Option<ServerKeyRecord>,
    /// What depends on it.
    pub dependents: KeyDependents,
}

/// What opening a database does about keys, decided before anything is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyPlan {
    /// The current key is the database's current key.
    Fits,
    /// No key recorded yet: record the current key (after `legacy`, the previous key the
    /// existing hashes are under, when there is one), then make every missing row MAC.
    First {
        /// The key of the hashes already stored, when it is a previous key.
        legacy: Option<KeyId>,
    },
    /// The database's current key `from` is a previous key now: the current key becomes
    /// current and `from` is retired.
    Rotate {
        /// The database's current key.
        from: KeyId,
    },
}

pub(crate) fn read_keys(conn: &mut AnyConnection) -> Result<Vec<ServerKeyRecord>, StoreError> {
    let rows: Vec<(
        String,
        i64,
        time::PrimitiveDateTime,
        Option<time::PrimitiveDateTime>,
    )> = server_keys::table
        .order(server_keys::ordinal.asc())
        .select((
            server_keys::key_id,
            server_keys::ordinal,
            server_keys::added_at,
            server_keys::retired_at,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(id, ordinal, added, retired)| {
            Ok(ServerKeyRecord {
                key_id: KeyId::parse(&id)
                    .ok_or_else(|| StoreError::Corrupt(format!("server key id {id:?}")))?,
                ordinal,
                added_at: from_db(added),
                retired_at: retired.map(from_db),
            })
        })
        .collect()
}

/// The retired keys and when each was retired (what [`Keyring::with_retirements`] takes).
pub(crate) fn retirements(recorded: &[ServerKeyRecord]) -> Vec<(KeyId, OffsetDateTime)> {
    recorded
        .iter()
        .filter_map(|key| key.retired_at.map(|at| (key.key_id, at)))
        .collect()
}

fn describe_ring(ring: &Keyring) -> String {
    let previous: Vec<String> = ring.previous().map(|keys| keys.id().to_string()).collect();
    if previous.is_empty() {
        format!("TOLLGATE_SECRET_KEY has key id {}", ring.current().id())
    } else {
        format!(
            "TOLLGATE_SECRET_KEY has key id {} and TOLLGATE_PREVIOUS_SECRET_KEYS {}",
            ring.current().id(),
            previous.join(", ")
        )
    }
}

/// The key id a database from before keys were recorded is under: that of its tokens' hashes
/// (none for a database without tokens).
fn legacy_key(conn: &mut AnyConnection, ring: &Keyring) -> Result<KeyPlan, StoreError> {
    let mut ids: Vec<String> = tokens::table
        .select(tokens::secret_key_id)
        .distinct()
        .load(conn)?;
    ids.sort();
    let [only] = ids.as_slice() else {
        if ids.is_empty() {
            return Ok(KeyPlan::First { legacy: None });
        }
        return Err(StoreError::KeyMismatch(format!(
            "this database's tokens are hashed under several keys ({}) but it records none; {}",
            ids.join(", "),
            describe_ring(ring)
        )));
    };
    let id = KeyId::parse(only);
    if id == Some(ring.current().id()) {
        return Ok(KeyPlan::First { legacy: None });
    }
    match id.filter(|id| ring.get(*id).is_some()) {
        Some(id) => Ok(KeyPlan::First { legacy: Some(id) }),
        None => Err(StoreError::KeyMismatch(format!(
            "this database's tokens are hashed under key id {only}, but {}: set TOLLGATE_SECRET_KEY \
             to the key this database was created with",
            describe_ring(ring)
        ))),
    }
}

/// Decides what opening does about keys (nothing is written). `keyed`: the `server_keys` table
/// exists.
pub(crate) fn plan(
    conn: &mut AnyConnection,
    ring: &Keyring,
    keyed: bool,
    now: OffsetDateTime,
) -> Result<KeyPlan, StoreError> {
    let recorded = if keyed { read_keys(conn)? } else { Vec::new() };
    let Some(database_current) = recorded.last() else {
        return legacy_key(conn, ring);
    };
    let current = ring.current().id();
    let plan = if database_current.key_id == current {
        KeyPlan::Fits
    } else if let Some(retired) = recorded.iter().find(|key| key.key_id == current) {
        return Err(StoreError::KeyMismatch(format!(
            "TOLLGATE_SECRET_KEY is key {current}, which this database retired{} when key {} \
             became current: set TOLLGATE_SECRET_KEY to key {} (a retired key never becomes \
             current again) and keep {current} in TOLLGATE_PREVIOUS_SECRET_KEYS",
            retired
                .retired_at
                .map(|at| format!(" on {}", tollgate_audit::format_timestamp(at)))
                .unwrap_or_default(),
            database_current.key_id,
            database_current.key_id,
        )));
    } else if ring.get(database_current.key_id).is_some() {
        KeyPlan::Rotate {
            from: database_current.key_id,
        }
    } else {
        return Err(StoreError::KeyMismatch(format!(
            "this database's server key has key id {}, but {}: set TOLLGATE_SECRET_KEY to this \
             database's key (to rotate to a new key, keep key {} in TOLLGATE_PREVIOUS_SECRET_KEYS)",
            database_current.key_id,
            describe_ring(ring),
            database_current.key_id,
        )));
    };
    let first = recorded.first().map(|key| key.key_id);
    for key in &recorded {
        if ring.get(key.key_id).is_some() {
            continue;
        }
        let dependents = dependents(conn, key.key_id, first == Some(key.key_id), now)?;
        if dependents.blocking() {
            return Err(StoreError::KeyMismatch(format!(
                "key {} is not configured, but it is still needed by {}: keep it in \
                 TOLLGATE_PREVIOUS_SECRET_KEYS (`tollgate keys status` shows what depends on \
                 each key)",
                key.key_id,
                dependents.describe()
            )));
        }
    }
    Ok(plan)
}

fn count(query: Result<i64, diesel::result::Error>) -> Result<u64, StoreError> {
    Ok(u64::try_from(query?).unwrap_or(0))
}

/// What depends on `key` (`first`: it is the database's first key, which records from before
/// keys were recorded are chained under).
pub(crate) fn dependents(
    conn: &mut AnyConnection,
    key: KeyId,
    first: bool,
    now: OffsetDateTime,
) -> Result<KeyDependents, StoreError> {
    let id = key.to_string();
    let pattern = tollgate_audit::rowmac::mac_pattern(key);
    let deleted = TokenStatus::Deleted.as_str();
    let mut records = count(
        audit_records::table
            .filter(audit_records::key_id.eq(&id))
            .count()
            .get_result(conn),
    )?;
    if first {
        records += count(
            audit_records::table
                .filter(audit_records::key_id.is_null())
                .count()
                .get_result(conn),
        )?;
    }
    let row_macs = count(
        tokens::table
            .filter(tokens::row_mac.like(&pattern))
            .count()
            .get_result(conn),
    )? + count(
        accounts::table
            .filter(accounts::row_mac.like(&pattern))
            .count()
            .get_result(conn),
    )? + count(
        users::table
            .filter(users::row_mac.like(&pattern))
            .count()
            .get_result(conn),
    )? + count(
        modules::table
            .filter(modules::row_mac.like(&pattern))
            .count()
            .get_result(conn),
    )?;
    Ok(KeyDependents {
        tokens: count(
            tokens::table
                .filter(tokens::secret_key_id.eq(&id))
                .filter(tokens::status.ne(deleted))
                .count()
                .get_result(conn),
        )?,
        deleted_tokens: count(
            tokens::table
                .filter(tokens::secret_key_id.eq(&id))
                .filter(tokens::status.eq(deleted))
                .count()
                .get_result(conn),
        )?,
        sealed_copies: count(
            tokens::table
                .filter(tokens::secret_key_id.eq(&id))
                .filter(tokens::sealed_value.is_not_null())
                .count()
                .get_result(conn),
        )?,
        records,
        row_macs,
        live_sessions: count(
            sign_in_sessions::table
                .filter(sign_in_sessions::key_id.eq(&id))
                .filter(sign_in_sessions::expires_at.gt(to_db(now)))
                .count()
                .get_result(conn),
        )?,
    })
}

/// Makes the row MAC of every row that has none, under the current key (the first time keys
/// are recorded: rows written before, and the catalog the migrations seeded).
fn mac_unsigned_rows(conn: &mut AnyConnection, ring: &Keyring) -> Result<u64, StoreError> {
    let keys = ring.current();
    let mut made = 0u64;
    // In batches: a database from before may hold a million tokens.
    loop {
        let rows: Vec<TokenRow> = tokens::table
            .filter(tokens::row_mac.is_null())
            .order(tokens::id.asc())
            .limit(1000)
            .select(TokenRow::as_select())
            .load(conn)?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let modules = token_module_texts(conn, &row.id)?;
            let mac = token_fields(&row, &modules).mac(keys);
            diesel::update(tokens::table.find(&row.id))
                .set(tokens::row_mac.eq(mac))
                .execute(conn)?;
            made += 1;
        }
    }
    let rows: Vec<AccountRow> = accounts::table
        .filter(accounts::row_mac.is_null())
        .select(AccountRow::as_select())
        .load(conn)?;
    for row in rows {
        let modules = account_module_texts(conn, &row.id)?;
        let mac = account_fields(&row, &modules).mac(keys);
        diesel::update(accounts::table.find(&row.id))
            .set(accounts::row_mac.eq(mac))
            .execute(conn)?;
        made += 1;
    }
    let rows: Vec<UserRow> = users::table
        .filter(users::row_mac.is_null())
        .select(UserRow::as_select())
        .load(conn)?;
    for row in rows {
        let mac = user_fields(&row).mac(keys);
        diesel::update(users::table.find(&row.id))
            .set(users::row_mac.eq(mac))
            .execute(conn)?;
        made += 1;
    }
    let rows: Vec<ModuleRow> = modules::table
        .filter(modules::row_mac.is_null())
        .select(ModuleRow::as_select())
        .load(conn)?;
    for row in rows {
        let mac = module_fields(&row).mac(keys);
        diesel::update(modules::table.find(&row.id))
            .set(modules::row_mac.eq(mac))
            .execute(conn)?;
        made += 1;
    }
    Ok(made)
}

fn insert_key(
    conn: &mut AnyConnection,
    key: KeyId,
    ordinal: i64,
    now: OffsetDateTime,
    retired: bool,
) -> Result<(), StoreError> {
    diesel::insert_into(server_keys::table)
        .values((
            server_keys::key_id.eq(key.to_string()),
            server_keys::ordinal.eq(ordinal),
            server_keys::added_at.eq(to_db(now)),
            server_keys::retired_at.eq(retired.then(|| to_db(now))),
        ))
        .execute(conn)?;
    Ok(())
}

/// Carries out a plan (in one transaction).
pub(crate) fn apply(
    conn: &mut AnyConnection,
    ring: &Keyring,
    plan: KeyPlan,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let current = ring.current().id();
    match plan {
        KeyPlan::Fits => Ok(()),
        KeyPlan::First { legacy } => transaction_on(conn, |conn| {
            let ordinal = match legacy {
                Some(old) => {
                    insert_key(conn, old, 1, now, true)?;
                    2
                }
                None => 1,
            };
            insert_key(conn, current, ordinal, now, false)?;
            let made = mac_unsigned_rows(conn, ring)?;
            log::info!("recorded server key {current} in the database; made {made} row MACs");
            Ok(())
        }),
        KeyPlan::Rotate { from } => transaction_on(conn, |conn| {
            let last: Option<i64> = server_keys::table
                .select(diesel::dsl::max(server_keys::ordinal))
                .first(conn)?;
            diesel::update(server_keys::table.find(from.to_string()))
                .set(server_keys::retired_at.eq(Some(to_db(now))))
                .execute(conn)?;
            insert_key(conn, current, last.unwrap_or(0) + 1, now, false)?;
            log::warn!(
                "server key {current} is current now; key {from} is retired (run `tollgate keys \
                 rotate` once every instance runs with the new key)"
            );
            Ok(())
        }),
    }
}

impl Store {
    /// The keys the database recorded, in order.
    pub fn server_keys(&self) -> Result<Vec<ServerKeyRecord>, StoreError> {
        let mut conn = self.conn()?;
        read_keys(&mut conn)
    }

    /// The retired keys and when each was retired (for [`Keyring::with_retirements`]).
    pub fn key_retirements(&self) -> Result<Vec<(KeyId, OffsetDateTime)>, StoreError> {
        Ok(retirements(&self.server_keys()?))
    }

    /// Every key the database recorded or the configuration names, and what depends on it
    /// (`tollgate keys status`).
    pub fn key_status(&self, now: OffsetDateTime) -> Result<Vec<KeyStatus>, StoreError> {
        let mut conn = self.conn()?;
        let recorded = read_keys(&mut conn)?;
        let first = recorded.first().map(|key| key.key_id);
        let mut ids: Vec<KeyId> = recorded.iter().rev().map(|key| key.key_id).collect();
        for keys in self.keys.all() {
            if !ids.contains(&keys.id()) {
                ids.push(keys.id());
            }
        }
        ids.into_iter()
            .map(|id| {
                let role = if id == self.keys.current().id() {
                    "current"
                } else if self.keys.get(id).is_some() {
                    "previous"
                } else {
                    "missing"
                };
                Ok(KeyStatus {
                    key_id: id,
                    role,
                    record: recorded.iter().find(|key| key.key_id == id).cloned(),
                    dependents: dependents(&mut conn, id, first == Some(id), now)?,
                })
            })
            .collect()
    }
}
