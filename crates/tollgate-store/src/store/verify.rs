//! `tollgate audit verify` (SPEC §6): every account's chain against its head, under the key
//! each record names; every token's `revision` against its records (so a tail deleted together
//! with a rolled-back head is caught, and so is an account whose tokens have no records); every
//! row MAC; and, when given, the checkpoints an operator kept.

use std::collections::BTreeMap;

use diesel::prelude::*;
use serde_json::Value;
use tollgate_audit::chain::{ChainBreak, ChainLink, LinkInput, verify_chain_under};
use tollgate_audit::{Checkpoint, CheckpointBreak};
use tollgate_domain::{AccountId, EventKind, KeyId};

use super::Store;
use super::audit::{columns_agree, read_head};
use super::integrity::{account_fields, module_fields, token_fields, user_fields};
use super::keys::read_keys;
use super::rows::{AccountRow, AuditRow, ModuleRow, TokenRow, UserRow};
use crate::backend::AnyConnection;
use crate::error::StoreError;
use crate::schema::{
    account_modules, accounts, audit_chain_heads, audit_records, modules, token_modules, tokens,
    users,
};

/// The result of verifying one account's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// The account.
    pub account_id: String,
    /// Records verified, or the first broken link.
    pub result: Result<u64, ChainBreak>,
}

/// A token whose `revision` does not agree with its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionProblem {
    /// The account whose trail it concerns.
    pub account_id: String,
    /// The token (none for an account-wide problem).
    pub token_id: Option<String>,
    /// What is wrong, in words.
    pub problem: String,
}

/// A row whose MAC does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    /// `token TKN-…`, `account ACC-…`, `user USR-…` or `module MOD-…`.
    pub row: String,
    /// What is wrong.
    pub problem: String,
}

/// A kept checkpoint compared with its account's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointReport {
    /// The account.
    pub account_id: String,
    /// The checkpoint's record count.
    pub count: u64,
    /// `Ok` when the chain passes through the checkpoint.
    pub result: Result<(), CheckpointBreak>,
}

/// Everything `audit verify` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditReport {
    /// Each account's chain.
    pub chains: Vec<ChainReport>,
    /// Tokens whose revision disagrees with their records.
    pub revisions: Vec<RevisionProblem>,
    /// Rows that fail their row MAC.
    pub rows: Vec<RowProblem>,
    /// The kept checkpoints, compared.
    pub checkpoints: Vec<CheckpointReport>,
}

impl AuditReport {
    /// True when nothing is wrong.
    pub fn intact(&self) -> bool {
        self.chains.iter().all(|chain| chain.result.is_ok())
            && self.revisions.is_empty()
            && self.rows.is_empty()
            && self.checkpoints.iter().all(|kept| kept.result.is_ok())
    }
}

/// One account's records, in chain order, as stored.
struct Trail {
    rows: Vec<AuditRow>,
}

fn load_trail(conn: &mut AnyConnection, account: &str) -> Result<Trail, StoreError> {
    Ok(Trail {
        rows: audit_records::table
            .filter(audit_records::account_id.eq(account))
            .order(audit_records::chain_seq.asc())
            .select(AuditRow::as_select())
            .load(conn)?,
    })
}

fn accounts_to_check(
    conn: &mut AnyConnection,
    only: Option<AccountId>,
) -> Result<Vec<String>, StoreError> {
    let mut accounts: Vec<String> = audit_chain_heads::table
        .select(audit_chain_heads::account_id)
        .load(conn)?;
    accounts.extend(
        audit_records::table
            .select(audit_records::account_id)
            .distinct()
            .load::<String>(conn)?,
    );
    accounts.extend(
        tokens::table
            .select(tokens::account_id)
            .distinct()
            .load::<String>(conn)?,
    );
    accounts.sort();
    accounts.dedup();
    if let Some(only) = only {
        let wanted = only.to_string();
        accounts.retain(|account| *account == wanted);
        if accounts.is_empty() {
            accounts.push(wanted);
        }
    }
    Ok(accounts)
}

impl Store {
    /// The key a record names (none: the database's first key).
    fn record_key(&self, first: Option<KeyId>, key_id: Option<KeyId>) -> Option<KeyId> {
        key_id.or(first).or(Some(self.keys.current().id()))
    }

