//! The token aggregate and its state machine (SPEC §2).
//!
//! ```text
//!         create            disable
//!  (new) -------> Active ------------> Disabled
//!                   ^  <------------      |
//!                   |      enable         |
//!                   +---- delete ----+    | delete
//!                                    v    v
//!                                   Deleted   (terminal)
//! ```
//! Every accepted change raises `revision` by one and returns the event it produced, for the
//! audit trail. A request that changes nothing produces no event and keeps the revision.
//!
//! Beside the state (SPEC §9): an optional `expiresAt` (past it an Active token reads
//! `Expired` and authenticates like an unknown one; see [`Token::shown_status`]), rotation with
//! a grace period for the previous value, and `compromised` (reported leaked: disabled, and not
//! enabled again until rotated). Events that raise `revision`: created, updated, enabled,
//! disabled, deleted, icon-changed, rotated, leak-reported; those that do not: revealed,
//! authentication-failed, expired, ip-refused.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::id::{AccountId, ModuleId, TokenId, UserId};
use crate::module::ModuleSet;
use crate::values::{TokenDescription, TokenName};

mod event;

pub use self::event::{Change, EventKind, FailureReason, TokenEvent, TransitionError};

/// A token's lifecycle state. Stored and sent as its name; never renumbered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TokenStatus {
    /// Authenticates.
    Active,
    /// Refused, can be enabled again.
    Disabled,
    /// Refused for good; hidden from Client and Vendor callers.
    Deleted,
}

impl TokenStatus {
    /// Every status.
    pub const ALL: [Self; 3] = [Self::Active, Self::Disabled, Self::Deleted];

    /// The name used by the REST API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Disabled => "Disabled",
            Self::Deleted => "Deleted",
        }
    }

    /// Parses the exact name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }
}

impl fmt::Display for TokenStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who did something: a person, an API token, or Tollgate itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Principal {
    /// A person (web session, or the CLI acting for a user).
    User {
        /// Their id.
        id: UserId,
        /// Their display name at the time.
        name: String,
    },
    /// An API token.
    Token {
        /// Its id.
        id: TokenId,
        /// Its name at the time.
        name: String,
    },
    /// Tollgate itself (cascades, the CLI without a user, write-behind).
    System,
}

impl Principal {
    /// The audit trail's actor type: `User`, `ApiToken` or `System`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::User { .. } => "User",
            Self::Token { .. } => "ApiToken",
            Self::System => "System",
        }
    }

    /// The id as text (`SYSTEM` for Tollgate itself).
    pub fn id_text(&self) -> String {
        match self {
            Self::User { id, .. } => id.to_string(),
            Self::Token { id, .. } => id.to_string(),
            Self::System => "SYSTEM".to_owned(),
        }
    }

    /// The display name (`Tollgate` for Tollgate itself).
    pub fn name(&self) -> &str {
        match self {
            Self::User { name, .. } | Self::Token { name, .. } => name,
            Self::System => "Tollgate",
        }
    }
}

/// When something happened and who did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// When (UTC, milliseconds).
    pub at: OffsetDateTime,
    /// Who.
    pub by: Principal,
}

/// The latest lifecycle events of a token (the REST `audit` object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Milestones {
    /// Creation.
    pub created: Stamp,
    /// The latest edit (fields, modules or icon).
    pub updated: Option<Stamp>,
    /// The latest enable.
    pub enabled: Option<Stamp>,
    /// The latest disable.
    pub disabled: Option<Stamp>,
    /// The delete.
    pub deleted: Option<Stamp>,
}

/// Rounds a timestamp down to whole milliseconds, the precision Tollgate stores and shows.
pub fn to_millis(at: OffsetDateTime) -> OffsetDateTime {
    let nanos = at.nanosecond();
    at.replace_nanosecond(nanos - nanos % 1_000_000)
        .unwrap_or(at)
}

