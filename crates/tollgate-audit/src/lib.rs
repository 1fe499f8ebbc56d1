//! Tollgate's audit trail (SPEC §6), pure: no I/O, no clock.
//!
//! - [`record`]: the record shape, built from a domain [`tollgate_domain::TokenEvent`], with its
//!   human summary, the before/after `details`, and a `documents.token` snapshot that has no
//!   field for secret material (by construction).
//! - [`chain`]: the per-account keyed hash chain and its verifier, over records as stored.
//! - [`event_type`]: the event types (`GET /public/v1/audit/event-types`).
//! - [`stored`]: records as stored, and their rendering in today's shape.
//! - [`checkpoint`]: signed chain heads kept outside the database.
//! - [`rowmac`]: the MACs over the security fields of token, account, user and module rows.

pub mod chain;
pub mod checkpoint;
pub mod event_type;
pub mod record;
pub mod rowmac;
pub mod stored;

pub use chain::{ChainBreak, ChainHead, ChainLink, LinkInput, verify_chain, verify_chain_under};
pub use checkpoint::{Checkpoint, CheckpointBreak, CheckpointError};
pub use event_type::{EventType, keys_written};
pub use record::{
    AccountRef, ActorRecord, ApiRequest, AuditRecord, LogRequest, ModuleRef, ObjectRef,
    RECORD_TYPE, RecordInput, RequestInfo, RequestRecord, TokenSnapshot, event_key,
    format_timestamp,
};
pub use rowmac::{Row, RowMacError};
