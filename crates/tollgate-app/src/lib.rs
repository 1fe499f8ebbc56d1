//! Tollgate's use cases, each written once and called by every front end: the REST API and the
//! web pages (through `tollgate-http`) and the operator CLI (`bin/tollgate`). Each takes typed
//! input and answers with its own error type; none knows a web framework (`just fence`).
//!
//! - [`issue`]: a token's new value, its hash under the current key and, under reveal
//!   `audited`, its sealed copy — for creation, the CLI and rotation alike.
//! - [`create`]: creating a token for an actor — validation, the account rule, the account's
//!   lifetime policy, no escalation, then the token and its audit record in one transaction,
//!   and the gate told of the new id.
//! - [`change`]: changing a token — update, enable, disable, delete — permission-checked on the
//!   token as it is and as it will be, inside the transaction; the gate forgets it.
//! - [`rotate`]: a new value for the same token, the previous one kept for a grace period.
//! - [`icon`]: a token's icon set or removed.
//! - [`reveal`]: a token's value shown again (reveal `audited`), with its `revealed` record.
//!
//! Calls are blocking (they read and write the database): an async caller runs them on its
//! blocking pool.

pub mod change;
pub mod create;
pub mod icon;
pub mod issue;
pub mod reveal;
pub mod rotate;

use std::sync::Arc;

use tollgate_domain::Keyring;
use tollgate_gate::Gate;
use tollgate_store::Store;

pub use self::change::{ChangeError, Lifecycle};
pub use self::create::{CreateError, CreateToken};
pub use self::issue::{Issued, issue};
pub use self::reveal::RevealError;
pub use self::rotate::RotateError;

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

/// What the use cases work with.
#[derive(Debug, Clone)]
pub struct App {
    /// The database.
    pub store: Store,
    /// The current server key and the previous ones.
    pub keys: Arc<Keyring>,
    /// `TOLLGATE_REVEAL`.
    pub reveal: RevealPolicy,
    /// This instance's gate, told of every change made here (none for the operator CLI: the
    /// servers hear of its changes through the change feed).
    pub gate: Option<Arc<Gate>>,
}
