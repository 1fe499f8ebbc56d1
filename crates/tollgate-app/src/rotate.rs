//! Rotating a token (SPEC §9 "Rotation with a grace period"), for an actor: the REST API's
//! `POST …/rotate` and the details page's Rotate. Same id, a new value; the previous one works
//! until the grace ends. A token rotating itself needs `selfRotate`; another token, the rights
//! to change it.

use tollgate_domain::lifetime::grace_until;
use tollgate_domain::permission::{Denial, Target, authorize_token};
use tollgate_domain::{Actor, Catalog, Operation, TokenId, TokenValue, ValidationErrors};
use tollgate_store::{Context, StoreError, StoredToken};

use crate::{App, issue};

/// Why a rotation was refused.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    /// The grace period is out of bounds (400).
    #[error("{0}")]
    Validation(ValidationErrors),
    /// The actor may not rotate it (403), or may not see it (404).
    #[error("{0:?}")]
    Denied(Denial),
    /// The domain refused (a stale `revision`: 409), or the database refused or could not be
    /// reached.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Denial> for RotateError {
    fn from(denial: Denial) -> Self {
        Self::Denied(denial)
    }
}

impl From<tollgate_domain::TransitionError> for RotateError {
    fn from(error: tollgate_domain::TransitionError) -> Self {
        Self::Store(StoreError::Transition(error))
    }
}

impl App {
    /// Rotates token `id` as `actor`: the grace checked, then the permission and the rotation
    /// inside the transaction, with a newly issued value; the gate forgets the token (the old
    /// value's grace is decided in memory everywhere). Blocking.
    pub fn rotate_token(
        &self,
        actor: &Actor,
        catalog: &Catalog,
        ctx: &Context,
        id: TokenId,
        grace_period_seconds: u64,
        revision: Option<u32>,
    ) -> Result<(StoredToken, TokenValue), RotateError> {
        let grace = grace_until(grace_period_seconds, ctx.now)
            .map_err(|error| RotateError::Validation(ValidationErrors::from(error)))?;
        let issued = issue(id, &self.keys, self.reveal);
        let changed =
            self.store
                .rotate_token::<RotateError>(id, ctx, issued.secret, |token, _| {
                    let mut preview = token.clone();
                    let event = preview.rotate(grace, revision, ctx.actor.clone(), ctx.now);
                    authorize_token(
                        actor,
                        Operation::RotateToken,
                        &Target::changing(token, &preview),
                        catalog.well_known(),
                    )?;
                    let event = event?;
                    *token = preview;
                    Ok(event)
                })?;
        if let Some(gate) = &self.gate {
            gate.invalidate(id);
        }
        Ok((changed.token, issued.value))
    }
}
