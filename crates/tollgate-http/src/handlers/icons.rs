//! `/public/v1/accounts/api-tokens/{id}/icon`: PNG or JPEG, at most 5 MB, checked by content.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};

use super::{json, token_id};
use crate::auth::Caller;
use crate::body::{ICON_LIMIT, media_type, read_body};
use crate::dto::{Shape, TokenDto};
use crate::error::{ApiError, change_error};
use crate::middleware::not_allowed;
use crate::state::AppState;

/// Registers the routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/public/v1/accounts/api-tokens/{id}/icon")
            .route(web::get().to(get))
            .route(web::put().to(put))
            .route(web::delete().to(delete))
            .default_service(not_allowed("GET, PUT, DELETE")),
    );
}

pub use tollgate_domain::icon::sniff;

async fn get(
    path: web::Path<String>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = token_id(&path)?;
    super::tokens::load_visible(&state, &caller, id).await?;
    let store = state.store.clone();
    let icon = web::block(move || store.icon(id))
        .await??
        .ok_or_else(|| ApiError::NotFound("this API token has no icon".into()))?;
    let content_type =
        HeaderValue::from_str(&icon.content_type).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        ))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .body(icon.data))
}

async fn put(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = token_id(&path)?;
    let declared = media_type(&req);
    if !matches!(
        declared.as_deref(),
        Some("image/png" | "image/jpeg" | "application/octet-stream")
    ) {
        return Err(ApiError::UnsupportedMediaType(
            "an icon is image/png or image/jpeg".into(),
        ));
    }
    let bytes = read_body(&req, payload, ICON_LIMIT).await?;
    let Some(kind) = sniff(&bytes) else {
        return Err(ApiError::BadRequest(
            "the body is not a PNG or JPEG image".into(),
        ));
    };
    if declared
        .as_deref()
        .is_some_and(|declared| declared.starts_with("image/") && declared != kind)
    {
        return Err(ApiError::BadRequest(format!(
            "the body is {kind}, not {}",
            declared.unwrap_or_default()
        )));
    }
    let changed = set_icon(&state, &caller, id, kind, bytes.to_vec()).await?;
    json(
        StatusCode::OK,
        &TokenDto::of(&changed, &caller.catalog, Shape::default(), None),
    )
}

/// Sets a token's icon (content already checked to be `kind`) through the use case, with its
/// audit record; shared by the REST API and the web pages.
pub async fn set_icon(
    state: &AppState,
    caller: &Caller,
    id: tollgate_domain::TokenId,
    kind: &'static str,
    data: Vec<u8>,
) -> Result<tollgate_store::StoredToken, ApiError> {
    super::as_caller(state, caller, move |app, actor, catalog, ctx| {
        app.set_icon(actor, catalog, ctx, id, kind, data)
            .map_err(change_error)
    })
    .await
}

async fn delete(
    path: web::Path<String>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = token_id(&path)?;
    let changed = clear_icon(&state, &caller, id).await?;
    json(
        StatusCode::OK,
        &TokenDto::of(&changed, &caller.catalog, Shape::default(), None),
    )
}

/// Removes a token's icon through the use case, with its audit record; shared by the REST API
/// and the web pages.
pub async fn clear_icon(
    state: &AppState,
    caller: &Caller,
    id: tollgate_domain::TokenId,
) -> Result<tollgate_store::StoredToken, ApiError> {
    super::as_caller(state, caller, move |app, actor, catalog, ctx| {
        app.clear_icon(actor, catalog, ctx, id)
            .map_err(change_error)
    })
    .await
}
