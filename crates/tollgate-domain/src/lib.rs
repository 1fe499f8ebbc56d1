//! Tollgate's pure core.
//!
//! Everything here is a function of its inputs: no I/O, no clock (time is passed in), no
//! randomness source of its own (a random source is passed in), no framework, no database.
//!
//! - [`id`]: the typed ids of SPEC §1.
//! - [`values`]: validated values (`TokenName`, `TokenDescription`, …) and field errors.
//! - [`account`], [`module`]: accounts, users, the module catalog, scope rules, path routing.
//! - [`token`]: the token aggregate and its state machine, producing audit events;
//!   [`lifetime`]: account lifetime policies and grace periods.
//! - [`secret`]: token values (generation, checksum, parsing), the purpose keys, hashing,
//!   sealing, constant-time comparison.
//! - [`keyring`]: the current server key and the previous ones (key rotation).
//! - [`authz`]: the request authorization decision (the hot path), path normalisation.
//! - [`forwarded`]: the client's address behind trusted proxies (`X-Forwarded-For`,
//!   `Forwarded`).
//! - [`permission`]: the management permission decision.
//! - [`query`]: the typed filter/sort/page model for lists; [`listing`]: that model applied to
//!   lists held in memory.
//! - [`ticket`]: sign-in tickets and session cookies (signed, expiring), CSRF tokens.

pub mod account;
pub mod authz;
pub mod forwarded;
pub mod id;
pub mod keyring;
pub mod lifetime;
pub mod listing;
pub mod module;
pub mod permission;
pub mod query;
pub mod secret;
pub mod ticket;
pub mod token;
pub mod values;

pub use account::{Account, AccountStatus, AccountType, User};
pub use authz::{Grant, PathError, RefusalKind, RefusalReason, RequestPath, TokenView, Transport};
pub use forwarded::{ForwardedHeader, client_address};
pub use id::{AccountId, AuditId, Id, IdParseError, ModuleId, TokenId, UserId};
pub use keyring::{HashVerifier, Keyring, KeyringError};
pub use lifetime::TokenPolicy;
pub use module::{Catalog, Module, ModuleSet, WellKnown};
pub use permission::{Actor, ActorAccount, Denial, Forbidden, Operation, Visibility};
pub use secret::{
    HashKey, KeyId, Keys, MacKey, PresentedToken, SealKey, ServerKey, TokenHash, TokenValue,
};
pub use token::{
    Change, EventKind, FailureReason, NewToken, Principal, ShownStatus, Stamp, Token, TokenEvent,
    TokenParts, TokenPatch, TokenStatus, TransitionError,
};
pub use values::{DisplayName, FieldError, TokenDescription, TokenName, ValidationErrors};
