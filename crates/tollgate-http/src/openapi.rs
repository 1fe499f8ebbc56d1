//! The OpenAPI 3.0.3 document of the REST API (SPEC §3–§6), served at
//! `/public/v1/openapi.json`.
//!
//! Written by hand with `serde_json::json!`, one small function per schema, parameter, response
//! and path so no macro call grows deep. The shapes follow `dto.rs`, `error.rs`, the handlers and
//! `tollgate_audit::AuditRecord`; the tests check that every route is present with exactly its
//! methods and that every `$ref` resolves.

use serde_json::{Map, Value, json};

const TOKEN_ID: &str = "^TKN-[0-9]{4}-[0-9]{4}$";
const ACCOUNT_ID: &str = "^ACC-[0-9]{4}-[0-9]{4}$";
const MODULE_ID: &str = "^MOD-[0-9]{4}$";
const AUDIT_ID: &str = "^AUD-[0-9]{4}-[0-9]{4}-[0-9]{4}-[0-9]{4}$";
const PRINCIPAL_ID: &str = "^(USR-[0-9]{4}-[0-9]{4}|TKN-[0-9]{4}-[0-9]{4}|SYSTEM)$";
const TOKEN_VALUE: &str = "^idt:TKN-[0-9]{4}-[0-9]{4}:[0-9A-Za-z]{64}$";

/// The whole document.
pub fn document() -> Value {
    object([
        ("openapi", json!("3.0.3")),
        ("info", info()),
        ("servers", json!([{"url": "/"}])),
        ("security", json!([{"bearerAuth": []}])),
        ("tags", tags()),
        ("paths", paths()),
        ("components", components()),
    ])
}

/// An object from its entries, in order (later entries replace earlier ones with the same key).
fn object<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Object(
        entries
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect(),
    )
}

fn reference(kind: &str, name: &str) -> Value {
    json!({"$ref": format!("#/components/{kind}/{name}")})
}

fn schema(name: &str) -> Value {
    reference("schemas", name)
}

fn parameter(name: &str) -> Value {
    reference("parameters", name)
}

fn header(name: &str) -> Value {
    reference("headers", name)
}

fn response(name: &str) -> Value {
    reference("responses", name)
}

// ---------------------------------------------------------------------------------------------
// Info and tags
// ---------------------------------------------------------------------------------------------

fn info() -> Value {
    json!({
        "title": "Tollgate",
        "version": "1",
        "description": concat!(
            "Tollgate's REST API: API tokens of a B2B marketplace platform, their module scopes ",
            "and their audit trail.\n\n",
            "**Conventions.** JSON (`application/json`); timestamps are UTC ",
            "`YYYY-MM-DDTHH:mm:ss.sssZ`; null or empty fields are omitted; unknown request ",
            "fields are refused (400). Every response carries its trace id in `X-Request-Id` ",
            "(an incoming W3C `traceparent` is honoured). The REST API is served over HTTPS ",
            "only: a request over plain HTTP is refused with 403 \"HTTPS required\" before any ",
            "credential is looked at.\n\n",
            "**Authentication.** Every `/public/v1/` request except this document carries ",
            "`Authorization: Bearer <value>`, the value being ",
            "`idt:TKN-dddd-dddd:<64 characters [0-9A-Za-z]>`. A missing, malformed, unknown, ",
            "wrong, disabled or deleted credential is a 401 with `WWW-Authenticate: Bearer` that ",
            "does not say which.\n\n",
            "**Errors** are RFC 7807 problem details (`application/problem+json`, schema ",
            "`Problem`), except the bare 400/431 the HTTP codec raises before routing. A known ",
            "path called with a method it does not support answers 405 (problem ",
            "`urn:tollgate:error:method-not-allowed`); an unknown path answers 404.\n\n",
            "**Query strings** are split on `&` and each term is percent-decoded once; `+` is a ",
            "literal plus, so `order=+name` means ascending."
        )
    })
}

fn tags() -> Value {
    json!([
        {"name": "API tokens", "description": "Create, list, read, reveal, edit, enable, disable and delete API tokens."},
        {"name": "Icons", "description": "A token's icon: PNG or JPEG, at most 5 MB, checked by content."},
        {"name": "Modules", "description": "The permission scopes a token can hold."},
        {"name": "Audit", "description": "The immutable audit trail of API tokens."},
        {"name": "Operations", "description": "Health, readiness, metrics and this document."}
    ])
}

// ---------------------------------------------------------------------------------------------
// Components
// ---------------------------------------------------------------------------------------------

fn components() -> Value {
    object([
        ("securitySchemes", security_schemes()),
        ("schemas", schemas()),
        ("parameters", parameters()),
        ("headers", headers()),
        ("responses", responses()),
    ])
}

fn security_schemes() -> Value {
    json!({
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "idt:TKN-dddd-dddd:<64 chars>",
            "description": concat!(
                "An API token value: `idt:TKN-dddd-dddd:<64 characters [0-9A-Za-z]>` ",
                "(regular expression `^idt:TKN-[0-9]{4}-[0-9]{4}:[0-9A-Za-z]{64}$`). The last 6 ",
                "characters are a base62 CRC-32 checksum of the rest, so mistyped values are ",
                "refused before any lookup. Only Active tokens of Active accounts authenticate."
            )
        }
    })
}

fn schemas() -> Value {
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

fn introspect_request_schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["token"],
        "properties": {
            "token": {"type": "string", "description": "The value to introspect."},
            "method": {"type": "string", "description": "The HTTP method of the request it is for (informational)."},
            "path": {"type": "string", "description": "The request path it is for, e.g. /public/v1/commerce/orders; `allowed` answers whether the token's modules grant it."}
        }
    })
}

