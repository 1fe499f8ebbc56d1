//! What a token operation produces: the [`TokenEvent`] (its [`EventKind`], the [`Change`]s of
//! fields, who and when), or the [`TransitionError`] that refused it.

use super::*;

/// What an event is about. The audit key is `platform.accounts.api-token.<action>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// The token was created.
    Created,
    /// Name, description or modules changed.
    Updated,
    /// Disabled → Active.
    Enabled,
    /// Active → Disabled.
    Disabled,
    /// Soft-deleted.
    Deleted,
    /// The value was shown or copied again.
    Revealed,
    /// The icon was set or removed.
    IconChanged,
    /// The token's id was presented while disabled, deleted, or with a wrong secret.
    AuthenticationFailed(FailureReason),
    /// Its `expiresAt` passed (written once per expiry instant by the sweep).
    Expired,
    /// A new value was issued; the previous one works until the grace ends.
    Rotated,
    /// Its value was reported leaked: disabled and compromised (or, for a grace value, the
    /// grace ended).
    LeakReported,
}

/// Why a known token id failed to authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureReason {
    /// The secret part did not match.
    WrongSecret,
    /// The token is Disabled.
    Disabled,
    /// The token is Deleted.
    Deleted,
    /// The token's account is Disabled.
    AccountDisabled,
    /// A value retired by a rotation (its grace is over).
    RetiredValue,
}

impl FailureReason {
    /// A stable name for records and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WrongSecret => "wrong-secret",
            Self::Disabled => "token-disabled",
            Self::Deleted => "token-deleted",
            Self::AccountDisabled => "account-disabled",
            Self::RetiredValue => "retired-value",
        }
    }
}

impl EventKind {
    /// Whether an event of this kind raises the token's `revision` by exactly one (`Created`
    /// sets it to 1). Every other kind records the revision the token already had. `audit
    /// verify` relies on this: a token at revision `n` has exactly one record of a raising kind
    /// for each revision `1..=n` (`docs/OPERATIONS.md` lists them).
    pub fn raises_revision(self) -> bool {
        match self {
            Self::Created
            | Self::Updated
            | Self::Enabled
            | Self::Disabled
            | Self::Deleted
            | Self::IconChanged
            | Self::Rotated
            | Self::LeakReported => true,
            Self::Revealed | Self::AuthenticationFailed(_) | Self::Expired => false,
        }
    }

    /// The kind whose audit action is `action` (`disabled`, …); failures by any reason.
    pub fn from_action(action: &str) -> Option<Self> {
        [
            Self::Created,
            Self::Updated,
            Self::Enabled,
            Self::Disabled,
            Self::Deleted,
            Self::Revealed,
            Self::IconChanged,
            Self::AuthenticationFailed(FailureReason::WrongSecret),
            Self::Expired,
            Self::Rotated,
            Self::LeakReported,
        ]
        .into_iter()
        .find(|kind| kind.action() == action)
    }

    /// The action part of the audit key (`disabled`, `icon-changed`, …).
    pub fn action(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Enabled => "enabled",
            Self::Disabled => "disabled",
            Self::Deleted => "deleted",
            Self::Revealed => "revealed",
            Self::IconChanged => "icon-changed",
            Self::AuthenticationFailed(_) => "authentication-failed",
            Self::Expired => "expired",
            Self::Rotated => "rotated",
            Self::LeakReported => "leak-reported",
        }
    }
}

/// One changed field, with its value before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The name.
    Name {
        /// Before.
        before: TokenName,
        /// After.
        after: TokenName,
    },
    /// The description.
    Description {
        /// Before.
        before: TokenDescription,
        /// After.
        after: TokenDescription,
    },
    /// The module set.
    Modules {
        /// Before.
        before: ModuleSet,
        /// After.
        after: ModuleSet,
    },
    /// The status.
    Status {
        /// Before.
        before: TokenStatus,
        /// After.
        after: TokenStatus,
    },
    /// Whether there is an icon.
    Icon {
        /// Before.
        before: bool,
        /// After.
        after: bool,
    },
    /// When it expires (`None`: never).
    ExpiresAt {
        /// Before.
        before: Option<OffsetDateTime>,
        /// After.
        after: Option<OffsetDateTime>,
    },
    /// Whether it may rotate itself.
    SelfRotate {
        /// Before.
        before: bool,
        /// After.
        after: bool,
    },
    /// Until when the previous value works (`None`: it does not).
    Grace {
        /// Before.
        before: Option<OffsetDateTime>,
        /// After.
        after: Option<OffsetDateTime>,
    },
    /// Whether it was reported leaked.
    Compromised {
        /// Before.
        before: bool,
        /// After.
        after: bool,
    },
}

/// What an operation did, for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenEvent {
    /// Which event.
    pub kind: EventKind,
    /// The fields that changed (empty for reveals and failures).
    pub changes: Vec<Change>,
    /// When.
    pub at: OffsetDateTime,
    /// Who.
    pub by: Principal,
    /// The token's revision after the event.
    pub revision: u32,
}

/// Why an operation was refused. Nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// Nothing leaves Deleted.
    #[error("the token is deleted")]
    Deleted,
    /// `enable` on an Active token.
    #[error("the token is already active")]
    AlreadyActive,
    /// `disable` on a Disabled token.
    #[error("the token is already disabled")]
    AlreadyDisabled,
    /// `enable` on a token reported leaked and not rotated since.
    #[error("the token's value was reported leaked: rotate it before enabling it")]
    Compromised,
    /// `enable` on a token whose `expiresAt` has passed.
    #[error("the token has expired: give it a later expiresAt before enabling it")]
    Expired,
    /// The caller edited an older revision.
    #[error("the token is at revision {current}, not {expected}")]
    StaleRevision {
        /// The revision the caller sent.
        expected: u32,
        /// The token's revision.
        current: u32,
    },
}
