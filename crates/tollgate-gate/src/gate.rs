//! The gate itself: the token cache and its invalidation epochs, the exact id set, the change
//! feed that keeps them current, the fault regime and circuit breaker, the flusher thread (the
//! write-behind and the expiry sweep). The decision it makes is in [`crate::decide`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use time::OffsetDateTime;
use tollgate_domain::authz::RefusalReason;
use tollgate_domain::{ActorAccount, Catalog, Keyring, TokenId, TokenView};
use tollgate_store::{Change, ChangeFeed, FeedOptions, FeedState, Regime, Store, StoreError};

use crate::{Flushed, IdSet, Limiter, WriteBehind};

const EPOCH_BUCKETS: usize = 4096;

/// A cached token: its view, its account, and its modules' codes for response headers.
#[derive(Debug, Clone)]
pub struct Entry {
    /// When it was read ([`FeedState::now_ms`]): a fill confirms its entry.
    pub filled_ms: u64,
    /// What the decision needs.
    pub view: TokenView,
    /// The token's account (for management actors).
    pub account: ActorAccount,
    /// `X-Tollgate-Modules`, made once at the fill: the codes of `view.modules`,
    /// comma-separated. A response header's text, never parsed back (the modules are
    /// `view.modules`).
    pub modules_header: Box<str>,
}

/// Gate settings.
#[derive(Debug, Clone, Copy)]
pub struct GateOptions {
    /// How often the write-behind flushes.
    pub flush_interval: Duration,
    /// The change feed's heartbeat and poll timings.
    pub feed: FeedOptions,
    /// How long an entry keeps deciding once the database is unreachable, counted from its
    /// fill or the last confirmation (`TOLLGATE_MAX_STALE`; zero fails closed at once).
    pub max_stale: Duration,
    /// How long after a failed fill uncached tokens are refused without trying again.
    pub breaker_cooldown: Duration,
    /// How often tokens whose `expiresAt` passed get their `expired` record.
    pub expiry_sweep: Duration,
}

impl Default for GateOptions {
    fn default() -> Self {
        Self {
            flush_interval: Duration::from_secs(5),
            feed: FeedOptions::default(),
            max_stale: Duration::from_secs(30),
            breaker_cooldown: Duration::from_secs(1),
            expiry_sweep: Duration::from_secs(15),
        }
    }
}

/// Counters for metrics and tests.
#[derive(Debug, Default)]
pub struct GateStats {
    /// Cache hits.
    pub hits: AtomicU64,
    /// Cache fills (database reads).
    pub fills: AtomicU64,
    /// Refusals of unknown ids without a lookup.
    pub unknown: AtomicU64,
    /// Fills discarded because of a racing invalidation.
    pub stale_fills: AtomicU64,
    /// Decisions made on entries not confirmed within the feed's deadline.
    pub unconfirmed: AtomicU64,
    /// Cached entries refused past their bound (regime 3 for longer than `max_stale`).
    pub stale_refusals: AtomicU64,
    /// Uncached tokens refused by the open circuit breaker.
    pub breaker_refusals: AtomicU64,
    /// Fills that failed (each opened the breaker).
    pub fill_failures: AtomicU64,
    /// Values retired by a rotation presented here.
    pub retired_values: AtomicU64,
    /// Tokens disabled, or their grace value ended, by leak reports processed here.
    pub reported_leaked: AtomicU64,
    /// Active tokens expiring within [`EXPIRING_SOON`], as of the last expiry sweep.
    pub expiring_soon: AtomicU64,
}

/// How far ahead a token counts as expiring soon (SPEC §9 "Owners see trouble").
pub const EXPIRING_SOON: time::Duration = time::Duration::days(7);

