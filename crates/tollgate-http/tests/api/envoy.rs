//! `/v1/authorize/<original path>`, the shape Envoy's HTTP ext_authz sends with `path_prefix:
//! /v1/authorize` (SPEC §4): the check request keeps the original method and appends the
//! original path to the prefix; the body is not forwarded (`Content-Length: 0`) unless
//! `with_request_body` is set, and then it is ignored. These tests replay those requests as
//! the configuration in `docs/GATEWAY.md` makes Envoy send them.

use reqwest::Method;
use tollgate_domain::AccountType;

use crate::common::*;

/// The headers of an Envoy check request besides `Authorization`: those the documented
/// configuration lets through, and Envoy's own.
const ENVOY_HEADERS: [(&str, &str); 5] = [
    ("host", "api.example.com"),
    ("x-forwarded-proto", "https"),
    ("x-forwarded-for", "203.0.113.9"),
    ("x-request-id", "6f1c2b9e-1d2a-4c8e-9a55-2f7d0e3b8c41"),
    ("x-envoy-expected-rq-timeout-ms", "250"),
];

/// An Envoy check request without a body (`Content-Length: 0`, Envoy's default), byte for
/// byte: `method /v1/authorize<path>`; `extra` headers replace or add to Envoy's.
fn envoy(
    s: &Server,
    method: &str,
    path: &str,
    token: Option<&Tok>,
    extra: &[(&str, &str)],
) -> R<Reply> {
    let mut request = format!("{method} /v1/authorize{path} HTTP/1.1\r\n");
    for (name, value) in ENVOY_HEADERS {
        if !extra.iter().any(|(other, _)| *other == name) {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    if let Some(token) = token {
        request.push_str(&format!("authorization: Bearer {}\r\n", token.value));
    }
    for (name, value) in extra {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("content-length: 0\r\nconnection: close\r\n\r\n");
    s.raw(request.as_bytes())
}

/// An Envoy check request with `with_request_body` on: the original body follows, with its
/// type and `x-envoy-auth-partial-body`.
fn envoy_with_body(
    s: &Server,
    path: &str,
    token: &Tok,
    content_type: &str,
    body: &[u8],
) -> R<Reply> {
    let mut builder = s
        .request(Method::POST, &format!("/v1/authorize{path}"), Some(token))
        .header("content-type", content_type)
        .header("x-envoy-auth-partial-body", "false")
        .body(body.to_vec());
    for (name, value) in ENVOY_HEADERS {
        builder = builder.header(name, value);
    }
    s.send(builder)
}

fn granted(reply: &Reply, token: &Tok, modules: &str) -> R<()> {
    reply.status_is(200)?;
    ensure_eq!(reply.header("x-tollgate-token-id"), Some(token.id.as_str()));
    ensure_eq!(reply.header("x-tollgate-account-type"), Some("Client"));
    ensure_eq!(reply.header("x-tollgate-modules"), Some(modules));
    ensure!(reply.header("x-tollgate-account-id").is_some());
    Ok(())
}

/// (what, method, path after the prefix, with the token, extra headers, status, code)
type Refusal<'a> = (
    &'a str,
    &'a str,
    &'a str,
    bool,
    &'a [(&'a str, &'a str)],
    u16,
    &'a str,
);

const REFUSALS: [Refusal<'static>; 13] = [
    (
        "no token",
        "GET",
        "/public/v1/billing/x",
        false,
        &[],
        401,
        "unauthenticated",
    ),
    (
        "a module it lacks",
        "POST",
        "/public/v1/helpdesk/cases",
        true,
        &[],
        403,
        "forbidden",
    ),
    (
        "commerce-x is not commerce",
        "GET",
        "/public/v1/commerce-x/a",
        true,
        &[],
        403,
        "forbidden",
    ),
    (
        "X-Forwarded-Uri is not read",
        "GET",
        "/public/v1/helpdesk/x",
        true,
        &[("x-forwarded-uri", "/public/v1/billing/x")],
        403,
        "forbidden",
    ),
    (
        "..; (Tomcat's ..)",
        "GET",
        "/public/v1/billing/..;/helpdesk/x",
        true,
        &[],
        403,
        "forbidden",
    ),
    (
        "an encoded dot segment",
        "DELETE",
        "/public/v1/billing/%2e%2e/helpdesk/x",
        true,
        &[],
        403,
        "forbidden",
    ),
    (
        "an encoded slash",
        "GET",
        "/public/v1/billing%2f..%2fhelpdesk",
        true,
        &[],
        403,
        "forbidden",
    ),
    (
        "a query hiding the real path",
        "GET",
        "/public/v1/helpdesk?/public/v1/billing",
        true,
        &[],
        403,
        "forbidden",
    ),
    ("no path", "GET", "/", true, &[], 403, "forbidden"),
    (
        "outside /public/v1",
        "GET",
        "/v1/introspect",
        true,
        &[],
        403,
        "forbidden",
    ),
    (
        "X-Forwarded-Proto: http",
        "GET",
        "/public/v1/billing/x",
        true,
        &[("x-forwarded-proto", "http")],
        403,
        "https-required",
    ),
    (
        "an empty X-Forwarded-Proto",
        "POST",
        "/public/v1/billing/x",
        true,
        &[("x-forwarded-proto", "")],
        403,
        "https-required",
    ),
    (
        "two Authorization headers",
        "GET",
        "/public/v1/billing/x",
        true,
        &[("authorization", "Bearer x")],
        401,
        "unauthenticated",
    ),
];

#[test]
fn envoy_check_requests_with_the_original_method_and_path() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let shop = s.token(&acme, "Shop robot", &[MARKETPLACE, BILLING])?;
        let modules = "marketplace,billing";

        // GET with a query, POST (its body not forwarded), DELETE: the original request.
        for (method, path) in [
            ("GET", "/public/v1/billing/invoices?limit=10"),
            ("POST", "/public/v1/commerce/orders"),
            ("DELETE", "/public/v1/billing/invoices/42"),
        ] {
            granted(&envoy(s, method, path, Some(&shop), &[])?, &shop, modules)
                .map_err(|error| format!("{method} {path}: {error}"))?;
        }
        // with_request_body: a body of any size and type is never read (no 413, no 415).
        let big = vec![b'{'; 200 * 1024];
        let small = b"{\"amount\": 12}".to_vec();
        for (content_type, body) in [
            ("application/json", &big),
            ("application/json", &small),
            ("text/csv", &small),
            ("nonsense", &small),
        ] {
            let reply =
                envoy_with_body(s, "/public/v1/commerce/orders", &shop, content_type, body)?;
            granted(&reply, &shop, modules)
                .map_err(|error| format!("{content_type}, {} bytes: {error}", body.len()))?;
        }
        // Every method.
        for method in [
            "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND",
        ] {
            envoy(s, method, "/public/v1/billing/x", Some(&shop), &[])?
                .status_is(200)
                .map_err(|error| format!("{method}: {error}"))?;
        }
        // Refusals: only 401 and 403.
        for (what, method, path, with_token, extra, status, code) in REFUSALS {
            let token = with_token.then_some(&shop);
            envoy(s, method, path, token, extra)?
                .problem(status, code)
                .map_err(|error| format!("{what}: {error}"))?;
        }
        Ok(())
    })
}

/// An ignored body leaves a kept-alive connection usable: the next request is served.
#[test]
fn an_unread_body_does_not_spoil_the_connection() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let shop = s.token(&acme, "Shop robot", &[BILLING])?;
        for round in 0..3 {
            let reply = envoy_with_body(
                s,
                "/public/v1/billing/x",
                &shop,
                "application/json",
                &[b' '; 100 * 1024],
            )?;
            ensure_eq!(reply.status, 200, "round {round}: {}", reply.text());
            let reply = s.send(
                s.request(
                    Method::GET,
                    "/v1/authorize/public/v1/billing/y",
                    Some(&shop),
                )
                .header("x-forwarded-proto", "https"),
            )?;
            ensure_eq!(reply.status, 200, "round {round}: {}", reply.text());
        }
        Ok(())
    })
}
