//! Changing a token, for an actor: update, enable, disable, delete — the REST API's routes and
//! the web pages' buttons alike. The permission is checked inside the store's transaction, on
//! the token as it is and as it will be (the no-escalation rule), before the domain's operation
//! is kept; then the gate forgets the token (this instance at once, the others through the
//! change feed).

use time::OffsetDateTime;
use tollgate_domain::permission::{Denial, Target, authorize_token};
use tollgate_domain::{
    Actor, Catalog, Operation, Principal, Token, TokenEvent, TokenId, TransitionError,
};
use tollgate_store::{Context, StoreError, StoredToken};

use crate::App;

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The actor may not make it (403), or may not see the token (404).
    #[error("{0:?}")]
    Denied(Denial),
    /// The domain refused the transition (409), or the database refused or could not be
    /// reached.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Denial> for ChangeError {
    fn from(denial: Denial) -> Self {
        Self::Denied(denial)
    }
}

impl From<TransitionError> for ChangeError {
    fn from(error: TransitionError) -> Self {
        Self::Store(StoreError::Transition(error))
    }
}

/// A change to a token: the domain's operation, by whom, when (`None`: nothing changed).
pub type Apply = dyn FnOnce(&mut Token, Principal, OffsetDateTime) -> Result<Option<TokenEvent>, TransitionError>
    + Send;

/// Enable, disable or delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// `POST …/enable`.
    Enable,
    /// `POST …/disable`.
    Disable,
    /// `DELETE …`.
    Delete,
}

impl Lifecycle {
    /// The permission it needs.
    pub fn operation(self) -> Operation {
        match self {
            Self::Enable => Operation::EnableToken,
            Self::Disable => Operation::DisableToken,
            Self::Delete => Operation::DeleteToken,
        }
    }

    /// The domain's operation.
    pub fn apply(self) -> Box<Apply> {
        match self {
            Self::Enable => Box::new(|token, by, now| token.enable(by, now).map(Some)),
            Self::Disable => Box::new(|token, by, now| token.disable(by, now).map(Some)),
            Self::Delete => Box::new(|token, by, now| token.delete(by, now).map(Some)),
        }
    }
}

impl App {
    /// Applies `apply` to token `id` as `actor` (audit context `ctx`), with its audit record in
    /// the same transaction, and returns the token as stored. Blocking.
    pub fn change_token(
        &self,
        actor: &Actor,
        catalog: &Catalog,
        ctx: &Context,
        id: TokenId,
        operation: Operation,
        apply: Box<Apply>,
    ) -> Result<StoredToken, ChangeError> {
        let changed = self
            .store
            .change_token::<ChangeError>(id, ctx, |token, _| {
                let mut preview = token.clone();
                let event = apply(&mut preview, ctx.actor.clone(), ctx.now);
                let target = Target::changing(token, &preview);
                authorize_token(actor, operation, &target, catalog.well_known())?;
                let event = event?;
                *token = preview;
                Ok(event)
            })?;
        if let Some(gate) = &self.gate {
            gate.invalidate(id);
        }
        Ok(changed.token)
    }

    /// Enables, disables or deletes token `id` as `actor`.
    pub fn lifecycle(
        &self,
        actor: &Actor,
        catalog: &Catalog,
        ctx: &Context,
        id: TokenId,
        lifecycle: Lifecycle,
    ) -> Result<StoredToken, ChangeError> {
        self.change_token(
            actor,
            catalog,
            ctx,
            id,
            lifecycle.operation(),
            lifecycle.apply(),
        )
    }
}
