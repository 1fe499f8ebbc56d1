//! Request handlers, one file per area, each with its `configure`.

pub mod audit;
pub mod credentials;
pub mod gateway;
pub mod health;
pub mod icons;
pub mod modules;
pub mod rotation;
pub mod tokens;

use actix_web::HttpResponse;
use actix_web::http::header::{self, HeaderValue};
use serde::Serialize;
use tollgate_domain::TokenId;

use crate::error::ApiError;

/// A JSON response that no cache may keep.
pub fn json<T: Serialize>(
    status: actix_web::http::StatusCode,
    body: &T,
) -> Result<HttpResponse, ApiError> {
    let bytes = serde_json::to_vec(body).map_err(|error| ApiError::Internal(error.to_string()))?;
    Ok(HttpResponse::build(status)
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .body(bytes))
}

/// Runs a change (a database write) on the blocking pool, answering within the write timeout:
/// a change still running then answers 503 "outcome unknown" — it may yet commit, so the
/// client re-reads `revision` before retrying.
pub async fn write<T, F>(state: &crate::state::AppState, change: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    match actix_web::rt::time::timeout(state.settings.write_timeout, actix_web::web::block(change))
        .await
    {
        Ok(done) => done?,
        Err(_) => Err(ApiError::OutcomeUnknown),
    }
}

/// Runs a use case as `caller` (its actor, catalog and audit context) through [`write`]: on
/// the blocking pool, within the write timeout.
pub async fn as_caller<T, F>(
    state: &crate::state::AppState,
    caller: &crate::auth::Caller,
    run: F,
) -> Result<T, ApiError>
where
    F: FnOnce(
            &tollgate_app::App,
            &tollgate_domain::Actor,
            &tollgate_domain::Catalog,
            &tollgate_store::Context,
        ) -> Result<T, ApiError>
        + Send
        + 'static,
    T: Send + 'static,
{
    let app = state.app();
    let (actor, catalog, ctx) = (
        caller.actor.clone(),
        caller.catalog.clone(),
        caller.context(),
    );
    write(state, move || run(&app, &actor, &catalog, &ctx)).await
}

/// A token id from the path; a malformed one is simply not found.
pub fn token_id(text: &str) -> Result<TokenId, ApiError> {
    TokenId::parse(text).map_err(|_| ApiError::NotFound("API token not found".into()))
}
