//! The shared parameters, headers and responses of `components`.

use serde_json::{Value, json};

use super::{AUDIT_ID, TOKEN_ID, header, object, schema};

pub(super) fn parameters() -> Value {
    object([
        ("TokenId", token_id_parameter()),
        ("AuditRecordId", audit_record_id_parameter()),
        ("Limit", limit_parameter()),
        ("Offset", offset_parameter()),
        ("TokenOrder", token_order_parameter()),
        ("TokenListSelect", token_list_select_parameter()),
        ("TokenSelect", token_select_parameter()),
        ("AuditOrder", audit_order_parameter()),
        ("AuditSelect", audit_select_parameter()),
        ("ModuleId", module_id_parameter()),
        ("EventTypeId", event_type_id_parameter()),
    ])
}

fn token_id_parameter() -> Value {
    json!({
        "name": "id",
        "in": "path",
        "required": true,
        "description": "The token's id. A malformed id is simply not found (404).",
        "schema": {"type": "string", "pattern": TOKEN_ID},
        "example": "TKN-1234-5678"
    })
}

fn audit_record_id_parameter() -> Value {
    json!({
        "name": "id",
        "in": "path",
        "required": true,
        "description": "The record's id.",
        "schema": {"type": "string", "pattern": AUDIT_ID},
        "example": "AUD-1234-5678-9012-3456"
    })
}

fn limit_parameter() -> Value {
    json!({
        "name": "limit",
        "in": "query",
        "required": false,
        "description": "Page size: default 10, at most 100 (a larger value is capped); `0` returns only the total.",
        "schema": {"type": "integer", "minimum": 0, "default": 10}
    })
}

fn offset_parameter() -> Value {
    json!({
        "name": "offset",
        "in": "query",
        "required": false,
        "description": "Rows to skip.",
        "schema": {"type": "integer", "format": "int64", "minimum": 0, "default": 0}
    })
}

fn token_order_parameter() -> Value {
    json!({
        "name": "order",
        "in": "query",
        "required": false,
        "description": concat!(
            "Comma-separated fields, each with `+` (ascending, a literal plus) or `-` ",
            "(descending): `id`, `name` (case-insensitive), `description`, `status`, ",
            "`account.id`, `lastAccessAt`, `audit.created.at`, `audit.created.by.id`. Default ",
            "`-audit.created.at`; `id` always breaks ties, so pages never overlap."
        ),
        "allowReserved": true,
        "schema": {"type": "string"},
        "example": "-audit.created.at,+name"
    })
}

fn token_list_select_parameter() -> Value {
    json!({
        "name": "select",
        "in": "query",
        "required": false,
        "description": concat!(
            "`+audit` adds each token's `audit` object, `-modules` leaves out `modules` (a bare ",
            "name means `+name`). `+token` is refused on a list (400)."
        ),
        "allowReserved": true,
        "schema": {"type": "string"},
        "example": "+audit,-modules"
    })
}

fn token_select_parameter() -> Value {
    json!({
        "name": "select",
        "in": "query",
        "required": false,
        "description": concat!(
            "`+audit` adds the `audit` object, `-modules` leaves out `modules`, `+token` reveals ",
            "the value: allowed to account administrators (people, never tokens), audited, and ",
            "a 409 when the token was created with `TOLLGATE_REVEAL=never`. A bare name means ",
            "`+name`."
        ),
        "allowReserved": true,
        "schema": {"type": "string"},
        "example": "+audit"
    })
}

fn audit_select_parameter() -> Value {
    json!({
        "name": "select",
        "in": "query",
        "required": false,
        "description": concat!(
            "`-name` leaves a field out (`-documents`, `-request.api.userAgent`); `+name` or a ",
            "bare name asks for one, and every field Tollgate keeps is shown anyway. The ",
            "platform's names for fields Tollgate does not keep (`request.api.geolocation`, …) ",
            "are accepted and stay absent; docs/API.md lists every accepted name. Any other → 400."
        ),
        "allowReserved": true,
        "schema": {"type": "string"},
        "example": "object,actor,details,documents,request.api.geolocation"
    })
}

