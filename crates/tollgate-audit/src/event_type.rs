//! The audit event types (`GET /public/v1/audit/event-types`): one per event key Tollgate
//! writes. The rows, with ids fixed for every instance, are seeded by a migration.

use serde::Serialize;
use tollgate_domain::{EventKind, FailureReason};

use crate::record::event_key;

/// An event type: `{id: "AET-dddd-dddd", key, name, description}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventType {
    /// `AET-dddd-dddd`, fixed by the migration that adds the type.
    pub id: String,
    /// The event key records carry (`platform.accounts.api-token.created`).
    pub key: String,
    /// A short name for people.
    pub name: String,
    /// What the event means.
    pub description: String,
}

/// Every event key Tollgate writes (each must have an event type; a test checks the seeded
/// rows against this list).
pub fn keys_written() -> Vec<String> {
    // A new event kind fails to compile here until it is listed below.
    const fn listed(kind: EventKind) {
        match kind {
            EventKind::Created
            | EventKind::Updated
            | EventKind::Enabled
            | EventKind::Disabled
            | EventKind::Deleted
            | EventKind::Revealed
            | EventKind::IconChanged
            | EventKind::AuthenticationFailed(_)
            | EventKind::Expired
            | EventKind::Rotated
            | EventKind::LeakReported => {}
        }
    }
    listed(EventKind::Created);
    [
        EventKind::Created,
        EventKind::Updated,
        EventKind::Enabled,
        EventKind::Disabled,
        EventKind::Deleted,
        EventKind::Revealed,
        EventKind::IconChanged,
        EventKind::AuthenticationFailed(FailureReason::WrongSecret),
        EventKind::Expired,
        EventKind::Rotated,
        EventKind::LeakReported,
    ]
    .into_iter()
    .map(event_key)
    .collect()
}
