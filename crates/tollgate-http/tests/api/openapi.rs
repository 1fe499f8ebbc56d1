//! The OpenAPI document matches the routes the server serves, exactly.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;
use tollgate_domain::AccountType;

use crate::common::*;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "patch", "options", "head", "trace",
];

/// Methods probed on every path.
const PROBED: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// Paths the server does not serve today (some are in the specification for later); each must
/// be documented exactly when it is served.
const CANDIDATES: [&str; 13] = [
    "/v1/authorize",
    "/v1/authorize/{path}",
    "/v1/introspect",
    "/public/v1/accounts/users",
    "/public/v1/accounts/accounts",
    "/public/v1/accounts/api-tokens/{id}/reveal",
    "/public/v1/accounts/api-tokens/{id}/x/y",
    "/public/v1/accounts/modules/{id}",
    "/public/v1/audit/event-types",
    "/public/v1/audit/event-types/{id}",
    "/public/v1/audit/records/{id}/verify",
    "/public/v1/openapi.yaml",
    "/public/v1/accounts/api-tokens/{id}/rotate",
];

fn method(name: &str) -> R<Method> {
    Ok(Method::from_bytes(name.to_uppercase().as_bytes())?)
}

/// Served means: some probed method gets anything but a 404.
fn served(s: &Server, path: &str) -> R<bool> {
    for name in PROBED {
        let reply = s.call(method(name)?, path, None, Body::None)?;
        if reply.status != 404 {
            return Ok(true);
        }
    }
    Ok(false)
}

#[test]
fn the_document_lists_exactly_the_served_routes() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        // The target of `{id}`: authenticated probes may delete it.
        let victim = s.token(&acme, "Victim", &[BILLING])?;
        let (_, records) = s.list_ids(&admin, AUDIT_RECORDS)?;
        let record = records.first().ok_or("no audit record")?.clone();
        let concrete = |path: &str| {
            let id = if path.starts_with(AUDIT_RECORDS) {
                record.as_str()
            } else if path.starts_with("/public/v1/accounts/modules") {
                "MOD-1104"
            } else if path.starts_with("/public/v1/audit/event-types") {
                "AET-4127-0381"
            } else {
                victim.id.as_str()
            };
            path.replace("{id}", id)
                .replace("{path}", "public/v1/billing/x")
        };

        let reply = s.call(Method::GET, "/public/v1/openapi.json", None, Body::None)?;
        let doc = reply.expect(200)?;
        ensure!(
            reply
                .header("content-type")
                .is_some_and(|t| t.starts_with("application/json")),
            "{:?}",
            reply.header("content-type")
        );
        ensure!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
        let paths = doc["paths"].as_object().ok_or("no paths")?;
        ensure!(!paths.is_empty());

        let public: BTreeSet<&str> = ["/healthz", "/readyz", "/metrics", "/public/v1/openapi.json"]
            .into_iter()
            .collect();
        for (path, item) in paths {
            let item = item.as_object().ok_or("a path item is not an object")?;
            let documented: BTreeSet<&str> = item
                .keys()
                .map(String::as_str)
                .filter(|key| METHODS.contains(key))
                .collect();
            ensure!(!documented.is_empty(), "{path} has no operation");
            let url = concrete(path);
            for name in PROBED {
                let reply = s.call(method(name)?, &url, None, Body::None)?;
                if path.starts_with("/v1/authorize") {
                    // Forward-auth accepts any method (gateways may forward the original one)
                    // and, without X-Forwarded-Proto, refuses with 403.
                    ensure_eq!(reply.status, 403, "{name} {url}: {}", reply.text());
                    continue;
                }
                if documented.contains(name) {
                    let expected = if path == "/v1/credentials/revoke" {
                        // Public, and a report needs a body.
                        400
                    } else if public.contains(path.as_str()) {
                        200
                    } else {
                        401
                    };
                    ensure_eq!(reply.status, expected, "{name} {url}: {}", reply.text());
                } else {
                    ensure_eq!(reply.status, 405, "{name} {url} is not documented");
                    // RFC 9110: a 405 names the methods the resource allows, which are exactly
                    // the documented ones.
                    let allow: BTreeSet<String> = reply
                        .header("allow")
                        .ok_or(format!("{name} {url}: 405 without Allow"))?
                        .split(',')
                        .map(|m| m.trim().to_lowercase())
                        .collect();
                    let expected: BTreeSet<String> =
                        documented.iter().map(|m| (*m).to_owned()).collect();
                    ensure_eq!(allow, expected, "{name} {url}: Allow");
                }
            }
            // Authenticated, a documented operation is never a 404-for-unknown-endpoint.
            for name in &documented {
                let reply = s.call(method(name)?, &url, Some(&admin), Body::None)?;
                if reply.status == 404 {
                    let body = reply.json()?;
                    ensure!(
                        !body["detail"]
                            .as_str()
                            .is_some_and(|d| d.contains("no such endpoint")),
                        "{name} {url} is documented but not served"
                    );
                }
                ensure!(reply.status != 405, "{name} {url} is documented but 405");
            }
            // Documented operations have the server's own route shape.
            for name in &documented {
                let operation: &Value = &item[*name];
                ensure!(
                    operation["responses"].is_object(),
                    "{name} {path} has responses"
                );
            }
        }

        for path in CANDIDATES {
            ensure_eq!(
                served(s, &concrete(path))?,
                paths.contains_key(path),
                "{path}: served and documented differ"
            );
        }
        // Not documented: 404 for any method.
        for name in PROBED {
            let reply = s.call(
                method(name)?,
                &format!("{TOKENS}/x/y"),
                Some(&admin),
                Body::None,
            )?;
            reply.problem(404, "not-found")?;
        }
        Ok(())
    })
}