/// The gate. Cheap to share (`Arc<Gate>`).
pub struct Gate {
    store: Store,
    pub(crate) keys: Arc<Keyring>,
    catalog: RwLock<Arc<Catalog>>,
    tokens: RwLock<HashMap<TokenId, Arc<Entry>>>,
    epoch: AtomicU64,
    invalidated: Vec<AtomicU64>,
    flushed_at: AtomicU64,
    ids: IdSet,
    options: GateOptions,
    /// What the feed has proven (set once the feed runs).
    proof: std::sync::OnceLock<Arc<FeedState>>,
    /// Until when ([`FeedState::now_ms`]) the breaker stays open after a failed fill.
    breaker_until: AtomicU64,
    /// Uses and failures waiting to be written.
    pub writes: WriteBehind,
    /// Failures per client address.
    pub limiter: Limiter,
    /// Counters.
    pub stats: GateStats,
    feed: Mutex<Option<ChangeFeed>>,
    flusher: Mutex<Option<(Arc<AtomicBool>, std::thread::JoinHandle<()>)>>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("regime", &self.regime())
            .field("cached", &self.cached())
            .finish_non_exhaustive()
    }
}

/// Why authentication failed, for the caller to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateError {
    /// Refused (401 or 403 by the reason's kind).
    Refused(RefusalReason),
    /// The database could not be read (the request path refuses instead; management reads
    /// and writes answer 503).
    Unavailable,
}

/// What `/readyz` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readiness {
    /// The regime now.
    pub regime: Regime,
    /// Ready for a load balancer: false only once regime 3 has lasted `max_stale`.
    pub ready: bool,
}