fn introspection_schema() -> Value {
    json!({
        "type": "object",
        "required": ["active"],
        "properties": {
            "active": {"type": "boolean", "description": "False for an unknown, malformed, wrong, disabled or deleted token, or one of a disabled account; nothing else is said then."},
            "tokenId": {"type": "string"},
            "accountId": {"type": "string"},
            "accountType": {"type": "string", "enum": ["Client", "Vendor", "Operations"]},
            "modules": {"type": "array", "items": {"type": "string"}, "description": "Module codes."},
            "allowed": {"type": "boolean", "description": "Present when a path was given."}
        }
    })
}

fn authorize() -> Value {
    Op {
        id: "authorize",
        tag: "Gateway",
        summary: "Forward-auth decision",
        description: concat!(
            "For reverse proxies (nginx `auth_request`, Envoy ext_authz, Traefik ForwardAuth). Reads ",
            "`Authorization`, `X-Forwarded-Method`, `X-Forwarded-Uri` (or `X-Original-URI`) and ",
            "`X-Forwarded-Proto`. The path is normalised (percent-decoding, dot segments, repeated ",
            "slashes, query dropped) and matched against the module catalog on whole segments; a ",
            "path another server could read differently (a `;`, an encoded `/`, a `\\`, an encoded ",
            "`%`, `?` or `#`, a dot segment only after decoding, a segment ending in a dot, a ",
            "repeated slash before `..`, control characters, invalid or overlong UTF-8) is refused ",
            "first. Answers only 200, 401 or 403: 200 with `X-Tollgate-Token-Id`, ",
            "`X-Tollgate-Account-Id`, `X-Tollgate-Account-Type`, `X-Tollgate-Modules`; 401 for any ",
            "credential problem; 403 for a path no module of the token grants, a missing forwarded ",
            "header, or `X-Forwarded-Proto: http`. Any HTTP method is accepted (gateways may forward ",
            "the original one)."
        ),
        parameters: Vec::new(),
        body: None,
        responses: vec![
            ("200", json!({
                "description": "Allowed.",
                "headers": {
                    "X-Tollgate-Token-Id": {"schema": {"type": "string"}},
                    "X-Tollgate-Account-Id": {"schema": {"type": "string"}},
                    "X-Tollgate-Account-Type": {"schema": {"type": "string"}},
                    "X-Tollgate-Modules": {"schema": {"type": "string"}, "description": "Comma-separated module codes."}
                }
            })),
            ("401", response("Unauthorized")),
            ("403", response("Forbidden")),
        ],
        public: false,
    }
    .build()
}

/// `/v1/authorize/{path}`: one operation per method, all the same decision.
fn authorize_path(method: &str) -> Value {
    let id = format!("authorizePath{method}");
    Op {
        id: &id,
        tag: "Gateway",
        summary: "Forward-auth decision, the path in the request line",
        description: concat!(
            "The shape Envoy's HTTP ext_authz sends with `path_prefix: /v1/authorize`: any method, ",
            "and the request line's method and raw path (after `/v1/authorize`, query included) are ",
            "the forwarded ones; `X-Forwarded-Uri` and `X-Original-URI` are not read. The body is ",
            "never read (no 413 or 415 whatever it holds). Reads `Authorization` and ",
            "`X-Forwarded-Proto`; the path is normalised and refused or matched exactly as for ",
            "`/v1/authorize`. Answers only 200, 401 or 403."
        ),
        parameters: vec![json!({
            "name": "path",
            "in": "path",
            "required": true,
            "description": "The original request path, slashes included, e.g. `public/v1/commerce/orders`.",
            "schema": {"type": "string"}
        })],
        body: None,
        responses: vec![
            ("200", json!({
                "description": "Allowed.",
                "headers": {
                    "X-Tollgate-Token-Id": {"schema": {"type": "string"}},
                    "X-Tollgate-Account-Id": {"schema": {"type": "string"}},
                    "X-Tollgate-Account-Type": {"schema": {"type": "string"}},
                    "X-Tollgate-Modules": {"schema": {"type": "string"}, "description": "Comma-separated module codes."}
                }
            })),
            ("401", response("Unauthorized")),
            ("403", response("Forbidden")),
        ],
        public: false,
    }
    .build()
}

