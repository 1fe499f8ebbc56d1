//! Failed authentications per client address. After [`THRESHOLD`] failures within
//! [`WINDOW`], further failures from that address are answered 429 on the REST API instead of
//! 401. The credential is still evaluated in memory, so valid tokens from the same address are
//! served as usual and never slowed, and failures with a known token id are still recorded (at
//! most one record per token per minute) as evidence of the attempt.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed per address per window.
pub const THRESHOLD: u32 = 20;
/// The window.
pub const WINDOW: Duration = Duration::from_secs(60);
const MAX_ADDRESSES: usize = 100_000;

/// The failure counters.
#[derive(Debug, Default)]
pub struct Limiter {
    counts: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Limiter {
    /// Records a failure from `address`; returns true when the address is over the threshold.
    pub fn fail(&self, address: IpAddr, now: Instant) -> bool {
        let Ok(mut counts) = self.counts.lock() else {
            return false;
        };
        if counts.len() >= MAX_ADDRESSES {
            counts.retain(|_, (started, _)| now.duration_since(*started) < WINDOW);
        }
        let entry = counts.entry(address).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1 > THRESHOLD
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_the_threshold_within_the_window() {
        let limiter = Limiter::default();
        let address: IpAddr = [10, 0, 0, 1].into();
        let other: IpAddr = [10, 0, 0, 2].into();
        let start = Instant::now();
        for _ in 0..THRESHOLD {
            assert!(!limiter.fail(address, start));
        }
        assert!(limiter.fail(address, start));
        assert!(!limiter.fail(other, start), "counted per address");
        assert!(
            !limiter.fail(address, start + WINDOW),
            "a new window starts over"
        );
    }
}
