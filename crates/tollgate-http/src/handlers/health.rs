//! `/healthz` (the process answers), `/readyz` (the database answers), `/metrics`
//! (Prometheus text), and the OpenAPI document.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};
use serde_json::json;

use super::json;
use crate::error::ApiError;
use crate::state::AppState;

/// Registers the routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // Each a resource with a 405 default, like the API's (a bare `cfg.route` falls through to
    // the app's 404 for other methods).
    cfg.service(get_only("/healthz").route(web::get().to(healthz)))
        .service(get_only("/readyz").route(web::get().to(readyz)))
        .service(get_only("/metrics").route(web::get().to(metrics)))
        .service(get_only("/public/v1/openapi.json").route(web::get().to(openapi)));
}

fn get_only(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(crate::middleware::not_allowed("GET"))
}

async fn healthz() -> Result<HttpResponse, ApiError> {
    json(StatusCode::OK, &json!({"status": "ok"}))
}

async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let store = state.store.clone();
    web::block(move || store.ping()).await??;
    if !state.gate.is_ready() {
        // The change feed is down: other instances' changes would not reach this one.
        return Err(ApiError::Unavailable);
    }
    json(StatusCode::OK, &json!({"status": "ready"}))
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        ))
        .body(format!(
            "{}{}",
            state.metrics.render(),
            gate_metrics(&state)
        ))
}

async fn openapi() -> Result<HttpResponse, ApiError> {
    json(StatusCode::OK, &crate::openapi::document())
}

fn gate_metrics(state: &AppState) -> String {
    use std::sync::atomic::Ordering::Relaxed;
    let gate = &state.gate;
    let stats = &gate.stats;
    format!(
        "# TYPE tollgate_gate_cache_hits_total counter\ntollgate_gate_cache_hits_total {}\n\
         # TYPE tollgate_gate_cache_fills_total counter\ntollgate_gate_cache_fills_total {}\n\
         # TYPE tollgate_gate_unknown_ids_total counter\ntollgate_gate_unknown_ids_total {}\n\
         # TYPE tollgate_gate_stale_fills_total counter\ntollgate_gate_stale_fills_total {}\n\
         # TYPE tollgate_gate_cached_tokens gauge\ntollgate_gate_cached_tokens {}\n\
         # TYPE tollgate_gate_ready gauge\ntollgate_gate_ready {}\n\
         # TYPE tollgate_gate_pending_writes gauge\ntollgate_gate_pending_writes {}\n\
         # HELP tollgate_row_integrity_failures_total Rows refused because they do not match their row MAC.\n\
         # TYPE tollgate_row_integrity_failures_total counter\ntollgate_row_integrity_failures_total {}\n",
        stats.hits.load(Relaxed),
        stats.fills.load(Relaxed),
        stats.unknown.load(Relaxed),
        stats.stale_fills.load(Relaxed),
        gate.cached(),
        u8::from(gate.is_ready()),
        gate.writes.pending(),
        state.store.integrity_failures(),
    )
}
