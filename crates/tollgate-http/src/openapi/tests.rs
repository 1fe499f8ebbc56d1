//! The document's own checks: version and info, every route with exactly its methods, every
//! `$ref` resolving, complete operations, the schemas with bodies, token values never cached.

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
