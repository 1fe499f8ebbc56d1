//! `GET /public/v1/accounts/modules` and `…/modules/{id}`: PAM callers see the whole catalog,
//! others their account's enabled modules. The list takes RQL on `id`, `code` and `name`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use tollgate_domain::permission::{Visibility, authorize_collection};
use tollgate_domain::query::ModuleField;
use tollgate_domain::{Module, ModuleId, Operation, listing};

use super::json;
use crate::auth::Caller;
use crate::dto::{ListDto, ModuleDto};
use crate::error::ApiError;
use crate::middleware::not_allowed;
use crate::rql::parse_list_query;

/// Registers the routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/public/v1/accounts/modules")
            .route(web::get().to(list))
            .default_service(not_allowed("GET")),
    )
    .service(
        web::resource("/public/v1/accounts/modules/{id}")
            .route(web::get().to(read))
            .default_service(not_allowed("GET")),
    );
}

/// The modules `caller` may see, in catalog order.
fn visible(caller: &Caller) -> Result<Vec<&Module>, ApiError> {
    let visibility = authorize_collection(
        &caller.actor,
        Operation::ListModules,
        caller.catalog.well_known(),
    )?;
    Ok(caller
        .catalog
        .modules()
        .iter()
        .filter(|module| match (visibility, caller.actor.account()) {
            (Visibility::AllAccounts, _) | (_, None) => true,
            (Visibility::Account(_), Some(account)) => account.modules.contains(module.id),
        })
        .collect())
}

fn field_text(module: &&Module, field: ModuleField) -> Option<String> {
    Some(match field {
        ModuleField::Id => module.id.to_string(),
        ModuleField::Code => module.code.to_string(),
        ModuleField::Name => module.name.to_string(),
    })
}

async fn list(req: HttpRequest, caller: Caller) -> Result<HttpResponse, ApiError> {
    let modules = visible(&caller)?;
    let request = parse_list_query::<ModuleField>(req.query_string(), &[])
        .map_err(|error| ApiError::BadRequest(error.to_string()))?;
    let page = listing::list(modules, &request.query, ModuleField::Id, field_text);
    json(
        StatusCode::OK,
        &ListDto::from_page(&page, |module| ModuleDto::of(module)),
    )
}

async fn read(path: web::Path<String>, caller: Caller) -> Result<HttpResponse, ApiError> {
    // A malformed id is simply not found.
    let not_found = || ApiError::NotFound("module not found".into());
    let id = ModuleId::parse(&path).map_err(|_| not_found())?;
    let module = visible(&caller)?
        .into_iter()
        .find(|module| module.id == id)
        .ok_or_else(not_found)?;
    json(StatusCode::OK, &ModuleDto::of(module))
}
