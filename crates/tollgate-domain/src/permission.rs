//! Management permission (SPEC §4): may this actor do this to tokens, modules or audit
//! records?
//!
//! Rules, in the order they are applied:
//! 1. Tollgate itself (`System`) may do anything.
//! 2. Any token may read its own record ("who am I").
//! 3. Access: a user must be an account administrator; a token must hold `access-management`
//!    (for audit records, `access-management` or `audit`).
//! 4. Own account: another account's token is not found (404) and another account named in a
//!    create is forbidden (403), unless the caller is an Operations caller holding
//!    `platform-account-management` ("PAM").
//! 5. Deleted tokens are not found, except by PAM callers.
//! 6. Tokens never reveal values.
//! 7. No escalation: a token may create a token only with a module set that is a subset of
//!    its own; it may change a token (edit, enable, disable, delete, icon) only when that
//!    token's module set both as it is now and as it will be after the change is a subset of
//!    its own — so a weaker token cannot first narrow a stronger one and then disable it.
//! 8. No longer life: a token that expires may create or change (rotate included) only tokens
//!    that expire no later than it does, as they are now and as they will be.
//! 9. Self-rotation: a token may rotate itself, with no module needed, when an administrator
//!    set `selfRotate` on it; rotating another token needs the rights to change it.

use time::OffsetDateTime;

use crate::account::{AccountStatus, AccountType};
use crate::id::{AccountId, TokenId, UserId};
use crate::module::{ModuleSet, WellKnown};
use crate::token::{Principal, Token, TokenStatus};

/// The account an actor belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorAccount {
    /// Id.
    pub id: AccountId,
    /// Name.
    pub name: String,
    /// Type.
    pub account_type: AccountType,
    /// Status.
    pub status: AccountStatus,
    /// The modules enabled for the account.
    pub modules: ModuleSet,
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in person.
    User {
        /// Id.
        id: UserId,
        /// Display name.
        name: String,
        /// Account administrator?
        admin: bool,
        /// Their account.
        account: ActorAccount,
    },
    /// An authenticated API token.
    Token {
        /// Id.
        id: TokenId,
        /// Name.
        name: String,
        /// Its scope.
        modules: ModuleSet,
        /// When it expires (it cannot give a longer life than its own).
        expires_at: Option<OffsetDateTime>,
        /// Its account.
        account: ActorAccount,
    },
    /// Tollgate itself (the operator CLI).
    System,
}

impl Actor {
    /// The principal recorded in audit records.
    pub fn principal(&self) -> Principal {
        match self {
            Self::User { id, name, .. } => Principal::User {
                id: *id,
                name: name.clone(),
            },
            Self::Token { id, name, .. } => Principal::Token {
                id: *id,
                name: name.clone(),
            },
            Self::System => Principal::System,
        }
    }

    /// The actor's account (none for Tollgate itself).
    pub fn account(&self) -> Option<&ActorAccount> {
        match self {
            Self::User { account, .. } | Self::Token { account, .. } => Some(account),
            Self::System => None,
        }
    }

    /// True for an Operations caller holding `platform-account-management` (for a user: their
    /// account has it enabled; for a token: it is in the token's scope). Tollgate itself too.
    pub fn has_pam(&self, known: &WellKnown) -> bool {
        match self {
            Self::System => true,
            Self::User { account, .. } => {
                account.account_type == AccountType::Operations
                    && known.grants_pam(&account.modules)
            }
            Self::Token {
                modules, account, ..
            } => account.account_type == AccountType::Operations && known.grants_pam(modules),
        }
    }
}

/// What the actor wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// List tokens.
    ListTokens,
    /// Read one token.
    ReadToken,
    /// Create a token.
    CreateToken,
    /// Edit name, description or modules.
    UpdateToken,
    /// Enable.
    EnableToken,
    /// Disable.
    DisableToken,
    /// Delete.
    DeleteToken,
    /// Set or remove the icon.
    ChangeIcon,
    /// Show the value again.
    RevealToken,
    /// Issue a new value (with a grace period for the old one).
    RotateToken,
    /// List modules.
    ListModules,
    /// Read audit records.
    ReadAudit,
}

