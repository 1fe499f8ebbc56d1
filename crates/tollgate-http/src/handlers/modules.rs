//! `GET /public/v1/accounts/modules`: PAM callers see the whole catalog, others their account's
//! enabled modules.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use tollgate_domain::Operation;
use tollgate_domain::permission::{Visibility, authorize_collection};
use tollgate_domain::query::Page;

use super::json;
use crate::auth::Caller;
use crate::dto::{ListDto, ModuleDto};
use crate::error::ApiError;
use crate::middleware::method_not_allowed;
use crate::rql::decode_term;

/// Registers the routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/public/v1/accounts/modules")
            .route(web::get().to(list))
            .default_service(web::to(method_not_allowed)),
    );
}

/// `limit` and `offset` only (modules take no filter).
fn page(raw: &str) -> Result<Page, ApiError> {
    let mut offset = 0u64;
    let mut limit = u64::from(Page::DEFAULT_LIMIT);
    for term in raw.split('&').filter(|t| !t.is_empty()) {
        let term = decode_term(term).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let (key, value) = term.split_once('=').unwrap_or((term.as_str(), ""));
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| ApiError::BadRequest(format!("{key} must be a non-negative integer")))
        };
        match key {
            "limit" => limit = number()?,
            "offset" => offset = number()?,
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unknown query parameter '{other}' (modules take limit and offset)"
                )));
            }
        }
    }
    Ok(Page::new(offset, limit))
}

async fn list(req: HttpRequest, caller: Caller) -> Result<HttpResponse, ApiError> {
    let visibility = authorize_collection(
        &caller.actor,
        Operation::ListModules,
        caller.catalog.well_known(),
    )?;
    let page = page(req.query_string())?;
    let modules: Vec<ModuleDto> = caller
        .catalog
        .modules()
        .iter()
        .filter(|module| match (visibility, caller.actor.account()) {
            (Visibility::AllAccounts, _) | (_, None) => true,
            (Visibility::Account(_), Some(account)) => account.modules.contains(module.id),
        })
        .map(ModuleDto::of)
        .collect();
    let total = modules.len() as u64;
    let data = modules
        .into_iter()
        .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
        .take(page.limit as usize)
        .collect();
    json(StatusCode::OK, &ListDto::new(data, page, total))
}
