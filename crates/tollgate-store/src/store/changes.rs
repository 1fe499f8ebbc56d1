//! The change feed: every committed change, as it happens, and proof that none was missed.
//!
//! Every change transaction appends a row to the change log (a token id, `account:<id>` or
//! `modules`) and, on PostgreSQL, sends the same payload with `pg_notify('tollgate_changes', …)`,
//! delivered at commit. Three threads watch (SQLite, one server, has only the poller):
//!
//! - **listener**: a dedicated connection (`application_name` `tollgate-listener`) `LISTEN`s and
//!   passes each notification on within about a millisecond. After `LISTEN` it runs no query: on
//!   a frozen backend any query blocks forever, and TCP keepalive never fires while the kernel
//!   still acknowledges.
//! - **ticker**: every `interval`, through the pool, sends a heartbeat (`heartbeat:<instance>:<sent
//!   at>`) that must come back on the listening connection, and polls the change log for rows it
//!   has not seen (so a lost or silent listener misses nothing; it also refreshes the id set).
//! - **supervisor**: watches the heartbeats from outside both. When none has come back within
//!   `deadline`, it abandons the listening connection (whatever its thread is stuck in) and starts
//!   a new listener.
//!
//! [`FeedState`] holds what this proves. *Confirmed at* is the latest instant before which every
//! committed change has been delivered: the send time of a returned heartbeat, or the start of
//! a successful poll. A new listener's heartbeats confirm only once a poll that began after its
//! `LISTEN` has succeeded (that poll covers what was committed before it listened). From these,
//! the [`Regime`] of SPEC §4 "Faults".
//!
//! Reading the log: PostgreSQL sequence numbers can be seen out of order (a transaction that
//! took a number commits after a later one) or never (rolled back). The poller remembers each
//! number it skipped and reads from the oldest one again for [`GAP_PATIENCE`]; every row is
//! applied once. When it cannot tell what it missed (too many skipped, or rows pruned while it
//! was away) it reports [`Change::Unknown`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use time::OffsetDateTime;
use tollgate_domain::{AccountId, TokenId};

use super::{LoggedChange, Store};
use crate::backend::Backend;
use crate::error::StoreError;

/// How long a skipped sequence number is waited for.
pub const GAP_PATIENCE: Duration = Duration::from_secs(10);
/// The most skipped numbers remembered; more, and the poller cannot tell what it missed.
const MAX_GAPS: usize = 10_000;
/// Rows read per query.
const POLL_BATCH: i64 = 1_000;
/// How long change-log rows are kept.
const KEEP_LOG: Duration = Duration::from_secs(3600);
/// How often old rows are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// One committed change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A token was created or changed.
    Token(TokenId),
    /// An account's status or modules changed.
    Account(AccountId),
    /// The module catalog changed.
    Modules,
    /// Something changed that the feed cannot name: forget everything.
    Unknown,
}

impl Change {
    /// Parses a payload.
    pub fn parse(payload: &str) -> Change {
        if let Ok(id) = TokenId::parse(payload) {
            return Change::Token(id);
        }
        if let Some(id) = payload
            .strip_prefix("account:")
            .and_then(|id| AccountId::parse(id).ok())
        {
            return Change::Account(id);
        }
        if payload == "modules" {
            return Change::Modules;
        }
        Change::Unknown
    }
}

/// SPEC §4 "Faults": how far this instance can trust what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Regime {
    /// The feed proves itself alive: changes arrive within about a millisecond.
    FeedHealthy = 1,
    /// The listener is lost or silent, the database answers: the poll brings changes within
    /// about `interval`.
    FeedLost = 2,
    /// The database does not answer: entries decide until their bound.
    DatabaseUnreachable = 3,
}

impl Regime {
    /// `1`, `2` or `3`.
    pub fn number(self) -> u8 {
        self as u8
    }

    /// A name for bodies and logs.
    pub fn name(self) -> &'static str {
        match self {
            Self::FeedHealthy => "feed-healthy",
            Self::FeedLost => "feed-lost",
            Self::DatabaseUnreachable => "database-unreachable",
        }
    }
}

/// Feed timings (every one configurable, so tests run in seconds).
#[derive(Debug, Clone, Copy)]
pub struct FeedOptions {
    /// How often the heartbeat is sent and the change log polled (≤ 500 ms).
    pub interval: Duration,
    /// How long a heartbeat may take to come back (≤ 2 s) before the listener is replaced.
    pub deadline: Duration,
}

