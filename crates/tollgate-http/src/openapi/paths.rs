//! The `paths` table: every route with its operations.

use serde_json::{Value, json};

use super::audit::{list_audit_records, list_event_types, read_audit_record, read_event_type};
use super::gateway::{
    authorize, authorize_path, healthz, introspect, metrics, openapi_document, readyz,
};
use super::modules::{list_modules, read_module};
use super::tokens::{
    create_token, delete_icon, delete_token, get_icon, list_tokens, put_icon, read_token,
    revoke_credentials, rotate_token, switch_token, update_token,
};
use super::{object, parameter};

/// A path item with `id` as a path parameter.
fn with_id(id_parameter: &str, mut item: Value) -> Value {
    if let Some(item) = item.as_object_mut() {
        item.insert("parameters".to_owned(), json!([parameter(id_parameter)]));
    }
    item
}

pub(super) fn paths() -> Value {
    object([
        (
            "/public/v1/accounts/api-tokens",
            object([("get", list_tokens()), ("post", create_token())]),
        ),
        (
            "/public/v1/accounts/api-tokens/{id}",
            with_id(
                "TokenId",
                object([
                    ("get", read_token()),
                    ("put", update_token()),
                    ("delete", delete_token()),
                ]),
            ),
        ),
        (
            "/public/v1/accounts/api-tokens/{id}/enable",
            with_id("TokenId", object([("post", switch_token(true))])),
        ),
        (
            "/public/v1/accounts/api-tokens/{id}/disable",
            with_id("TokenId", object([("post", switch_token(false))])),
        ),
        (
            "/public/v1/accounts/api-tokens/{id}/rotate",
            with_id("TokenId", object([("post", rotate_token())])),
        ),
        (
            "/public/v1/accounts/api-tokens/{id}/icon",
            with_id(
                "TokenId",
                object([
                    ("get", get_icon()),
                    ("put", put_icon()),
                    ("delete", delete_icon()),
                ]),
            ),
        ),
        (
            "/public/v1/accounts/modules",
            object([("get", list_modules())]),
        ),
        (
            "/public/v1/accounts/modules/{id}",
            with_id("ModuleId", object([("get", read_module())])),
        ),
        (
            "/public/v1/audit/event-types",
            object([("get", list_event_types())]),
        ),
        (
            "/public/v1/audit/event-types/{id}",
            with_id("EventTypeId", object([("get", read_event_type())])),
        ),
        (
            "/public/v1/audit/records",
            object([("get", list_audit_records())]),
        ),
        (
            "/public/v1/audit/records/{id}",
            with_id("AuditRecordId", object([("get", read_audit_record())])),
        ),
        ("/healthz", object([("get", healthz())])),
        ("/readyz", object([("get", readyz())])),
        ("/metrics", object([("get", metrics())])),
        (
            "/public/v1/openapi.json",
            object([("get", openapi_document())]),
        ),
        ("/v1/authorize", object([("get", authorize())])),
        (
            "/v1/authorize/{path}",
            object([
                ("get", authorize_path("Get")),
                ("post", authorize_path("Post")),
                ("put", authorize_path("Put")),
                ("patch", authorize_path("Patch")),
                ("delete", authorize_path("Delete")),
            ]),
        ),
        ("/v1/introspect", object([("post", introspect())])),
        (
            "/v1/credentials/revoke",
            object([("post", revoke_credentials())]),
        ),
    ])
}
