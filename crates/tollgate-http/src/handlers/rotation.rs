//! `POST /public/v1/accounts/api-tokens/{id}/rotate` (SPEC §9 "Rotation with a grace
//! period"): a new value for the same token; the previous one works until the grace ends.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use tollgate_domain::lifetime::grace_until;
use tollgate_domain::permission::{Target, authorize_token};
use tollgate_domain::{Operation, TokenId, TokenValue, ValidationErrors};
use tollgate_store::StoredToken;

use super::{json, token_id};
use crate::auth::Caller;
use crate::body::read_json;
use crate::dto::{RotateBody, Shape, TokenDto};
use crate::error::ApiError;
use crate::middleware::not_allowed;
use crate::state::AppState;

/// Registers the route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/public/v1/accounts/api-tokens/{id}/rotate")
            .route(web::post().to(rotate))
            .default_service(not_allowed("POST")),
    );
}

async fn rotate(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = token_id(&path)?;
    let body: RotateBody = read_json(&req, payload, true).await?;
    let (stored, value) = rotate_token(&state, &caller, id, body).await?;
    let dto = TokenDto::of(
        &stored,
        &caller.catalog,
        Shape::default(),
        Some(value.expose_secret().to_owned()),
    );
    json(StatusCode::OK, &dto)
}

/// Rotates a token for `caller`: the grace checked (400), the permission and the rotation
/// inside the transaction (a token rotating itself needs `selfRotate`; another token, the
/// rights to change it), the new value hashed and, under reveal `audited`, sealed. Shared by
/// the REST API and the web pages.
pub async fn rotate_token(
    state: &AppState,
    caller: &Caller,
    id: TokenId,
    body: RotateBody,
) -> Result<(StoredToken, TokenValue), ApiError> {
    let ctx = caller.context();
    let grace = grace_until(body.grace_period_seconds.unwrap_or(0), ctx.now)
        .map_err(|error| ApiError::Validation(ValidationErrors::from(error)))?;
    let tollgate_app::Issued { value, secret } =
        tollgate_app::issue(id, &state.keys, state.settings.reveal);
    let store = state.store.clone();
    let actor = caller.actor.clone();
    let catalog = caller.catalog.clone();
    let revision = body.revision;
    let changed = super::write(state, move || {
        store.rotate_token::<ApiError>(id, &ctx, secret, |token, _| {
            let mut preview = token.clone();
            let event = preview.rotate(grace, revision, ctx.actor.clone(), ctx.now);
            authorize_token(
                &actor,
                Operation::RotateToken,
                &Target::changing(token, &preview),
                catalog.well_known(),
            )?;
            let event = event?;
            *token = preview;
            Ok(event)
        })
    })
    .await?;
    // The old value's grace is decided in memory everywhere; the new hash reaches this
    // instance now and the others through the change feed.
    state.gate.invalidate(id);
    Ok((changed.token, value))
}