impl Default for FeedOptions {
    fn default() -> Self {
        Self {
            interval: Duration::from_millis(500),
            deadline: Duration::from_secs(2),
        }
    }
}

/// What the feed has proven, in milliseconds since the feed started (0: never). Read on every
/// decision: atomics only.
#[derive(Debug)]
pub struct FeedState {
    origin: Instant,
    options: FeedOptions,
    has_listener: bool,
    /// Send time of the newest heartbeat that came back to the current listener.
    heartbeat_back: AtomicU64,
    /// When the current listener's `LISTEN` took effect.
    listening_since: AtomicU64,
    /// A poll begun after `listening_since` succeeded.
    synced: AtomicBool,
    /// Start of the newest successful poll.
    polled: AtomicU64,
    /// The current listener; a listener whose generation is behind stops.
    generation: AtomicU64,
    /// Listening connections abandoned because their heartbeat did not come back.
    replacements: AtomicU64,
    /// Polls that failed.
    poll_failures: AtomicU64,
}

impl FeedState {
    fn new(options: FeedOptions, has_listener: bool) -> Self {
        Self {
            origin: Instant::now(),
            options,
            has_listener,
            heartbeat_back: AtomicU64::new(0),
            listening_since: AtomicU64::new(0),
            synced: AtomicBool::new(false),
            polled: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            replacements: AtomicU64::new(0),
            poll_failures: AtomicU64::new(0),
        }
    }

    /// Milliseconds since the feed started, from 1.
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .saturating_add(1)
    }

    /// The feed's timings.
    pub fn options(&self) -> FeedOptions {
        self.options
    }

    /// Every change committed before this instant (ms, as [`FeedState::now_ms`]) has been
    /// delivered; 0 when nothing is proven yet.
    pub fn confirmed_at(&self) -> u64 {
        let polled = self.polled.load(Ordering::Acquire);
        if self.synced.load(Ordering::Acquire) {
            polled.max(self.heartbeat_back.load(Ordering::Acquire))
        } else {
            polled
        }
    }

    fn deadline_ms(&self) -> u64 {
        u64::try_from(self.options.deadline.as_millis()).unwrap_or(u64::MAX)
    }

    fn listener_healthy(&self, now: u64) -> bool {
        let back = self.heartbeat_back.load(Ordering::Acquire);
        self.has_listener
            && self.synced.load(Ordering::Acquire)
            && back > 0
            && now.saturating_sub(back) <= self.deadline_ms()
    }

    /// The regime now.
    pub fn regime(&self) -> Regime {
        let now = self.now_ms();
        if self.listener_healthy(now) {
            return Regime::FeedHealthy;
        }
        let polled = self.polled.load(Ordering::Acquire);
        if polled > 0 && now.saturating_sub(polled) <= self.deadline_ms() {
            // SQLite has no listener: a working poll is all its feed is.
            return if self.has_listener {
                Regime::FeedLost
            } else {
                Regime::FeedHealthy
            };
        }
        Regime::DatabaseUnreachable
    }

    /// How long this instance has been in regime 3 (zero when it is not).
    pub fn unreachable_for(&self) -> Duration {
        let now = self.now_ms();
        let last_ok = self
            .polled
            .load(Ordering::Acquire)
            .max(self.heartbeat_back.load(Ordering::Acquire));
        Duration::from_millis(now.saturating_sub(last_ok.saturating_add(self.deadline_ms())))
    }

    /// Listening connections abandoned so far.
    pub fn replacements(&self) -> u64 {
        self.replacements.load(Ordering::Relaxed)
    }

    /// Polls that failed so far.
    pub fn poll_failures(&self) -> u64 {
        self.poll_failures.load(Ordering::Relaxed)
    }
}

/// A running change feed; stops when dropped.
#[derive(Debug)]
pub struct ChangeFeed {
    stop: Arc<AtomicBool>,
    state: Arc<FeedState>,
    threads: Vec<JoinHandle<()>>,
}

