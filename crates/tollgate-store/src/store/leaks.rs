//! Leaked-value reports (SPEC §9): stored as they arrive (each value only as its token id and
//! its HMAC under `k_hash`, never the value), then processed off the request path: a value
//! with the right secret disables its token and marks it compromised, a token's previous value
//! ends its grace — each with a `leak-reported` record by Tollgate itself that names the
//! reporter's address.

use diesel::prelude::*;
use time::OffsetDateTime;
use tollgate_audit::RequestInfo;
use tollgate_domain::{Principal, TokenHash, TokenId};

use super::rows::{from_db, parse_id, to_db};
use super::{Context, Store};
use crate::error::StoreError;
use crate::schema::{leak_report_values, leak_reports};

/// A report as it arrived.
#[derive(Clone)]
pub struct NewLeakReport {
    /// Its id.
    pub id: String,
    /// When it arrived.
    pub received_at: OffsetDateTime,
    /// The reporter's address.
    pub ip: Option<String>,
    /// The reporter's user agent.
    pub user_agent: Option<String>,
    /// The well-formed values (bad form or checksum dropped on arrival): their token id and
    /// hash under the current `k_hash`.
    pub values: Vec<(TokenId, TokenHash)>,
}

impl std::fmt::Debug for NewLeakReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewLeakReport")
            .field("id", &self.id)
            .field("values", &self.values.len())
            .finish_non_exhaustive()
    }
}

/// What processing a report did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeakOutcome {
    /// Tokens disabled (and marked compromised), or whose grace ended.
    pub changed: Vec<TokenId>,
}

impl Store {
    /// Stores a report (nothing is matched yet).
    pub fn store_leak_report(&self, report: &NewLeakReport) -> Result<(), StoreError> {
        self.transaction(|conn| {
            diesel::insert_into(leak_reports::table)
                .values((
                    leak_reports::id.eq(&report.id),
                    leak_reports::received_at.eq(to_db(report.received_at)),
                    leak_reports::ip.eq(report.ip.as_deref()),
                    leak_reports::user_agent.eq(report.user_agent.as_deref()),
                ))
                .execute(conn)?;
            for (position, (token, hash)) in report.values.iter().enumerate() {
                diesel::insert_into(leak_report_values::table)
                    .values((
                        leak_report_values::report_id.eq(&report.id),
                        leak_report_values::position
                            .eq(i32::try_from(position).unwrap_or(i32::MAX)),
                        leak_report_values::token_id.eq(token.to_string()),
                        leak_report_values::secret_key_id.eq(hash.key_id.to_string()),
                        leak_report_values::secret_hash.eq(hash.digest.to_vec()),
                    ))
                    .execute(conn)?;
            }
            Ok::<_, StoreError>(())
        })
    }

    /// Reports not processed yet, oldest first.
    pub fn pending_leak_reports(&self, limit: i64) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn()?;
        Ok(leak_reports::table
            .filter(leak_reports::processed_at.is_null())
            .order((leak_reports::received_at.asc(), leak_reports::id.asc()))
            .limit(limit)
            .select(leak_reports::id)
            .load(&mut conn)?)
    }

    /// Processes one report: each value is checked against its token's current and previous
    /// hash (in constant time); a match changes the token with its `leak-reported` record.
    /// The report is then marked processed. Processing twice changes nothing more.
    pub fn process_leak_report(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<LeakOutcome, StoreError> {
        let mut conn = self.conn()?;
        let report: Option<(
            Option<String>,
            Option<String>,
            Option<time::PrimitiveDateTime>,
        )> = leak_reports::table
            .find(id)
            .select((
                leak_reports::ip,
                leak_reports::user_agent,
                leak_reports::processed_at,
            ))
            .first(&mut conn)
            .optional()?;
        let Some((ip, user_agent, processed)) = report else {
            return Ok(LeakOutcome::default());
        };
        if processed.map(from_db).is_some() {
            return Ok(LeakOutcome::default());
        }
        let values: Vec<(String, String, Vec<u8>)> = leak_report_values::table
            .filter(leak_report_values::report_id.eq(id))
            .order(leak_report_values::position.asc())
            .select((
                leak_report_values::token_id,
                leak_report_values::secret_key_id,
                leak_report_values::secret_hash,
            ))
            .load(&mut conn)?;
        drop(conn);
        let ctx = Context {
            actor: Principal::System,
            actor_account: None,
            request: RequestInfo {
                ip,
                user_agent,
                correlation_id: None,
            },
            now,
        };
        let mut outcome = LeakOutcome::default();
        for (token, key_id, digest) in values {
            let token: TokenId = parse_id(&token)?;
            let Ok(reported) = reported_hash(&key_id, &digest) else {
                continue;
            };
            let Some(view) = self.token_view(token)? else {
                continue;
            };
            let previous = match (view.hash.matches(&reported), &view.previous) {
                (true, _) => false,
                (false, Some(previous)) if previous.hash.matches(&reported) => true,
                _ => continue,
            };
            let changed = self.change_token::<StoreError>(token, &ctx, |token, _| {
                Ok(token.leak_reported(previous, now))
            })?;
            if changed.event.is_some() {
                outcome.changed.push(token);
            }
        }
        let mut conn = self.conn()?;
        diesel::update(leak_reports::table.find(id))
            .set(leak_reports::processed_at.eq(Some(to_db(now))))
            .execute(&mut conn)?;
        Ok(outcome)
    }
}

fn reported_hash(key_id: &str, digest: &[u8]) -> Result<TokenHash, StoreError> {
    Ok(TokenHash {
        key_id: tollgate_domain::secret::KeyId::parse(key_id)
            .ok_or_else(|| StoreError::Corrupt(format!("leak report key id {key_id:?}")))?,
        digest: digest
            .try_into()
            .map_err(|_| StoreError::Corrupt("leak report hash".into()))?,
    })
}
