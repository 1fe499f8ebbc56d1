//! The audit trail: records appended with the account's chain head locked, reads, and chain
//! verification.

use diesel::prelude::*;
use tollgate_audit::chain::{ChainBreak, ChainHead, ChainLink, LinkInput, verify_chain};
use tollgate_audit::{AuditRecord, EventType, ModuleRef, RecordInput};
use tollgate_domain::{AccountId, AuditId, MacKey, Token, TokenEvent};

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

/// The result of verifying one account's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// The account.
    pub account_id: String,
    /// Records verified, or the first broken link.
    pub result: Result<u64, ChainBreak>,
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

fn read_head(conn: &mut AnyConnection, account: &str) -> Result<ChainHead, StoreError> {
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
    key: &MacKey,
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
        .append(key, &account, &value)
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
fn columns_agree(row: &AuditRow, record: &serde_json::Value) -> bool {
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

    /// Verifies the chains of every account (or one), naming the first broken link of each.
    pub fn verify_audit(&self, account: Option<AccountId>) -> Result<Vec<ChainReport>, StoreError> {
        let mut conn = self.conn()?;
        let mut accounts: Vec<String> = audit_chain_heads::table
            .select(audit_chain_heads::account_id)
            .load(&mut conn)?;
        let with_records: Vec<String> = audit_records::table
            .select(audit_records::account_id)
            .distinct()
            .load(&mut conn)?;
        accounts.extend(with_records);
        accounts.sort();
        accounts.dedup();
        if let Some(account) = account {
            let wanted = account.to_string();
            accounts.retain(|a| *a == wanted);
            if accounts.is_empty() {
                accounts.push(wanted);
            }
        }
        let mut reports = Vec::new();
        for account in accounts {
            let head = read_head(&mut conn, &account)?;
            let rows: Vec<AuditRow> = audit_records::table
                .filter(audit_records::account_id.eq(&account))
                .order(audit_records::chain_seq.asc())
                .select(AuditRow::as_select())
                .load(&mut conn)?;
            let mut inputs = Vec::with_capacity(rows.len());
            let mut early: Option<ChainBreak> = None;
            for row in rows {
                // As stored: the chain covers the JSON as written, whatever its shape.
                let parsed: Option<serde_json::Value> = serde_json::from_str(&row.record).ok();
                let seq = u64::try_from(row.chain_seq).unwrap_or(0);
                let (Some(record), Ok(prev_hash), Ok(hash)) = (
                    parsed,
                    <[u8; 32]>::try_from(row.prev_hash.as_slice()),
                    <[u8; 32]>::try_from(row.hash.as_slice()),
                ) else {
                    early = Some(ChainBreak::Unreadable {
                        record_id: row.id.clone(),
                    });
                    break;
                };
                if !columns_agree(&row, &record) {
                    early = Some(ChainBreak::HashMismatch {
                        seq,
                        record_id: row.id.clone(),
                    });
                    break;
                }
                inputs.push(LinkInput {
                    record_id: row.id.clone(),
                    record,
                    link: ChainLink {
                        seq,
                        prev_hash,
                        hash,
                    },
                });
            }
            let result = match verify_chain(&self.audit_key, &account, head, inputs.clone()) {
                // A problem the hashes did not reach (an unreadable row past the verified part).
                Ok(_) | Err(ChainBreak::Truncated { .. }) if early.is_some() => {
                    Err(early.clone().unwrap_or(ChainBreak::Unreadable {
                        record_id: account.clone(),
                    }))
                }
                other => other,
            };
            reports.push(ChainReport {
                account_id: account,
                result,
            });
        }
        Ok(reports)
    }
}