    fn verify_trail(
        &self,
        account: &str,
        head: tollgate_audit::ChainHead,
        trail: &Trail,
        first: Option<KeyId>,
    ) -> Result<u64, ChainBreak> {
        let mut inputs = Vec::with_capacity(trail.rows.len());
        let mut early: Option<ChainBreak> = None;
        for row in &trail.rows {
            // As stored: the chain covers the JSON as written, whatever its shape.
            let parsed: Option<Value> = serde_json::from_str(&row.record).ok();
            let seq = u64::try_from(row.chain_seq).unwrap_or(0);
            let key_id = match &row.key_id {
                Some(text) => KeyId::parse(text),
                None => None,
            };
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
            if !columns_agree(row, &record) || (row.key_id.is_some() && key_id.is_none()) {
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
                key_id,
            });
        }
        let key_for = |input: &LinkInput| {
            self.record_key(first, input.key_id)
                .and_then(|id| self.keys.get(id))
                .map(|keys| &keys.audit)
        };
        match verify_chain_under(key_for, account, head, inputs) {
            // A problem the hashes did not reach (an unreadable row past the verified part).
            Ok(_) | Err(ChainBreak::Truncated { .. }) if early.is_some() => {
                Err(early.unwrap_or(ChainBreak::Unreadable {
                    record_id: account.to_owned(),
                }))
            }
            other => other,
        }
    }

    /// Verifies the chains of every account (or one), naming the first broken link of each.
    pub fn verify_audit(&self, account: Option<AccountId>) -> Result<Vec<ChainReport>, StoreError> {
        let mut conn = self.conn()?;
        let first = read_keys(&mut conn)?.first().map(|key| key.key_id);
        let mut reports = Vec::new();
        for account in accounts_to_check(&mut conn, account)? {
            let head = read_head(&mut conn, &account)?;
            let trail = load_trail(&mut conn, &account)?;
            reports.push(ChainReport {
                result: self.verify_trail(&account, head, &trail, first),
                account_id: account,
            });
        }
        Ok(reports)
    }

    /// Everything `audit verify` checks (see the module comment), for every account or one,
    /// comparing the chains with `checkpoints` (already checked for their signatures).
    pub fn audit_report(
        &self,
        account: Option<AccountId>,
        checkpoints: &[Checkpoint],
    ) -> Result<AuditReport, StoreError> {
        let mut conn = self.conn()?;
        let first = read_keys(&mut conn)?.first().map(|key| key.key_id);
        let mut report = AuditReport::default();
        let mut accounts = accounts_to_check(&mut conn, account)?;
        for kept in checkpoints {
            if account.is_none_or(|only| only.to_string() == kept.account)
                && !accounts.contains(&kept.account)
            {
                accounts.push(kept.account.clone());
            }
        }
        for account in &accounts {
            let head = read_head(&mut conn, account)?;
            let trail = load_trail(&mut conn, account)?;
            report.chains.push(ChainReport {
                account_id: account.clone(),
                result: self.verify_trail(account, head, &trail, first),
            });
            report
                .revisions
                .extend(revision_problems(&mut conn, account, &trail)?);
            for kept in checkpoints.iter().filter(|kept| kept.account == *account) {
                let hashes: BTreeMap<u64, [u8; 32]> = trail
                    .rows
                    .iter()
                    .filter_map(|row| {
                        Some((
                            u64::try_from(row.chain_seq).ok()?,
                            <[u8; 32]>::try_from(row.hash.as_slice()).ok()?,
                        ))
                    })
                    .collect();
                let count = u64::try_from(trail.rows.len()).unwrap_or(0);
                report.checkpoints.push(CheckpointReport {
                    account_id: account.clone(),
                    count: kept.count,
                    result: kept.compare(count, |seq| hashes.get(&seq).copied()),
                });
            }
        }
        report.rows = self.row_problems(&mut conn, account)?;
        Ok(report)
    }

    /// Every row (of one account, or all) whose row MAC does not hold.
    fn row_problems(
        &self,
        conn: &mut AnyConnection,
        only: Option<AccountId>,
    ) -> Result<Vec<RowProblem>, StoreError> {
        let only = only.map(|id| id.to_string());
        let mut problems = Vec::new();
        let mut note = |row: String, result: Result<KeyId, tollgate_audit::RowMacError>| {
            if let Err(error) = result {
                problems.push(RowProblem {
                    row,
                    problem: error.to_string(),
                });
            }
        };
        let grouped = |pairs: Vec<(String, String)>| {
            let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (owner, module) in pairs {
                map.entry(owner).or_default().push(module);
            }
            map
        };
        let token_modules = grouped(
            token_modules::table
                .select((token_modules::token_id, token_modules::module_id))
                .load(conn)?,
        );
        let account_modules = grouped(
            account_modules::table
                .select((account_modules::account_id, account_modules::module_id))
                .load(conn)?,
        );
        let none = Vec::new();
        let mut rows: Vec<TokenRow> = tokens::table
            .order(tokens::id.asc())
            .select(TokenRow::as_select())
            .load(conn)?;
        rows.retain(|row| only.as_ref().is_none_or(|id| *id == row.account_id));
        for row in &rows {
            let modules = token_modules.get(&row.id).unwrap_or(&none);
            note(
                format!("token {}", row.id),
                token_fields(row, modules).check(&self.keys, row.row_mac.as_deref()),
            );
        }
        let mut rows: Vec<AccountRow> = accounts::table
            .order(accounts::id.asc())
            .select(AccountRow::as_select())
            .load(conn)?;
        rows.retain(|row| only.as_ref().is_none_or(|id| *id == row.id));
        for row in &rows {
            let modules = account_modules.get(&row.id).unwrap_or(&none);
            note(
                format!("account {}", row.id),
                account_fields(row, modules).check(&self.keys, row.row_mac.as_deref()),
            );
        }
        let mut rows: Vec<UserRow> = users::table
            .order(users::id.asc())
            .select(UserRow::as_select())
            .load(conn)?;
        rows.retain(|row| only.as_ref().is_none_or(|id| *id == row.account_id));
        for row in &rows {
            note(
                format!("user {}", row.id),
                user_fields(row).check(&self.keys, row.row_mac.as_deref()),
            );
        }
        let rows: Vec<ModuleRow> = modules::table
            .order(modules::id.asc())
            .select(ModuleRow::as_select())
            .load(conn)?;
        for row in &rows {
            note(
                format!("module {}", row.id),
                module_fields(row).check(&self.keys, row.row_mac.as_deref()),
            );
        }
        Ok(problems)
    }
}

