//! The gate's families: its fault regime, what it decided on and refused, its cache, the
//! change feed's faults, the write-behind's backlog.
//!
//! The gate keeps its own atomic counters ([`tollgate_gate::GateStats`]); a scrape reads them
//! into a [`GateSample`] and [`GateFamilies::update`] moves each family to the sample: gauges
//! are set, counters advanced by what they are behind (the gate's counters only grow, so a
//! counter never goes down).

use std::sync::atomic::Ordering::Relaxed;

use prometheus::{IntCounter, IntGauge, Registry};

use super::MetricsError;
use tollgate_gate::Gate;

/// The gate's figures at one scrape.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GateSample {
    /// 1 feed healthy, 2 feed lost (polling), 3 database unreachable.
    pub regime: u8,
    /// `/readyz` would answer 200.
    pub ready: bool,
    /// Decisions made on entries not confirmed within the feed's deadline.
    pub unconfirmed: u64,
    /// Cached entries refused past `TOLLGATE_MAX_STALE`.
    pub stale_refusals: u64,
    /// Uncached tokens refused while the database was unreachable.
    pub breaker_refusals: u64,
    /// Cache fills that could not reach the database.
    pub fill_failures: u64,
    /// Listening connections abandoned after a missed heartbeat.
    pub listener_replacements: u64,
    /// Polls of the change log that failed.
    pub poll_failures: u64,
    /// Decisions answered from the cache.
    pub cache_hits: u64,
    /// Cache fills (database reads).
    pub cache_fills: u64,
    /// Unknown ids refused without a lookup.
    pub unknown_ids: u64,
    /// Fills discarded because a change raced them.
    pub stale_fills: u64,
    /// Tokens in the cache.
    pub cached_tokens: u64,
    /// Uses and failures waiting to be written.
    pub pending_writes: u64,
    /// Rows refused because they do not match their row MAC.
    pub row_integrity_failures: u64,
    /// Values retired by a rotation presented here.
    pub retired_values: u64,
    /// Tokens disabled (or their grace value ended) by leak reports processed here.
    pub reported_leaked: u64,
    /// Active tokens expiring within 7 days, as of the last expiry sweep.
    pub expiring_soon: u64,
}

impl GateSample {
    /// Reads `gate` now.
    pub fn of(gate: &Gate) -> Self {
        let stats = &gate.stats;
        let (listener_replacements, poll_failures) = gate
            .feed_state()
            .map_or((0, 0), |feed| (feed.replacements(), feed.poll_failures()));
        Self {
            regime: gate.regime().number(),
            ready: gate.readiness().ready,
            unconfirmed: stats.unconfirmed.load(Relaxed),
            stale_refusals: stats.stale_refusals.load(Relaxed),
            breaker_refusals: stats.breaker_refusals.load(Relaxed),
            fill_failures: stats.fill_failures.load(Relaxed),
            listener_replacements,
            poll_failures,
            cache_hits: stats.hits.load(Relaxed),
            cache_fills: stats.fills.load(Relaxed),
            unknown_ids: stats.unknown.load(Relaxed),
            stale_fills: stats.stale_fills.load(Relaxed),
            cached_tokens: u64::try_from(gate.cached()).unwrap_or(u64::MAX),
            pending_writes: u64::try_from(gate.writes.pending()).unwrap_or(u64::MAX),
            row_integrity_failures: gate.row_integrity_failures(),
            retired_values: stats.retired_values.load(Relaxed),
            reported_leaked: stats.reported_leaked.load(Relaxed),
            expiring_soon: stats.expiring_soon.load(Relaxed),
        }
    }
}

/// Each family with the sample field it shows.
#[derive(Debug, Clone)]
pub(super) struct GateFamilies {
    gauges: Vec<(IntGauge, Field)>,
    counters: Vec<(IntCounter, Field)>,
}

/// The sample field a family shows.
type Field = fn(&GateSample) -> u64;

const GAUGES: [(&str, &str, Field); 5] = [
    (
        "tollgate_gate_regime",
        "The fault regime: 1 feed healthy, 2 feed lost (polling the change log), 3 database unreachable.",
        |s| u64::from(s.regime),
    ),
    (
        "tollgate_gate_ready",
        "1 while /readyz answers 200 (not yet TOLLGATE_MAX_STALE into regime 3), else 0.",
        |s| u64::from(s.ready),
    ),
    (
        "tollgate_gate_cached_tokens",
        "Tokens held in the decision cache.",
        |s| s.cached_tokens,
    ),
    (
        "tollgate_gate_pending_writes",
        "Last-access times and failure records waiting in the write-behind.",
        |s| s.pending_writes,
    ),
    (
        "tollgate_tokens_expiring_soon",
        "Active tokens (every account) expiring within 7 days, as of the last expiry sweep.",
        |s| s.expiring_soon,
    ),
];

