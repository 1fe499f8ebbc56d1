//! Tollgate's audit trail (SPEC §6), pure: no I/O, no clock.
//!
//! - [`record`]: the record shape, built from a domain [`tollgate_domain::TokenEvent`], with its
//!   human summary, the before/after `details`, and a `documents.token` snapshot that has no
//!   field for secret material (by construction).
//! - [`chain`]: the per-account keyed hash chain and its verifier.

pub mod chain;
pub mod record;

pub use chain::{ChainBreak, ChainHead, ChainLink, LinkInput, verify_chain};
pub use record::{
    AccountRef, ActorRecord, AuditRecord, ModuleRef, ObjectRef, RecordInput, RequestInfo,
    TokenSnapshot, event_key, format_timestamp,
};
