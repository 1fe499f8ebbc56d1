//! Revealing a token's value again (reveal policy `audited`), for an actor: the REST API's
//! `select=+token` and the details page's Reveal. Each reveal writes a `revealed` record in the
//! same transaction that reads the sealed copy.

use tollgate_domain::permission::{Denial, Target, authorize_token};
use tollgate_domain::{Actor, Catalog, Operation, TokenId, TokenValue};
use tollgate_store::{Context, StoreError};

use crate::App;

/// Why a reveal was refused.
#[derive(Debug, thiserror::Error)]
pub enum RevealError {
    /// The actor may not reveal it (403), or may not see it (404).
    #[error("{0:?}")]
    Denied(Denial),
    /// The token keeps no sealed copy (created under reveal `never`): 409.
    #[error("this token's value cannot be shown again (it was created with TOLLGATE_REVEAL=never)")]
    NotKept,
    /// The sealed copy does not open under any configured key.
    #[error("could not open the sealed value of {id}: {cause}")]
    Unseal {
        /// The token.
        id: TokenId,
        /// Why.
        cause: String,
    },
    /// The database refused or could not be reached.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Denial> for RevealError {
    fn from(denial: Denial) -> Self {
        Self::Denied(denial)
    }
}

impl App {
    /// Reveals token `id`'s value to `actor`, with its `revealed` record. Blocking.
    pub fn reveal_token(
        &self,
        actor: &Actor,
        catalog: &Catalog,
        ctx: &Context,
        id: TokenId,
    ) -> Result<TokenValue, RevealError> {
        let (_, sealed) = self
            .store
            .reveal_token::<RevealError>(id, ctx, |token, _| {
                let target = Target::unchanged(token);
                Ok(authorize_token(
                    actor,
                    Operation::RevealToken,
                    &target,
                    catalog.well_known(),
                )?)
            })?;
        let sealed = sealed.ok_or(RevealError::NotKept)?;
        let (value, _) = self
            .keys
            .unseal(id, &sealed)
            .map_err(|error| RevealError::Unseal {
                id,
                cause: error.to_string(),
            })?;
        Ok(value)
    }
}