fn module_id_parameter() -> Value {
    json!({
        "name": "id",
        "in": "path",
        "required": true,
        "description": "The module's id. A malformed or invisible one is simply not found (404).",
        "schema": {"type": "string", "pattern": "^MOD-[0-9]{4}$"},
        "example": "MOD-1104"
    })
}

fn event_type_id_parameter() -> Value {
    json!({
        "name": "id",
        "in": "path",
        "required": true,
        "description": "The event type's id.",
        "schema": {"type": "string", "pattern": "^AET-[0-9]{4}-[0-9]{4}$"},
        "example": "AET-4127-0381"
    })
}

fn audit_order_parameter() -> Value {
    json!({
        "name": "order",
        "in": "query",
        "required": false,
        "description": "`timestamp` or `id`, with `+` (ascending, a literal plus) or `-` (descending). Default `-timestamp` (newest first); `id` always breaks ties.",
        "allowReserved": true,
        "schema": {"type": "string"},
        "example": "-timestamp"
    })
}

pub(super) fn headers() -> Value {
    json!({
        "CacheControlNoStore": {
            "description": "`no-store`: no cache may keep the response (it may carry a token value).",
            "schema": {"type": "string", "enum": ["no-store"]}
        },
        "XRequestId": {
            "description": "The request's trace id (an incoming W3C `traceparent` is honoured).",
            "schema": {"type": "string"}
        },
        "WwwAuthenticate": {
            "description": "`Bearer`.",
            "schema": {"type": "string", "enum": ["Bearer"]}
        },
        "Location": {
            "description": "The new token's path.",
            "schema": {"type": "string"}
        }
    })
}

/// The headers of every JSON answer.
pub(super) fn json_headers() -> Value {
    json!({
        "Cache-Control": header("CacheControlNoStore"),
        "X-Request-Id": header("XRequestId")
    })
}

/// A problem response with `description`.
pub(super) fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "headers": json_headers(),
        "content": {"application/problem+json": {"schema": schema("Problem")}}
    })
}

pub(super) fn responses() -> Value {
    let mut unauthorized = problem(concat!(
        "Unauthorized: the credential is missing, malformed, unknown, wrong, disabled or ",
        "deleted (the body does not say which)."
    ));
    if let Some(headers) = unauthorized
        .get_mut("headers")
        .and_then(Value::as_object_mut)
    {
        headers.insert("WWW-Authenticate".to_owned(), header("WwwAuthenticate"));
    }
    object([
        (
            "BadRequest",
            problem(concat!(
                "Bad request: a validation failure (`errors` names the fields), malformed JSON, ",
                "an unknown field, or a bad query string."
            )),
        ),
        ("Unauthorized", unauthorized),
        (
            "Forbidden",
            problem(concat!(
                "Forbidden: the caller's scope does not allow this (a token without the needed ",
                "module, another account, privilege escalation), or the request came over plain ",
                "HTTP (\"HTTPS required\")."
            )),
        ),
        (
            "HttpsRequired",
            problem(
                "HTTPS required: the request came over plain HTTP and not from a trusted proxy.",
            ),
        ),
        (
            "NotFound",
            problem("Not found, or not visible to the caller."),
        ),
        (
            "RequestTimeout",
            problem(concat!(
                "Request timeout: the body did not arrive within the server's body timeout ",
                "(`TOLLGATE_BODY_TIMEOUT`, 10 s by default)."
            )),
        ),
        (
            "MethodNotAllowed",
            problem("Method not allowed: the path exists but does not support this method."),
        ),
        (
            "Conflict",
            problem(
                "Conflict: the token's state or revision does not allow the change; nothing changed.",
            ),
        ),
        (
            "PayloadTooLarge",
            problem("Payload too large: JSON bodies are at most 64 KB, icons at most 5 MB."),
        ),
        (
            "UnsupportedMediaType",
            problem("Unsupported media type: JSON bodies need `Content-Type: application/json`."),
        ),
        (
            "TooManyRequests",
            problem("Too many failed attempts; retry later."),
        ),
        (
            "ServiceUnavailable",
            problem("Service unavailable: the database cannot be reached."),
        ),
    ])
}