impl Operation {
    /// Every operation.
    pub const ALL: [Self; 12] = [
        Self::ListTokens,
        Self::ReadToken,
        Self::CreateToken,
        Self::UpdateToken,
        Self::EnableToken,
        Self::DisableToken,
        Self::DeleteToken,
        Self::ChangeIcon,
        Self::RevealToken,
        Self::RotateToken,
        Self::ListModules,
        Self::ReadAudit,
    ];

    /// True for operations that change a token (subject to the no-escalation rule).
    pub fn changes_token(self) -> bool {
        matches!(
            self,
            Self::CreateToken
                | Self::UpdateToken
                | Self::EnableToken
                | Self::DisableToken
                | Self::DeleteToken
                | Self::ChangeIcon
                | Self::RotateToken
        )
    }
}

/// Which tokens and records the caller can see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Every account, Deleted tokens included (PAM callers, Tollgate itself).
    AllAccounts,
    /// One account, Deleted tokens excluded (their audit records stay visible).
    Account(AccountId),
}

impl Visibility {
    /// True when a token of `account` in `status` is visible.
    pub fn sees(self, account: AccountId, status: TokenStatus) -> bool {
        match self {
            Self::AllAccounts => true,
            Self::Account(own) => own == account && status != TokenStatus::Deleted,
        }
    }

    /// True when records of `account` are visible.
    pub fn sees_account(self, account: AccountId) -> bool {
        match self {
            Self::AllAccounts => true,
            Self::Account(own) => own == account,
        }
    }
}

/// Why a management request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// The target does not exist for this caller (404).
    NotFound,
    /// 403, with the reason.
    Forbidden(Forbidden),
}

/// Why a management request is forbidden (403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Forbidden {
    /// A user who is not an account administrator.
    #[error("only account administrators manage API tokens")]
    NotAdministrator,
    /// A token without `access-management` (or `audit` for audit records).
    #[error("the token's scope does not include the access-management module")]
    MissingAccessManagement,
    /// The actor's account is disabled.
    #[error("the account is disabled")]
    AccountDisabled,
    /// Another account was named without PAM.
    #[error("callers act within their own account")]
    OtherAccount,
    /// Tokens may not reveal values.
    #[error("an API token cannot reveal token values")]
    TokenCannotReveal,
    /// The target's scope, before or after the change, is not a subset of the acting token's.
    #[error("the token's modules (before or after the change) are not all held by the acting token: {}", list(.missing))]
    Escalation {
        /// The modules the actor does not hold.
        missing: ModuleSet,
    },
    /// The target would live longer than the acting token (rule 8).
    #[error(
        "the acting token expires, so the token must expire no later than it does (before and after the change)"
    )]
    LongerLife,
}