const COUNTERS: [(&str, &str, Field); 13] = [
    (
        "tollgate_retired_values_presented_total",
        "Values retired by a rotation that were presented (and refused).",
        |s| s.retired_values,
    ),
    (
        "tollgate_tokens_reported_leaked_total",
        "Tokens disabled, or their grace value ended, by leaked-value reports processed here.",
        |s| s.reported_leaked,
    ),
    (
        "tollgate_row_integrity_failures_total",
        "Rows refused because they do not match their row MAC (changed outside Tollgate).",
        |s| s.row_integrity_failures,
    ),
    (
        "tollgate_gate_unconfirmed_decisions_total",
        "Decisions made on cached entries not confirmed within the feed's deadline.",
        |s| s.unconfirmed,
    ),
    (
        "tollgate_gate_stale_refusals_total",
        "Cached entries refused because they were past TOLLGATE_MAX_STALE.",
        |s| s.stale_refusals,
    ),
    (
        "tollgate_gate_breaker_refusals_total",
        "Uncached tokens refused while the database was unreachable (circuit breaker open).",
        |s| s.breaker_refusals,
    ),
    (
        "tollgate_gate_fill_failures_total",
        "Cache fills that could not reach the database.",
        |s| s.fill_failures,
    ),
    (
        "tollgate_feed_listener_replacements_total",
        "Listening connections abandoned after a missed heartbeat.",
        |s| s.listener_replacements,
    ),
    (
        "tollgate_feed_poll_failures_total",
        "Polls of the change log that failed.",
        |s| s.poll_failures,
    ),
    (
        "tollgate_gate_cache_hits_total",
        "Decisions answered from the cache.",
        |s| s.cache_hits,
    ),
    (
        "tollgate_gate_cache_fills_total",
        "Cache fills (database reads of a token).",
        |s| s.cache_fills,
    ),
    (
        "tollgate_gate_unknown_ids_total",
        "Token ids refused without a lookup because no such token exists.",
        |s| s.unknown_ids,
    ),
    (
        "tollgate_gate_stale_fills_total",
        "Cache fills discarded because a change to the token raced them.",
        |s| s.stale_fills,
    ),
];

impl GateFamilies {
    pub(super) fn new() -> Result<Self, MetricsError> {
        let gauges = GAUGES
            .iter()
            .map(|(name, help, field)| Ok((IntGauge::new(*name, *help)?, *field)))
            .collect::<Result<_, prometheus::Error>>()?;
        let counters = COUNTERS
            .iter()
            .map(|(name, help, field)| Ok((IntCounter::new(*name, *help)?, *field)))
            .collect::<Result<_, prometheus::Error>>()?;
        Ok(Self { gauges, counters })
    }

    pub(super) fn register(&self, registry: &Registry) -> Result<(), MetricsError> {
        for (gauge, _) in &self.gauges {
            registry.register(Box::new(gauge.clone()))?;
        }
        for (counter, _) in &self.counters {
            registry.register(Box::new(counter.clone()))?;
        }
        Ok(())
    }

    /// Moves every family to `sample` (callers serialise scrapes).
    pub(super) fn update(&self, sample: &GateSample) {
        for (gauge, field) in &self.gauges {
            gauge.set(i64::try_from(field(sample)).unwrap_or(i64::MAX));
        }
        for (counter, field) in &self.counters {
            let behind = field(sample).saturating_sub(counter.get());
            if behind > 0 {
                counter.inc_by(behind);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_follow_the_sample_and_never_go_down() -> Result<(), MetricsError> {
        let families = GateFamilies::new()?;
        let registry = Registry::new();
        families.register(&registry)?;
        let value = |name: &str| {
            registry
                .gather()
                .iter()
                .find(|family| family.name() == name)
                .and_then(|family| family.get_metric().first().cloned())
        };
        let mut sample = GateSample {
            regime: 2,
            cache_hits: 5,
            ..GateSample::default()
        };
        families.update(&sample);
        assert_eq!(
            value("tollgate_gate_cache_hits_total").map(|m| m.get_counter().get_value()),
            Some(5.0)
        );
        sample.cache_hits = 7;
        families.update(&sample);
        families.update(&sample);
        assert_eq!(
            value("tollgate_gate_cache_hits_total").map(|m| m.get_counter().get_value()),
            Some(7.0)
        );
        assert_eq!(
            value("tollgate_gate_regime").map(|m| m.get_gauge().get_value()),
            Some(2.0)
        );
        Ok(())
    }
}
