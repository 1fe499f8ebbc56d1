//! Tollgate's gate: request authorization at speed, in process, for any Rust service.
//!
//! A decision for a known token is made in memory: the bearer value is parsed (no lookup for a
//! malformed value), its id checked against the exact [`IdSet`] (no lookup for an unknown id),
//! its cached view verified through the domain's decision, the path resolved against the cached
//! catalog. Uses and failures are recorded by the write-behind. The database is read only to fill
//! the cache on a miss.
//!
//! Freshness: every change made here invalidates its token at once; changes made elsewhere
//! arrive through the store's change feed (PostgreSQL `LISTEN/NOTIFY`, and the change log it
//! polls; SQLite the poll alone). Fills are guarded by an invalidation epoch, so a fill racing an
//! invalidation never caches what it read before the change.
//!
//! Faults (SPEC §4, the three [`Regime`]s): the feed proves what it has delivered
//! ([`FeedState::confirmed_at`]). An entry decides while the database answers (regimes 1 and 2);
//! once it does not (regime 3), while `now − max(its fill, the last confirmation)` is within
//! [`GateOptions::max_stale`], and then fails closed. While the database is unreachable, or a
//! fill has just failed, the circuit breaker refuses uncached tokens at once: no decision waits
//! on a dead database.

//! Rooms: [`decide`] (the one decision, [`Gate::decide`]), [`gate`] (the cache, id set, feed,
//! regime and flusher), [`idset`], [`limiter`] (failures per client address), [`writebehind`]
//! (uses, failures and re-hashes, written off the request path), [`leaks`] (leaked-value
//! reports processed off the request path). Behind the `actix` feature: [`middleware`]
//! (`RequireModule`, for any actix-web app) and [`problem`] (the one error → HTTP mapping,
//! RFC 7807 problem details, which the middleware and Tollgate's REST API both answer with).
//! Without it the crate knows no web framework.

pub mod decide;
pub mod gate;
pub mod idset;
pub mod leaks;
pub mod limiter;
pub mod writebehind;

#[cfg(feature = "actix")]
pub mod middleware;
#[cfg(feature = "actix")]
pub mod problem;

pub use self::decide::InMemory;
pub use self::gate::{EXPIRING_SOON, Entry, Gate, GateError, GateOptions, GateStats, Readiness};
pub use self::idset::IdSet;
pub use self::leaks::LeakQueue;
pub use self::limiter::Limiter;
pub use self::writebehind::{Flushed, WriteBehind};
pub use tollgate_domain::authz::Target;