fn list(set: &ModuleSet) -> String {
    set.iter()
        .map(|id| id.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The token an operation targets.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// Its id.
    pub id: TokenId,
    /// Its account.
    pub account_id: AccountId,
    /// Its status.
    pub status: TokenStatus,
    /// Its module set as stored now, before the operation.
    pub current_modules: &'a ModuleSet,
    /// Its module set after the operation (the same as `current_modules` for operations that
    /// keep it).
    pub resulting_modules: &'a ModuleSet,
    /// Its expiry now, before the operation.
    pub current_expires_at: Option<OffsetDateTime>,
    /// Its expiry after the operation.
    pub resulting_expires_at: Option<OffsetDateTime>,
    /// Whether it may rotate itself.
    pub self_rotate: bool,
}

impl<'a> Target<'a> {
    /// The target of an operation that keeps the token as it is (read, reveal, icon).
    pub fn unchanged(token: &'a Token) -> Self {
        Self::changing(token, token)
    }

    /// The target of an operation that turns `token` into `after`.
    pub fn changing(token: &'a Token, after: &'a Token) -> Self {
        Self {
            id: token.id(),
            account_id: token.account_id(),
            status: token.status(),
            current_modules: token.modules(),
            resulting_modules: after.modules(),
            current_expires_at: token.expires_at(),
            resulting_expires_at: after.expires_at(),
            self_rotate: token.parts().self_rotate,
        }
    }
}

fn check_access(actor: &Actor, operation: Operation, known: &WellKnown) -> Result<(), Forbidden> {
    match actor {
        Actor::System => Ok(()),
        Actor::User { admin, account, .. } => {
            if account.status == AccountStatus::Disabled {
                return Err(Forbidden::AccountDisabled);
            }
            if !admin {
                return Err(Forbidden::NotAdministrator);
            }
            Ok(())
        }
        Actor::Token {
            modules, account, ..
        } => {
            if account.status == AccountStatus::Disabled {
                return Err(Forbidden::AccountDisabled);
            }
            let allowed = known.grants_access_management(modules)
                || (operation == Operation::ReadAudit && known.grants_audit(modules));
            if !allowed {
                return Err(Forbidden::MissingAccessManagement);
            }
            if operation == Operation::RevealToken {
                return Err(Forbidden::TokenCannotReveal);
            }
            Ok(())
        }
    }
}

/// Rule 7: every set in `sets` must be held by a token actor (people are not limited by a
/// scope).
/// Rule 8: every expiry in `lives` is no later than the acting token's.
fn check_life(actor: &Actor, lives: &[Option<OffsetDateTime>]) -> Result<(), Forbidden> {
    if let Actor::Token {
        expires_at: Some(own),
        ..
    } = actor
        && lives.iter().any(|life| life.is_none_or(|at| at > *own))
    {
        return Err(Forbidden::LongerLife);
    }
    Ok(())
}

fn check_escalation(actor: &Actor, sets: &[&ModuleSet]) -> Result<(), Forbidden> {
    if let Actor::Token { modules, .. } = actor {
        let missing: ModuleSet = sets
            .iter()
            .flat_map(|set| set.difference(modules))
            .collect();
        if !missing.is_empty() {
            return Err(Forbidden::Escalation { missing });
        }
    }
    Ok(())
}

/// May the actor perform an operation that has no single target token (list tokens, list
/// modules, read audit records)? Returns what it may see.
pub fn authorize_collection(
    actor: &Actor,
    operation: Operation,
    known: &WellKnown,
) -> Result<Visibility, Denial> {
    check_access(actor, operation, known).map_err(Denial::Forbidden)?;
    Ok(visibility(actor, known))
}

/// What the actor sees when it lists.
pub fn visibility(actor: &Actor, known: &WellKnown) -> Visibility {
    match actor.account() {
        Some(account) if !actor.has_pam(known) => Visibility::Account(account.id),
        _ => Visibility::AllAccounts,
    }
}

/// May the actor create a token in `account` with `modules`? (Validation of the modules
/// against the catalog and the account comes first; see [`crate::Catalog::validate_scope`].)
pub fn authorize_create(
    actor: &Actor,
    account: AccountId,
    modules: &ModuleSet,
    expires_at: Option<OffsetDateTime>,
    known: &WellKnown,
) -> Result<(), Denial> {
    check_access(actor, Operation::CreateToken, known).map_err(Denial::Forbidden)?;
    if let Some(own) = actor.account()
        && own.id != account
        && !actor.has_pam(known)
    {
        return Err(Denial::Forbidden(Forbidden::OtherAccount));
    }
    check_escalation(actor, &[modules]).map_err(Denial::Forbidden)?;
    check_life(actor, &[expires_at]).map_err(Denial::Forbidden)
}

/// May the actor perform `operation` on `target`?
pub fn authorize_token(
    actor: &Actor,
    operation: Operation,
    target: &Target<'_>,
    known: &WellKnown,
) -> Result<(), Denial> {
    let self_read = matches!(actor, Actor::Token { id, .. } if *id == target.id)
        && operation == Operation::ReadToken
        && target.status != TokenStatus::Deleted;
    if self_read {
        return Ok(());
    }
    let self_rotation = matches!(actor, Actor::Token { id, .. } if *id == target.id)
        && operation == Operation::RotateToken
        && target.self_rotate
        && target.status != TokenStatus::Deleted;
    if self_rotation {
        return check_life(
            actor,
            &[target.current_expires_at, target.resulting_expires_at],
        )
        .map_err(Denial::Forbidden);
    }
    check_access(actor, operation, known).map_err(Denial::Forbidden)?;
    if !visibility(actor, known).sees(target.account_id, target.status) {
        return Err(Denial::NotFound);
    }
    if operation.changes_token() {
        check_escalation(actor, &[target.current_modules, target.resulting_modules])
            .map_err(Denial::Forbidden)?;
        check_life(
            actor,
            &[target.current_expires_at, target.resulting_expires_at],
        )
        .map_err(Denial::Forbidden)?;
    }
    Ok(())
}
