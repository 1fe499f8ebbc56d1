//! The one decision: [`Gate::decide`], what `/v1/authorize`, `/v1/introspect`, the REST API's
//! authentication and the middleware each run for a request.
//!
//! The bearer value is parsed once; its entry found in the cache (no lookup for a malformed
//! value, none for an id outside the exact id set, none while the breaker is open); the domain's
//! [`authz::decide`] verifies it and grants the [`Target`]; the use or the failure goes to the
//! write-behind. [`Gate::decide_in_memory`] is that decision up to the point where a cache miss
//! would read the database: for a cached token it is the whole of it, with no await and no
//! allocation.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use time::OffsetDateTime;
use tollgate_audit::RequestInfo;
use tollgate_domain::authz::{self, RefusalReason, Target};
use tollgate_domain::{FailureReason, PresentedToken, TokenView};

use crate::{Entry, Gate, GateError};

/// Where [`Gate::decide_in_memory`] stopped.
#[derive(Debug)]
pub enum InMemory<'h> {
    /// Decided: the token's entry, or why not.
    Decided(Result<Arc<Entry>, GateError>),
    /// The token is not cached: its entry must be read from the database, then decided.
    Fill(PresentedToken<'h>),
}

impl Gate {
    /// Decides a request: `authorization` is its credential header (none, one, or refused as
    /// [`authz::credential_header`] says), `target` what it asks for, `request` who sent it
    /// (called only when a failure is recorded). A cache miss reads the database on the
    /// blocking pool; a read that cannot reach it is refused (the breaker opens), and one that
    /// cannot be scheduled is [`GateError::Unavailable`].
    pub async fn decide(
        self: &Arc<Self>,
        authorization: Result<Option<&str>, RefusalReason>,
        target: Target<'_>,
        request: &impl Fn() -> RequestInfo,
    ) -> Result<Arc<Entry>, GateError> {
        let presented = match self.decide_in_memory(authorization, target, request) {
            InMemory::Decided(decision) => return decision,
            InMemory::Fill(presented) => presented,
        };
        let gate = Arc::clone(self);
        let id = presented.id();
        let entry = tokio::task::spawn_blocking(move || gate.fill(id))
            .await
            .map_err(|_| GateError::Unavailable)?
            .map_err(|_| GateError::Refused(RefusalReason::Unreachable))?;
        self.settle(&presented, entry.as_ref(), target, request)
    }

    /// [`Gate::decide`] without the database: decided when the token is cached, unknown,
    /// malformed or refused by the breaker; otherwise [`InMemory::Fill`].
    pub fn decide_in_memory<'h>(
        &self,
        authorization: Result<Option<&'h str>, RefusalReason>,
        target: Target<'_>,
        request: &impl Fn() -> RequestInfo,
    ) -> InMemory<'h> {
        let refused = |reason| InMemory::Decided(Err(GateError::Refused(reason)));
        let header = match authorization {
            Ok(Some(header)) => header,
            Ok(None) => return refused(RefusalReason::MissingCredential),
            Err(reason) => return refused(reason),
        };
        let presented = match PresentedToken::from_authorization(header) {
            Ok(presented) => presented,
            Err(error) => return refused(RefusalReason::Malformed(error)),
        };
        let id = presented.id();
        if let Some(entry) = self.cached_entry(id) {
            self.stats.hits.fetch_add(1, Ordering::Relaxed);
            if let Err(reason) = self.check_fresh(&entry) {
                return refused(reason);
            }
            return InMemory::Decided(self.settle(&presented, Some(&entry), target, request));
        }
        // The id set follows the change log, whatever the regime.
        if !self.ids().contains(id) {
            self.stats.unknown.fetch_add(1, Ordering::Relaxed);
            return refused(RefusalReason::UnknownToken);
        }
        if self.breaker_open() {
            self.stats.breaker_refusals.fetch_add(1, Ordering::Relaxed);
            return refused(RefusalReason::Unreachable);
        }
        InMemory::Fill(presented)
    }

    /// The domain's decision on an entry, and what it leaves for the write-behind: the use, or
    /// the failure (at most one record per token per minute), and a value whose hash is under a
    /// previous key queued to move to the current key.
    fn settle(
        &self,
        presented: &PresentedToken<'_>,
        entry: Option<&Arc<Entry>>,
        target: Target<'_>,
        request: &impl Fn() -> RequestInfo,
    ) -> Result<Arc<Entry>, GateError> {
        let now = OffsetDateTime::now_utc();
        let catalog = self.catalog();
        let decision = authz::decide(
            presented,
            entry.map(|e| &e.view),
            target,
            &*self.keys,
            &catalog,
            now,
        );
        // Authenticated (whatever the target granted), or refused on its state: the value
        // matched a stored hash.
        let authenticated = match &decision {
            Ok(_) => true,
            Err(RefusalReason::Failed(reason)) => *reason != FailureReason::WrongSecret,
            Err(reason) => reason.kind() == authz::RefusalKind::Forbidden,
        };
        if authenticated && let Some(entry) = entry {
            self.move_to_current_key(presented, &entry.view);
        }
        match decision {
            Ok(grant) => {
                self.writes.record_use(grant.token.id, now);
                entry
                    .cloned()
                    .ok_or(GateError::Refused(RefusalReason::UnknownToken))
            }
            Err(RefusalReason::Failed(failure)) => {
                if failure == FailureReason::RetiredValue {
                    self.stats.retired_values.fetch_add(1, Ordering::Relaxed);
                }
                self.writes
                    .record_failure(presented.id(), failure, request(), now);
                Err(GateError::Refused(RefusalReason::Failed(failure)))
            }
            Err(reason) => {
                // Authenticated but not granted the target: the token was still used.
                if authenticated && let Some(entry) = entry {
                    self.writes.record_use(entry.view.id, now);
                }
                Err(GateError::Refused(reason))
            }
        }
    }

    /// Queues the hash of a value that matched under a previous key, under the current key.
    fn move_to_current_key(&self, presented: &PresentedToken<'_>, view: &TokenView) {
        let current = &self.keys.current().hash;
        if view.hash.key_id != current.id() {
            self.writes.record_rehash(view.id, &view.hash, || {
                current.hash(presented.expose_secret())
            });
        }
    }
}
