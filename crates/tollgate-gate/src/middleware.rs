//! `RequireModule` (feature `actix`): an actix-web middleware any app can wrap around its routes
//! to require a module. It makes the same decision as `/v1/authorize` ([`Gate::decide`]), in
//! process: the
//! bearer token must be active, of an active account, and hold the module (which must be
//! available to the account's type). On success the request carries an [`Authorized`] in its
//! extensions; otherwise the app answers 401 or 403 with a problem body.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # fn example(gate: Arc<tollgate_gate::Gate>) {
//! use actix_web::{App, HttpMessage, HttpRequest, web};
//! use tollgate_gate::middleware::{Authorized, RequireModule};
//!
//! let app = App::new().service(
//!     web::scope("/public/v1/billing")
//!         .wrap(RequireModule::new(gate, "billing"))
//!         .route("/invoices", web::get().to(|req: HttpRequest| async move {
//!             let who = req.extensions().get::<Authorized>().map(|a| a.account_id.clone());
//!             format!("invoices of {who:?}")
//!         })),
//! );
//! # let _ = app;
//! # }
//! ```

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::{Error, HttpMessage};
use tollgate_domain::authz::{self, RefusalReason, Target};

use crate::Gate;
use crate::problem::{ApiError, new_trace_id};

/// The request's `Authorization` header: none, or exactly one that is text (see
/// [`authz::credential_header`]; two are refused with 401 everywhere).
pub fn authorization_header(headers: &HeaderMap) -> Result<Option<&str>, RefusalReason> {
    let lines: Vec<&[u8]> = headers
        .get_all(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes)
        .collect();
    authz::credential_header(&lines)
}

/// What the middleware leaves in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorized {
    /// `TKN-…`.
    pub token_id: String,
    /// `ACC-…`.
    pub account_id: String,
    /// `Client`, `Vendor` or `Operations`.
    pub account_type: &'static str,
    /// The token's module codes.
    pub modules: Vec<String>,
}

/// Requires a module of every request to the wrapped routes.
#[derive(Debug, Clone)]
pub struct RequireModule {
    gate: Arc<Gate>,
    module: Rc<str>,
}

impl RequireModule {
    /// Requires the module with this code.
    pub fn new(gate: Arc<Gate>, module_code: &str) -> Self {
        Self {
            gate,
            module: Rc::from(module_code),
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for RequireModule
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B, BoxBody>>;
    type Error = Error;
    type Transform = RequireModuleService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequireModuleService {
            service: Rc::new(service),
            gate: Arc::clone(&self.gate),
            module: Rc::clone(&self.module),
        }))
    }
}

/// The middleware's service.
#[derive(Debug)]
pub struct RequireModuleService<S> {
    service: Rc<S>,
    gate: Arc<Gate>,
    module: Rc<str>,
}

/// The in-process decision: is this credential header allowed the module?
pub async fn check(
    gate: &Arc<Gate>,
    authorization: Result<Option<&str>, RefusalReason>,
    module: &str,
) -> Result<Authorized, ApiError> {
    let entry = gate
        .decide(
            authorization,
            Target::Module(module),
            &tollgate_audit::RequestInfo::default,
        )
        .await?;
    let catalog = gate.catalog();
    Ok(Authorized {
        token_id: entry.view.id.to_string(),
        account_id: entry.view.account_id.to_string(),
        account_type: entry.view.account_type.as_str(),
        modules: entry
            .view
            .modules
            .iter()
            .filter_map(|id| catalog.get(id).map(|m| m.code.to_string()))
            .collect(),
    })
}

impl<S, B> Service<ServiceRequest> for RequireModuleService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B, BoxBody>>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let gate = Arc::clone(&self.gate);
        let module = Rc::clone(&self.module);
        Box::pin(async move {
            // Two Authorization headers are refused like a wrong one.
            let checked = {
                let authorization =
                    authorization_header(req.headers()).map(|header| header.map(str::to_owned));
                check(
                    &gate,
                    authorization.as_ref().map(Option::as_deref).map_err(|r| *r),
                    &module,
                )
                .await
            };
            match checked {
                Ok(authorized) => {
                    req.extensions_mut().insert(authorized);
                    service
                        .call(req)
                        .await
                        .map(ServiceResponse::map_into_left_body)
                }
                Err(error) => {
                    let trace = new_trace_id(
                        req.headers()
                            .get("traceparent")
                            .and_then(|v| v.to_str().ok()),
                    );
                    let response = error.to_response(&trace);
                    Ok(req.into_response(response).map_into_right_body())
                }
            }
        })
    }
}
