//! Write-behind: authenticated uses (`lastAccessAt`) and `authentication-failed` records are
//! collected in memory on the request path and written in batches off it. A flush writes both
//! kinds even when one of them fails, and keeps what failed for the next.
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

/// Where a flush writes: the store (a stand-in in the tests).
trait Sink {
    fn touch_tokens(&self, uses: &[(TokenId, OffsetDateTime)]) -> Result<usize, StoreError>;
    fn record_authentication_failure(
        &self,
        id: TokenId,
        reason: FailureReason,
        ctx: &Context,
    ) -> Result<(), StoreError>;
}

impl Sink for Store {
    fn touch_tokens(&self, uses: &[(TokenId, OffsetDateTime)]) -> Result<usize, StoreError> {
        Store::touch_tokens(self, uses)
    }

    fn record_authentication_failure(
        &self,
        id: TokenId,
        reason: FailureReason,
        ctx: &Context,
    ) -> Result<(), StoreError> {
        Store::record_authentication_failure(self, id, reason, ctx)
    }
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

    /// Writes everything pending: the uses (`Store::touch_tokens`, in statements of a few
    /// hundred), then the failures, one record each. Each part is attempted even when the other
    /// fails, and what could not be written is put back for the next flush. On a failure the
    /// first error is returned (the uses' if both failed), and what was written all the same is
    /// logged, with the other error if both failed.
    pub fn flush(&self, store: &Store) -> Result<Flushed, StoreError> {
        self.flush_to(store)
    }

    fn flush_to(&self, sink: &impl Sink) -> Result<Flushed, StoreError> {
        let mut flushed = Flushed::default();
        let uses = self.flush_uses(sink).map(|moved| flushed.uses = moved);
        let failures = self.flush_failures(sink, &mut flushed.failures);
        let error = match (uses, failures) {
            (Ok(()), Ok(())) => return Ok(flushed),
            (Err(uses), Err(failures)) => {
                log::warn!(
                    "write-behind: {} failure records written; the uses and the other failures \
                     are kept for the next flush; recording failures failed with: {failures}",
                    flushed.failures
                );
                uses
            }
            (Err(uses), Ok(())) => {
                log::warn!(
                    "write-behind: {} failure records written; the uses are kept for the next \
                     flush",
                    flushed.failures
                );
                uses
            }
            (Ok(()), Err(failures)) => {
                log::warn!(
                    "write-behind: lastAccessAt moved for {} tokens and {} failure records \
                     written; the other failures are kept for the next flush",
                    flushed.uses,
                    flushed.failures
                );
                failures
            }
        };
        Err(error)
    }

    /// Writes the pending uses; on an error puts them all back (they are forward-only, so
    /// writing one again is harmless).
    fn flush_uses(&self, sink: &impl Sink) -> Result<usize, StoreError> {
        let uses: Vec<(TokenId, OffsetDateTime)> = match self.uses.lock() {
            Ok(mut uses) => uses.drain().collect(),
            Err(_) => Vec::new(),
        };
        if uses.is_empty() {
            return Ok(0);
        }
        sink.touch_tokens(&uses).inspect_err(|_| {
            for (id, at) in uses {
                self.record_use(id, at);
            }
        })
    }

    /// Writes the pending failures, counting them in `written`; on an error puts back the one
    /// that failed and those not tried. A token that no longer exists gets no record.
    fn flush_failures(&self, sink: &impl Sink, written: &mut usize) -> Result<(), StoreError> {
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
            match sink.record_authentication_failure(failure.id, failure.reason, &ctx) {
                Ok(()) => *written += 1,
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
        Ok(())
    }

    /// How many writes are pending.
    pub fn pending(&self) -> usize {
        self.uses.lock().map(|u| u.len()).unwrap_or(0)
            + self.failures.lock().map(|f| f.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink whose uses or failure records fail on demand.
    #[derive(Debug, Default)]
    struct Fake {
        uses_fail: bool,
        failures_fail: bool,
        touched: Mutex<Vec<TokenId>>,
        recorded: Mutex<Vec<TokenId>>,
    }

    impl Sink for Fake {
        fn touch_tokens(&self, uses: &[(TokenId, OffsetDateTime)]) -> Result<usize, StoreError> {
            if self.uses_fail {
                return Err(StoreError::Database("too many SQL variables".into()));
            }
            let mut touched = self.touched.lock().expect("lock");
            touched.extend(uses.iter().map(|(id, _)| *id));
            Ok(uses.len())
        }

        fn record_authentication_failure(
            &self,
            id: TokenId,
            _reason: FailureReason,
            _ctx: &Context,
        ) -> Result<(), StoreError> {
            if self.failures_fail {
                return Err(StoreError::Unavailable("down".into()));
            }
            self.recorded.lock().expect("lock").push(id);
            Ok(())
        }
    }

    fn id(n: u64) -> TokenId {
        TokenId::from_number(n).expect("id")
    }

    /// Two uses and two failures pending.
    fn pending() -> WriteBehind {
        let writes = WriteBehind::default();
        let at = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        writes.record_use(id(1), at);
        writes.record_use(id(2), at);
        for n in [3, 4] {
            writes.record_failure(id(n), FailureReason::Disabled, RequestInfo::default(), at);
        }
        writes
    }

    #[test]
    fn failures_are_written_when_the_uses_fail() {
        let writes = pending();
        let sink = Fake {
            uses_fail: true,
            ..Fake::default()
        };
        let error = writes.flush_to(&sink).expect_err("the uses failed");
        assert!(matches!(error, StoreError::Database(_)), "{error}");
        assert_eq!(*sink.recorded.lock().expect("lock"), [id(3), id(4)]);
        assert_eq!(writes.pending(), 2, "the uses are kept");

        let sink = Fake::default();
        let flushed = writes.flush_to(&sink).expect("flushed");
        assert_eq!(
            flushed,
            Flushed {
                uses: 2,
                failures: 0
            }
        );
        assert_eq!(writes.pending(), 0);
    }

    #[test]
    fn uses_are_written_when_the_failures_fail() {
        let writes = pending();
        let sink = Fake {
            failures_fail: true,
            ..Fake::default()
        };
        let error = writes.flush_to(&sink).expect_err("the failures failed");
        assert!(matches!(error, StoreError::Unavailable(_)), "{error}");
        let mut touched = sink.touched.lock().expect("lock").clone();
        touched.sort_unstable();
        assert_eq!(touched, [id(1), id(2)]);
        assert_eq!(writes.pending(), 2, "the failures are kept");

        let sink = Fake::default();
        let flushed = writes.flush_to(&sink).expect("flushed");
        assert_eq!(
            flushed,
            Flushed {
                uses: 0,
                failures: 2
            }
        );
        assert_eq!(*sink.recorded.lock().expect("lock"), [id(3), id(4)]);
    }

    #[test]
    fn when_both_fail_everything_is_kept_and_the_uses_error_returned() {
        let writes = pending();
        let sink = Fake {
            uses_fail: true,
            failures_fail: true,
            ..Fake::default()
        };
        let error = writes.flush_to(&sink).expect_err("both failed");
        assert!(matches!(error, StoreError::Database(_)), "{error}");
        assert_eq!(writes.pending(), 4);
        let flushed = writes.flush_to(&Fake::default()).expect("flushed");
        assert_eq!(
            flushed,
            Flushed {
                uses: 2,
                failures: 2
            }
        );
    }
}
