//! Write-behind: authenticated uses (`lastAccessAt`) and `authentication-failed` records are
//! collected in memory on the request path and written in batches off it.
//!
//! Precision: a use appears in `lastAccessAt` within one flush interval (5 s by default), with
//! the time of the latest use; at most one failure record is written per token per minute. A
//! clean shutdown flushes both; a crash loses at most one interval, and never corrupts anything
//! (uses are forward-only, failures are ordinary audit records).

use std::collections::HashMap;
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};
use tollgate_audit::RequestInfo;
use tollgate_domain::{FailureReason, Principal, TokenId};
use tollgate_store::{Context, Store, StoreError};

/// A failed authentication waiting to be recorded.
#[derive(Debug, Clone)]
struct Failure {
    id: TokenId,
    reason: FailureReason,
    request: RequestInfo,
    at: OffsetDateTime,
}

/// At most one failure record per token per this window.
pub const FAILURE_WINDOW: Duration = Duration::minutes(1);

/// The pending writes.
#[derive(Debug, Default)]
pub struct WriteBehind {
    uses: Mutex<HashMap<TokenId, OffsetDateTime>>,
    failures: Mutex<Vec<Failure>>,
    last_failure: Mutex<HashMap<TokenId, OffsetDateTime>>,
}

/// What a flush wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flushed {
    /// Tokens whose `lastAccessAt` moved.
    pub uses: usize,
    /// Failure records written.
    pub failures: usize,
}

impl WriteBehind {
    /// Records an authenticated use (the latest per token is kept).
    pub fn record_use(&self, id: TokenId, at: OffsetDateTime) {
        if let Ok(mut uses) = self.uses.lock() {
            let entry = uses.entry(id).or_insert(at);
            if *entry < at {
                *entry = at;
            }
        }
    }

    /// Records a failed authentication with a known id, unless one was recorded for this token
    /// within the last minute.
    pub fn record_failure(
        &self,
        id: TokenId,
        reason: FailureReason,
        request: RequestInfo,
        at: OffsetDateTime,
    ) {
        let Ok(mut last) = self.last_failure.lock() else {
            return;
        };
        if last
            .get(&id)
            .is_some_and(|previous| at - *previous < FAILURE_WINDOW)
        {
            return;
        }
        last.insert(id, at);
        if last.len() > 100_000 {
            last.retain(|_, previous| at - *previous < FAILURE_WINDOW);
        }
        drop(last);
        if let Ok(mut failures) = self.failures.lock() {
            failures.push(Failure {
                id,
                reason,
                request,
                at,
            });
        }
    }

    /// Writes everything pending. Uses go in one statement; failures one record each. What
    /// could not be written is put back for the next flush.
    pub fn flush(&self, store: &Store) -> Result<Flushed, StoreError> {
        let uses: Vec<(TokenId, OffsetDateTime)> = match self.uses.lock() {
            Ok(mut uses) => uses.drain().collect(),
            Err(_) => Vec::new(),
        };
        let mut flushed = Flushed::default();
        if !uses.is_empty() {
            match store.touch_tokens(&uses) {
                Ok(moved) => flushed.uses = moved,
                Err(error) => {
                    for (id, at) in uses {
                        self.record_use(id, at);
                    }
                    return Err(error);
                }
            }
        }
        let failures: Vec<Failure> = match self.failures.lock() {
            Ok(mut failures) => failures.drain(..).collect(),
            Err(_) => Vec::new(),
        };
        let mut remaining = failures.into_iter();
        while let Some(failure) = remaining.next() {
            let ctx = Context {
                actor: Principal::System,
                actor_account: None,
                request: failure.request.clone(),
                now: failure.at,
            };
            match store.record_authentication_failure(failure.id, failure.reason, &ctx) {
                Ok(()) => flushed.failures += 1,
                Err(StoreError::NotFound(_)) => {}
                Err(error) => {
                    if let Ok(mut pending) = self.failures.lock() {
                        pending.push(failure);
                        pending.extend(remaining);
                    }
                    return Err(error);
                }
            }
        }
        Ok(flushed)
    }

    /// How many writes are pending.
    pub fn pending(&self) -> usize {
        self.uses.lock().map(|u| u.len()).unwrap_or(0)
            + self.failures.lock().map(|f| f.len()).unwrap_or(0)
    }
}
