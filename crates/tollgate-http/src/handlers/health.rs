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
    web::resource(path).default_service(web::to(crate::middleware::method_not_allowed))
}

async fn healthz() -> Result<HttpResponse, ApiError> {
    json(StatusCode::OK, &json!({"status": "ok"}))
}

async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let store = state.store.clone();
    web::block(move || store.ping()).await??;
    json(StatusCode::OK, &json!({"status": "ready"}))
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        ))
        .body(state.metrics.render())
}

async fn openapi() -> Result<HttpResponse, ApiError> {
    json(StatusCode::OK, &crate::openapi::document())
}
