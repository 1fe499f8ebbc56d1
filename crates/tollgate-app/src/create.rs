//! Creating a token, for an actor: the REST API's `POST …/api-tokens` and the web pages' wizard.
//!
//! In order: the actor may create tokens at all (403); every field validated, each error named by
//! its field (400); the account is the actor's own unless it holds platform account management
//! (403); the account exists (400); the scope fits the account and its type, the expiry the
//! account's lifetime policy (400); the actor grants nothing it does not hold (403); then the
//! token and its `created` record in one transaction, and the gate told of the new id.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tollgate_domain::permission::{Denial, authorize_collection, authorize_create};
use tollgate_domain::{
    AccountId, Actor, Catalog, FieldError, ModuleId, NewToken, Operation, TokenDescription,
    TokenId, TokenName, TokenValue, ValidationErrors,
};
use tollgate_store::{Context, StoreError, StoredToken};

use crate::{App, issue};

/// A create request as a client sent it (every field optional; what is required is checked).
#[derive(Debug, Clone, Default)]
pub struct CreateToken {
    /// Required.
    pub name: Option<String>,
    /// Optional.
    pub description: Option<String>,
    /// Module ids (`MOD-dddd`), at least one.
    pub modules: Option<Vec<String>>,
    /// The account's id (`ACC-…`); the actor's own when absent.
    pub account: Option<String>,
    /// Must be absent or empty: icons are uploaded separately.
    pub icon: Option<String>,
    /// RFC 3339, in the future, within the account's policy.
    pub expires_at: Option<String>,
    /// May the token rotate itself (default false).
    pub self_rotate: Option<bool>,
}

/// Why a create was refused.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// Fields that are missing or invalid (400), each named.
    #[error("{0}")]
    Validation(ValidationErrors),
    /// The actor may not create it (403), or may not see what it names (404).
    #[error("{0:?}")]
    Denied(Denial),
    /// The actor acts within its own account only (403).
    #[error("callers act within their own account")]
    OtherAccount,
    /// The database refused or could not be reached.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Denial> for CreateError {
    fn from(denial: Denial) -> Self {
        Self::Denied(denial)
    }
}

/// The errors of parsing module ids, named by position (`modules[2].id`).
pub fn module_ids<'a>(
    ids: impl IntoIterator<Item = &'a str>,
    errors: &mut ValidationErrors,
) -> Vec<ModuleId> {
    ids.into_iter()
        .enumerate()
        .filter_map(|(index, id)| {
            errors.take(
                ModuleId::parse(id)
                    .map_err(|e| FieldError::new(format!("modules[{index}].id"), e.to_string())),
            )
        })
        .collect()
}

/// An `expiresAt` as sent: an RFC 3339 timestamp.
pub fn parse_expiry(text: &str) -> Result<OffsetDateTime, FieldError> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
        FieldError::new(
            "expiresAt",
            "must be an RFC 3339 timestamp such as 2027-01-31T00:00:00.000Z",
        )
    })
}

impl App {
    /// Creates a token as `actor` (its audit context `ctx`, its catalog `catalog`) and returns
    /// it with its value, shown once. Blocking.
    pub fn create_token(
        &self,
        actor: &Actor,
        catalog: &Catalog,
        ctx: &Context,
        input: CreateToken,
    ) -> Result<(StoredToken, TokenValue), CreateError> {
        let known = *catalog.well_known();
        authorize_collection(actor, Operation::CreateToken, &known)?;
        let mut errors = ValidationErrors::default();
        let name = match &input.name {
            Some(name) => errors.take(TokenName::parse(name)),
            None => {
                errors.push(FieldError::new("name", "is required"));
                None
            }
        };
        let description = match &input.description {
            Some(text) => errors.take(TokenDescription::parse(text)),
            None => Some(TokenDescription::default()),
        };
        if input.icon.as_deref().is_some_and(|icon| !icon.is_empty()) {
            errors.push(FieldError::new(
                "icon",
                "must be empty; upload an icon with PUT …/api-tokens/{id}/icon",
            ));
        }
        let requested = match &input.modules {
            Some(ids) => module_ids(ids.iter().map(String::as_str), &mut errors),
            None => {
                errors.push(FieldError::new(
                    "modules",
                    "is required: list at least one module",
                ));
                Vec::new()
            }
        };
        let own = actor.account().map(|account| account.id);
        let account_id = match (&input.account, own) {
            (Some(account), _) => match AccountId::parse(account) {
                Ok(id) => Some(id),
                Err(error) => {
                    errors.push(FieldError::new("account.id", error.to_string()));
                    None
                }
            },
            (None, own) => own,
        };
        let Some(account_id) = account_id else {
            return Err(CreateError::Validation(errors));
        };
        if own.is_some_and(|own| own != account_id) && !actor.has_pam(&known) {
            return Err(CreateError::OtherAccount);
        }
        let account = self.store.account(account_id)?.ok_or_else(|| {
            CreateError::Validation(
                FieldError::new("account.id", format!("{account_id} does not exist")).into(),
            )
        })?;
        let scope = if input.modules.is_some() {
            errors.absorb(catalog.validate_scope(
                &requested,
                account.account_type,
                &account.modules,
            ))
        } else {
            None
        };
        let expires_at = match input.expires_at.as_deref().map(parse_expiry).transpose() {
            Ok(at) => errors
                .take(account.token_policy.check(at, ctx.now).map(|()| at))
                .flatten(),
            Err(error) => {
                errors.push(error);
                None
            }
        };
        let (Some(name), Some(description), Some(scope)) = (name, description, scope) else {
            return Err(CreateError::Validation(errors));
        };
        if !errors.is_empty() {
            return Err(CreateError::Validation(errors));
        }
        authorize_create(actor, account_id, &scope, expires_at, &known)?;
        let self_rotate = input.self_rotate.unwrap_or(false);
        Ok(self.write_token(ctx, account_id, |id| NewToken {
            id,
            account_id,
            name: name.clone(),
            description: description.clone(),
            modules: scope.clone(),
            expires_at,
            self_rotate,
        })?)
    }

    /// Writes a new token of `account` (`token` makes it from the id the store gives) with a
    /// freshly issued value and its `created` record, and tells this instance's gate of the id:
    /// the operator CLI's create, and the last step of [`App::create_token`].
    pub fn write_token(
        &self,
        ctx: &Context,
        account: AccountId,
        token: impl Fn(TokenId) -> NewToken,
    ) -> Result<(StoredToken, TokenValue), StoreError> {
        let mut value = None;
        let stored = self.store.create_token::<StoreError>(account, ctx, |id| {
            let issued = issue(id, &self.keys, self.reveal);
            value = Some(issued.value);
            Ok((token(id), issued.secret))
        })?;
        let value = value.ok_or_else(|| StoreError::Database("no value was issued".into()))?;
        // The id exists from now on: this instance knows at once, the others through the feed.
        if let Some(gate) = &self.gate {
            gate.created(stored.token.id());
        }
        Ok((stored, value))
    }
}
