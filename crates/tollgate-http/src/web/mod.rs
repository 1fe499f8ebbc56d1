//! The web pages (SPEC §7) and sign-in (SPEC §4), server-rendered.
//!
//! - [`session`]: sign-in tickets → session cookies, the signed-in administrator as a
//!   [`Caller`](crate::auth::Caller) (the REST API's rules and audit records apply unchanged),
//!   CSRF checks, sign-out.
//! - [`form`]: posted forms read with limits (text, a logo checked by content).
//! - [`pages`]: the handlers — the API tokens list, the Add wizard, the details page, the edit
//!   dialog, enable / disable / delete with confirmations, reveals, the audit trail page.
//! - [`rotate`]: Rotate on the details page, with a grace choice, and the new value once.
//! - [`lifetime`]: the Expiration choice and the self-rotation switch of the token forms,
//!   expiry warnings, and the list page's banner about tokens that need attention.
//! - [`views`]: the templates (maud: every interpolation is HTML-escaped).
//! - `assets/`: the one stylesheet and the one script, served from `/assets/`; the
//!   Content-Security-Policy allows nothing else (no inline script or style, no other origin).
//!
//! Web handlers answer HTML for every outcome (a [`Page`]), so the REST API's problem+json
//! mapping never sees them.

pub mod form;
pub mod lifetime;
pub mod pages;
pub mod rotate;
pub mod session;
pub mod views;

use actix_web::body::BoxBody;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, Responder, ResponseError, web};

use crate::error::ApiError;

/// The Content-Security-Policy of every page: own scripts, styles and images only.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

const STYLESHEET: &str = include_str!("assets/tollgate.css");
const SCRIPT: &str = include_str!("assets/tollgate.js");

/// Where the list lives.
pub const TOKENS_PATH: &str = "/administration/settings/api-tokens";
/// The account's audit trail page.
pub const AUDIT_PATH: &str = "/administration/settings/audit-trail";

/// Registers the pages, sign-in and the assets.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(pages::home))
        .route("/assets/tollgate.css", web::get().to(stylesheet))
        .route("/assets/tollgate.js", web::get().to(script))
        .route("/sign-in", web::get().to(session::sign_in_page))
        .route("/sign-in", web::post().to(session::sign_in))
        .route("/sign-out", web::post().to(session::sign_out))
        .route(TOKENS_PATH, web::get().to(pages::list))
        .route(&format!("{TOKENS_PATH}/new"), web::get().to(pages::wizard))
        .route(&format!("{TOKENS_PATH}/new"), web::post().to(pages::create))
        .route(
            &format!("{TOKENS_PATH}/{{id}}"),
            web::get().to(pages::details),
        )
        .route(
            &format!("{TOKENS_PATH}/{{id}}/edit"),
            web::get().to(pages::edit_page),
        )
        .route(
            &format!("{TOKENS_PATH}/{{id}}/edit"),
            web::post().to(pages::edit),
        )
        .route(
            &format!("{TOKENS_PATH}/{{id}}/icon"),
            web::get().to(pages::icon),
        )
        .route(
            &format!("{TOKENS_PATH}/{{id}}/reveal"),
            web::post().to(pages::reveal),
        )
        .route(
            &format!("{TOKENS_PATH}/{{id}}/rotate"),
            web::get().to(rotate::rotate_page),
        )
        .route(
            &format!("{TOKENS_PATH}/{{id}}/rotate"),
            web::post().to(rotate::rotate),
        )
        .route(
            &format!("{TOKENS_PATH}/{{id}}/{{action}}"),
            web::get().to(pages::confirm_page),
        )
        .route(
            &format!("{TOKENS_PATH}/{{id}}/{{action}}"),
            web::post().to(pages::act),
        )
        .route(AUDIT_PATH, web::get().to(pages::audit_trail));
}

async fn stylesheet() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLESHEET)
}

async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(body)
}

/// Why a page could not be shown.
#[derive(Debug)]
pub enum WebError {
    /// No valid session: the page explains how to sign in.
    NotSignedIn,
    /// Signed in (or signing in) but refused: a non-administrator, a Disabled account, a used
    /// or expired link.
    Refused(String),
    /// A state-changing request without this session's CSRF token.
    Csrf,
    /// What the REST API would have answered.
    Api(ApiError),
}

impl From<ApiError> for WebError {
    fn from(error: ApiError) -> Self {
        Self::Api(error)
    }
}

impl From<tollgate_domain::permission::Denial> for WebError {
    fn from(denial: tollgate_domain::permission::Denial) -> Self {
        Self::Api(ApiError::from(denial))
    }
}

impl From<tollgate_store::StoreError> for WebError {
    fn from(error: tollgate_store::StoreError) -> Self {
        Self::Api(ApiError::from(error))
    }
}

impl From<actix_web::error::BlockingError> for WebError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        Self::Api(ApiError::from(error))
    }
}

/// A web handler's answer: always an HTML response (errors become error pages).
#[derive(Debug)]
pub struct Page(pub Result<HttpResponse, WebError>);

impl From<Result<HttpResponse, WebError>> for Page {
    fn from(result: Result<HttpResponse, WebError>) -> Self {
        Self(result)
    }
}

impl Responder for Page {
    type Body = BoxBody;

    fn respond_to(self, _req: &HttpRequest) -> HttpResponse {
        match self.0 {
            Ok(response) => response,
            Err(error) => error_page(&error),
        }
    }
}

fn error_page(error: &WebError) -> HttpResponse {
    let (status, title, message) = match error {
        WebError::NotSignedIn => (
            StatusCode::UNAUTHORIZED,
            "Sign in required",
            "Your session has ended or you have not signed in. Ask your operator for a sign-in \
             link (tollgate login-url --user USR-…) or sign in through your identity provider."
                .to_owned(),
        ),
        WebError::Refused(message) => (StatusCode::FORBIDDEN, "Access refused", message.clone()),
        WebError::Csrf => (
            StatusCode::FORBIDDEN,
            "Form expired",
            "This form did not come from your current session. Go back, reload the page and try \
             again."
                .to_owned(),
        ),
        WebError::Api(error) => {
            if crate::middleware::is_server_error(error) {
                log::error!("web page failed: {error:?}");
            }
            let title = match error.status_code().as_u16() {
                404 => "Not found",
                403 => "Not allowed",
                408 => "Too slow",
                409 => "Conflict",
                413 => "Too large",
                429 => "Too many attempts",
                503 => "Temporarily unavailable",
                s if s >= 500 => "Something went wrong",
                _ => "Request refused",
            };
            let message = if crate::middleware::is_server_error(error) {
                "Tollgate could not complete this request. Try again in a moment.".to_owned()
            } else {
                error.to_string()
            };
            (error.status_code(), title, message)
        }
    };
    let signed_out = matches!(error, WebError::NotSignedIn | WebError::Refused(_));
    html(status, views::message_page(title, &message, signed_out))
}

/// An HTML response with the pages' security headers.
pub fn html(status: StatusCode, markup: maud::Markup) -> HttpResponse {
    let mut response = HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .body(markup.into_string());
    secure_headers(&mut response);
    response
}

/// The headers every page carries: CSP, no caching (pages may hold a token value), no
/// framing, and referrers only to Tollgate itself (a sign-in link carries its ticket; forms
/// still send their origin).
pub fn secure_headers(response: &mut HttpResponse) {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
}

/// A 303 to `location`.
pub fn see_other(location: &str) -> HttpResponse {
    let mut response = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish();
    secure_headers(&mut response);
    response
}
