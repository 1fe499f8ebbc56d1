//! The schemas table of `components`, and the schemas every area shares: timestamps, stamps,
//! object and list metadata, id references, the empty body, problems and statuses.

use serde_json::{Value, json};

use super::audit::{
    audit_account_schema, audit_actor_schema, audit_record_schema, audit_request_schema,
    event_type_schema, token_snapshot_schema,
};
use super::gateway::{introspect_request_schema, introspection_schema};
use super::modules::module_schema;
use super::tokens::{
    create_token_schema, module_ref_schema, token_account_schema, token_audit_schema, token_schema,
    token_value_schema, update_token_schema,
};
use super::{PRINCIPAL_ID, object, schema};

pub(super) fn schemas() -> Value {
    object([
        ("Timestamp", timestamp_schema()),
        ("TokenValue", token_value_schema()),
        ("Token", token_schema()),
        ("TokenAccount", token_account_schema()),
        ("ModuleRef", module_ref_schema()),
        ("TokenAudit", token_audit_schema()),
        ("Stamp", stamp_schema()),
        ("ObjectMeta", object_meta_schema()),
        ("Pagination", pagination_schema()),
        ("ListMeta", list_meta_schema()),
        ("TokenList", list_schema("Token", "A page of API tokens.")),
        ("Module", module_schema()),
        ("ModuleList", list_schema("Module", "A page of modules.")),
        ("AuditRecord", audit_record_schema()),
        ("AuditActor", audit_actor_schema()),
        ("AuditAccount", audit_account_schema()),
        ("AuditRequest", audit_request_schema()),
        ("TokenSnapshot", token_snapshot_schema()),
        (
            "AuditRecordList",
            list_schema("AuditRecord", "A page of audit records."),
        ),
        ("EventType", event_type_schema()),
        (
            "EventTypeList",
            list_schema("EventType", "A page of audit event types."),
        ),
        ("IdRef", id_ref_schema()),
        ("CreateToken", create_token_schema()),
        ("UpdateToken", update_token_schema()),
        ("EmptyBody", empty_body_schema()),
        (
            "RevokeCredentials",
            json!({
                "type": "object",
                "additionalProperties": false,
                "required": ["credentials"],
                "properties": {
                    "credentials": {"type": "array", "maxItems": 1000, "items": {"type": "string"}}
                }
            }),
        ),
        (
            "RotateToken",
            json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "gracePeriodSeconds": {"type": "integer", "minimum": 0, "maximum": 604800},
                    "revision": {"type": "integer", "minimum": 1}
                }
            }),
        ),
        ("Problem", problem_schema()),
        ("Status", status_schema()),
        ("IntrospectRequest", introspect_request_schema()),
        ("Introspection", introspection_schema()),
    ])
}

fn timestamp_schema() -> Value {
    json!({
        "type": "string",
        "format": "date-time",
        "description": "UTC, millisecond precision: `YYYY-MM-DDTHH:mm:ss.sssZ`.",
        "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$",
        "example": "2026-11-28T10:00:00.000Z"
    })
}

fn stamp_schema() -> Value {
    json!({
        "type": "object",
        "description": "When and by whom.",
        "required": ["at", "by"],
        "properties": {
            "at": schema("Timestamp"),
            "by": {
                "type": "object",
                "required": ["id", "name"],
                "properties": {
                    "id": {
                        "type": "string",
                        "pattern": PRINCIPAL_ID,
                        "description": "A user (`USR-…`), a token (`TKN-…`) or `SYSTEM`.",
                        "example": "USR-1111-2222"
                    },
                    "name": {"type": "string", "example": "Jane Doe"}
                }
            }
        }
    })
}

fn object_meta_schema() -> Value {
    json!({
        "type": "object",
        "description": "What the object leaves out unless selected.",
        "required": ["omitted"],
        "properties": {
            "omitted": {"type": "array", "items": {"type": "string"}, "example": ["audit"]}
        }
    })
}

fn pagination_schema() -> Value {
    json!({
        "type": "object",
        "description": "Exactly these three keys.",
        "required": ["offset", "limit", "total"],
        "additionalProperties": false,
        "properties": {
            "offset": {"type": "integer", "format": "int64", "minimum": 0, "description": "Rows skipped."},
            "limit": {"type": "integer", "format": "int32", "minimum": 0, "maximum": 100, "description": "The limit applied."},
            "total": {"type": "integer", "format": "int64", "minimum": 0, "description": "Rows matching in all."}
        }
    })
}

fn list_meta_schema() -> Value {
    json!({
        "type": "object",
        "required": ["pagination"],
        "properties": {"pagination": schema("Pagination")}
    })
}

fn list_schema(item: &str, description: &str) -> Value {
    json!({
        "type": "object",
        "description": description,
        "required": ["$meta", "data"],
        "properties": {
            "$meta": schema("ListMeta"),
            "data": {"type": "array", "items": schema(item)}
        }
    })
}

fn id_ref_schema() -> Value {
    let echoed = json!({"description": "Echoed by clients; ignored.", "nullable": true});
    json!({
        "type": "object",
        "description": "A reference by id. Clients may echo back the other fields they read; they are ignored.",
        "required": ["id"],
        "additionalProperties": false,
        "properties": {
            "id": {"type": "string"},
            "code": echoed,
            "name": echoed,
            "type": echoed,
            "status": echoed
        }
    })
}

fn empty_body_schema() -> Value {
    json!({
        "type": "object",
        "description": "`{}`: no fields.",
        "additionalProperties": false,
        "maxProperties": 0
    })
}

fn problem_schema() -> Value {
    json!({
        "type": "object",
        "description": "An RFC 7807 problem. Bodies of 5xx responses say nothing internal.",
        "required": ["type", "title", "status", "detail", "traceId"],
        "properties": {
            "type": {
                "type": "string",
                "description": "`urn:tollgate:error:<code>`, one stable code per kind of error.",
                "pattern": "^urn:tollgate:error:[a-z-]+$",
                "example": "urn:tollgate:error:validation"
            },
            "title": {"type": "string", "example": "Validation failed"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599, "example": 400},
            "detail": {"type": "string", "description": "What went wrong, for people."},
            "traceId": {
                "type": "string",
                "description": "The request's trace id (also in `X-Request-Id`): `00-<32 hex>-<16 hex>-<2 hex>`.",
                "example": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"
            },
            "errors": {
                "type": "object",
                "description": "Field errors of a validation failure: messages by field name.",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
                "example": {"name": ["must be at most 200 characters"]}
            }
        }
    })
}

fn status_schema() -> Value {
    json!({
        "type": "object",
        "required": ["status"],
        "properties": {"status": {"type": "string", "enum": ["ok", "ready"]}}
    })
}
