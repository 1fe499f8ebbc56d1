//! Request authorization for the rest of the platform: `GET /v1/authorize` (forward-auth for
//! nginx `auth_request`, Envoy ext_authz, Traefik ForwardAuth, Caddy `forward_auth`), its path
//! form `/v1/authorize/<original path>` (Envoy's HTTP ext_authz with `path_prefix`), and
//! `POST /v1/introspect`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use tollgate_domain::authz::{self, RefusalReason, RequestPath, Target};

use super::json;
use crate::auth::{Caller, authorization_header};
use crate::body::read_json;
use crate::error::ApiError;
use crate::middleware::{RequestMeta, not_allowed};
use crate::state::AppState;
use tollgate_gate::GateError;

/// Registers the routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(AUTHORIZE).route(web::route().to(authorize)))
        .service(web::resource("/v1/authorize/{path:.*}").route(web::route().to(authorize_path)))
        .service(
            web::resource("/v1/introspect")
                .route(web::post().to(introspect))
                .default_service(not_allowed("POST")),
        );
}

/// The forward-auth endpoint, and the prefix of its path form.
const AUTHORIZE: &str = "/v1/authorize";

/// A header set by the proxy: `None` when absent; `Some(None)` when it cannot be relied on
/// (sent more than once, so a client's copy may be among them, or not visible ASCII).
fn forwarded<'a>(req: &'a HttpRequest, name: &str) -> Option<Option<&'a str>> {
    let mut values = req.headers().get_all(name);
    let first = values.next()?;
    if values.next().is_some() {
        return Some(None);
    }
    Some(first.to_str().ok())
}

/// A refusal with only the statuses a forward-auth caller understands: 401 or 403.
fn refusal(reason: RefusalReason, meta: &RequestMeta) -> HttpResponse {
    log::debug!(
        "authorize refused ({}) trace {}",
        reason.as_str(),
        meta.trace_id
    );
    ApiError::from(reason).to_response(&meta.trace_id)
}

/// `/v1/authorize` (any method): reads `Authorization`, `X-Forwarded-Method`,
/// `X-Forwarded-Uri` (or `X-Original-URI`) and `X-Forwarded-Proto`; answers only 200, 401 or
/// 403.
async fn authorize(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    // X-Original-URI only when X-Forwarded-Uri is absent: an unusable X-Forwarded-Uri is
    // refused, never replaced by another header (which a client may have sent).
    let uri = match forwarded(&req, "x-forwarded-uri") {
        Some(uri) => uri,
        None => forwarded(&req, "x-original-uri").flatten(),
    };
    decide(&req, &state, uri).await
}

/// `/v1/authorize/<original path>` (any method), the shape Envoy's HTTP ext_authz sends with
/// `path_prefix: /v1/authorize`: the request line's method and raw path (after the prefix,
/// query included) are the forwarded ones, and `X-Forwarded-Uri` is not read. The body is
/// never read, so no body is too large or of the wrong type. Answers only 200, 401 or 403.
async fn authorize_path(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    // The raw request target, not the router's view of it: the path is normalised (and
    // hostile paths refused) by the same code as X-Forwarded-Uri. A target that reached this
    // route without the literal prefix (an encoded letter in it) names no path and is refused.
    let path = req
        .uri()
        .path_and_query()
        .and_then(|target| target.as_str().strip_prefix(AUTHORIZE))
        .filter(|rest| rest.starts_with('/'));
    decide(&req, &state, path).await
}

/// The decision of both forms, for the forwarded path `uri` (`None`: missing or unusable).
async fn decide(req: &HttpRequest, state: &AppState, uri: Option<&str>) -> HttpResponse {
    let meta = RequestMeta::of(req);
    let proto = forwarded(req, "x-forwarded-proto").flatten().map(str::trim);
    if !proto.is_some_and(|proto| proto.eq_ignore_ascii_case("https")) {
        return refusal(RefusalReason::InsecureTransport, &meta);
    }
    let decision = state
        .gate
        .decide(
            authorization_header(req.headers()),
            Target::Path(uri),
            &|| meta.request_info(),
        )
        .await;
    let entry = match decision {
        Ok(entry) => entry,
        Err(GateError::Refused(reason)) => {
            state.metrics.authorize_refused(reason.as_str());
            return refusal(reason, &meta);
        }
        // Fail closed, with a status the gateway understands.
        Err(GateError::Unavailable) => {
            state.metrics.authorize_refused("unavailable");
            return refusal(RefusalReason::UnknownToken, &meta);
        }
    };
    let mut response = HttpResponse::Ok();
    for (name, value) in [
        ("x-tollgate-token-id", entry.view.id.to_string()),
        ("x-tollgate-account-id", entry.view.account_id.to_string()),
        (
            "x-tollgate-account-type",
            entry.view.account_type.as_str().to_owned(),
        ),
        ("x-tollgate-modules", entry.modules_header.to_string()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.insert_header((HeaderName::from_static(name), value));
        }
    }
    response.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    response.finish()
}

/// `POST /v1/introspect` body. `method` and `path` may be left out, but not sent as `null`.
/// It holds a token value, so it has no `Debug`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IntrospectBody {
    token: String,
    #[serde(default, deserialize_with = "not_null")]
    method: Option<String>,
    #[serde(default, deserialize_with = "not_null")]
    path: Option<String>,
}

/// A field that may be absent (`None`) but, when present, must be a string: `null` is refused.
fn not_null<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    String::deserialize(deserializer).map(Some)
}

/// `POST /v1/introspect` answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Introspection {
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    modules: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allowed: Option<bool>,
}

async fn introspect(
    req: HttpRequest,
    payload: web::Payload,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    // Any active token may introspect; the caller extractor has authenticated it.
    let _ = &caller.actor;
    let body: IntrospectBody = read_json(&req, payload, false).await?;
    let _ = body.method;
    let inactive = Introspection {
        active: false,
        token_id: None,
        account_id: None,
        account_type: None,
        modules: None,
        allowed: None,
    };
    let header_value = format!("Bearer {}", body.token);
    let meta = RequestMeta::of(&req);
    // The caller's decision, then the domain's path rule for `allowed` (the rule the decision
    // applies to a forwarded path): an inactive token and a refused path are told apart.
    let entry = match state
        .gate
        .decide(Ok(Some(&header_value)), Target::Caller, &|| {
            meta.request_info()
        })
        .await
    {
        Ok(entry) => entry,
        Err(GateError::Unavailable) => return Err(ApiError::Unavailable),
        Err(GateError::Refused(_)) => return json(StatusCode::OK, &inactive),
    };
    let catalog = state.gate.catalog();
    let allowed = body.path.as_deref().map(|path| {
        RequestPath::parse(path)
            .is_ok_and(|path| authz::authorize_path(&entry.view, &path, &catalog).is_ok())
    });
    json(
        StatusCode::OK,
        &Introspection {
            active: true,
            token_id: Some(entry.view.id.to_string()),
            account_id: Some(entry.view.account_id.to_string()),
            account_type: Some(entry.view.account_type.as_str()),
            modules: Some(
                entry
                    .view
                    .modules
                    .iter()
                    .filter_map(|id| catalog.get(id).map(|module| module.code.to_string()))
                    .collect(),
            ),
            allowed,
        },
    )
}
