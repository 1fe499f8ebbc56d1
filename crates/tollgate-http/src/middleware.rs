//! The request middleware: trace id (`X-Request-Id`, honouring W3C `traceparent`), request
//! metadata for audit records, HTTPS enforcement, metrics, and problem bodies for every error.

use std::net::IpAddr;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, ResponseError, web};
use tollgate_audit::RequestInfo;
use tollgate_domain::authz::Transport;
use tollgate_domain::client_address;
pub use tollgate_gate::problem::new_trace_id;

use crate::error::ApiError;
use crate::state::{AppState, Settings};

/// What a request carries besides its content: its trace id, where it came from, and how.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    /// `00-<32 hex>-<16 hex>-<2 hex>`.
    pub trace_id: String,
    /// The client's address: the peer, or behind a trusted proxy the right-most untrusted
    /// entry of the configured forwarded header (see [`tollgate_domain::forwarded`]).
    pub ip: Option<IpAddr>,
    /// `User-Agent`.
    pub user_agent: Option<String>,
    /// HTTPS or plain HTTP (a trusted proxy's `X-Forwarded-Proto: https` counts as HTTPS).
    pub transport: Transport,
}

impl RequestMeta {
    /// The request details an audit record keeps.
    pub fn request_info(&self) -> RequestInfo {
        RequestInfo {
            ip: self.ip.map(|ip| ip.to_string()),
            user_agent: self.user_agent.clone(),
            correlation_id: Some(self.trace_id.clone()),
        }
    }

    /// The metadata of `req` (set by [`trace`]; a fresh one when missing, for safety).
    pub fn of(req: &HttpRequest) -> RequestMeta {
        req.extensions()
            .get::<RequestMeta>()
            .cloned()
            .unwrap_or_else(|| RequestMeta {
                trace_id: new_trace_id(None),
                ip: req.peer_addr().map(|addr| addr.ip().to_canonical()),
                user_agent: None,
                transport: Transport::Https,
            })
    }
}

/// Marks a connection accepted on the plain HTTP listener.
#[derive(Debug, Clone, Copy)]
pub struct PlainConnection;

/// The client's address (SPEC §4 "Client address"): the rules are the domain's.
fn client_ip(req: &ServiceRequest, settings: &Settings) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let header = settings.forwarded_header;
    let lines: Vec<&[u8]> = req
        .headers()
        .get_all(header.name())
        .map(|value| value.as_bytes())
        .collect();
    Some(client_address(peer, header, &lines, |address| {
        settings.is_trusted_proxy(address)
    }))
}

fn forwarded_https(req: &ServiceRequest) -> bool {
    req.headers()
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// The middleware. Wrap the whole app with `actix_web::middleware::from_fn(trace)`.
pub async fn trace(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let trace_id = new_trace_id(
        req.headers()
            .get("traceparent")
            .and_then(|v| v.to_str().ok()),
    );
    let plain = req.conn_data::<PlainConnection>().is_some();
    let peer_trusted = match (&state, req.peer_addr()) {
        (Some(state), Some(peer)) => state.settings.is_trusted_proxy(peer.ip()),
        _ => false,
    };
    let transport = if !plain || (peer_trusted && forwarded_https(&req)) {
        Transport::Https
    } else {
        Transport::Http
    };
    let meta = RequestMeta {
        trace_id: trace_id.clone(),
        ip: match &state {
            Some(state) => client_ip(&req, &state.settings),
            None => req.peer_addr().map(|addr| addr.ip().to_canonical()),
        },
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(512).collect()),
        transport,
    };
    req.extensions_mut().insert(meta);
    let method = req.method().to_string();

    let mut response = if transport == Transport::Http {
        // Refused before any credential is looked at.
        let http = ApiError::HttpsRequired.to_response(&trace_id);
        req.into_response(http)
    } else {
        let response = next.call(req).await?.map_into_boxed_body();
        problem_for_errors(response, &trace_id)
    };

    if let Ok(value) = HeaderValue::from_str(&trace_id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-request-id"), value);
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    let pattern = response.request().match_pattern();
    let route = pattern.as_deref().unwrap_or(crate::metrics::UNMATCHED);
    let duration_ms = elapsed.as_secs_f64() * 1e3;
    // The fields again as key-values, for the JSON log format (TOLLGATE_LOG_FORMAT=json).
    log::info!(
        trace_id = trace_id.as_str(),
        method = method.as_str(),
        route = route,
        status = status,
        duration_ms = duration_ms;
        "{trace_id} {method} {} {status} {duration_ms:.1}ms",
        match &pattern {
            Some(pattern) => pattern.clone(),
            None => response.request().path().chars().take(200).collect(),
        },
    );
    if let Some(state) = state {
        state.metrics.observe(route, &method, status, elapsed);
    }
    Ok(response)
}

/// Every error response becomes a problem body with the trace id.
fn problem_for_errors(
    response: ServiceResponse<BoxBody>,
    trace_id: &str,
) -> ServiceResponse<BoxBody> {
    let Some(error) = response.response().error() else {
        return response;
    };
    let replacement = if let Some(api) = error.as_error::<ApiError>() {
        api.to_response(trace_id)
    } else {
        let status = error.as_response_error().status_code();
        let api = match status.as_u16() {
            400 => ApiError::BadRequest(error.to_string()),
            404 => ApiError::NotFound(error.to_string()),
            405 => ApiError::MethodNotAllowed(""),
            413 => ApiError::PayloadTooLarge(0),
            415 => ApiError::UnsupportedMediaType(error.to_string()),
            s if s < 500 => ApiError::BadRequest(error.to_string()),
            _ => ApiError::Internal(error.to_string()),
        };
        let mut http = api.to_response(trace_id);
        *http.status_mut() = status;
        // A 405 raised by the framework keeps the `Allow` it carried.
        if let Some(allow) = response.response().headers().get(header::ALLOW) {
            http.headers_mut().insert(header::ALLOW, allow.clone());
        }
        http
    };
    response.into_response(replacement)
}

/// The default service: 404 for unknown paths.
pub async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such endpoint".into()))
}

/// The default of each resource: 405 for a known path with another method, naming the methods
/// it allows (`Allow: GET, POST`). Write them next to the resource's routes.
pub fn not_allowed(allow: &'static str) -> actix_web::Route {
    actix_web::web::to(move || async move {
        Err::<actix_web::HttpResponse, ApiError>(ApiError::MethodNotAllowed(allow))
    })
}

/// True when the error would be a 5xx (for logging).
pub fn is_server_error(error: &ApiError) -> bool {
    error.status_code().is_server_error()
}
