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
    let (replacements, poll_failures) = gate
        .feed_state()
        .map_or((0, 0), |feed| (feed.replacements(), feed.poll_failures()));
    let faults = format!(
        "# HELP tollgate_gate_regime The fault regime: 1 feed healthy, 2 feed lost (polling), 3 database unreachable.\n\
         # TYPE tollgate_gate_regime gauge\ntollgate_gate_regime {}\n\
         # HELP tollgate_gate_unconfirmed_decisions_total Decisions made on entries not confirmed within the feed deadline.\n\
         # TYPE tollgate_gate_unconfirmed_decisions_total counter\ntollgate_gate_unconfirmed_decisions_total {}\n\
         # HELP tollgate_gate_stale_refusals_total Cached entries refused past TOLLGATE_MAX_STALE.\n\
         # TYPE tollgate_gate_stale_refusals_total counter\ntollgate_gate_stale_refusals_total {}\n\
         # HELP tollgate_gate_breaker_refusals_total Uncached tokens refused while the database was unreachable.\n\
         # TYPE tollgate_gate_breaker_refusals_total counter\ntollgate_gate_breaker_refusals_total {}\n\
         # HELP tollgate_gate_fill_failures_total Cache fills that could not reach the database.\n\
         # TYPE tollgate_gate_fill_failures_total counter\ntollgate_gate_fill_failures_total {}\n\
         # HELP tollgate_feed_listener_replacements_total Listening connections abandoned after a missed heartbeat.\n\
         # TYPE tollgate_feed_listener_replacements_total counter\ntollgate_feed_listener_replacements_total {}\n\
         # HELP tollgate_feed_poll_failures_total Polls of the change log that failed.\n\
         # TYPE tollgate_feed_poll_failures_total counter\ntollgate_feed_poll_failures_total {}\n",
        gate.regime().number(),
        stats.unconfirmed.load(Relaxed),
        stats.stale_refusals.load(Relaxed),
        stats.breaker_refusals.load(Relaxed),
        stats.fill_failures.load(Relaxed),
        replacements,
        poll_failures,
    );
    faults
        + &format!(
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
            u8::from(gate.readiness().ready),
            gate.writes.pending(),
            state.store.integrity_failures(),
        )
}
