//! Audit: the schemas of audit records and event types, and the operations under
//! `/public/v1/audit`.

use serde_json::{Value, json};

use super::ops::{Op, errors, ok, with};
use super::{ACCOUNT_ID, AUDIT_ID, PRINCIPAL_ID, TOKEN_ID, object, parameter, schema};

pub(super) fn audit_record_schema() -> Value {
    let properties = object([
        (
            "id",
            json!({"type": "string", "pattern": AUDIT_ID, "example": "AUD-1234-5678-9012-3456"}),
        ),
        (
            "event",
            json!({
                "type": "string",
                "enum": [
                    "platform.accounts.api-token.created",
                    "platform.accounts.api-token.updated",
                    "platform.accounts.api-token.enabled",
                    "platform.accounts.api-token.disabled",
                    "platform.accounts.api-token.deleted",
                    "platform.accounts.api-token.revealed",
                    "platform.accounts.api-token.icon-changed",
                    "platform.accounts.api-token.authentication-failed"
                ]
            }),
        ),
        (
            "summary",
            json!({
                "type": "string",
                "description": "One human sentence.",
                "example": "Jane Doe disabled API token CRM robot (TKN-1234-5678)"
            }),
        ),
        (
            "details",
            json!({
                "type": "object",
                "additionalProperties": true,
                "description": concat!(
                    "The changed fields, each `{\"before\": …, \"after\": …}`, or `reason` for ",
                    "`authentication-failed`. Omitted when empty."
                ),
                "example": {"status": {"before": "Active", "after": "Disabled"}}
            }),
        ),
        (
            "object",
            json!({
                "type": "object",
                "required": ["id", "name", "objectType"],
                "properties": {
                    "id": {"type": "string", "pattern": TOKEN_ID},
                    "name": {"type": "string", "description": "The token's name at the time."},
                    "objectType": {"type": "string", "enum": ["ApiToken"]}
                }
            }),
        ),
        ("timestamp", schema("Timestamp")),
        ("actor", schema("AuditActor")),
        ("request", schema("AuditRequest")),
        (
            "type",
            json!({"type": "string", "enum": ["Public"], "description": "The platform's record type."}),
        ),
        (
            "documents",
            json!({
                "type": "object",
                "required": ["token"],
                "properties": {"token": schema("TokenSnapshot")}
            }),
        ),
        (
            "revision",
            json!({
                "type": "integer",
                "format": "int64",
                "minimum": 1,
                "description": "The token's revision after the event."
            }),
        ),
    ]);
    json!({
        "type": "object",
        "description": "One immutable event about an API token.",
        "required": ["id", "event", "summary", "object", "timestamp", "actor", "type", "documents", "revision"],
        "properties": properties
    })
}

pub(super) fn audit_actor_schema() -> Value {
    json!({
        "type": "object",
        "description": "Who did it.",
        "required": ["id", "name", "type"],
        "properties": {
            "id": {"type": "string", "pattern": PRINCIPAL_ID},
            "name": {"type": "string"},
            "type": {"type": "string", "enum": ["User", "ApiToken", "System"]},
            "account": schema("AuditAccount")
        }
    })
}

pub(super) fn audit_account_schema() -> Value {
    json!({
        "type": "object",
        "description": "The actor's account (absent for Tollgate itself).",
        "required": ["id", "name", "type"],
        "properties": {
            "id": {"type": "string", "pattern": ACCOUNT_ID},
            "name": {"type": "string"},
            "type": {"type": "string", "enum": ["Client", "Vendor", "Operations"]}
        }
    })
}

pub(super) fn audit_request_schema() -> Value {
    json!({
        "type": "object",
        "description": "Where the request came from; empty fields are omitted, and the whole object when all are.",
        "properties": {
            "api": {
                "type": "object",
                "description": "The API call: client address (SPEC §4 \"Client address\") and user agent.",
                "properties": {
                    "ip": {"type": "string", "example": "203.0.113.7"},
                    "userAgent": {"type": "string"}
                }
            },
            "log": {
                "type": "object",
                "properties": {
                    "correlationId": {"type": "string", "description": "The request's trace id."}
                }
            }
        }
    })
}

