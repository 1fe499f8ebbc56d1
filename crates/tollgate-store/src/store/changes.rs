//! The change feed: other processes' committed changes, as they happen.
//!
//! PostgreSQL: a dedicated connection `LISTEN`s on `tollgate_changes` (every change transaction
//! sends `pg_notify` with the token id, `account:<id>` or `modules`, delivered at commit). When
//! that connection drops, the feed reports `Disconnected` (callers must flush what they cached,
//! since notifications may have been missed) and reconnects with backoff, reporting `Connected`
//! again when it is back.
//!
//! SQLite: the `change_sequence` row is polled; when it moves, `Change::Unknown` is reported (the
//! feed cannot tell what changed, so callers flush).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use tollgate_domain::{AccountId, TokenId};

use super::Store;
use crate::backend::Backend;

/// One committed change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A token was created or changed.
    Token(TokenId),
    /// An account's status or modules changed.
    Account(AccountId),
    /// The module catalog changed.
    Modules,
    /// Something changed (SQLite's sequence moved).
    Unknown,
}

impl Change {
    /// Parses a notification payload.
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

/// Whether the feed is receiving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedStatus {
    /// Receiving every change.
    Connected,
    /// Not receiving: changes may be missed until `Connected` again.
    Disconnected,
}

/// A running change feed; stops when dropped.
#[derive(Debug)]
pub struct ChangeFeed {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for ChangeFeed {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            // Dropped on the feed's own thread (a callback held the last reference to the
            // feed's owner): joining itself would panic; the thread ends on its own.
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

/// The application name of the listening connection (so operators can find it).
pub const LISTENER_APPLICATION_NAME: &str = "tollgate-listener";

fn with_application_name(url: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}application_name={LISTENER_APPLICATION_NAME}")
}

impl ChangeFeed {
    /// Starts the feed for `store`. `on_change` receives each change; `on_status` each status
    /// change (the first `Connected` once the feed is receiving). Both run on the feed's thread.
    pub fn start(
        store: &Store,
        poll: Duration,
        on_change: impl Fn(Change) + Send + 'static,
        on_status: impl Fn(FeedStatus) + Send + 'static,
    ) -> std::io::Result<ChangeFeed> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = match store.backend() {
            Backend::Postgres => {
                let url = with_application_name(store.url().target());
                std::thread::Builder::new()
                    .name("tollgate-listen".into())
                    .spawn(move || listen(&url, poll, &flag, &on_change, &on_status))?
            }
            Backend::Sqlite => {
                let store = store.clone();
                std::thread::Builder::new()
                    .name("tollgate-poll".into())
                    .spawn(move || poll_sequence(&store, poll, &flag, &on_change, &on_status))?
            }
        };
        Ok(ChangeFeed {
            stop,
            thread: Some(thread),
        })
    }
}

fn sleep_unless_stopped(stop: &AtomicBool, duration: Duration) {
    let step = Duration::from_millis(20).min(duration);
    let mut slept = Duration::ZERO;
    while slept < duration && !stop.load(Ordering::SeqCst) {
        std::thread::sleep(step);
        slept += step;
    }
}

fn listen(
    url: &str,
    poll: Duration,
    stop: &AtomicBool,
    on_change: &dyn Fn(Change),
    on_status: &dyn Fn(FeedStatus),
) {
    let mut backoff = Duration::from_millis(100);
    let mut connected = false;
    while !stop.load(Ordering::SeqCst) {
        let conn = PgConnection::establish(url).and_then(|mut conn| {
            conn.batch_execute("LISTEN tollgate_changes")
                .map_err(|error| diesel::ConnectionError::BadConnection(error.to_string()))?;
            Ok(conn)
        });
        let mut conn = match conn {
            Ok(conn) => conn,
            Err(error) => {
                log::warn!("change feed: cannot connect ({error}); retrying in {backoff:?}");
                sleep_unless_stopped(stop, backoff);
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        if !connected {
            on_status(FeedStatus::Connected);
            connected = true;
        }
        let mut idle = Duration::ZERO;
        'receive: while !stop.load(Ordering::SeqCst) {
            let mut received = false;
            for notification in conn.notifications_iter() {
                match notification {
                    Ok(notification) => {
                        received = true;
                        on_change(Change::parse(&notification.payload));
                    }
                    Err(error) => {
                        log::warn!("change feed: the listening connection failed: {error}");
                        break 'receive;
                    }
                }
            }
            if received {
                idle = Duration::ZERO;
                continue;
            }
            std::thread::sleep(poll);
            idle += poll;
            // notifications_iter does not notice a dead connection by itself: check it now and
            // then with a round trip.
            if idle >= Duration::from_millis(250) {
                idle = Duration::ZERO;
                if conn.batch_execute("SELECT 1").is_err() {
                    log::warn!("change feed: the listening connection is gone");
                    break 'receive;
                }
            }
        }
        if !stop.load(Ordering::SeqCst) {
            connected = false;
            on_status(FeedStatus::Disconnected);
        }
    }
}

fn poll_sequence(
    store: &Store,
    poll: Duration,
    stop: &AtomicBool,
    on_change: &dyn Fn(Change),
    on_status: &dyn Fn(FeedStatus),
) {
    let mut last: Option<i64> = None;
    let mut connected = false;
    while !stop.load(Ordering::SeqCst) {
        match store.change_sequence() {
            Ok(value) => {
                if !connected {
                    on_status(FeedStatus::Connected);
                    connected = true;
                }
                if last.is_some_and(|last| last != value) {
                    on_change(Change::Unknown);
                }
                last = Some(value);
            }
            Err(error) => {
                if connected {
                    log::warn!("change feed: cannot read the change sequence: {error}");
                    on_status(FeedStatus::Disconnected);
                    connected = false;
                }
            }
        }
        sleep_unless_stopped(stop, poll);
    }
}