/// What one record says about its token: the token, the revision, whether its event raises it.
fn record_facts(row: &AuditRow) -> Result<(String, u64, bool), String> {
    let record: Value = serde_json::from_str(&row.record)
        .map_err(|_| format!("record {} cannot be read", row.id))?;
    let action = row
        .event
        .strip_prefix("platform.accounts.api-token.")
        .unwrap_or(&row.event);
    let kind = EventKind::from_action(action)
        .ok_or_else(|| format!("record {} has an unknown event {}", row.id, row.event))?;
    let revision = record["revision"]
        .as_u64()
        .ok_or_else(|| format!("record {} has no revision", row.id))?;
    Ok((row.object_id.clone(), revision, kind.raises_revision()))
}

/// Compares each token of `account` with the records of its account's trail: a token at
/// revision `n` has exactly one record of a raising event for each of `1..=n`, and no record
/// with a revision past `n`; every record names a token of this account.
fn revision_problems(
    conn: &mut AnyConnection,
    account: &str,
    trail: &Trail,
) -> Result<Vec<RevisionProblem>, StoreError> {
    let problem = |token: Option<&str>, text: String| RevisionProblem {
        account_id: account.to_owned(),
        token_id: token.map(str::to_owned),
        problem: text,
    };
    let tokens: Vec<(String, i64)> = tokens::table
        .filter(tokens::account_id.eq(account))
        .order(tokens::id.asc())
        .select((tokens::id, tokens::revision))
        .load(conn)?;
    let mut problems = Vec::new();
    if !tokens.is_empty() && trail.rows.is_empty() {
        problems.push(problem(
            None,
            format!(
                "the account has {} tokens but no audit records: its trail was removed",
                tokens.len()
            ),
        ));
        return Ok(problems);
    }
    // token → (revisions raised, highest revision recorded)
    let mut seen: BTreeMap<String, (Vec<u64>, u64)> = BTreeMap::new();
    for row in &trail.rows {
        match record_facts(row) {
            Ok((token, revision, raises)) => {
                let entry = seen.entry(token).or_default();
                if raises {
                    entry.0.push(revision);
                }
                entry.1 = entry.1.max(revision);
            }
            Err(text) => problems.push(problem(None, text)),
        }
    }
    for (id, revision) in &tokens {
        let revision = u64::try_from(*revision).unwrap_or(0);
        let (mut raised, highest) = seen.remove(id).unwrap_or_default();
        raised.sort_unstable();
        let expected: Vec<u64> = (1..=revision).collect();
        if highest > revision {
            problems.push(problem(
                Some(id),
                format!(
                    "token {id} is at revision {revision}, but its records go up to revision \
                     {highest}: the token's row was rolled back"
                ),
            ));
        } else if raised != expected {
            let missing: Vec<String> = expected
                .iter()
                .filter(|n| !raised.contains(n))
                .map(u64::to_string)
                .collect();
            let text = if missing.is_empty() {
                format!(
                    "token {id} is at revision {revision}, but its records raise it {} times: \
                     records were added",
                    raised.len()
                )
            } else {
                format!(
                    "token {id} is at revision {revision}, but no record raises it to revision \
                     {}: records were removed",
                    missing.join(", ")
                )
            };
            problems.push(problem(Some(id), text));
        }
    }
    for token in seen.keys() {
        problems.push(problem(
            Some(token),
            format!(
                "records of account {account} name token {token}, which is not a token of this \
                 account: the token was removed or moved"
            ),
        ));
    }
    Ok(problems)
}