/// What a new token is made of.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// A fresh random id.
    pub id: TokenId,
    /// The owning account.
    pub account_id: AccountId,
    /// Its name.
    pub name: TokenName,
    /// Its description.
    pub description: TokenDescription,
    /// Its scope (validated against the catalog and the actor beforehand).
    pub modules: ModuleSet,
    /// When it expires (validated against the account's policy beforehand).
    pub expires_at: Option<OffsetDateTime>,
    /// May it rotate itself?
    pub self_rotate: bool,
}

/// A partial edit (`PUT`): absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct TokenPatch {
    /// New name.
    pub name: Option<TokenName>,
    /// New description.
    pub description: Option<TokenDescription>,
    /// New module set.
    pub modules: Option<ModuleSet>,
    /// New expiry: `Some(None)` clears it (validated beforehand).
    pub expires_at: Option<Option<OffsetDateTime>>,
    /// May it rotate itself (an administrator's choice).
    pub self_rotate: Option<bool>,
}

/// Every field of a stored token, for loading it back (and for the store to write).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenParts {
    /// Id.
    pub id: TokenId,
    /// Owning account.
    pub account_id: AccountId,
    /// Name.
    pub name: TokenName,
    /// Description.
    pub description: TokenDescription,
    /// Whether an icon is set.
    pub has_icon: bool,
    /// Scope.
    pub modules: ModuleSet,
    /// Lifecycle state.
    pub status: TokenStatus,
    /// Revision, from 1.
    pub revision: u32,
    /// Approximate time of the latest authenticated use.
    pub last_access_at: Option<OffsetDateTime>,
    /// Latest lifecycle events.
    pub milestones: Milestones,
    /// When it stops authenticating (`None`: never).
    pub expires_at: Option<OffsetDateTime>,
    /// May it rotate itself?
    pub self_rotate: bool,
    /// Reported leaked, and not rotated since.
    pub compromised: bool,
    /// Until when the value before the latest rotation still works.
    pub previous_value_expires_at: Option<OffsetDateTime>,
}

/// The status a token shows: its state, or `Expired` for an Active token past `expiresAt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShownStatus {
    /// The stored state.
    Stored(TokenStatus),
    /// Stored Active, and now ≥ `expiresAt`.
    Expired,
}

impl ShownStatus {
    /// `Active`, `Disabled`, `Deleted` or `Expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stored(status) => status.as_str(),
            Self::Expired => "Expired",
        }
    }
}

/// An API token (without its secret material, which lives apart: see `secret`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token(TokenParts);

impl Token {
    /// Creates an Active token at revision 1.
    pub fn create(new: NewToken, by: Principal, now: OffsetDateTime) -> (Self, TokenEvent) {
        let at = to_millis(now);
        let token = Self(TokenParts {
            id: new.id,
            account_id: new.account_id,
            name: new.name,
            description: new.description,
            has_icon: false,
            modules: new.modules,
            status: TokenStatus::Active,
            revision: 1,
            last_access_at: None,
            milestones: Milestones {
                created: Stamp { at, by: by.clone() },
                updated: None,
                enabled: None,
                disabled: None,
                deleted: None,
            },
            expires_at: new.expires_at.map(to_millis),
            self_rotate: new.self_rotate,
            compromised: false,
            previous_value_expires_at: None,
        });
        let event = TokenEvent {
            kind: EventKind::Created,
            changes: Vec::new(),
            at,
            by,
            revision: 1,
        };
        (token, event)
    }

    /// A token loaded from storage.
    pub fn from_parts(parts: TokenParts) -> Self {
        Self(parts)
    }

    /// Every field.
    pub fn parts(&self) -> &TokenParts {
        &self.0
    }

    /// Every field, by value.
    pub fn into_parts(self) -> TokenParts {
        self.0
    }

    /// Id.
    pub fn id(&self) -> TokenId {
        self.0.id
    }

    /// Owning account.
    pub fn account_id(&self) -> AccountId {
        self.0.account_id
    }