impl Gate {
    /// A gate over `store`: loads the catalog and every token id, then starts the change feed
    /// and the write-behind flusher (background threads, stopped by [`Gate::shutdown`]). Values
    /// are verified under the key their stored hash names (`keys`: the current key and the
    /// previous ones).
    pub fn start(
        store: Store,
        keys: Arc<Keyring>,
        options: GateOptions,
    ) -> Result<Arc<Gate>, StoreError> {
        let catalog = store.catalog()?;
        let gate = Arc::new(Gate {
            store,
            keys,
            catalog: RwLock::new(Arc::new(catalog)),
            tokens: RwLock::new(HashMap::new()),
            epoch: AtomicU64::new(1),
            invalidated: (0..EPOCH_BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            flushed_at: AtomicU64::new(0),
            ids: IdSet::new(),
            options,
            proof: std::sync::OnceLock::new(),
            breaker_until: AtomicU64::new(0),
            writes: WriteBehind::default(),
            limiter: Limiter::default(),
            stats: GateStats::default(),
            feed: Mutex::new(None),
            flusher: Mutex::new(None),
        });
        gate.load_ids()?;
        let weak = Arc::downgrade(&gate);
        let feed = ChangeFeed::start(&gate.store, options.feed, move |change| {
            if let Some(gate) = weak.upgrade() {
                gate.apply(change);
            }
        })?;
        let _ = gate.proof.set(feed.state());
        if let Ok(mut slot) = gate.feed.lock() {
            *slot = Some(feed);
        }
        // Give the feed a moment to prove itself, so a new server starts in regime 1.
        let started = std::time::Instant::now();
        while gate.regime() != Regime::FeedHealthy && started.elapsed() < Duration::from_secs(3) {
            std::thread::sleep(Duration::from_millis(5));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let weak = Arc::downgrade(&gate);
        let interval = options.flush_interval;
        let sweep = options.expiry_sweep;
        let thread = std::thread::Builder::new()
            .name("tollgate-flush".into())
            .spawn(move || {
                let step = Duration::from_millis(50).min(interval).min(sweep);
                let (mut waited, mut since_sweep) = (Duration::ZERO, Duration::ZERO);
                while !flag.load(Ordering::SeqCst) {
                    std::thread::sleep(step);
                    waited += step;
                    since_sweep += step;
                    let Some(gate) = weak.upgrade() else { break };
                    if waited >= interval {
                        waited = Duration::ZERO;
                        if let Err(error) = gate.flush() {
                            log::warn!("write-behind flush failed (will retry): {error}");
                        }
                    }
                    if since_sweep >= sweep {
                        since_sweep = Duration::ZERO;
                        if let Err(error) = gate.sweep_expired() {
                            log::warn!("expiry sweep failed (will retry): {error}");
                        }
                    }
                }
            })
            .map_err(|error| StoreError::Database(format!("cannot start the flusher: {error}")))?;
        if let Ok(mut slot) = gate.flusher.lock() {
            *slot = Some((stop, thread));
        }
        Ok(gate)
    }

    /// Stops the background threads and flushes the write-behind (a clean shutdown).
    pub fn shutdown(&self) -> Result<Flushed, StoreError> {
        if let Ok(mut slot) = self.flusher.lock()
            && let Some((stop, thread)) = slot.take()
        {
            stop.store(true, Ordering::SeqCst);
            let _ = thread.join();
        }
        if let Ok(mut slot) = self.feed.lock() {
            slot.take();
        }
        self.flush()
    }

    /// Writes the `expired` record of every token whose `expiresAt` has passed and has none
    /// for that instant yet (once, whatever the instances and restarts); returns how many this
    /// call wrote. Then counts the Active tokens expiring within [`EXPIRING_SOON`] for
    /// `/metrics`. Off the request path.
    pub fn sweep_expired(&self) -> Result<usize, StoreError> {
        let now = OffsetDateTime::now_utc();
        let mut written = 0;
        for id in self.store.expired_unrecorded(now, 500)? {
            if self.store.record_expiry(id, now)? {
                written += 1;
            }
        }
        let soon = self.store.count_expiring(now, now + EXPIRING_SOON)?;
        self.stats.expiring_soon.store(soon, Ordering::Relaxed);
        Ok(written)
    }

    /// Writes pending uses and failures now.
    pub fn flush(&self) -> Result<Flushed, StoreError> {
        self.writes.flush(&self.store)
    }

    fn load_ids(&self) -> Result<(), StoreError> {
        for id in self.store.token_ids()? {
            self.ids.insert(id);
        }
        Ok(())
    }

    /// The regime now (SPEC §4 "Faults").
    pub fn regime(&self) -> Regime {
        self.proof
            .get()
            .map_or(Regime::DatabaseUnreachable, |proof| proof.regime())
    }

    /// What `/readyz` answers: ready until regime 3 has lasted `max_stale`.
    pub fn readiness(&self) -> Readiness {
        let regime = self.regime();
        let unreachable_for = self
            .proof
            .get()
            .map_or(Duration::MAX, |proof| proof.unreachable_for());
        Readiness {
            regime,
            ready: regime != Regime::DatabaseUnreachable
                || unreachable_for < self.options.max_stale,
        }
    }

    /// Rows the store refused because they do not match their row MAC (for metrics).
    pub fn row_integrity_failures(&self) -> u64 {
        self.store.integrity_failures()
    }

    /// What the feed has proven (for metrics).
    pub fn feed_state(&self) -> Option<&Arc<FeedState>> {
        self.proof.get()
    }

    fn now_ms(&self) -> u64 {
        self.proof.get().map_or(0, |proof| proof.now_ms())
    }

    /// Open while the database is unreachable, and for a moment after a failed fill.
    pub(crate) fn breaker_open(&self) -> bool {
        self.regime() == Regime::DatabaseUnreachable
            || self.now_ms() < self.breaker_until.load(Ordering::Acquire)
    }

    /// Whether a cached entry may still decide: always while the database answers; in regime
    /// 3 while it is within `max_stale` of its fill or the last confirmation.
    pub(crate) fn check_fresh(&self, entry: &Entry) -> Result<(), RefusalReason> {
        let Some(proof) = self.proof.get() else {
            return Ok(());
        };
        let now = proof.now_ms();
        let age = now.saturating_sub(entry.filled_ms.max(proof.confirmed_at()));
        let deadline = u64::try_from(proof.options().deadline.as_millis()).unwrap_or(u64::MAX);
        if age <= deadline {
            return Ok(());
        }
        self.stats.unconfirmed.fetch_add(1, Ordering::Relaxed);
        let bound = u64::try_from(self.options.max_stale.as_millis()).unwrap_or(u64::MAX);
        if proof.regime() == Regime::DatabaseUnreachable && age > bound {
            self.stats.stale_refusals.fetch_add(1, Ordering::Relaxed);
            return Err(RefusalReason::Stale);
        }
        Ok(())
    }

    /// How many tokens are cached.
    pub fn cached(&self) -> usize {
        self.tokens.read().map(|t| t.len()).unwrap_or(0)
    }

    /// The catalog, as of the latest change.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog
            .read()
            .map(|c| Arc::clone(&c))
            .unwrap_or_else(|poisoned| Arc::clone(&poisoned.into_inner()))
    }

    /// The exact id set.
    pub fn ids(&self) -> &IdSet {
        &self.ids
    }

    fn bucket(id: TokenId) -> usize {
        id.index() as usize % EPOCH_BUCKETS
    }

    /// Forgets a token at once (after a change made here, or announced by the feed).
    pub fn invalidate(&self, id: TokenId) {
        let epoch = self.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        self.invalidated[Self::bucket(id)].fetch_max(epoch, Ordering::SeqCst);
        if let Ok(mut tokens) = self.tokens.write() {
            tokens.remove(&id);
        }
    }

    /// Notes a token created here (its id exists from now on).
    pub fn created(&self, id: TokenId) {
        self.ids.insert(id);
        self.invalidate(id);
    }

    /// Forgets every cached token.
    pub fn flush_cache(&self) {
        let epoch = self.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        self.flushed_at.fetch_max(epoch, Ordering::SeqCst);
        if let Ok(mut tokens) = self.tokens.write() {
            tokens.clear();
        }
    }

    fn apply(&self, change: Change) {
        match change {
            Change::Token(id) => self.created(id),
            Change::Account(_) => self.flush_cache(),
            Change::Modules => {
                self.reload_catalog();
                self.flush_cache();
            }
            Change::Unknown => {
                self.reload_catalog();
                if let Err(error) = self.load_ids() {
                    log::warn!("cannot reload token ids: {error}");
                }
                self.flush_cache();
            }
        }
    }

    fn reload_catalog(&self) {
        match self.store.catalog() {
            Ok(catalog) => {
                if let Ok(mut slot) = self.catalog.write() {
                    *slot = Arc::new(catalog);
                }
            }
            Err(error) => log::warn!("cannot reload the module catalog: {error}"),
        }
    }

    /// The cached entry for `id`, if any.
    pub fn cached_entry(&self, id: TokenId) -> Option<Arc<Entry>> {
        self.tokens
            .read()
            .ok()
            .and_then(|tokens| tokens.get(&id).cloned())
    }

    /// Reads a token from the database and caches it unless an invalidation raced the read.
    /// A failure opens the circuit breaker. Blocking: call it from a blocking context.
    pub fn fill(&self, id: TokenId) -> Result<Option<Arc<Entry>>, StoreError> {
        self.read_entry(id).inspect_err(|_| {
            self.stats.fill_failures.fetch_add(1, Ordering::Relaxed);
            let cooldown =
                u64::try_from(self.options.breaker_cooldown.as_millis()).unwrap_or(u64::MAX);
            self.breaker_until
                .fetch_max(self.now_ms().saturating_add(cooldown), Ordering::AcqRel);
        })
    }

    fn read_entry(&self, id: TokenId) -> Result<Option<Arc<Entry>>, StoreError> {
        let before = self.epoch.load(Ordering::SeqCst);
        let filled_ms = self.now_ms();
        self.stats.fills.fetch_add(1, Ordering::Relaxed);
        let Some(view) = self.store.token_view(id)? else {
            return Ok(None);
        };
        let Some(account) = self.store.request_account(view.account_id)? else {
            return Ok(None);
        };
        let catalog = self.catalog();
        let modules_header = view
            .modules
            .iter()
            .filter_map(|id| catalog.get(id).map(|m| m.code.to_string()))
            .collect::<Vec<_>>()
            .join(",");
        let entry = Arc::new(Entry {
            filled_ms,
            account: ActorAccount {
                id: account.id,
                name: account.name.to_string(),
                account_type: account.account_type,
                status: account.status,
                modules: account.modules,
            },
            view,
            modules_header: modules_header.into(),
        });
        if let Ok(mut tokens) = self.tokens.write() {
            let raced = self.invalidated[Self::bucket(id)].load(Ordering::SeqCst) > before
                || self.flushed_at.load(Ordering::SeqCst) > before;
            if raced {
                self.stats.stale_fills.fetch_add(1, Ordering::Relaxed);
            } else {
                tokens.insert(id, Arc::clone(&entry));
            }
        }
        Ok(Some(entry))
    }
}
