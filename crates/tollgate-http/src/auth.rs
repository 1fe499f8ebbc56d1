//! Who is calling: the bearer token of the request, verified through the domain's decision,
//! as a management `Actor`.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use time::OffsetDateTime;
use tollgate_audit::AccountRef;
use tollgate_domain::authz::{RefusalReason, Target};
use tollgate_domain::{Actor, Catalog};
use tollgate_gate::GateError;
pub use tollgate_gate::middleware::authorization_header;
use tollgate_store::Context;

use crate::error::ApiError;
use crate::middleware::RequestMeta;
use crate::state::AppState;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The actor.
    pub actor: Actor,
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

/// Authenticates a bearer value through the gate's one decision ([`tollgate_gate::Gate::decide`]). Every
/// failure is the same `Unauthenticated`, or 429 once the client's address is over the failure
/// threshold, or 503 when a cache fill cannot reach the database.
pub async fn authenticate_bearer(
    state: &AppState,
    header: Result<Option<&str>, RefusalReason>,
    meta: &RequestMeta,
) -> Result<(Actor, std::sync::Arc<Catalog>), ApiError> {
    let decision = state
        .gate
        .decide(header, Target::Caller, &|| meta.request_info())
        .await;
    let entry = match decision {
        Ok(entry) => entry,
        Err(GateError::Unavailable) => return Err(ApiError::Unavailable),
        Err(GateError::Refused(reason)) => {
            state.metrics.authentication_failed(reason.as_str());
            if let Some(address) = meta.ip
                && state.gate.limiter.fail(address, std::time::Instant::now())
            {
                return Err(ApiError::TooManyRequests);
            }
            return Err(ApiError::Unauthenticated);
        }
    };
    let actor = Actor::Token {
        id: entry.view.id,
        name: entry.view.name.clone(),
        modules: entry.view.modules.clone(),
        expires_at: entry.view.expires_at,
        account: entry.account.clone(),
    };
    Ok((actor, state.gate.catalog()))
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
            let header = authorization_header(req.headers());
            let (actor, catalog) = authenticate_bearer(&state, header, &meta).await?;
            Ok(Caller {
                actor,
                catalog,
                meta,
            })
        })
    }
}
