//! `/public/v1/accounts/api-tokens/{id}/icon`: PNG or JPEG, at most 5 MB, checked by content.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use tollgate_domain::Operation;
use tollgate_domain::permission::{Target, authorize_token};
use tollgate_store::Icon;

use super::{json, token_id};
use crate::auth::Caller;
use crate::body::{ICON_LIMIT, media_type, read_body};
use crate::dto::{Shape, TokenDto};
use crate::error::ApiError;
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

/// The image type of `bytes`, judged by content: PNG or JPEG.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else {
        None
    }
}

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

fn checker(
    caller: &Caller,
) -> impl FnOnce(&tollgate_domain::Token, &tollgate_store::AccountSummary) -> Result<(), ApiError> + use<>
{
    let actor = caller.actor.clone();
    let catalog = caller.catalog.clone();
    move |token, _| {
        let target = Target::unchanged(token);
        authorize_token(&actor, Operation::ChangeIcon, &target, catalog.well_known())
            .map_err(ApiError::from)
    }
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

/// Sets a token's icon (content already checked to be `kind`) with its audit record; shared by
/// the REST API and the web pages.
pub async fn set_icon(
    state: &AppState,
    caller: &Caller,
    id: tollgate_domain::TokenId,
    kind: &str,
    data: Vec<u8>,
) -> Result<tollgate_store::StoredToken, ApiError> {
    let icon = Icon {
        content_type: kind.to_owned(),
        data,
    };
    let store = state.store.clone();
    let ctx = caller.context();
    let check = checker(caller);
    let changed = super::write(state, move || {
        store.set_icon::<ApiError>(id, &ctx, icon, check)
    })
    .await?;
    state.gate.invalidate(id);
    Ok(changed.token)
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

/// Removes a token's icon with its audit record; shared by the REST API and the web pages.
pub async fn clear_icon(
    state: &AppState,
    caller: &Caller,
    id: tollgate_domain::TokenId,
) -> Result<tollgate_store::StoredToken, ApiError> {
    let store = state.store.clone();
    let ctx = caller.context();
    let check = checker(caller);
    let changed =
        super::write(state, move || store.clear_icon::<ApiError>(id, &ctx, check)).await?;
    state.gate.invalidate(id);
    Ok(changed.token)
}

#[cfg(test)]
mod tests {
    use super::sniff;

    #[test]
    fn sniffing() {
        assert_eq!(
            sniff(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0]),
            Some("image/png")
        );
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b"<svg"), None);
        assert_eq!(sniff(&[]), None);
    }
}
