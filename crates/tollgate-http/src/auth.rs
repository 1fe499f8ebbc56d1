//! Who is calling: the bearer token of the request, verified through the domain's decision,
//! as a management `Actor`.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use time::OffsetDateTime;
use tollgate_audit::AccountRef;
use tollgate_domain::authz::authenticate;
use tollgate_domain::{Actor, ActorAccount, Catalog, PresentedToken, TokenValue};
use tollgate_store::Context;

use crate::error::ApiError;
use crate::middleware::RequestMeta;
use crate::state::AppState;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The actor.
    pub actor: Actor,
    /// The value the caller presented (a token reading itself gets it echoed back).
    pub presented: Option<TokenValue>,
    /// The module catalog, as of this request.
    pub catalog: std::sync::Arc<Catalog>,
    /// Request metadata.
    pub meta: RequestMeta,
}

impl Caller {
    /// The audit context for a change made by this caller now.
    pub fn context(&self) -> Context {
        let account = self
            .actor
            .account()
            .map(|account| AccountRef::new(account.id, account.name.clone(), account.account_type));
        Context {
            actor: self.actor.principal(),
            actor_account: account,
            request: self.meta.request_info(),
            now: OffsetDateTime::now_utc(),
        }
    }
}

/// Authenticates a bearer value: parse (no lookup for malformed values), read the token and its
/// account, verify through the domain. Every failure is the same `Unauthenticated`.
pub async fn authenticate_bearer(
    state: &AppState,
    header_value: Option<&str>,
) -> Result<(Actor, TokenValue, Catalog), ApiError> {
    let header_value = header_value.ok_or(ApiError::Unauthenticated)?;
    let presented =
        PresentedToken::from_authorization(header_value).map_err(|_| ApiError::Unauthenticated)?;
    let value = presented.to_value();
    let id = presented.id();
    let store = state.store.clone();
    let (view, account, catalog) = web::block(move || -> Result<_, ApiError> {
        let view = store.token_view(id)?;
        let account = match &view {
            Some(view) => store.account(view.account_id)?,
            None => None,
        };
        Ok((view, account, store.catalog()?))
    })
    .await??;
    let presented =
        PresentedToken::parse(value.expose_secret()).map_err(|_| ApiError::Unauthenticated)?;
    let view = authenticate(&presented, view.as_ref(), &state.keys.hash).map_err(|reason| {
        state
            .metrics
            .count("tollgate_authentication_failures_total", reason.as_str());
        ApiError::Unauthenticated
    })?;
    let account = account.ok_or(ApiError::Unauthenticated)?;
    let actor = Actor::Token {
        id: view.id,
        name: view.name.clone(),
        modules: view.modules.clone(),
        account: ActorAccount {
            id: account.id,
            name: account.name.to_string(),
            account_type: account.account_type,
            status: account.status,
            modules: account.modules,
        },
    };
    Ok((actor, value, catalog))
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| ApiError::Internal("application state missing".into()))?;
            let meta = RequestMeta::of(&req);
            let header_value = req
                .headers()
                .get(header::AUTHORIZATION)
                .map(|value| value.to_str().map_err(|_| ApiError::Unauthenticated))
                .transpose()?;
            let (actor, value, catalog) = authenticate_bearer(&state, header_value).await?;
            Ok(Caller {
                actor,
                presented: Some(value),
                catalog: std::sync::Arc::new(catalog),
                meta,
            })
        })
    }
}
