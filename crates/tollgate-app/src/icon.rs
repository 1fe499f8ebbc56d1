//! Setting and removing a token's icon, for an actor: the REST API's `PUT`/`DELETE …/icon` and
//! the edit dialog. The content is checked before ([`tollgate_domain::icon::sniff`]); the
//! permission inside the transaction; the change has its `icon-changed` record.

use tollgate_domain::permission::{Target, authorize_token};
use tollgate_domain::{Actor, Catalog, Operation, Token, TokenId};
use tollgate_store::{AccountSummary, Context, Icon, StoredToken};

use crate::{App, ChangeError};

fn checker<'a>(
    actor: &'a Actor,
    catalog: &'a Catalog,
) -> impl FnOnce(&Token, &AccountSummary) -> Result<(), ChangeError> + 'a {
    move |token, _| {
        let target = Target::unchanged(token);
        Ok(authorize_token(
            actor,
            Operation::ChangeIcon,
            &target,
            catalog.well_known(),
        )?)
    }
}

impl App {
    /// Sets token `id`'s icon (its content already judged to be `kind`). Blocking.
    pub fn set_icon(
        &self,
        actor: &Actor,
        catalog: &Catalog,
        ctx: &Context,
        id: TokenId,
        kind: &str,
        data: Vec<u8>,
    ) -> Result<StoredToken, ChangeError> {
        let icon = Icon {
            content_type: kind.to_owned(),
            data,
        };
        let changed = self
            .store
            .set_icon::<ChangeError>(id, ctx, icon, checker(actor, catalog))?;
        if let Some(gate) = &self.gate {
            gate.invalidate(id);
        }
        Ok(changed.token)
    }

    /// Removes token `id`'s icon. Blocking.
    pub fn clear_icon(
        &self,
        actor: &Actor,
        catalog: &Catalog,
        ctx: &Context,
        id: TokenId,
    ) -> Result<StoredToken, ChangeError> {
        let changed = self
            .store
            .clear_icon::<ChangeError>(id, ctx, checker(actor, catalog))?;
        if let Some(gate) = &self.gate {
            gate.invalidate(id);
        }
        Ok(changed.token)
    }
}
