//! Write-behind: authenticated uses (`lastAccessAt`), `authentication-failed` records, and
//! tokens seen to authenticate under a previous server key (to be re-hashed under the current
//! one, SPEC §8 key rotation) are collected in memory on the request path and written in
//! batches off it. A flush writes every kind even when another fails, and keeps what failed for
//! the next.
//!
//! Precision: a use appears in `lastAccessAt` within one flush interval (5 s by default), with
//! the time of the latest use; at most one failure record is written per token per minute. A
//! clean shutdown flushes both; a crash loses at most one interval, and never corrupts anything
//! (uses are forward-only, failures are ordinary audit records).

use std::collections::HashMap;
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};
use tollgate_audit::RequestInfo;
use tollgate_domain::{FailureReason, Principal, TokenHash, TokenId};
use tollgate_store::{Context, Rehash, Store, StoreError};

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
    rehashes: Mutex<HashMap<TokenId, Rehash>>,
}

/// What a flush wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flushed {
    /// Tokens whose `lastAccessAt` moved.
    pub uses: usize,
    /// Failure records written.
    pub failures: usize,
    /// Tokens moved to the current key.
    pub rehashed: usize,
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
    fn rehash_tokens(&self, rehashes: &[Rehash]) -> Result<usize, StoreError>;
}

impl Sink for Store {
    fn rehash_tokens(&self, rehashes: &[Rehash]) -> Result<usize, StoreError> {
        Store::rehash_tokens(self, rehashes)
    }

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

    /// Queues a token whose value matched `from`, a hash under a previous key, to move to the
    /// current key; `to` (the value's hash under the current key) is computed only when the
    /// token is not queued already.
    pub fn record_rehash(&self, id: TokenId, from: &TokenHash, to: impl FnOnce() -> TokenHash) {
        if let Ok(mut rehashes) = self.rehashes.lock() {
            rehashes.entry(id).or_insert_with(|| Rehash {
                id,
                from: from.clone(),
                to: to(),
            });
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
        // Moving hashes fails on its own (it is retried at the next flush) without holding up
        // the rest.
        match self.flush_rehashes(sink) {
            Ok(moved) => flushed.rehashed = moved,
            Err(error) => log::warn!(
                "write-behind: moving tokens to the current key failed (will retry): {error}"
            ),
        }
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

    /// Moves the queued tokens to the current key; on an error puts them all back (a token
    /// already moved is skipped the next time: its stored hash is no longer the old one).
    fn flush_rehashes(&self, sink: &impl Sink) -> Result<usize, StoreError> {
        let rehashes: Vec<Rehash> = match self.rehashes.lock() {
            Ok(mut rehashes) => rehashes.drain().map(|(_, rehash)| rehash).collect(),
            Err(_) => Vec::new(),
        };
        if rehashes.is_empty() {
            return Ok(0);
        }
        sink.rehash_tokens(&rehashes).inspect_err(|_| {
            if let Ok(mut pending) = self.rehashes.lock() {
                for rehash in rehashes {
                    pending.entry(rehash.id).or_insert(rehash);
                }
            }
        })
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
    /// that failed and those not tried. A token that no longer exists, or whose row fails its
    /// row MAC (refused and logged by the store), gets no record.
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
                Err(StoreError::NotFound(_) | StoreError::Integrity(_)) => {}
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
            + self.rehashes.lock().map(|r| r.len()).unwrap_or(0)
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
        rehashes_fail: bool,
        touched: Mutex<Vec<TokenId>>,
        recorded: Mutex<Vec<TokenId>>,
        rehashed: Mutex<Vec<TokenId>>,
    }

    impl Sink for Fake {
        fn rehash_tokens(&self, rehashes: &[Rehash]) -> Result<usize, StoreError> {
            if self.rehashes_fail {
                return Err(StoreError::Unavailable("down".into()));
            }
            let mut rehashed = self.rehashed.lock().expect("lock");
            rehashed.extend(rehashes.iter().map(|rehash| rehash.id));
            Ok(rehashes.len())
        }

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
                failures: 0,
                rehashed: 0
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
                failures: 2,
                rehashed: 0
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
                failures: 2,
                rehashed: 0
            }
        );
    }

    fn hash(key: u32, byte: u8) -> TokenHash {
        TokenHash {
            key_id: tollgate_domain::KeyId(key),
            digest: [byte; 32],
        }
    }

    #[test]
    fn rehashes_are_queued_once_and_kept_when_they_fail() {
        let writes = pending();
        let mut computed = 0;
        for _ in 0..3 {
            writes.record_rehash(id(7), &hash(1, 1), || {
                computed += 1;
                hash(2, 2)
            });
        }
        assert_eq!(
            computed, 1,
            "the new hash is computed once per queued token"
        );
        assert_eq!(writes.pending(), 5);
        let sink = Fake {
            rehashes_fail: true,
            ..Fake::default()
        };
        let flushed = writes.flush_to(&sink).expect("the rest is written");
        assert_eq!(
            (flushed.uses, flushed.failures, flushed.rehashed),
            (2, 2, 0)
        );
        assert_eq!(writes.pending(), 1, "the rehash is kept");
        let sink = Fake::default();
        let flushed = writes.flush_to(&sink).expect("flushed");
        assert_eq!(flushed.rehashed, 1);
        assert_eq!(*sink.rehashed.lock().expect("lock"), [id(7)]);
        assert_eq!(writes.pending(), 0);
    }
}
