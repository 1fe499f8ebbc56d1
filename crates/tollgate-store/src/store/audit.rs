//! The audit trail: records appended with the account's chain head locked, under the current
//! key (each record names it), and reads. Verification is in `verify.rs`.

use diesel::prelude::*;
use tollgate_audit::chain::ChainHead;
use tollgate_audit::{AuditRecord, EventType, ModuleRef, RecordInput};
use tollgate_domain::{AccountId, AuditId, Keys, Token, TokenEvent};

use super::rows::{AuditRow, corrupt, from_db, parse_id, to_db};
use super::{Context, Store};
use crate::backend::AnyConnection;
use crate::error::StoreError;
use crate::schema::{audit_chain_heads, audit_event_types, audit_records, modules};

/// A stored record and the account whose chain holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// The account (the token's).
    pub account_id: AccountId,
    /// The record.
    pub record: AuditRecord,
}

/// Locks the account's chain head for the rest of the transaction. The statement is a write, so
/// on PostgreSQL it takes the row lock and on SQLite the database write lock (waiting for the
/// busy timeout), before anything is read: concurrent writers to one account queue here and
/// cannot fork the chain.
pub(crate) fn lock_head(conn: &mut AnyConnection, account: &str) -> Result<(), StoreError> {
    let locked = diesel::update(audit_chain_heads::table.find(account))
        .set(audit_chain_heads::record_count.eq(audit_chain_heads::record_count))
        .execute(conn)?;
    if locked == 0 {
        diesel::insert_into(audit_chain_heads::table)
            .values((
                audit_chain_heads::account_id.eq(account),
                audit_chain_heads::record_count.eq(0i64),
                audit_chain_heads::last_hash.eq(tollgate_audit::chain::GENESIS.to_vec()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub(crate) fn read_head(conn: &mut AnyConnection, account: &str) -> Result<ChainHead, StoreError> {
    let head: Option<(i64, Vec<u8>)> = audit_chain_heads::table
        .find(account)
        .select((
            audit_chain_heads::record_count,
            audit_chain_heads::last_hash,
        ))
        .first(conn)
        .optional()?;
    match head {
        Some((count, hash)) => Ok(ChainHead {
            count: u64::try_from(count).map_err(|_| corrupt("chain count", account))?,
            last_hash: hash
                .as_slice()
                .try_into()
                .map_err(|_| corrupt("chain hash", account))?,
        }),
        None => Ok(ChainHead::default()),
    }
}

fn module_refs(conn: &mut AnyConnection) -> Result<Vec<ModuleRef>, StoreError> {
    let rows: Vec<(String, String, String)> = modules::table
        .select((modules::id, modules::code, modules::name))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, code, name)| ModuleRef { id, code, name })
        .collect())
}

/// Appends the record of `event` to the token's account chain. The head must be locked
/// (see [`lock_head`]) earlier in the same transaction.
pub(crate) fn append_record(
    conn: &mut AnyConnection,
    keys: &Keys,
    token: &Token,
    event: &TokenEvent,
    ctx: &Context,
) -> Result<AuditRecord, StoreError> {
    let account = token.account_id().to_string();
    let refs = module_refs(conn)?;
    let module = |id: tollgate_domain::ModuleId| {
        let text = id.to_string();
        refs.iter()
            .find(|r| r.id == text)
            .cloned()
            .unwrap_or(ModuleRef {
                id: text,
                code: String::new(),
                name: String::new(),
            })
    };
    let mut rng = rand::thread_rng();
    let id = loop {
        let id = AuditId::random(&mut rng);
        let taken: i64 = audit_records::table
            .filter(audit_records::id.eq(id.to_string()))
            .count()
            .get_result(conn)?;
        if taken == 0 {
            break id;
        }
    };
    let record = AuditRecord::build(RecordInput {
        id,
        event,
        token,
        actor_account: ctx.actor_account.clone(),
        request: ctx.request.clone(),
        module: &module,
    });
    let head = read_head(conn, &account)?;
    let (value, text) = tollgate_audit::stored::to_stored(&record)
        .map_err(|error| StoreError::Database(error.to_string()))?;
    let (link, next) = head
        .append(&keys.audit, &account, &value)
        .map_err(|error| StoreError::Database(error.to_string()))?;
    diesel::insert_into(audit_records::table)
        .values(AuditRow {
            id: record.id.clone(),
            account_id: account.clone(),
            chain_seq: i64::try_from(link.seq).map_err(|_| corrupt("chain seq", &account))?,
            event: record.event.clone(),
            object_id: record.object.id.clone(),
            actor_id: record.actor.id.clone(),
            occurred_at: to_db(event.at),
            record: text,
            prev_hash: link.prev_hash.to_vec(),
            hash: link.hash.to_vec(),
            key_id: Some(keys.id().to_string()),
        })
        .execute(conn)?;
    diesel::update(audit_chain_heads::table.find(&account))
        .set((
            audit_chain_heads::record_count
                .eq(i64::try_from(next.count).map_err(|_| corrupt("chain count", &account))?),
            audit_chain_heads::last_hash.eq(next.last_hash.to_vec()),
        ))
        .execute(conn)?;
    Ok(record)
}

/// A stored record in today's shape (older shapes are mapped; the stored JSON is not touched).
pub(crate) fn parse_record(row: &AuditRow) -> Result<StoredRecord, StoreError> {
    let record = serde_json::from_str(&row.record)
        .and_then(tollgate_audit::stored::render)
        .map_err(|_| corrupt("audit record", &row.id))?;
    Ok(StoredRecord {
        account_id: parse_id(&row.account_id)?,
        record,
    })
}

/// True when the indexed columns say what the stored record says (they are what filters use).
pub(crate) fn columns_agree(row: &AuditRow, record: &serde_json::Value) -> bool {
    let text = |value: &serde_json::Value| value.as_str().map(str::to_owned);
    text(&record["id"]).as_deref() == Some(row.id.as_str())
        && text(&record["event"]).as_deref() == Some(row.event.as_str())
        && text(&record["object"]["id"]).as_deref() == Some(row.object_id.as_str())
        && text(&record["actor"]["id"]).as_deref() == Some(row.actor_id.as_str())
        && text(&record["timestamp"])
            == Some(tollgate_audit::format_timestamp(from_db(row.occurred_at)))
}

impl Store {
    /// The audit event types (seeded by a migration), in key order.
    pub fn event_types(&self) -> Result<Vec<EventType>, StoreError> {
        let mut conn = self.conn()?;
        let rows: Vec<(String, String, String, String)> = audit_event_types::table
            .order(audit_event_types::key.asc())
            .select((
                audit_event_types::id,
                audit_event_types::key,
                audit_event_types::name,
                audit_event_types::description,
            ))
            .load(&mut conn)?;
        Ok(rows
            .into_iter()
            .map(|(id, key, name, description)| EventType {
                id,
                key,
                name,
                description,
            })
            .collect())
    }

    /// One record.
    pub fn audit_record(&self, id: &str) -> Result<Option<StoredRecord>, StoreError> {
        let mut conn = self.conn()?;
        let row: Option<AuditRow> = audit_records::table
            .filter(audit_records::id.eq(id))
            .select(AuditRow::as_select())
            .first(&mut conn)
            .optional()?;
        row.as_ref().map(parse_record).transpose()
    }

    /// Every account's chain head (or one account's), by account id: what a checkpoint keeps.
    pub fn chain_heads(
        &self,
        account: Option<AccountId>,
    ) -> Result<Vec<(String, ChainHead)>, StoreError> {
        let mut conn = self.conn()?;
        let mut accounts: Vec<String> = audit_chain_heads::table
            .order(audit_chain_heads::account_id.asc())
            .select(audit_chain_heads::account_id)
            .load(&mut conn)?;
        if let Some(only) = account {
            accounts.retain(|id| *id == only.to_string());
        }
        accounts
            .into_iter()
            .map(|id| {
                let head = read_head(&mut conn, &id)?;
                Ok((id, head))
            })
            .collect()
    }
}