impl Drop for ChangeFeed {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for thread in self.threads.drain(..) {
            // Dropped on one of the feed's own threads (a callback held the last reference to
            // the feed's owner): joining itself would panic; the thread ends on its own.
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

/// The application name of the listening connection (so operators can find it).
pub const LISTENER_APPLICATION_NAME: &str = "tollgate-listener";

type OnChange = dyn Fn(Change) + Send + Sync;

impl ChangeFeed {
    /// Starts the feed for `store`, from the change log's current end (the caller has just
    /// loaded what it needs). `on_change` receives each change, on the feed's threads.
    pub fn start(
        store: &Store,
        options: FeedOptions,
        on_change: impl Fn(Change) + Send + Sync + 'static,
    ) -> Result<ChangeFeed, StoreError> {
        let has_listener = store.backend() == Backend::Postgres;
        let state = Arc::new(FeedState::new(options, has_listener));
        let stop = Arc::new(AtomicBool::new(false));
        let on_change: Arc<OnChange> = Arc::new(on_change);
        let started = state.now_ms();
        let mut cursor = Cursor::new(store.change_log_head()?);
        state.polled.store(started, Ordering::Release);
        let instance: u64 = rand::random();
        let spawn_error = |error: std::io::Error| {
            StoreError::Database(format!("cannot start the change feed: {error}"))
        };
        let mut threads = Vec::new();
        {
            let (store, state, stop, on_change) = (
                store.clone(),
                Arc::clone(&state),
                Arc::clone(&stop),
                Arc::clone(&on_change),
            );
            threads.push(
                std::thread::Builder::new()
                    .name("tollgate-feed-tick".into())
                    .spawn(move || {
                        tick(&store, &state, &stop, instance, &mut cursor, &*on_change);
                    })
                    .map_err(spawn_error)?,
            );
        }
        if has_listener {
            let url = store.url().postgres_url_for(LISTENER_APPLICATION_NAME);
            let (state, stop) = (Arc::clone(&state), Arc::clone(&stop));
            threads.push(
                std::thread::Builder::new()
                    .name("tollgate-feed-watch".into())
                    .spawn(move || supervise(&url, &state, &stop, instance, &on_change))
                    .map_err(spawn_error)?,
            );
        }
        Ok(ChangeFeed {
            stop,
            state,
            threads,
        })
    }

    /// What the feed has proven so far.
    pub fn state(&self) -> Arc<FeedState> {
        Arc::clone(&self.state)
    }
}

fn sleep_unless_stopped(stop: &AtomicBool, duration: Duration) {
    let step = Duration::from_millis(10).min(duration);
    let mut slept = Duration::ZERO;
    while slept < duration && !stop.load(Ordering::SeqCst) {
        std::thread::sleep(step);
        slept += step;
    }
}

// ---------------------------------------------------------------------------------------------
// The ticker: heartbeats out, the change log in.

/// Where the poller is in the change log.
#[derive(Debug)]
struct Cursor {
    /// The newest number seen.
    last: i64,
    /// Numbers skipped, and when.
    gaps: BTreeMap<i64, Instant>,
}

impl Cursor {
    fn new(last: i64) -> Self {
        Self {
            last,
            gaps: BTreeMap::new(),
        }
    }

    /// Where the next read starts: before the oldest skipped number still awaited.
    fn from(&self) -> i64 {
        self.gaps
            .keys()
            .next()
            .map_or(self.last, |oldest| oldest - 1)
    }