pub(super) fn event_type_schema() -> Value {
    json!({
        "type": "object",
        "description": "An event key Tollgate writes into audit records.",
        "required": ["id", "key", "name", "description"],
        "properties": {
            "id": {"type": "string", "pattern": "^AET-[0-9]{4}-[0-9]{4}$", "description": "Fixed by the migration that adds the type: the same on every instance."},
            "key": {"type": "string", "example": "platform.accounts.api-token.disabled"},
            "name": {"type": "string"},
            "description": {"type": "string"}
        }
    })
}

pub(super) fn token_snapshot_schema() -> Value {
    json!({
        "type": "object",
        "description": "The token as it was after the event. It holds no secret material.",
        "required": ["id", "name", "status", "account", "modules", "hasIcon", "revision"],
        "properties": {
            "id": {"type": "string", "pattern": TOKEN_ID},
            "name": {"type": "string"},
            "description": {"type": "string", "description": "Omitted when empty."},
            "status": {"type": "string", "enum": ["Active", "Disabled", "Deleted"]},
            "account": {
                "type": "object",
                "required": ["id"],
                "properties": {"id": {"type": "string", "pattern": ACCOUNT_ID}}
            },
            "modules": {"type": "array", "items": schema("ModuleRef")},
            "hasIcon": {"type": "boolean"},
            "revision": {"type": "integer", "format": "int64", "minimum": 1}
        }
    })
}

const RQL_AUDIT: &str = concat!(
    "Lists the audit records of the caller's account, deleted tokens' included (Operations ",
    "callers holding platform-account-management: every account's). Needs `access-management` ",
    "or `audit`. Newest first by default.\n\n",
    "**Filter (RQL).** The filter is a raw query-string term, not a `name=value` parameter, e.g. ",
    "`GET /public/v1/audit/records?and(eq(object.id,TKN-1234-5678),ge(timestamp,2026-11-01T00:00:00.000Z))&limit=20`. ",
    "OpenAPI cannot model such a term exactly, so it is described here rather than as a ",
    "parameter. Operators: `eq ne gt ge lt le like ilike in out and or not any`, `empty()`, ",
    "`null()`; values bare, quoted or percent-encoded; `key=value` is a shortcut for ",
    "`eq(key,value)`. Filterable fields: `id`, `event`, `object.id`, `actor.id`, `timestamp`. ",
    "An unknown field or bad syntax is a 400 naming the problem.\n\n",
    "The query string is split on `&` and each term percent-decoded once; `+` is a literal plus."
);

pub(super) fn list_audit_records() -> Value {
    Op {
        id: "listAuditRecords",
        tag: "Audit",
        summary: "List audit records",
        description: RQL_AUDIT,
        parameters: vec![
            parameter("Limit"),
            parameter("Offset"),
            parameter("AuditOrder"),
            parameter("AuditSelect"),
        ],
        body: None,
        responses: with(
            vec![("200", ok("A page of audit records.", "AuditRecordList"))],
            errors(&["400", "401", "403", "429", "503"]),
        ),
        public: false,
    }
    .build()
}

pub(super) fn read_audit_record() -> Value {
    Op {
        id: "getAuditRecord",
        tag: "Audit",
        summary: "Read an audit record",
        description: "One record of the caller's account (Operations callers holding platform-account-management: any). 404 if not visible.",
        parameters: vec![parameter("AuditSelect")],
        body: None,
        responses: with(
            vec![("200", ok("The record.", "AuditRecord"))],
            errors(&["401", "403", "404", "429", "503"]),
        ),
        public: false,
    }
    .build()
}

pub(super) fn list_event_types() -> Value {
    Op {
        id: "listAuditEventTypes",
        tag: "Audit",
        summary: "List audit event types",
        description: "The event keys Tollgate writes. RQL on `id`, `key` and `name`; needs what reading records needs.",
        parameters: vec![parameter("Limit"), parameter("Offset")],
        body: None,
        responses: with(
            vec![("200", ok("A page of event types.", "EventTypeList"))],
            errors(&["400", "401", "403", "429", "503"]),
        ),
        public: false,
    }
    .build()
}

pub(super) fn read_event_type() -> Value {
    Op {
        id: "getAuditEventType",
        tag: "Audit",
        summary: "Read an audit event type",
        description: "One event type by its fixed id.",
        parameters: Vec::new(),
        body: None,
        responses: with(
            vec![("200", ok("The event type.", "EventType"))],
            errors(&["401", "403", "404", "429", "503"]),
        ),
        public: false,
    }
    .build()
}