    /// Status.
    pub fn status(&self) -> TokenStatus {
        self.0.status
    }

    /// Revision.
    pub fn revision(&self) -> u32 {
        self.0.revision
    }

    /// Name.
    pub fn name(&self) -> &TokenName {
        &self.0.name
    }

    /// Scope.
    pub fn modules(&self) -> &ModuleSet {
        &self.0.modules
    }

    /// When it expires.
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        self.0.expires_at
    }

    /// Has `expiresAt` passed at `now`?
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.0.expires_at.is_some_and(|at| now >= at)
    }

    /// The status it shows at `now`: `Expired` for an Active token past `expiresAt`.
    pub fn shown_status(&self, now: OffsetDateTime) -> ShownStatus {
        if self.0.status == TokenStatus::Active && self.is_expired(now) {
            ShownStatus::Expired
        } else {
            ShownStatus::Stored(self.0.status)
        }
    }

    /// Until when the previous value works, if it still does at `now`.
    pub fn grace_until(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        self.0.previous_value_expires_at.filter(|end| now < *end)
    }

    fn ensure_not_deleted(&self) -> Result<(), TransitionError> {
        if self.0.status == TokenStatus::Deleted {
            return Err(TransitionError::Deleted);
        }
        Ok(())
    }

    fn record(
        &mut self,
        kind: EventKind,
        changes: Vec<Change>,
        by: Principal,
        at: OffsetDateTime,
    ) -> TokenEvent {
        self.0.revision += 1;
        let stamp = Some(Stamp { at, by: by.clone() });
        let milestones = &mut self.0.milestones;
        match kind {
            EventKind::Updated | EventKind::IconChanged => milestones.updated = stamp,
            EventKind::Enabled => milestones.enabled = stamp,
            EventKind::Disabled | EventKind::LeakReported => milestones.disabled = stamp,
            EventKind::Deleted => milestones.deleted = stamp,
            EventKind::Rotated => milestones.updated = stamp,
            EventKind::Created
            | EventKind::Revealed
            | EventKind::AuthenticationFailed(_)
            | EventKind::Expired => {}
        }
        TokenEvent {
            kind,
            changes,
            at,
            by,
            revision: self.0.revision,
        }
    }

    fn set_status(
        &mut self,
        to: TokenStatus,
        kind: EventKind,
        by: Principal,
        now: OffsetDateTime,
    ) -> TokenEvent {
        let change = Change::Status {
            before: self.0.status,
            after: to,
        };
        self.0.status = to;
        self.record(kind, vec![change], by, to_millis(now))
    }

    /// Applies a partial edit. `Ok(None)` when it changes nothing.
    pub fn update(
        &mut self,
        patch: TokenPatch,
        expected_revision: Option<u32>,
        by: Principal,
        now: OffsetDateTime,
    ) -> Result<Option<TokenEvent>, TransitionError> {
        self.ensure_not_deleted()?;
        if let Some(expected) = expected_revision
            && expected != self.0.revision
        {
            return Err(TransitionError::StaleRevision {
                expected,
                current: self.0.revision,
            });
        }
        let mut changes = Vec::new();
        if let Some(name) = patch.name.filter(|name| *name != self.0.name) {
            let before = std::mem::replace(&mut self.0.name, name.clone());
            changes.push(Change::Name {
                before,
                after: name,
            });
        }
        if let Some(description) = patch
            .description
            .filter(|description| *description != self.0.description)
        {
            let before = std::mem::replace(&mut self.0.description, description.clone());
            changes.push(Change::Description {
                before,
                after: description,
            });
        }
        if let Some(modules) = patch.modules.filter(|modules| *modules != self.0.modules) {
            let before = std::mem::replace(&mut self.0.modules, modules.clone());
            changes.push(Change::Modules {
                before,
                after: modules,
            });
        }
        if let Some(expires_at) = patch
            .expires_at
            .map(|at| at.map(to_millis))
            .filter(|at| *at != self.0.expires_at)
        {
            let before = std::mem::replace(&mut self.0.expires_at, expires_at);
            changes.push(Change::ExpiresAt {
                before,
                after: expires_at,
            });
        }
        if let Some(self_rotate) = patch.self_rotate.filter(|on| *on != self.0.self_rotate) {
            self.0.self_rotate = self_rotate;
            changes.push(Change::SelfRotate {
                before: !self_rotate,
                after: self_rotate,
            });
        }
        if changes.is_empty() {
            return Ok(None);
        }
        Ok(Some(self.record(
            EventKind::Updated,
            changes,
            by,
            to_millis(now),
        )))
    }

    /// Disabled → Active.
    pub fn enable(
        &mut self,
        by: Principal,
        now: OffsetDateTime,
    ) -> Result<TokenEvent, TransitionError> {
        match self.0.status {
            TokenStatus::Deleted => Err(TransitionError::Deleted),
            TokenStatus::Active => Err(TransitionError::AlreadyActive),
            TokenStatus::Disabled if self.0.compromised => Err(TransitionError::Compromised),
            TokenStatus::Disabled if self.is_expired(now) => Err(TransitionError::Expired),
            TokenStatus::Disabled => {
                Ok(self.set_status(TokenStatus::Active, EventKind::Enabled, by, now))
            }
        }
    }

    /// Active → Disabled.
    pub fn disable(
        &mut self,
        by: Principal,
        now: OffsetDateTime,
    ) -> Result<TokenEvent, TransitionError> {
        match self.0.status {
            TokenStatus::Deleted => Err(TransitionError::Deleted),
            TokenStatus::Disabled => Err(TransitionError::AlreadyDisabled),
            TokenStatus::Active => {
                Ok(self.set_status(TokenStatus::Disabled, EventKind::Disabled, by, now))
            }
        }
    }

    /// Active or Disabled → Deleted. The store wipes the recoverable copy and keeps the hash.
    pub fn delete(
        &mut self,
        by: Principal,
        now: OffsetDateTime,
    ) -> Result<TokenEvent, TransitionError> {
        self.ensure_not_deleted()?;
        Ok(self.set_status(TokenStatus::Deleted, EventKind::Deleted, by, now))
    }

    /// Sets or replaces the icon.
    pub fn set_icon(
        &mut self,
        by: Principal,
        now: OffsetDateTime,
    ) -> Result<TokenEvent, TransitionError> {
        self.ensure_not_deleted()?;
        let change = Change::Icon {
            before: self.0.has_icon,
            after: true,
        };
        self.0.has_icon = true;
        Ok(self.record(EventKind::IconChanged, vec![change], by, to_millis(now)))
    }

    /// Removes the icon. `Ok(None)` when there was none.
    pub fn clear_icon(
        &mut self,
        by: Principal,
        now: OffsetDateTime,
    ) -> Result<Option<TokenEvent>, TransitionError> {
        self.ensure_not_deleted()?;
        if !self.0.has_icon {
            return Ok(None);
        }
        self.0.has_icon = false;
        let change = Change::Icon {
            before: true,
            after: false,
        };
        Ok(Some(self.record(
            EventKind::IconChanged,
            vec![change],
            by,
            to_millis(now),
        )))
    }

    /// Removes a module the account no longer has (a cascade by Tollgate itself). The token
    /// stays in its state. `None` when the token did not hold it, or is Deleted.
    pub fn remove_module(&mut self, module: ModuleId, now: OffsetDateTime) -> Option<TokenEvent> {
        if self.0.status == TokenStatus::Deleted || !self.0.modules.contains(module) {
            return None;
        }
        let before = self.0.modules.clone();
        self.0.modules.remove(module);
        let change = Change::Modules {
            before,
            after: self.0.modules.clone(),
        };
        Some(self.record(
            EventKind::Updated,
            vec![change],
            Principal::System,
            to_millis(now),
        ))
    }

    /// The value was shown again. No state change and no new revision.
    pub fn reveal(
        &self,
        by: Principal,
        now: OffsetDateTime,
    ) -> Result<TokenEvent, TransitionError> {
        self.ensure_not_deleted()?;
        Ok(TokenEvent {
            kind: EventKind::Revealed,
            changes: Vec::new(),
            at: to_millis(now),
            by,
            revision: self.0.revision,
        })
    }

    /// A new value: the current one becomes the previous, working until `grace_until` (none:
    /// retired at once); a value retired before is forgotten (at most two are valid). A
    /// compromised token is no longer compromised (its leaked value is retired). `expiresAt`
    /// stays. The store swaps the secret material in the same transaction.
    pub fn rotate(
        &mut self,
        grace_until: Option<OffsetDateTime>,
        expected_revision: Option<u32>,
        by: Principal,
        now: OffsetDateTime,
    ) -> Result<TokenEvent, TransitionError> {
        self.ensure_not_deleted()?;
        if let Some(expected) = expected_revision
            && expected != self.0.revision
        {
            return Err(TransitionError::StaleRevision {
                expected,
                current: self.0.revision,
            });
        }
        let grace = grace_until.map(to_millis);
        let mut changes = vec![Change::Grace {
            before: self.0.previous_value_expires_at,
            after: grace,
        }];
        self.0.previous_value_expires_at = grace;
        if self.0.compromised {
            self.0.compromised = false;
            changes.push(Change::Compromised {
                before: true,
                after: false,
            });
        }
        Ok(self.record(EventKind::Rotated, changes, by, to_millis(now)))
    }

    /// Its value was reported leaked (by Tollgate itself, processing a report). The current
    /// value: disabled (when Active) and compromised. The previous value during its grace:
    /// the grace ends. `None` when there is nothing to do (deleted; already compromised and
    /// disabled; a grace already over).
    pub fn leak_reported(
        &mut self,
        previous_value: bool,
        now: OffsetDateTime,
    ) -> Option<TokenEvent> {
        if self.0.status == TokenStatus::Deleted {
            return None;
        }
        let at = to_millis(now);
        let mut changes = Vec::new();
        if previous_value {
            self.grace_until(at)?;
            changes.push(Change::Grace {
                before: self.0.previous_value_expires_at,
                after: None,
            });
            self.0.previous_value_expires_at = None;
        } else {
            if self.0.status == TokenStatus::Active {
                changes.push(Change::Status {
                    before: TokenStatus::Active,
                    after: TokenStatus::Disabled,
                });
                self.0.status = TokenStatus::Disabled;
            }
            if !self.0.compromised {
                self.0.compromised = true;
                changes.push(Change::Compromised {
                    before: false,
                    after: true,
                });
            }
            if changes.is_empty() {
                return None;
            }
        }
        Some(self.record(EventKind::LeakReported, changes, Principal::System, at))
    }

    /// Its `expiresAt` passed (the sweep's record). No state change and no new revision.
    pub fn expired(&self, now: OffsetDateTime) -> TokenEvent {
        TokenEvent {
            kind: EventKind::Expired,
            changes: Vec::new(),
            at: to_millis(now),
            by: Principal::System,
            revision: self.0.revision,
        }
    }

    /// A failed authentication with this token's id. No state change.
    pub fn authentication_failed(&self, reason: FailureReason, now: OffsetDateTime) -> TokenEvent {
        TokenEvent {
            kind: EventKind::AuthenticationFailed(reason),
            changes: Vec::new(),
            at: to_millis(now),
            by: Principal::Token {
                id: self.0.id,
                name: self.0.name.to_string(),
            },
            revision: self.0.revision,
        }
    }

    /// Records an authenticated use (forward-only).
    pub fn touch(&mut self, at: OffsetDateTime) {
        let at = to_millis(at);
        if self.0.last_access_at.is_none_or(|last| last < at) {
            self.0.last_access_at = Some(at);
        }
    }
}
