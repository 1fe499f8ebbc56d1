//! What every handler shares.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use tollgate_domain::{ForwardedHeader, Keyring};
use tollgate_store::Store;

use crate::metrics::Metrics;
use tollgate_gate::{Gate, GateOptions};

pub use tollgate_app::RevealPolicy;

/// HTTP settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `TOLLGATE_REVEAL`.
    pub reveal: RevealPolicy,
    /// `TOLLGATE_TRUSTED_PROXIES`: TLS-terminating proxies allowed to use the plain listener,
    /// and whose forwarded header names the client.
    pub trusted_proxies: Vec<IpNet>,
    /// `TOLLGATE_WRITE_TIMEOUT`: how long a change may take before it answers 503 "outcome
    /// unknown" (it may still commit).
    pub write_timeout: std::time::Duration,
    /// `TOLLGATE_FORWARDED_HEADER`: the one header trusted proxies name the client in.
    pub forwarded_header: ForwardedHeader,
    /// `TOLLGATE_BODY_TIMEOUT`: how long a client may take to send a request body (408 after).
    pub body_timeout: Duration,
}

impl Settings {
    /// True when `address` is a trusted proxy (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn is_trusted_proxy(&self, address: IpAddr) -> bool {
        let canonical = address.to_canonical();
        self.trusted_proxies
            .iter()
            .any(|net| net.contains(&canonical) || net.contains(&address))
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            reveal: RevealPolicy::Audited,
            trusted_proxies: Vec::new(),
            write_timeout: std::time::Duration::from_secs(1),
            forwarded_header: ForwardedHeader::XForwardedFor,
            body_timeout: crate::body::DEFAULT_BODY_TIMEOUT,
        }
    }
}

/// Why the state could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The gate could not read the database.
    #[error(transparent)]
    Store(#[from] tollgate_store::StoreError),
    /// The metrics could not be registered.
    #[error(transparent)]
    Metrics(#[from] crate::metrics::MetricsError),
}

/// The application state (one per server, shared by every worker).
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The server keys: the current one and the previous ones (with the retirement times the
    /// database recorded).
    pub keys: Arc<Keyring>,
    /// Settings.
    pub settings: Arc<Settings>,
    /// Request metrics.
    pub metrics: Arc<Metrics>,
    /// The request-authorization gate (token cache, id set, write-behind).
    pub gate: Arc<Gate>,
    /// Stored leak reports on their way to the processor.
    pub leaks: tollgate_gate::leaks::LeakQueue,
    /// Leak reports per client address (429 past the limit).
    pub leak_limiter: Arc<tollgate_gate::Limiter>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// The use cases, over this state's store, keys, reveal policy and gate.
    pub fn app(&self) -> tollgate_app::App {
        tollgate_app::App {
            store: self.store.clone(),
            keys: Arc::clone(&self.keys),
            reveal: self.settings.reveal,
            gate: Some(Arc::clone(&self.gate)),
        }
    }

    /// A state over `store` with `keys` and `settings`; starts the gate (see [`Gate::start`]).
    pub fn new(
        store: Store,
        keys: impl Into<Keyring>,
        settings: Settings,
    ) -> Result<Self, StartError> {
        Self::with_gate_options(store, keys, settings, GateOptions::default())
    }

    /// As [`AppState::new`], with gate options. The keys are given the retirement times the
    /// database recorded (a retired key accepts only sessions and tickets from before).
    pub fn with_gate_options(
        store: Store,
        keys: impl Into<Keyring>,
        settings: Settings,
        options: GateOptions,
    ) -> Result<Self, StartError> {
        let metrics = Arc::new(Metrics::new()?);
        let keys = Arc::new(keys.into().with_retirements(&store.key_retirements()?));
        let gate = Gate::start(store.clone(), Arc::clone(&keys), options)?;
        let leaks =
            tollgate_gate::leaks::LeakQueue::start(store.clone(), &gate).map_err(|error| {
                tollgate_store::StoreError::Database(format!(
                    "cannot start the leak processor: {error}"
                ))
            })?;
        Ok(Self {
            leaks,
            leak_limiter: Arc::new(tollgate_gate::Limiter::default()),
            store,
            keys,
            settings: Arc::new(settings),
            metrics,
            gate,
        })
    }
}
