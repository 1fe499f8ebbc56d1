//! API tokens: their schemas (the token, its value, account, modules and audit; the create and
//! update bodies) and the operations under `/public/v1/accounts/api-tokens` and
//! `/v1/credentials/revoke`.

use serde_json::{Value, json};

use super::ops::{Op, errors, json_body, ok, with};
use super::parameters::{json_headers, problem};
use super::{ACCOUNT_ID, MODULE_ID, TOKEN_ID, TOKEN_VALUE, header, object, parameter, schema};

pub(super) fn token_value_schema() -> Value {
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

pub(super) fn token_schema() -> Value {
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

pub(super) fn token_account_schema() -> Value {
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

pub(super) fn module_ref_schema() -> Value {
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

pub(super) fn token_audit_schema() -> Value {
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

pub(super) fn create_token_schema() -> Value {
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

pub(super) fn update_token_schema() -> Value {
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

pub(super) fn list_tokens() -> Value {
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

pub(super) fn create_token() -> Value {
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

pub(super) fn read_token() -> Value {
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

pub(super) fn update_token() -> Value {
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

pub(super) fn delete_token() -> Value {
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

pub(super) fn switch_token(enable: bool) -> Value {
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

pub(super) fn revoke_credentials() -> Value {
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

pub(super) fn rotate_token() -> Value {
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

pub(super) fn get_icon() -> Value {
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

pub(super) fn put_icon() -> Value {
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

pub(super) fn delete_icon() -> Value {
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
