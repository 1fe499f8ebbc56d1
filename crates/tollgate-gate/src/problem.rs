//! The one place errors become HTTP responses (feature `actix`): RFC 7807 problem details,
//! answered by the gate's middleware and by Tollgate's REST API alike, and the trace ids they
//! carry.
//!
//! Every variant has one stable code (`urn:tollgate:error:<code>`). 5xx bodies say nothing
//! internal; the cause goes to the log. The trace id is added by the request middleware
//! (`middleware::trace`), which knows it.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use tollgate_domain::authz::{RefusalKind, RefusalReason};
use tollgate_domain::permission::{Denial, Forbidden};
use tollgate_domain::{TransitionError, ValidationErrors};
use tollgate_store::StoreError;

use crate::GateError;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 with field errors.
    #[error("{0}")]
    Validation(ValidationErrors),
    /// 400 for a malformed request (bad JSON, bad RQL, unknown field…).
    #[error("{0}")]
    BadRequest(String),
    /// 401: missing, malformed, unknown, wrong, disabled or deleted credential (never says which).
    #[error("authentication required")]
    Unauthenticated,
    /// 403 with the reason.
    #[error("{0}")]
    Forbidden(String),
    /// 403 for plain HTTP.
    #[error("the REST API is served over HTTPS only")]
    HttpsRequired,
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 405, with the methods the resource allows (the `Allow` header, RFC 9110 §15.5.6).
    #[error("method not allowed; this resource allows {0}")]
    MethodNotAllowed(&'static str),
    /// 408: the client did not send its body within the server's body timeout.
    #[error("the request body did not arrive within {0} ms")]
    RequestTimeout(u128),
    /// 409: a state or revision conflict.
    #[error("{0}")]
    Conflict(String),
    /// 413.
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// 415.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 429.
    #[error("too many failed attempts; retry later")]
    TooManyRequests,
    /// 503: the database is unavailable (nothing was written).
    #[error("the service is temporarily unavailable")]
    Unavailable,
    /// 503: the database stopped answering while a change was being written; it may or may not
    /// have been made.
    #[error(
        "outcome unknown: the database stopped answering while the change was being written, so \
         it may or may not have been made; re-read `revision` before retrying"
    )]
    OutcomeUnknown,
    /// 500: a bug or an unexpected failure; the detail goes to the log only.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// The stable code of the variant.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "validation",
            Self::BadRequest(_) => "bad-request",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden(_) => "forbidden",
            Self::HttpsRequired => "https-required",
            Self::NotFound(_) => "not-found",
            Self::MethodNotAllowed(_) => "method-not-allowed",
            Self::RequestTimeout(_) => "request-timeout",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge(_) => "payload-too-large",
            Self::UnsupportedMediaType(_) => "unsupported-media-type",
            Self::TooManyRequests => "too-many-requests",
            Self::Unavailable => "unavailable",
            Self::OutcomeUnknown => "outcome-unknown",
            Self::Internal(_) => "internal",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Self::Validation(_) => "Validation failed",
            Self::BadRequest(_) => "Bad request",
            Self::Unauthenticated => "Unauthorized",
            Self::Forbidden(_) => "Forbidden",
            Self::HttpsRequired => "HTTPS required",
            Self::NotFound(_) => "Not found",
            Self::MethodNotAllowed(_) => "Method not allowed",
            Self::RequestTimeout(_) => "Request timeout",
            Self::Conflict(_) => "Conflict",
            Self::PayloadTooLarge(_) => "Payload too large",
            Self::UnsupportedMediaType(_) => "Unsupported media type",
            Self::TooManyRequests => "Too many requests",
            Self::Unavailable => "Service unavailable",
            Self::OutcomeUnknown => "Outcome unknown",
            Self::Internal(_) => "Internal server error",
        }
    }

    /// The problem body, with the request's trace id.
    pub fn problem(&self, trace_id: &str) -> Problem {
        let detail = match self {
            Self::Internal(_) => "The server could not complete the request.".to_owned(),
            Self::Unauthenticated => {
                "A valid API token is required: Authorization: Bearer <token>.".to_owned()
            }
            other => other.to_string(),
        };
        Problem {
            kind: format!("urn:tollgate:error:{}", self.code()),
            title: self.title(),
            status: self.status_code().as_u16(),
            detail,
            trace_id: trace_id.to_owned(),
            errors: match self {
                Self::Validation(errors) => Some(errors.clone()),
                _ => None,
            },
        }
    }

    /// The full response for this error.
    pub fn to_response(&self, trace_id: &str) -> HttpResponse {
        if let Self::Internal(cause) = self {
            log::error!("internal error (trace {trace_id}): {cause}");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
        response.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
        if matches!(self, Self::Unauthenticated) {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        if let Self::MethodNotAllowed(allow) = self
            && !allow.is_empty()
        {
            response.insert_header((header::ALLOW, HeaderValue::from_static(allow)));
        }
        let body = serde_json::to_vec(&self.problem(trace_id)).unwrap_or_default();
        response.body(body)
    }
}

/// An RFC 7807 problem body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// `urn:tollgate:error:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short title.
    pub title: &'static str,
    /// HTTP status.
    pub status: u16,
    /// What went wrong, for people.
    pub detail: String,
    /// The request's trace id.
    pub trace_id: String,
    /// Field errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<ValidationErrors>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Validation(_) | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::HttpsRequired => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable | Self::OutcomeUnknown => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        // The trace middleware replaces this with the same problem carrying the trace id.
        self.to_response("")
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::OutcomeUnknown(cause) => {
                log::warn!("database lost during a write, outcome unknown: {cause}");
                Self::OutcomeUnknown
            }
            StoreError::Unavailable(cause) => {
                log::warn!("database unavailable: {cause}");
                Self::Unavailable
            }
            StoreError::NotFound(what) => Self::NotFound(format!("{what} not found")),
            StoreError::Transition(error) => error.into(),
            StoreError::Conflict => {
                Self::Conflict("the token was changed concurrently; read it again and retry".into())
            }
            StoreError::Duplicate(what) => Self::Conflict(what),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<TransitionError> for ApiError {
    fn from(error: TransitionError) -> Self {
        Self::Conflict(error.to_string())
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Validation(errors)
    }
}

impl From<Denial> for ApiError {
    fn from(denial: Denial) -> Self {
        match denial {
            Denial::NotFound => Self::NotFound("API token not found".into()),
            Denial::Forbidden(reason) => Self::from(reason),
        }
    }
}

impl From<Forbidden> for ApiError {
    fn from(reason: Forbidden) -> Self {
        Self::Forbidden(reason.to_string())
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        Self::Internal(error.to_string())
    }
}

impl From<GateError> for ApiError {
    /// A refused decision: 401 (which reason is never said), 403, or 503 when the database
    /// could not be read for it.
    fn from(error: GateError) -> Self {
        match error {
            GateError::Unavailable => Self::Unavailable,
            GateError::Refused(reason) => reason.into(),
        }
    }
}

impl From<RefusalReason> for ApiError {
    fn from(reason: RefusalReason) -> Self {
        match reason.kind() {
            RefusalKind::Unauthenticated => Self::Unauthenticated,
            RefusalKind::Forbidden if reason == RefusalReason::InsecureTransport => {
                Self::HttpsRequired
            }
            RefusalKind::Forbidden => {
                Self::Forbidden("the token's modules do not grant this request".into())
            }
        }
    }
}

fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// A valid incoming `traceparent` is kept; otherwise a new trace id is made.
pub fn new_trace_id(traceparent: Option<&str>) -> String {
    if let Some(parent) = traceparent {
        let parts: Vec<&str> = parent.trim().split('-').collect();
        if let [version, trace, span, flags] = parts.as_slice()
            && is_hex(version, 2)
            && *version != "ff"
            && is_hex(trace, 32)
            && trace.bytes().any(|b| b != b'0')
            && is_hex(span, 16)
            && is_hex(flags, 2)
        {
            return format!("{version}-{trace}-{span}-{flags}");
        }
    }
    let trace = ulid::Ulid::new().0;
    let span = rand::RngCore::next_u64(&mut rand::thread_rng());
    format!("00-{trace:032x}-{span:016x}-00")
}
