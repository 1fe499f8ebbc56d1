//! `/public/v1/audit/records`: the caller's account's records (PAM: all).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use tollgate_domain::Operation;
use tollgate_domain::permission::authorize_collection;
use tollgate_domain::query::AuditField;

use super::json;
use crate::auth::Caller;
use crate::dto::ListDto;
use crate::error::ApiError;
use crate::middleware::method_not_allowed;
use crate::rql::parse_list_query;
use crate::state::AppState;

/// Registers the routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/public/v1/audit/records")
            .route(web::get().to(list))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/public/v1/audit/records/{id}")
            .route(web::get().to(read))
            .default_service(web::to(method_not_allowed)),
    );
}

async fn list(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let visibility = authorize_collection(
        &caller.actor,
        Operation::ReadAudit,
        caller.catalog.well_known(),
    )?;
    let request = parse_list_query::<AuditField>(req.query_string(), &[])
        .map_err(|error| ApiError::BadRequest(error.to_string()))?;
    let store = state.store.clone();
    let query = request.query;
    let page = web::block(move || store.list_audit_records(visibility, &query)).await??;
    json(
        StatusCode::OK,
        &ListDto::from_page(&page, |stored| stored.record.clone()),
    )
}

async fn read(
    path: web::Path<String>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let visibility = authorize_collection(
        &caller.actor,
        Operation::ReadAudit,
        caller.catalog.well_known(),
    )?;
    // A malformed id is simply not found (and never reaches the database).
    let id = tollgate_domain::AuditId::parse(&path)
        .map_err(|_| ApiError::NotFound("audit record not found".into()))?
        .to_string();
    let store = state.store.clone();
    let record = web::block(move || store.audit_record(&id))
        .await??
        .filter(|stored| visibility.sees_account(stored.account_id))
        .ok_or_else(|| ApiError::NotFound("audit record not found".into()))?;
    json(StatusCode::OK, &record.record)
}
