//! Leaked-value reports off the request path (SPEC §9): a bounded queue of stored reports and
//! the thread that processes them — on arrival, and every few seconds for any still pending
//! (a full queue, a restart, another instance's report).

use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Weak};
use std::time::Duration;

use time::OffsetDateTime;
use tollgate_store::Store;

use crate::gate::Gate;

/// How many stored reports wait in memory; past that they wait in the database.
pub const QUEUE: usize = 1_000;
/// How often pending reports are looked for in the database.
const SCAN_EVERY: Duration = Duration::from_secs(5);

/// The sending end: hands stored reports to the processor.
#[derive(Debug, Clone)]
pub struct LeakQueue {
    sender: SyncSender<String>,
}

impl LeakQueue {
    /// Starts the processor for `store`, invalidating changed tokens in `gate`. It stops when
    /// every queue handle (and so the application state) is gone.
    pub fn start(store: Store, gate: &Arc<Gate>) -> std::io::Result<LeakQueue> {
        let (sender, receiver) = sync_channel(QUEUE);
        let gate = Arc::downgrade(gate);
        std::thread::Builder::new()
            .name("tollgate-leaks".into())
            .spawn(move || run(&store, &gate, &receiver))?;
        Ok(LeakQueue { sender })
    }

    /// Queues a stored report; when the queue is full it stays for the next scan.
    pub fn push(&self, report: String) {
        match self.sender.try_send(report) {
            Ok(()) | Err(TrySendError::Full(_)) => {}
            Err(TrySendError::Disconnected(_)) => {
                log::error!("the leak-report processor has stopped; reports wait in the database");
            }
        }
    }
}

fn process(store: &Store, gate: &Weak<Gate>, report: &str) {
    match store.process_leak_report(report, OffsetDateTime::now_utc()) {
        Ok(outcome) => {
            if let Some(gate) = gate.upgrade() {
                for id in &outcome.changed {
                    gate.invalidate(*id);
                }
                let changed = u64::try_from(outcome.changed.len()).unwrap_or(u64::MAX);
                gate.stats
                    .reported_leaked
                    .fetch_add(changed, std::sync::atomic::Ordering::Relaxed);
            }
            if !outcome.changed.is_empty() {
                log::warn!(
                    "leak report {report}: {} token(s) disabled or their grace ended",
                    outcome.changed.len()
                );
            }
        }
        Err(error) => log::warn!("leak report {report}: processing failed (will retry): {error}"),
    }
}

fn run(store: &Store, gate: &Weak<Gate>, receiver: &Receiver<String>) {
    loop {
        match receiver.recv_timeout(SCAN_EVERY) {
            Ok(report) => process(store, gate, &report),
            Err(RecvTimeoutError::Timeout) => match store.pending_leak_reports(100) {
                Ok(pending) => pending
                    .iter()
                    .for_each(|report| process(store, gate, report)),
                Err(error) => log::debug!("cannot look for pending leak reports: {error}"),
            },
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}
