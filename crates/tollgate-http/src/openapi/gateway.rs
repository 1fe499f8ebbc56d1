//! The gateway's endpoints (`/v1/authorize`, `/v1/introspect` and the introspection schemas)
//! and the operations endpoints: liveness, readiness, metrics and this document.

use serde_json::{Value, json};

use super::ops::{Op, errors, json_body, ok, with};
use super::parameters::json_headers;
use super::{header, response};

pub(super) fn introspect_request_schema() -> Value {
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

pub(super) fn introspection_schema() -> Value {
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

pub(super) fn authorize() -> Value {
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
pub(super) fn authorize_path(method: &str) -> Value {
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

pub(super) fn introspect() -> Value {
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

pub(super) fn healthz() -> Value {
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

pub(super) fn readyz() -> Value {
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

pub(super) fn metrics() -> Value {
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

pub(super) fn openapi_document() -> Value {
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
