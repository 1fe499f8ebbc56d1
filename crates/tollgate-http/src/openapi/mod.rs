//! The OpenAPI 3.0.3 document of the REST API (SPEC §3–§6), served at
//! `/public/v1/openapi.json`.
//!
//! Written by hand with `serde_json::json!`, one small function per schema, parameter, response
//! and path so no macro call grows deep. The shapes follow `dto.rs`, `error.rs`, the handlers and
//! `tollgate_audit::AuditRecord`; the tests check that every route is present with exactly its
//! methods and that every `$ref` resolves.

use serde_json::{Value, json};

mod audit;
mod gateway;
mod modules;
mod ops;
mod parameters;
mod paths;
mod schemas;
#[cfg(test)]
mod tests;
mod tokens;

use parameters::{headers, parameters, responses};
use paths::paths;
use schemas::schemas;

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
