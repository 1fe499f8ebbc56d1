//! `/public/v1/audit/records`: the caller's account's records (PAM: all), with `select`; and
//! `/public/v1/audit/event-types`: the event keys Tollgate writes.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;
use tollgate_audit::{AuditRecord, EventType};
use tollgate_domain::Operation;
use tollgate_domain::listing;
use tollgate_domain::permission::authorize_collection;
use tollgate_domain::query::{AuditField, EventTypeField};

use super::json;
use crate::auth::Caller;
use crate::dto::ListDto;
use crate::error::ApiError;
use crate::middleware::not_allowed;
use crate::rql::{Selection, parse_list_query};
use crate::state::AppState;

/// Registers the routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/public/v1/audit/records")
            .route(web::get().to(list))
            .default_service(not_allowed("GET")),
    )
    .service(
        web::resource("/public/v1/audit/records/{id}")
            .route(web::get().to(read))
            .default_service(not_allowed("GET")),
    )
    .service(
        web::resource("/public/v1/audit/event-types")
            .route(web::get().to(list_event_types))
            .default_service(not_allowed("GET")),
    )
    .service(
        web::resource("/public/v1/audit/event-types/{id}")
            .route(web::get().to(read_event_type))
            .default_service(not_allowed("GET")),
    );
}

/// What `select` takes on records: the fields of a record, nested ones by their dotted path,
/// and the platform's names for what Tollgate does not keep (accepted, and absent from every
/// record). `docs/API.md` lists them.
pub const RECORD_SELECTABLE: &[&str] = &[
    "id",
    "event",
    "summary",
    "details",
    "object",
    "object.id",
    "object.name",
    "object.objectType",
    "timestamp",
    "actor",
    "actor.id",
    "actor.name",
    "actor.type",
    "actor.account",
    "actor.account.id",
    "actor.account.name",
    "actor.account.type",
    "request",
    "request.api",
    "request.api.ip",
    "request.api.userAgent",
    "request.log",
    "request.log.correlationId",
    "type",
    "documents",
    "documents.token",
    "revision",
    // The platform's, not kept by Tollgate.
    "request.api.geolocation",
    "request.api.method",
    "request.api.url",
    "request.api.statusCode",
    "object.account",
    "actor.icon",
];

/// How the query asked for records to be shown.
#[derive(Debug, Clone, Copy)]
struct Shown<'a> {
    select: &'a Selection,
    render: bool,
}

/// A record as the query shows it: `-name` removes that field (a dotted path reaches inside);
/// `+name` adds nothing, as every field Tollgate keeps is shown by default; `render()` turns
/// `details` into one line for people.
fn selected(record: &AuditRecord, shown: Shown<'_>) -> Result<Value, ApiError> {
    let mut value = serde_json::to_value(record)
        .map_err(|error| ApiError::Internal(format!("serialising a record: {error}")))?;
    if shown.render
        && let Some(details) = value.get_mut("details")
    {
        *details = Value::String(rendered_details(details));
    }
    for path in &shown.select.exclude {
        remove_path(&mut value, path);
    }
    Ok(value)
}

/// `{"status": {"before": "Active", "after": "Disabled"}, "reason": "wrong-secret"}` →
/// `status: Active → Disabled; reason: wrong-secret`.
fn rendered_details(details: &Value) -> String {
    fn text(value: &Value) -> String {
        match value {
            Value::String(text) => text.clone(),
            Value::Array(items) if items.is_empty() => "none".to_owned(),
            Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(", "),
            other => other.to_string(),
        }
    }
    let Some(fields) = details.as_object() else {
        return text(details);
    };
    fields
        .iter()
        .map(
            |(field, change)| match (change.get("before"), change.get("after")) {
                (Some(before), Some(after)) => {
                    format!("{field}: {} → {}", text(before), text(after))
                }
                _ => format!("{field}: {}", text(change)),
            },
        )
        .collect::<Vec<_>>()
        .join("; ")
}

fn remove_path(value: &mut Value, path: &str) {
    let (parent, last) = match path.rsplit_once('.') {
        Some((parent, last)) => (
            parent
                .split('.')
                .try_fold(&mut *value, |node, key| node.get_mut(key)),
            last,
        ),
        None => (Some(value), path),
    };
    if let Some(Value::Object(object)) = parent {
        object.remove(last);
    }
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
    let request = parse_list_query::<AuditField>(req.query_string(), RECORD_SELECTABLE)
        .map_err(|error| ApiError::BadRequest(error.to_string()))?;
    let store = state.store.clone();
    let query = request.query;
    let page = web::block(move || store.list_audit_records(visibility, &query)).await??;
    let data = page
        .items
        .iter()
        .map(|stored| {
            selected(
                &stored.record,
                Shown {
                    select: &request.select,
                    render: request.render,
                },
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    json(StatusCode::OK, &ListDto::new(data, page.page, page.total))
}

async fn read(
    req: HttpRequest,
    path: web::Path<String>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let visibility = authorize_collection(
        &caller.actor,
        Operation::ReadAudit,
        caller.catalog.well_known(),
    )?;
    let request = parse_list_query::<AuditField>(req.query_string(), RECORD_SELECTABLE)
        .map_err(|error| ApiError::BadRequest(error.to_string()))?;
    // A malformed id is simply not found (and never reaches the database).
    let id = tollgate_domain::AuditId::parse(&path)
        .map_err(|_| ApiError::NotFound("audit record not found".into()))?
        .to_string();
    let store = state.store.clone();
    let record = web::block(move || store.audit_record(&id))
        .await??
        .filter(|stored| visibility.sees_account(stored.account_id))
        .ok_or_else(|| ApiError::NotFound("audit record not found".into()))?;
    let shown = Shown {
        select: &request.select,
        render: request.render,
    };
    json(StatusCode::OK, &selected(&record.record, shown)?)
}

/// Event types are for callers who may read the audit trail, like the records themselves.
fn may_read_event_types(caller: &Caller) -> Result<(), ApiError> {
    authorize_collection(
        &caller.actor,
        Operation::ReadAudit,
        caller.catalog.well_known(),
    )?;
    Ok(())
}

fn event_type_text(event_type: &EventType, field: EventTypeField) -> Option<String> {
    Some(match field {
        EventTypeField::Id => event_type.id.clone(),
        EventTypeField::Key => event_type.key.clone(),
        EventTypeField::Name => event_type.name.clone(),
    })
}

async fn list_event_types(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    may_read_event_types(&caller)?;
    let request = parse_list_query::<EventTypeField>(req.query_string(), &[])
        .map_err(|error| ApiError::BadRequest(error.to_string()))?;
    let store = state.store.clone();
    let types = web::block(move || store.event_types()).await??;
    let page = listing::list(types, &request.query, EventTypeField::Id, event_type_text);
    json(StatusCode::OK, &ListDto::from_page(&page, Clone::clone))
}

async fn read_event_type(
    path: web::Path<String>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    may_read_event_types(&caller)?;
    let store = state.store.clone();
    let wanted = path.into_inner();
    let found = web::block(move || store.event_types())
        .await??
        .into_iter()
        .find(|event_type| event_type.id == wanted)
        .ok_or_else(|| ApiError::NotFound("event type not found".into()))?;
    json(StatusCode::OK, &found)
}
