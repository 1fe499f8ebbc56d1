//! `POST /v1/credentials/revoke` (SPEC §9 "Leaked-value reports"): anyone may report leaked
//! values; no authentication. The report is stored and answered 202 — the same answer, after
//! the same work, whatever the values hold (each is parsed and hashed; none is looked up here) —
//! and processed off the request path (`tollgate_gate::leaks`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use tollgate_domain::PresentedToken;
use tollgate_store::NewLeakReport;

use super::json;
use crate::body::read_body;
use crate::error::ApiError;
use crate::middleware::{RequestMeta, not_allowed};
use crate::state::AppState;

/// The largest report body.
pub const REPORT_LIMIT: usize = 128 * 1024;
/// The most values in one report.
pub const MAX_VALUES: usize = 1_000;

/// Registers the route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v1/credentials/revoke")
            .route(web::post().to(revoke))
            .default_service(not_allowed("POST")),
    );
}

/// `{"credentials": ["idt:…", …]}`. Holds leaked values: no `Debug`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeBody {
    credentials: Vec<String>,
}

async fn revoke(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let meta = RequestMeta::of(&req);
    if let Some(address) = meta.ip
        && state.leak_limiter.fail(address, std::time::Instant::now())
    {
        return Err(ApiError::TooManyRequests);
    }
    let bytes = read_body(&req, payload, REPORT_LIMIT).await?;
    let body: RevokeBody = serde_json::from_slice(&bytes)
        .map_err(|error| ApiError::BadRequest(format!("invalid JSON body: {error}")))?;
    if body.credentials.len() > MAX_VALUES {
        return Err(ApiError::BadRequest(format!(
            "at most {MAX_VALUES} credentials per report"
        )));
    }
    // Every value costs one parse and one HMAC, well-formed or not.
    let values = body
        .credentials
        .iter()
        .filter_map(|value| {
            let hash = state.keys.current().hash.hash(value);
            PresentedToken::parse(value)
                .ok()
                .map(|presented| (presented.id(), hash))
        })
        .collect();
    let report = NewLeakReport {
        id: format!("LKR-{}", ulid::Ulid::new()),
        received_at: OffsetDateTime::now_utc(),
        ip: meta.ip.map(|ip| ip.to_string()),
        user_agent: meta.user_agent.clone(),
        values,
    };
    let store = state.store.clone();
    let stored = report.clone();
    super::write(&state, move || Ok(store.store_leak_report(&stored)?)).await?;
    state.leaks.push(report.id);
    json(StatusCode::ACCEPTED, &json!({"status": "received"}))
}