fn introspect() -> Value {
    Op {
        id: "introspect",
        tag: "Gateway",
        summary: "Introspect a token",
        description: "The caller authenticates with its own active API token. Tells whether `token` is active, its account and modules, and whether they grant `path`.",
        parameters: Vec::new(),
        body: Some(json_body("IntrospectRequest", true, "The token to introspect.")),
        responses: with(
            vec![("200", ok("The introspection.", "Introspection"))],
            errors(&["400", "401", "408", "413", "415", "429", "503"]),
        ),
        public: false,
    }
    .build()
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

fn token_value_schema() -> Value {
    json!({
        "type": "string",
        "pattern": TOKEN_VALUE,
        "description": concat!(
            "The secret value. Present only in the create response, when an account ",
            "administrator asks for one token with `select=+token` (an audited reveal), and when ",
            "a token reads itself (the presented value is echoed). Such responses carry ",
            "`Cache-Control: no-store`."
        ),
        "example": "idt:TKN-1234-5678:abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789AB"
    })
}

fn token_schema() -> Value {
    let properties = object([
        (
            "id",
            json!({"type": "string", "pattern": TOKEN_ID, "example": "TKN-1234-5678"}),
        ),
        (
            "name",
            json!({"type": "string", "minLength": 1, "maxLength": 200, "example": "CRM robot"}),
        ),
        (
            "description",
            json!({"type": "string", "maxLength": 2000, "description": "Omitted when empty.", "example": "Syncs orders"}),
        ),
        (
            "icon",
            json!({
                "type": "string",
                "description": "The icon's path (`/public/v1/accounts/api-tokens/{id}/icon`); omitted when the token has none.",
                "example": "/public/v1/accounts/api-tokens/TKN-1234-5678/icon"
            }),
        ),
        (
            "status",
            json!({
                "type": "string",
                "enum": ["Active", "Disabled", "Deleted", "Expired"],
                "description": "`Expired` is derived (turn 2): stored Active, and now ≥ `expiresAt`."
            }),
        ),
        ("account", schema("TokenAccount")),
        (
            "expiresAt",
            json!({"allOf": [schema("Timestamp")], "description": "When it stops authenticating; omitted: never."}),
        ),
        (
            "selfRotate",
            json!({"type": "boolean", "description": "May the token rotate itself (`…/rotate` with its own value)."}),
        ),
        (
            "previousValueExpiresAt",
            json!({"allOf": [schema("Timestamp")], "description": "Until when the value before the latest rotation still works; omitted when it does not."}),
        ),
        (
            "compromised",
            json!({"type": "boolean", "description": "Present (true) when a value was reported leaked and the token has not been rotated since; it cannot be enabled until then."}),
        ),
        (
            "modules",
            json!({
                "type": "array",
                "items": schema("ModuleRef"),
                "description": "The token's scope; omitted with `select=-modules`."
            }),
        ),
        (
            "lastAccessAt",
            json!({
                "allOf": [schema("Timestamp")],
                "description": "The latest authenticated use (approximate, seconds); omitted when never used."
            }),
        ),
        (
            "revision",
            json!({
                "type": "integer",
                "format": "int64",
                "minimum": 1,
                "description": "Incremented by every change; send it back in PUT to detect concurrent edits (409)."
            }),
        ),
        ("audit", schema("TokenAudit")),
        ("token", schema("TokenValue")),
        ("$meta", schema("ObjectMeta")),
    ]);
    json!({
        "type": "object",
        "description": "An API token.",
        "required": ["id", "name", "status", "account", "revision"],
        "properties": properties
    })
}

fn token_account_schema() -> Value {
    json!({
        "type": "object",
        "description": "The account owning the token.",
        "required": ["id", "name", "type", "status"],
        "properties": {
            "id": {"type": "string", "pattern": ACCOUNT_ID, "example": "ACC-1234-5678"},
            "name": {"type": "string", "example": "Acme"},
            "type": {"type": "string", "enum": ["Client", "Vendor", "Operations"]},
            "status": {"type": "string", "enum": ["Active", "Disabled"]}
        }
    })
}

fn module_ref_schema() -> Value {
    json!({
        "type": "object",
        "description": "A module as a token (or a snapshot) shows it.",
        "required": ["id"],
        "properties": {
            "id": {"type": "string", "pattern": MODULE_ID, "example": "MOD-1756"},
            "code": {"type": "string", "example": "access-management"},
            "name": {"type": "string", "example": "Access Management"}
        }
    })
}

fn token_audit_schema() -> Value {
    json!({
        "type": "object",
        "description": "The token's latest lifecycle events; present only with `select=+audit`.",
        "required": ["created"],
        "properties": {
            "created": schema("Stamp"),
            "updated": schema("Stamp"),
            "enabled": schema("Stamp"),
            "disabled": schema("Stamp"),
            "deleted": schema("Stamp")
        }
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

fn module_schema() -> Value {
    json!({
        "type": "object",
        "description": "A catalog module: a permission scope over a part of the REST API.",
        "required": ["id", "code", "name", "accountTypes"],
        "properties": {
            "id": {"type": "string", "pattern": MODULE_ID, "example": "MOD-1756"},
            "code": {"type": "string", "description": "Stable, kebab-case.", "example": "access-management"},
            "name": {"type": "string", "example": "Access Management"},
            "description": {"type": "string", "description": "Omitted when empty."},
            "accountTypes": {
                "type": "array",
                "description": "The account types that may use the module.",
                "items": {"type": "string", "enum": ["Client", "Vendor", "Operations"]}
            },
            "paths": {
                "type": "array",
                "description": "The path prefixes under `/public/v1/` the module grants; omitted when none.",
                "items": {"type": "string"},
                "example": ["accounts/api-tokens/", "accounts/modules/"]
            }
        }
    })
}

fn audit_record_schema() -> Value {
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

fn audit_actor_schema() -> Value {
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

fn audit_account_schema() -> Value {
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

fn audit_request_schema() -> Value {
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

fn event_type_schema() -> Value {
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

fn token_snapshot_schema() -> Value {
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

fn name_property() -> Value {
    json!({
        "type": "string",
        "minLength": 1,
        "maxLength": 200,
        "description": "1–200 characters of letters, digits, spaces and `- . ' \"`; surrounding spaces are trimmed.",
        "example": "CRM robot"
    })
}

fn description_property() -> Value {
    json!({
        "type": "string",
        "maxLength": 2000,
        "description": "At most 2000 characters; no control characters other than line breaks and tabs.",
        "example": "Syncs orders"
    })
}

fn modules_property() -> Value {
    json!({
        "type": "array",
        "minItems": 1,
        "items": schema("IdRef"),
        "description": concat!(
            "At least one. Each module must exist, be allowed for the account's type and be ",
            "enabled for the account (400 naming it); a token caller may grant only modules it ",
            "holds itself (403)."
        ),
        "example": [{"id": "MOD-1756"}]
    })
}

fn create_token_schema() -> Value {
    json!({
        "type": "object",
        "description": "The body of `POST /public/v1/accounts/api-tokens`. Unknown fields are refused (400).",
        "required": ["name", "modules"],
        "additionalProperties": false,
        "properties": {
            "name": name_property(),
            "description": description_property(),
            "modules": modules_property(),
            "account": {
                "allOf": [schema("IdRef")],
                "description": concat!(
                    "The owning account: the caller's own (the default), or any account for ",
                    "Operations callers holding platform-account-management (another account ",
                    "otherwise: 403)."
                )
            },
            "icon": {
                "type": "string",
                "maxLength": 0,
                "description": "`\"\"` or absent: icons are uploaded with `PUT …/api-tokens/{id}/icon`."
            },
            "expiresAt": {
                "type": "string",
                "format": "date-time",
                "description": "When it stops authenticating: in the future and within the account's lifetime policy (required when the policy says so)."
            },
            "selfRotate": {"type": "boolean", "description": "May it rotate itself (default false)."}
        }
    })
}

fn update_token_schema() -> Value {
    let ignored =
        json!({"description": "Read-only; sent back by clients and ignored.", "nullable": true});
    let properties = object([
        ("name", name_property()),
        ("description", description_property()),
        ("modules", modules_property()),
        (
            "revision",
            json!({
                "type": "integer",
                "format": "int64",
                "minimum": 1,
                "description": "The revision the client read; a stale one is a 409 and nothing changes."
            }),
        ),
        (
            "id",
            json!({"type": "string", "description": "Echo only: a different value is a 400."}),
        ),
        (
            "account",
            json!({"allOf": [schema("IdRef")], "description": "Echo only: a different id is a 400."}),
        ),
        (
            "status",
            json!({
                "type": "string",
                "description": "Echo only: a different value is a 400 (use `…/enable`, `…/disable` or DELETE)."
            }),
        ),
        (
            "icon",
            json!({
                "type": "string",
                "description": "Echo only: a different value is a 400 (use PUT or DELETE `…/icon`)."
            }),
        ),
        (
            "expiresAt",
            json!({"type": ["string", "null"], "format": "date-time", "description": "A new expiry (in the future, within the account's policy); `null` clears it."}),
        ),
        ("selfRotate", json!({"type": "boolean"})),
        ("lastAccessAt", ignored.clone()),
        ("previousValueExpiresAt", ignored.clone()),
        ("compromised", ignored.clone()),
        ("audit", ignored.clone()),
        ("$meta", ignored),
    ]);
    json!({
        "type": "object",
        "description": concat!(
            "The body of `PUT /public/v1/accounts/api-tokens/{id}`: a partial update. Only ",
            "`name`, `description` and `modules` change; read-only fields may be echoed back ",
            "unchanged. Unknown fields are refused (400). A request that changes nothing returns ",
            "200 without a new revision."
        ),
        "additionalProperties": false,
        "properties": properties
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

fn parameters() -> Value {
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

fn headers() -> Value {
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
fn json_headers() -> Value {
    json!({
        "Cache-Control": header("CacheControlNoStore"),
        "X-Request-Id": header("XRequestId")
    })
}

/// A problem response with `description`.
fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "headers": json_headers(),
        "content": {"application/problem+json": {"schema": schema("Problem")}}
    })
}

fn responses() -> Value {
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

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

/// What one operation is.
struct Op<'a> {
    id: &'a str,
    tag: &'a str,
    summary: &'a str,
    description: &'a str,
    parameters: Vec<Value>,
    body: Option<Value>,
    /// Status code → response (a `$ref` or an inline response).
    responses: Vec<(&'a str, Value)>,
    /// No credential needed.
    public: bool,
}

impl Op<'_> {
    fn build(self) -> Value {
        let mut op = Map::new();
        op.insert("operationId".to_owned(), json!(self.id));
        op.insert("tags".to_owned(), json!([self.tag]));
        op.insert("summary".to_owned(), json!(self.summary));
        if !self.description.is_empty() {
            op.insert("description".to_owned(), json!(self.description));
        }
        if !self.parameters.is_empty() {
            op.insert("parameters".to_owned(), Value::Array(self.parameters));
        }
        if let Some(body) = self.body {
            op.insert("requestBody".to_owned(), body);
        }
        let responses: Map<String, Value> = self
            .responses
            .into_iter()
            .map(|(code, response)| (code.to_owned(), response))
            .collect();
        op.insert("responses".to_owned(), Value::Object(responses));
        if self.public {
            op.insert("security".to_owned(), json!([]));
        }
        Value::Object(op)
    }
}

/// The error responses of an authenticated operation, by status code.
fn errors<'a>(codes: &[&'a str]) -> Vec<(&'a str, Value)> {
    codes
        .iter()
        .map(|code| {
            let name = match *code {
                "400" => "BadRequest",
                "401" => "Unauthorized",
                "403" => "Forbidden",
                "404" => "NotFound",
                "405" => "MethodNotAllowed",
                "408" => "RequestTimeout",
                "409" => "Conflict",
                "413" => "PayloadTooLarge",
                "415" => "UnsupportedMediaType",
                "429" => "TooManyRequests",
                _ => "ServiceUnavailable",
            };
            (*code, response(name))
        })
        .collect()
}

/// A JSON success response.
fn ok(description: &str, body: &str) -> Value {
    json!({
        "description": description,
        "headers": json_headers(),
        "content": {"application/json": {"schema": schema(body)}}
    })
}

fn with<'a>(
    mut first: Vec<(&'a str, Value)>,
    rest: Vec<(&'a str, Value)>,
) -> Vec<(&'a str, Value)> {
    first.extend(rest);
    first
}

fn json_body(schema_name: &str, required: bool, description: &str) -> Value {
    json!({
        "required": required,
        "description": description,
        "content": {"application/json": {"schema": schema(schema_name)}}
    })
}

const RQL_TOKENS: &str = concat!(
    "Lists the API tokens the caller may see: its own account's (Operations callers holding ",
    "platform-account-management: every account's, deleted tokens included). Newest first by ",
    "default.\n\n",
    "**Filter (RQL).** The filter is a raw query-string term, not a `name=value` parameter, e.g. ",
    "`GET /public/v1/accounts/api-tokens?and(eq(status,'Active'),ilike(name,'*bot*'))&limit=20`. ",
    "OpenAPI cannot model such a term exactly, so it is described here rather than as a ",
    "parameter. Operators: `eq ne gt ge lt le like ilike in out and or not any`, `empty()`, ",
    "`null()`; values bare, `'single'` or `\"double\"` quoted, percent-encoded or not; `*` is the ",
    "wildcard of `like` (case-sensitive) and `ilike` (case-insensitive); `key=value` is a ",
    "shortcut for `eq(key,value)`. Filterable fields: `id`, `name`, `description`, `status`, ",
    "`account.id`, `modules.id` (or `any(modules,eq(id,MOD-…))`), `lastAccessAt`, ",
    "`audit.created.at`, `audit.created.by.id`. An unknown field or bad syntax is a 400 naming ",
    "the problem.\n\n",
    "The query string is split on `&` and each term percent-decoded once; `+` is a literal plus."
);

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

fn list_tokens() -> Value {
    Op {
        id: "listApiTokens",
        tag: "API tokens",
        summary: "List API tokens",
        description: RQL_TOKENS,
        parameters: vec![
            parameter("Limit"),
            parameter("Offset"),
            parameter("TokenOrder"),
            parameter("TokenListSelect"),
        ],
        body: None,
        responses: with(
            vec![(
                "200",
                ok("A page of tokens (never with values).", "TokenList"),
            )],
            errors(&["400", "401", "403", "429", "503"]),
        ),
        public: false,
    }
    .build()
}

fn create_token() -> Value {
    let created = json!({
        "description": "Created. The body carries the value in `token`; it is shown here once (and again only through an audited reveal).",
        "headers": {
            "Cache-Control": header("CacheControlNoStore"),
            "X-Request-Id": header("XRequestId"),
            "Location": header("Location")
        },
        "content": {"application/json": {"schema": schema("Token")}}
    });
    Op {
        id: "createApiToken",
        tag: "API tokens",
        summary: "Create an API token",
        description: concat!(
            "Creates an Active token (revision 1) in the caller's account, or in `account.id` for ",
            "Operations callers holding platform-account-management. Validation failures are 400; ",
            "then a token caller may grant only modules it holds itself (403). Bodies over 64 KB ",
            "are 413."
        ),
        parameters: Vec::new(),
        body: Some(json_body("CreateToken", true, "The new token.")),
        responses: with(
            vec![("201", created)],
            errors(&["400", "401", "403", "408", "413", "415", "429", "503"]),
        ),
        public: false,
    }
    .build()
}

fn read_token() -> Value {
    let conflict = problem(concat!(
        "Conflict: `select=+token` on a token whose value cannot be shown again (created with ",
        "`TOLLGATE_REVEAL=never`)."
    ));
    Op {
        id: "getApiToken",
        tag: "API tokens",
        summary: "Read an API token",
        description: concat!(
            "Reads one token. Any valid token may read its own record (\"who am I\"); the ",
            "response then echoes the presented value as `token` (nothing is decrypted, no ",
            "reveal record). `select=+token` reveals the value to an account administrator and ",
            "writes a `revealed` audit record. Client and Vendor callers get 404 for deleted ",
            "tokens."
        ),
        parameters: vec![parameter("TokenSelect")],
        body: None,
        responses: with(
            with(
                vec![(
                    "200",
                    ok(
                        "The token (with `token` when revealed or read by itself).",
                        "Token",
                    ),
                )],
                errors(&["400", "401", "403", "404"]),
            ),
            with(vec![("409", conflict)], errors(&["429", "503"])),
        ),
        public: false,
    }
    .build()
}

fn update_token() -> Value {
    let conflict = problem(concat!(
        "Conflict: `revision` is stale (the token changed since it was read), or the token is ",
        "deleted (as seen by Operations callers holding platform-account-management). Nothing ",
        "changed."
    ));
    Op {
        id: "updateApiToken",
        tag: "API tokens",
        summary: "Edit an API token",
        description: concat!(
            "A partial update of `name`, `description` and `modules`. Fields read earlier ",
            "(`id`, `account`, `status`, `icon`, `lastAccessAt`, `audit`, `$meta`) may be sent back ",
            "unchanged; a different `id`, `account`, `status` or `icon` is a 400. A token caller ",
            "may only leave the token with modules it holds itself (403). A request that changes ",
            "nothing returns 200 without a new revision or audit record."
        ),
        parameters: Vec::new(),
        body: Some(json_body("UpdateToken", true, "The fields to change.")),
        responses: with(
            with(
                vec![("200", ok("The token as it is now.", "Token"))],
                errors(&["400", "401", "403", "404"]),
            ),
            with(vec![("409", conflict)], errors(&["408", "413", "415", "429", "503"])),
        ),
        public: false,
    }
    .build()
}

fn delete_token() -> Value {
    let deleted = json!({
        "description": "Deleted (a soft delete: the token stops authenticating; its records stay).",
        "headers": json_headers()
    });
    let conflict = problem(concat!(
        "Conflict: the token is already deleted (as seen by Operations callers holding ",
        "platform-account-management; others get 404)."
    ));
    Op {
        id: "deleteApiToken",
        tag: "API tokens",
        summary: "Delete an API token",
        description: concat!(
            "Soft-deletes the token: status `Deleted`, secret material wiped. Client and Vendor ",
            "callers no longer see it (404, absent from lists); Operations callers holding ",
            "platform-account-management still do. Nothing leaves `Deleted`."
        ),
        parameters: Vec::new(),
        body: None,
        responses: with(
            with(vec![("204", deleted)], errors(&["401", "403", "404"])),
            with(vec![("409", conflict)], errors(&["429", "503"])),
        ),
        public: false,
    }
    .build()
}

fn switch_token(enable: bool) -> Value {
    let (id, summary, description, conflict) = if enable {
        (
            "enableApiToken",
            "Enable an API token",
            "Moves a Disabled token to Active. Send no body and no Content-Type, or `{}`.",
            "Conflict: the token is not Disabled (already Active, or deleted); nothing changed.",
        )
    } else {
        (
            "disableApiToken",
            "Disable an API token",
            "Moves an Active token to Disabled: it stops authenticating at once. Send no body and no Content-Type, or `{}`.",
            "Conflict: the token is not Active (already Disabled, or deleted); nothing changed.",
        )
    };
    Op {
        id,
        tag: "API tokens",
        summary,
        description,
        parameters: Vec::new(),
        body: Some(json_body("EmptyBody", false, "Nothing, or `{}`.")),
        responses: with(
            with(
                vec![("200", ok("The token as it is now.", "Token"))],
                errors(&["400", "401", "403", "404"]),
            ),
            with(
                vec![("409", problem(conflict))],
                errors(&["408", "413", "415", "429", "503"]),
            ),
        ),
        public: false,
    }
    .build()
}

fn revoke_credentials() -> Value {
    Op {
        id: "revokeCredentials",
        tag: "Gateway",
        summary: "Report leaked token values",
        description: concat!(
            "No authentication (secret scanners call it). At most 1000 values in at most 128 KB. ",
            "The report is stored and answered 202 — the same answer whatever the values hold ",
            "— and processed off the request path: each well-formed value with the right secret ",
            "disables its token and marks it compromised (a token's previous value during its ",
            "grace only ends the grace), with a `leak-reported` audit record. Limited per client ",
            "address (429); 503 when the database cannot store it."
        ),
        parameters: Vec::new(),
        body: Some(json_body("RevokeCredentials", true, "The leaked values.")),
        responses: with(
            vec![(
                "202",
                json!({"description": "Stored; it will be processed.", "content": {"application/json": {"schema": {"type": "object", "properties": {"status": {"type": "string", "enum": ["received"]}}}}}}),
            )],
            errors(&["400", "408", "413", "429", "503"]),
        ),
        public: true,
    }
    .build()
}

fn rotate_token() -> Value {
    Op {
        id: "rotateApiToken",
        tag: "API tokens",
        summary: "Rotate an API token",
        description: concat!(
            "Issues a new value for the same token (revision + 1); the previous value keeps ",
            "working for `gracePeriodSeconds` (0–604800; no body: 0), and a value retired before ",
            "stops at once (at most two are valid). `expiresAt` stays. A token may rotate itself ",
            "when `selfRotate` is set; rotating another token needs the rights to edit it. The ",
            "answer carries the new `token` value (`Cache-Control: no-store`)."
        ),
        parameters: Vec::new(),
        body: Some(json_body(
            "RotateToken",
            false,
            "Nothing, or the grace period and revision.",
        )),
        responses: with(
            with(
                vec![("200", ok("The token, with its new value.", "Token"))],
                errors(&["400", "401", "403", "404"]),
            ),
            with(
                vec![(
                    "409",
                    problem("Conflict: a stale `revision`, or the token is deleted."),
                )],
                errors(&["408", "413", "415", "429", "503"]),
            ),
        ),
        public: false,
    }
    .build()
}

fn get_icon() -> Value {
    let image = json!({"schema": {"type": "string", "format": "binary"}});
    let found = json!({
        "description": "The icon.",
        "headers": {
            "Cache-Control": {"description": "`private, no-cache`.", "schema": {"type": "string"}},
            "X-Content-Type-Options": {"description": "`nosniff`.", "schema": {"type": "string"}},
            "X-Request-Id": header("XRequestId")
        },
        "content": {"image/png": image.clone(), "image/jpeg": image}
    });
    Op {
        id: "getApiTokenIcon",
        tag: "Icons",
        summary: "Download a token's icon",
        description: "The icon as uploaded (PNG or JPEG). 404 when the token has none.",
        parameters: Vec::new(),
        body: None,
        responses: with(
            vec![("200", found)],
            errors(&["401", "403", "404", "429", "503"]),
        ),
        public: false,
    }
    .build()
}

fn put_icon() -> Value {
    let image = json!({"schema": {"type": "string", "format": "binary", "maxLength": 5_242_880}});
    let body = json!({
        "required": true,
        "description": concat!(
            "A PNG or JPEG image of at most 5 MB (5,242,880 bytes). The type is checked by ",
            "content; a declared `image/*` type must match it. `application/octet-stream` is ",
            "accepted too, the type then being taken from the content."
        ),
        "content": {
            "image/png": image.clone(),
            "image/jpeg": image.clone(),
            "application/octet-stream": image
        }
    });
    let bad =
        problem("Bad request: the body is not a PNG or JPEG image, or not the declared type.");
    let large = problem("Payload too large: the icon is over 5 MB.");
    let media = problem("Unsupported media type: an icon is `image/png` or `image/jpeg`.");
    Op {
        id: "putApiTokenIcon",
        tag: "Icons",
        summary: "Upload a token's icon",
        description: "Sets or replaces the icon; the token's `icon` field then holds `/public/v1/accounts/api-tokens/{id}/icon`.",
        parameters: Vec::new(),
        body: Some(body),
        responses: with(
            vec![("200", ok("The token as it is now.", "Token")), ("400", bad)],
            with(
                errors(&["401", "403", "404", "409"]),
                with(
                    vec![("413", large), ("415", media)],
                    errors(&["429", "503"]),
                ),
            ),
        ),
        public: false,
    }
    .build()
}

fn delete_icon() -> Value {
    Op {
        id: "deleteApiTokenIcon",
        tag: "Icons",
        summary: "Remove a token's icon",
        description: "Removes the icon; the token's `icon` field is then omitted.",
        parameters: Vec::new(),
        body: None,
        responses: with(
            vec![("200", ok("The token as it is now.", "Token"))],
            errors(&["401", "403", "404", "409", "429", "503"]),
        ),
        public: false,
    }
    .build()
}

fn list_modules() -> Value {
    Op {
        id: "listModules",
        tag: "Modules",
        summary: "List modules",
        description: concat!(
            "Operations callers holding platform-account-management see the whole catalog; ",
            "others their account's enabled modules. RQL on `id`, `code` and `name` (filter and ",
            "`order`), `limit` and `offset`; catalog order unless ordered."
        ),
        parameters: vec![parameter("Limit"), parameter("Offset")],
        body: None,
        responses: with(
            vec![("200", ok("A page of modules.", "ModuleList"))],
            errors(&["400", "401", "403", "429", "503"]),
        ),
        public: false,
    }
    .build()
}

fn list_audit_records() -> Value {
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

fn read_audit_record() -> Value {
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

fn read_module() -> Value {
    Op {
        id: "getModule",
        tag: "Modules",
        summary: "Read a module",
        description: "One module the caller may see (as in the list); 404 otherwise.",
        parameters: Vec::new(),
        body: None,
        responses: with(
            vec![("200", ok("The module.", "Module"))],
            errors(&["401", "403", "404", "429", "503"]),
        ),
        public: false,
    }
    .build()
}

fn list_event_types() -> Value {
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

fn read_event_type() -> Value {
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

fn healthz() -> Value {
    Op {
        id: "healthz",
        tag: "Operations",
        summary: "Liveness",
        description: "The process answers: `{\"status\": \"ok\"}`. Needs no credential.",
        parameters: Vec::new(),
        body: None,
        responses: vec![
            ("200", ok("The process is up.", "Status")),
            ("403", response("HttpsRequired")),
        ],
        public: true,
    }
    .build()
}

fn readyz() -> Value {
    Op {
        id: "readyz",
        tag: "Operations",
        summary: "Readiness",
        description: "The database answers (and, with PostgreSQL, the cache invalidation listener is connected): `{\"status\": \"ready\"}`. Needs no credential.",
        parameters: Vec::new(),
        body: None,
        responses: vec![
            ("200", ok("Ready to serve.", "Status")),
            ("403", response("HttpsRequired")),
            ("503", response("ServiceUnavailable")),
        ],
        public: true,
    }
    .build()
}

fn metrics() -> Value {
    let text = json!({
        "description": "Prometheus text exposition format 0.0.4.",
        "headers": {"X-Request-Id": header("XRequestId")},
        "content": {"text/plain; version=0.0.4": {"schema": {"type": "string"}}}
    });
    Op {
        id: "metrics",
        tag: "Operations",
        summary: "Prometheus metrics",
        description: "Request counts and durations by route, method and status, refusals (counted, without their reasons), the gate's regime, cache and faults. Needs no credential. Not served here (404) when TOLLGATE_METRICS_LISTEN is set: that listener serves it, with refusals by reason.",
        parameters: Vec::new(),
        body: None,
        responses: vec![("200", text), ("403", response("HttpsRequired"))],
        public: true,
    }
    .build()
}

fn openapi_document() -> Value {
    let doc = json!({
        "description": "This OpenAPI 3.0.3 document.",
        "headers": json_headers(),
        "content": {"application/json": {"schema": {"type": "object"}}}
    });
    Op {
        id: "getOpenApiDocument",
        tag: "Operations",
        summary: "This OpenAPI document",
        description: "Needs no credential.",
        parameters: Vec::new(),
        body: None,
        responses: vec![("200", doc), ("403", response("HttpsRequired"))],
        public: true,
    }
    .build()
}

// ---------------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------------

/// A path item with `id` as a path parameter.
fn with_id(id_parameter: &str, mut item: Value) -> Value {
    if let Some(item) = item.as_object_mut() {
        item.insert("parameters".to_owned(), json!([parameter(id_parameter)]));
    }
    item
}

fn paths() -> Value {
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::document;

    const METHODS: &[&str] = &[
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];

    const EXPECTED: &[(&str, &[&str])] = &[
        ("/public/v1/accounts/api-tokens", &["get", "post"]),
        (
            "/public/v1/accounts/api-tokens/{id}",
            &["delete", "get", "put"],
        ),
        ("/public/v1/accounts/api-tokens/{id}/enable", &["post"]),
        ("/public/v1/accounts/api-tokens/{id}/disable", &["post"]),
        ("/public/v1/accounts/api-tokens/{id}/rotate", &["post"]),
        (
            "/public/v1/accounts/api-tokens/{id}/icon",
            &["delete", "get", "put"],
        ),
        ("/public/v1/accounts/modules", &["get"]),
        ("/public/v1/accounts/modules/{id}", &["get"]),
        ("/public/v1/audit/event-types", &["get"]),
        ("/public/v1/audit/event-types/{id}", &["get"]),
        ("/public/v1/audit/records", &["get"]),
        ("/public/v1/audit/records/{id}", &["get"]),
        ("/healthz", &["get"]),
        ("/readyz", &["get"]),
        ("/metrics", &["get"]),
        ("/public/v1/openapi.json", &["get"]),
        ("/v1/authorize", &["get"]),
        (
            "/v1/authorize/{path}",
            &["delete", "get", "patch", "post", "put"],
        ),
        ("/v1/introspect", &["post"]),
        ("/v1/credentials/revoke", &["post"]),
    ];

    const PUBLIC: &[&str] = &[
        "/healthz",
        "/readyz",
        "/metrics",
        "/public/v1/openapi.json",
        "/v1/credentials/revoke",
    ];

    fn operations(doc: &Value) -> Vec<(String, String, Value)> {
        let mut found = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths is an object") {
            for (method, op) in item.as_object().expect("a path item is an object") {
                if METHODS.contains(&method.as_str()) {
                    found.push((path.clone(), method.clone(), op.clone()));
                }
            }
        }
        found
    }

    fn collect_refs(value: &Value, refs: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    if key == "$ref" {
                        refs.push(inner.as_str().expect("a $ref is a string").to_owned());
                    } else {
                        collect_refs(inner, refs);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| collect_refs(item, refs)),
            _ => {}
        }
    }

    /// Follows `$ref`s until a concrete value.
    fn resolve<'a>(doc: &'a Value, mut value: &'a Value) -> &'a Value {
        while let Some(target) = value.get("$ref").and_then(Value::as_str) {
            let pointer = target.strip_prefix('#').expect("a local $ref");
            value = doc.pointer(pointer).expect("the $ref resolves");
        }
        value
    }

    #[test]
    fn version_and_info() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.0.3");
        assert_eq!(doc["info"]["title"], "Tollgate");
        assert_eq!(doc["info"]["version"], "1");
        assert_eq!(doc["servers"], serde_json::json!([{"url": "/"}]));
        assert_eq!(doc["security"], serde_json::json!([{"bearerAuth": []}]));
        let scheme = &doc["components"]["securitySchemes"]["bearerAuth"];
        assert_eq!(scheme["type"], "http");
        assert_eq!(scheme["scheme"], "bearer");
    }

    #[test]
    fn exactly_the_routes_and_methods() {
        let doc = document();
        let paths = doc["paths"].as_object().expect("paths is an object");
        let expected: BTreeSet<&str> = EXPECTED.iter().map(|(path, _)| *path).collect();
        let actual: BTreeSet<&str> = paths.keys().map(String::as_str).collect();
        assert_eq!(actual, expected);
        for (path, methods) in EXPECTED {
            let item = paths[*path].as_object().expect("a path item is an object");
            let actual: BTreeSet<&str> = item
                .keys()
                .map(String::as_str)
                .filter(|key| METHODS.contains(key))
                .collect();
            let expected: BTreeSet<&str> = methods.iter().copied().collect();
            assert_eq!(actual, expected, "methods of {path}");
        }
    }

    #[test]
    fn every_ref_resolves_to_a_component() {
        let doc = document();
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        assert!(!refs.is_empty());
        for target in refs {
            assert!(
                target.starts_with("#/components/"),
                "{target} is not a component"
            );
            let pointer = target.trim_start_matches('#');
            assert!(doc.pointer(pointer).is_some(), "{target} does not resolve");
        }
    }

    #[test]
    fn operations_are_complete() {
        let doc = document();
        let mut ids = BTreeSet::new();
        for (path, method, op) in operations(&doc) {
            let id = op["operationId"].as_str().expect("an operationId");
            assert!(ids.insert(id.to_owned()), "duplicate operationId {id}");
            assert!(op["summary"].is_string(), "{method} {path} has a summary");
            let responses = op["responses"].as_object().expect("responses");
            assert!(
                responses.keys().any(|code| code.starts_with('2')),
                "{method} {path} has a success response"
            );
            for (code, response) in responses {
                let response = resolve(&doc, response);
                assert!(
                    response["description"].is_string(),
                    "{method} {path} {code}"
                );
                if code.starts_with('4') || code.starts_with('5') {
                    assert!(
                        response["content"]["application/problem+json"]["schema"]["$ref"]
                            == "#/components/schemas/Problem",
                        "{method} {path} {code} is a problem"
                    );
                }
                if code == "401" {
                    assert!(
                        response["headers"]["WWW-Authenticate"].is_object(),
                        "{method} {path} 401 has WWW-Authenticate"
                    );
                }
            }
            let public = PUBLIC.contains(&path.as_str());
            assert_eq!(
                op["security"] == serde_json::json!([]),
                public,
                "security of {method} {path}"
            );
            assert_eq!(
                responses.contains_key("401"),
                !public,
                "401 of {method} {path}"
            );
        }
    }

    #[test]
    fn schemas_with_bodies() {
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        for name in [
            "Token",
            "TokenList",
            "Module",
            "ModuleList",
            "AuditRecord",
            "AuditRecordList",
            "CreateToken",
            "UpdateToken",
            "Problem",
        ] {
            assert!(schemas[name].is_object(), "schema {name}");
        }
        assert_eq!(schemas["CreateToken"]["additionalProperties"], false);
        assert_eq!(schemas["UpdateToken"]["additionalProperties"], false);
        assert!(schemas["Token"]["properties"]["$meta"].is_object());
        assert!(schemas["Token"]["properties"]["audit"].is_object());
        assert!(schemas["Token"]["properties"]["token"].is_object());
        assert_eq!(
            schemas["TokenList"]["properties"]["$meta"]["$ref"],
            "#/components/schemas/ListMeta"
        );
        assert_eq!(
            schemas["Problem"]["properties"]["errors"]["additionalProperties"]["items"]["type"],
            "string"
        );
    }

    #[test]
    fn token_values_are_not_cached() {
        let doc = document();
        for (path, method) in [
            ("/public/v1/accounts/api-tokens", "post"),
            ("/public/v1/accounts/api-tokens/{id}", "get"),
        ] {
            let responses = &doc["paths"][path][method]["responses"];
            let success = if method == "post" {
                &responses["201"]
            } else {
                &responses["200"]
            };
            let header = resolve(&doc, &success["headers"]["Cache-Control"]);
            assert_eq!(
                header["schema"]["enum"],
                serde_json::json!(["no-store"]),
                "{method} {path}"
            );
        }
    }
}
