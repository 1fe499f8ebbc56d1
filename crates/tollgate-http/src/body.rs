//! Reading request bodies: size limits (413), a deadline (408), content types (415), JSON (400
//! naming the problem). Every body Tollgate reads — the REST API's, the pages' forms, sign-in —
//! is read here, within the server's body timeout, so a client that sends its body slowly
//! cannot hold a worker.

use std::future::Future;
use std::time::Duration;

use actix_web::HttpRequest;
use actix_web::http::header;
use actix_web::web::{self, Bytes, BytesMut};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

/// The largest JSON body.
pub const JSON_LIMIT: usize = 64 * 1024;
/// The largest icon.
pub const ICON_LIMIT: usize = 5 * 1024 * 1024;

/// How long a client may take to send a body, unless configured (`TOLLGATE_BODY_TIMEOUT`).
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// The body timeout of the server handling `req`.
pub fn body_timeout(req: &HttpRequest) -> Duration {
    req.app_data::<web::Data<AppState>>()
        .map_or(DEFAULT_BODY_TIMEOUT, |state| state.settings.body_timeout)
}

/// Runs `read` (the reading of a body) within the server's body timeout: 408 when the client
/// has not sent it all by then. The deadline covers the whole body, not each chunk, so a
/// trickle of bytes does not extend it.
pub async fn within_body_timeout<T, E: From<ApiError>>(
    req: &HttpRequest,
    read: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let timeout = body_timeout(req);
    actix_web::rt::time::timeout(timeout, read)
        .await
        .map_err(|_| E::from(ApiError::RequestTimeout(timeout.as_millis())))?
}

/// Reads the whole body within the body timeout, refusing more than `limit` bytes (checked
/// against `Content-Length` first, then while reading).
pub async fn read_body(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<Bytes, ApiError> {
    within_body_timeout(req, read_all(req, payload, limit)).await
}

async fn read_all(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Bytes, ApiError> {
    if let Some(length) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && length > limit
    {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|error| ApiError::BadRequest(format!("could not read the body: {error}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The media type of the request (without parameters), lower-cased.
pub fn media_type(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
}

fn is_json(media: &str) -> bool {
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

/// Reads a JSON body into `T`. `allow_empty`: an empty body (no Content-Type needed) is `{}`.
pub async fn read_json<T: DeserializeOwned>(
    req: &HttpRequest,
    payload: web::Payload,
    allow_empty: bool,
) -> Result<T, ApiError> {
    let body = read_body(req, payload, JSON_LIMIT).await?;
    let media = media_type(req);
    if body.is_empty() && allow_empty && media.as_deref().is_none_or(is_json) {
        return serde_json::from_slice(b"{}")
            .map_err(|error| ApiError::BadRequest(error.to_string()));
    }
    match media.as_deref() {
        Some(media) if is_json(media) => {}
        Some(other) => {
            return Err(ApiError::UnsupportedMediaType(format!(
                "expected Content-Type: application/json, not {other}"
            )));
        }
        None => {
            return Err(ApiError::UnsupportedMediaType(
                "expected Content-Type: application/json".into(),
            ));
        }
    }
    if body.is_empty() {
        return Err(ApiError::BadRequest(
            "the request body is empty; expected a JSON object".into(),
        ));
    }
    serde_json::from_slice(&body)
        .map_err(|error| ApiError::BadRequest(format!("invalid JSON body: {error}")))
}
