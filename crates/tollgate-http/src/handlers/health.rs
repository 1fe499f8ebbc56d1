//! `/healthz` (the process answers), `/readyz` (the database answers), `/metrics`
//! (Prometheus text: [`crate::metrics`]), and the OpenAPI document.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};
use serde_json::json;

use super::json;
use crate::error::ApiError;
use crate::metrics::{self, Exposure, GateSample};
use crate::state::AppState;

/// Registers the probes and the OpenAPI document (`/metrics` is registered apart: see
/// [`configure_public_metrics`] and [`configure_operations`]).
pub fn configure(cfg: &mut web::ServiceConfig) {
    // Each a resource with a 405 default, like the API's (a bare `cfg.route` falls through to
    // the app's 404 for other methods).
    probes(cfg);
    cfg.service(get_only("/public/v1/openapi.json").route(web::get().to(openapi)));
}

/// `/metrics` on the public listeners: no label says why a token was refused.
pub fn configure_public_metrics(cfg: &mut web::ServiceConfig) {
    cfg.service(get_only("/metrics").route(web::get().to(public_metrics)));
}

/// The metrics listener's routes: the probes and `/metrics` with refusal reasons.
pub fn configure_operations(cfg: &mut web::ServiceConfig) {
    probes(cfg);
    cfg.service(get_only("/metrics").route(web::get().to(operator_metrics)));
}

fn probes(cfg: &mut web::ServiceConfig) {
    cfg.service(get_only("/healthz").route(web::get().to(healthz)))
        .service(get_only("/readyz").route(web::get().to(readyz)));
}

fn get_only(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(crate::middleware::not_allowed("GET"))
}

async fn healthz() -> Result<HttpResponse, ApiError> {
    json(StatusCode::OK, &json!({"status": "ok"}))
}

/// 200 until this instance has been in regime 3 for `TOLLGATE_MAX_STALE` (so a database blip
/// does not make a load balancer drop every instance at once); with `?strict`, 503 outside
/// regime 1. The body names the regime either way.
async fn readyz(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let strict = req
        .query_string()
        .split('&')
        .any(|term| term == "strict" || term.starts_with("strict="));
    let readiness = state.gate.readiness();
    let ready = if strict {
        readiness.regime == tollgate_store::Regime::FeedHealthy
    } else {
        readiness.ready
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json(
        status,
        &json!({
            "status": if ready { "ready" } else { "unready" },
            "regime": readiness.regime.number(),
            "regimeName": readiness.regime.name(),
        }),
    )
}

async fn public_metrics(state: web::Data<AppState>) -> HttpResponse {
    exposition(&state, Exposure::Public)
}

async fn operator_metrics(state: web::Data<AppState>) -> HttpResponse {
    exposition(&state, Exposure::Operator)
}

fn exposition(state: &AppState, exposure: Exposure) -> HttpResponse {
    let text = state.metrics.render(exposure, &GateSample::of(&state.gate));
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static(metrics::CONTENT_TYPE),
        ))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .body(text)
}

async fn openapi() -> Result<HttpResponse, ApiError> {
    json(StatusCode::OK, &crate::openapi::document())
}