    /// Takes a batch of rows in order; returns the changes not applied before, or `None` when
    /// it can no longer tell what it missed.
    fn take(&mut self, rows: Vec<LoggedChange>, now: Instant) -> Option<Vec<Change>> {
        let mut fresh = Vec::new();
        for row in rows {
            if row.seq <= self.last {
                if self.gaps.remove(&row.seq).is_some() {
                    fresh.push(Change::parse(&row.payload));
                }
                continue;
            }
            let skipped = usize::try_from(row.seq - self.last - 1).unwrap_or(usize::MAX);
            if self.gaps.len().saturating_add(skipped) > MAX_GAPS {
                self.last = row.seq;
                self.gaps.clear();
                return None;
            }
            for missing in self.last + 1..row.seq {
                self.gaps.insert(missing, now);
            }
            self.last = row.seq;
            fresh.push(Change::parse(&row.payload));
        }
        self.gaps
            .retain(|_, skipped_at| now.duration_since(*skipped_at) < GAP_PATIENCE);
        Some(fresh)
    }
}

/// One poll: every row not seen before, applied; `Err` when the database did not answer.
fn poll(store: &Store, cursor: &mut Cursor, on_change: &OnChange) -> Result<(), StoreError> {
    let mut position = cursor.from();
    let mut first = true;
    loop {
        let rows = store.changes_after(position, POLL_BATCH)?;
        let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= POLL_BATCH;
        let Some(newest) = rows.last().map(|row| row.seq) else {
            return Ok(());
        };
        if first
            && cursor.gaps.is_empty()
            && rows.first().is_some_and(|row| row.seq > cursor.last + 1)
        {
            // Rows after ours are missing: pruned while this instance was away (or never
            // committed). If pruned, what changed cannot be told.
            if store.change_log_tail()? > cursor.last + 1 {
                cursor.last = cursor.last.max(newest);
                on_change(Change::Unknown);
                return Ok(());
            }
        }
        first = false;
        position = newest;
        match cursor.take(rows, Instant::now()) {
            Some(changes) => changes.into_iter().for_each(on_change),
            None => {
                on_change(Change::Unknown);
                return Ok(());
            }
        }
        if !full {
            return Ok(());
        }
    }
}

fn tick(
    store: &Store,
    state: &FeedState,
    stop: &AtomicBool,
    instance: u64,
    cursor: &mut Cursor,
    on_change: &OnChange,
) {
    let interval = state.options.interval;
    let mut last_prune = Instant::now();
    let mut failing = false;
    while !stop.load(Ordering::SeqCst) {
        let began = state.now_ms();
        if state.has_listener
            && let Err(error) = store.notify(&format!("heartbeat:{instance:016x}:{began}"))
        {
            log::debug!("change feed: cannot send a heartbeat: {error}");
        }
        match poll(store, cursor, on_change) {
            Ok(()) => {
                state.polled.fetch_max(began, Ordering::AcqRel);
                if began > state.listening_since.load(Ordering::Acquire)
                    && state.listening_since.load(Ordering::Acquire) > 0
                {
                    state.synced.store(true, Ordering::Release);
                }
                if failing {
                    log::info!("change feed: the change log answers again");
                    failing = false;
                }
            }
            Err(error) => {
                state.poll_failures.fetch_add(1, Ordering::Relaxed);
                if !failing {
                    log::warn!("change feed: cannot read the change log: {error}");
                    failing = true;
                }
            }
        }
        if last_prune.elapsed() >= PRUNE_EVERY {
            last_prune = Instant::now();
            let before = OffsetDateTime::now_utc() - KEEP_LOG;
            if let Err(error) = store.prune_change_log(before) {
                log::debug!("change feed: cannot prune the change log: {error}");
            }
        }
        let spent = Duration::from_millis(state.now_ms().saturating_sub(began));
        sleep_unless_stopped(stop, interval.saturating_sub(spent));
    }
}

// ---------------------------------------------------------------------------------------------
// The listener and its supervisor.

/// Keeps one live listener: starts one, and replaces it when its heartbeats stop coming back.
fn supervise(
    url: &str,
    state: &Arc<FeedState>,
    stop: &Arc<AtomicBool>,
    instance: u64,
    on_change: &Arc<OnChange>,
) {
    let deadline = state.deadline_ms();
    let step = Duration::from_millis(50).min(state.options.interval);
    let mut started_at = 0u64;
    let mut current: Option<JoinHandle<()>> = None;
    while !stop.load(Ordering::SeqCst) {
        let now = state.now_ms();
        let finished = current.as_ref().is_none_or(JoinHandle::is_finished);
        let back = state.heartbeat_back.load(Ordering::Acquire);
        // Silent: nothing came back since this listener started (or since the last heartbeat
        // that did) for longer than the deadline.
        let silent = now.saturating_sub(back.max(started_at)) > deadline;
        if finished || silent {
            if !finished {
                state.replacements.fetch_add(1, Ordering::Relaxed);
                log::warn!(
                    "change feed: no heartbeat came back for {} ms; abandoning the listening \
                     connection and starting another",
                    now.saturating_sub(back.max(started_at))
                );
                // The old thread may be stuck on a frozen backend: it is left to end on its own
                // (it stops once it sees it is no longer the current generation).
                current.take();
            }
            let generation = state.generation.fetch_add(1, Ordering::AcqRel) + 1;
            state.synced.store(false, Ordering::Release);
            state.listening_since.store(0, Ordering::Release);
            started_at = now;
            let (url, state, stop, on_change) = (
                url.to_owned(),
                Arc::clone(state),
                Arc::clone(stop),
                Arc::clone(on_change),
            );
            current = std::thread::Builder::new()
                .name(format!("tollgate-listen-{generation}"))
                .spawn(move || listen(&url, &state, &stop, generation, instance, &*on_change))
                .map_err(|error| log::error!("change feed: cannot start a listener: {error}"))
                .ok();
        }
        sleep_unless_stopped(stop, step);
    }
}

/// One listening connection, until it fails or is replaced.
fn listen(
    url: &str,
    state: &FeedState,
    stop: &AtomicBool,
    generation: u64,
    instance: u64,
    on_change: &OnChange,
) {
    let current =
        || !stop.load(Ordering::SeqCst) && state.generation.load(Ordering::Acquire) == generation;
    let conn = PgConnection::establish(url).and_then(|mut conn| {
        conn.batch_execute("LISTEN tollgate_changes")
            .map_err(|error| diesel::ConnectionError::BadConnection(error.to_string()))?;
        Ok(conn)
    });
    let mut conn = match conn {
        Ok(conn) => conn,
        Err(error) => {
            log::warn!("change feed: cannot listen ({error}); the poll carries changes meanwhile");
            // Not at once again: the supervisor starts the next attempt.
            sleep_unless_stopped(stop, state.options.interval);
            return;
        }
    };
    if !current() {
        return;
    }
    state
        .listening_since
        .store(state.now_ms(), Ordering::Release);
    log::info!("change feed: listening (generation {generation})");
    let own = format!("heartbeat:{instance:016x}:");
    while current() {
        let mut received = false;
        // Reads what the socket holds without blocking; never a query on this connection.
        for notification in conn.notifications_iter() {
            match notification {
                Ok(notification) => {
                    received = true;
                    if let Some(sent) = notification.payload.strip_prefix(&own) {
                        if let Ok(sent) = sent.parse::<u64>() {
                            state.heartbeat_back.fetch_max(sent, Ordering::AcqRel);
                        }
                    } else if !notification.payload.starts_with("heartbeat:") {
                        on_change(Change::parse(&notification.payload));
                    }
                }
                Err(error) => {
                    log::warn!("change feed: the listening connection failed: {error}");
                    return;
                }
            }
        }
        if !received {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seq: i64) -> LoggedChange {
        LoggedChange {
            seq,
            payload: "modules".into(),
        }
    }

    #[test]
    fn a_cursor_applies_each_row_once_and_waits_for_skipped_numbers() {
        let now = Instant::now();
        let mut cursor = Cursor::new(10);
        assert_eq!(cursor.from(), 10);
        // 12 committed before 11: 11 is awaited, and read again from 10.
        let changes = cursor.take(vec![row(12), row(13)], now);
        assert_eq!(changes.map(|c| c.len()), Some(2));
        assert_eq!(cursor.from(), 10);
        // 11 arrives (with 12 and 13 again): only 11 is new.
        let changes = cursor.take(vec![row(11), row(12), row(13)], now);
        assert_eq!(changes.map(|c| c.len()), Some(1));
        assert_eq!(cursor.from(), 13);
        // A number never filled (a rollback) stops being awaited after the patience.
        let changes = cursor.take(vec![row(15)], now);
        assert_eq!(changes.map(|c| c.len()), Some(1));
        assert_eq!(cursor.from(), 13);
        let later = now + GAP_PATIENCE + Duration::from_millis(1);
        let changes = cursor.take(vec![], later);
        assert_eq!(changes.map(|c| c.len()), Some(0));
        assert_eq!(cursor.from(), 15);
    }

    #[test]
    fn a_cursor_that_cannot_tell_what_it_missed_says_so() {
        let mut cursor = Cursor::new(0);
        let far = i64::try_from(MAX_GAPS).unwrap_or(i64::MAX) + 2;
        assert!(cursor.take(vec![row(far)], Instant::now()).is_none());
        assert_eq!(cursor.from(), far);
    }

    #[test]
    fn payloads() {
        assert_eq!(Change::parse("modules"), Change::Modules);
        assert_eq!(Change::parse("heartbeat:x"), Change::Unknown);
        assert!(matches!(Change::parse("TKN-1234-5678"), Change::Token(_)));
        assert!(matches!(
            Change::parse("account:ACC-1234-5678"),
            Change::Account(_)
        ));
    }
}
