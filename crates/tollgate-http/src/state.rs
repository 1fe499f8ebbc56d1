//! What every handler shares.

use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;
use tollgate_domain::Keyring;
use tollgate_store::Store;

use crate::gate::{Gate, GateOptions};
use crate::metrics::Metrics;

/// Whether a token's value can be shown again (`TOLLGATE_REVEAL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevealPolicy {
    /// Keep a sealed copy; administrators can reveal it again, each time with an audit record.
    Audited,
    /// Keep no recoverable copy: the value is shown once, at creation.
    Never,
}

impl RevealPolicy {
    /// Parses `audited` or `never`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "audited" => Some(Self::Audited),
            "never" => Some(Self::Never),
            _ => None,
        }
    }
}

/// HTTP settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `TOLLGATE_REVEAL`.
    pub reveal: RevealPolicy,
    /// `TOLLGATE_TRUSTED_PROXIES`: TLS-terminating proxies allowed to use the plain listener.
    pub trusted_proxies: Vec<IpNet>,
}

impl Settings {
    /// True when `address` is a trusted proxy.
    pub fn is_trusted_proxy(&self, address: IpAddr) -> bool {
        self.trusted_proxies
            .iter()
            .any(|net| net.contains(&address))
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            reveal: RevealPolicy::Audited,
            trusted_proxies: Vec::new(),
        }
    }
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
    /// A state over `store` with `keys` and `settings`; starts the gate (see [`Gate::start`]).
    pub fn new(
        store: Store,
        keys: impl Into<Keyring>,
        settings: Settings,
    ) -> Result<Self, tollgate_store::StoreError> {
        Self::with_gate_options(store, keys, settings, GateOptions::default())
    }

    /// As [`AppState::new`], with gate options. The keys are given the retirement times the
    /// database recorded (a retired key accepts only sessions and tickets from before).
    pub fn with_gate_options(
        store: Store,
        keys: impl Into<Keyring>,
        settings: Settings,
        options: GateOptions,
    ) -> Result<Self, tollgate_store::StoreError> {
        let keys = Arc::new(keys.into().with_retirements(&store.key_retirements()?));
        let gate = Gate::start(store.clone(), Arc::clone(&keys), options)?;
        Ok(Self {
            store,
            keys,
            settings: Arc::new(settings),
            metrics: Arc::new(Metrics::default()),
            gate,
        })
    }
}
