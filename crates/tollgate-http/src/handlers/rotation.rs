//! `POST /public/v1/accounts/api-tokens/{id}/rotate` (SPEC §9 "Rotation with a grace
//! period"): a new value for the same token; the previous one works until the grace ends.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use tollgate_domain::{TokenId, TokenValue};
use tollgate_store::StoredToken;

use super::{json, token_id};
use crate::auth::Caller;
use crate::body::read_json;
use crate::dto::{RotateBody, Shape, TokenDto};
use crate::error::{ApiError, rotate_error};
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

/// Rotates a token for `caller` through the use case ([`tollgate_app::App::rotate_token`]) on
/// the blocking pool, within the write timeout. Shared by the REST API and the web pages.
pub async fn rotate_token(
    state: &AppState,
    caller: &Caller,
    id: TokenId,
    body: RotateBody,
) -> Result<(StoredToken, TokenValue), ApiError> {
    let grace = body.grace_period_seconds.unwrap_or(0);
    super::as_caller(state, caller, move |app, actor, catalog, ctx| {
        app.rotate_token(actor, catalog, ctx, id, grace, body.revision)
            .map_err(rotate_error)
    })
    .await
}
