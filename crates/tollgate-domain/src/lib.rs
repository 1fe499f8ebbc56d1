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
//! - [`icon`]: icon content checks (PNG or JPEG by their bytes).
//! - [`ticket`]: sign-in tickets and session cookies (signed, expiring), CSRF tokens.
//!
//! A token's value from issuance to the decision, with the pieces here:
//!
//! ```
//! use tollgate_domain::authz::{self, Target};
//! use tollgate_domain::{
//!     AccountId, AccountStatus, AccountType, Catalog, ModuleId, PresentedToken, ServerKey,
//!     TokenId, TokenStatus, TokenValue, TokenView,
//! };
//!
//! let keys = ServerKey::from_bytes(vec![7; 32]).map_err(|_| "key")?.derive();
//! let id = TokenId::from_number(42).ok_or("id")?;
//! let value = TokenValue::generate(id, &mut rand::thread_rng());
//! // What the database keeps: the value's HMAC under the hash key, never the value.
//! let view = TokenView {
//!     id,
//!     name: "CRM robot".into(),
//!     account_id: AccountId::from_number(1).ok_or("account")?,
//!     account_type: AccountType::Client,
//!     account_status: AccountStatus::Active,
//!     status: TokenStatus::Active,
//!     hash: keys.hash.hash(value.expose_secret()),
//!     modules: [ModuleId::from_number(1104).ok_or("module")?].into_iter().collect(),
//!     revision: 1,
//!     expires_at: None,
//!     previous: None,
//! };
//! let catalog = Catalog::default_catalog();
//! let header = format!("Bearer {}", value.expose_secret());
//! let presented = PresentedToken::from_authorization(&header).map_err(|_| "malformed")?;
//! let now = time::OffsetDateTime::now_utc();
//! let decide = |path| {
//!     authz::decide(&presented, Some(&view), Target::Path(Some(path)), &keys.hash, &catalog, now)
//! };
//! // Billing (MOD-1104) grants its own paths and nothing else.
//! assert!(decide("/public/v1/billing/invoices").is_ok());
//! assert!(decide("/public/v1/commerce/orders").is_err());
//! # Ok::<(), &'static str>(())
//! ```

pub mod account;
pub mod authz;
pub mod forwarded;
pub mod icon;
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
