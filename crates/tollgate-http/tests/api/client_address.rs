//! The client's address (SPEC §4 "Client address") as the server uses it: in audit records
//! and in the failure limiter, behind trusted proxies, against spoofed forwarded headers; and
//! one `Authorization` header at most, everywhere a credential is read.

use reqwest::Method;
use serde_json::json;
use tollgate_domain::{AccountType, ForwardedHeader};
use tollgate_gate::limiter::THRESHOLD;

use crate::common::*;

/// The test client connects from 127.0.0.1; it and 10.0.0.0/8 are the trusted proxies.
fn behind_proxies(header: ForwardedHeader) -> R<Options> {
    Ok(Options {
        trusted_proxies: vec!["127.0.0.1/32".parse()?, "10.0.0.0/8".parse()?],
        forwarded_header: header,
        ..Options::default()
    })
}

/// Renames `target` as `admin` with these header lines; returns the address the `updated`
/// record names.
fn recorded_address(
    s: &Server,
    admin: &Tok,
    target: &Tok,
    case: usize,
    headers: &[(&str, &str)],
) -> R<String> {
    let mut builder = s
        .request(Method::PUT, &token_path(&target.id), Some(admin))
        .json(&json!({ "name": format!("Renamed {case}") }));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    s.send(builder)?.expect(200)?;
    let records = s
        .get(
            admin,
            &format!("{AUDIT_RECORDS}?eq(object.id,{})&limit=1", target.id),
        )?
        .expect(200)?;
    let ip = &records["data"][0]["request"]["api"]["ip"];
    Ok(ip
        .as_str()
        .ok_or_else(|| format!("no address: {ip}"))?
        .to_owned())
}

/// (what, header lines, the client's address)
type Case = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
);

const XFF: &str = "x-forwarded-for";
const FORWARDED: &str = "forwarded";

const X_FORWARDED_FOR: &[Case] = &[
    ("no header: the peer", &[], "127.0.0.1"),
    ("one entry", &[(XFF, "203.0.113.9")], "203.0.113.9"),
    (
        "a forged left-most entry",
        &[(XFF, "1.1.1.1, 203.0.113.9")],
        "203.0.113.9",
    ),
    (
        "forged entries and a proxy hop",
        &[(XFF, "127.0.0.1, 192.168.0.1, 203.0.113.9, 10.0.0.2")],
        "203.0.113.9",
    ),
    (
        "several lines, joined in order",
        &[(XFF, "1.1.1.1"), (XFF, "203.0.113.9, 10.0.0.2")],
        "203.0.113.9",
    ),
    (
        "an IPv4-mapped IPv6 entry",
        &[(XFF, "::ffff:203.0.113.9")],
        "203.0.113.9",
    ),
    (
        "IPv6 with a port",
        &[(XFF, "[2001:db8::9]:4711")],
        "2001:db8::9",
    ),
    (
        "garbage where the client should be: the last trusted hop",
        &[(XFF, "203.0.113.9, garbage, 10.0.0.2")],
        "10.0.0.2",
    ),
    (
        "Forwarded is ignored",
        &[(FORWARDED, "for=198.51.100.1")],
        "127.0.0.1",
    ),
    (
        "Forwarded beside X-Forwarded-For is ignored",
        &[(FORWARDED, "for=198.51.100.1"), (XFF, "203.0.113.9")],
        "203.0.113.9",
    ),
];

const RFC_7239: &[Case] = &[
    (
        "for=",
        &[(FORWARDED, "for=203.0.113.9;proto=https")],
        "203.0.113.9",
    ),
    (
        "a forged left-most element",
        &[(FORWARDED, "for=1.1.1.1, for=203.0.113.9, for=10.0.0.2")],
        "203.0.113.9",
    ),
    (
        "a quoted IPv6 address with a port",
        &[(FORWARDED, "for=1.1.1.1, for=\"[2001:db8::9]:4711\"")],
        "2001:db8::9",
    ),
    (
        "several lines",
        &[(FORWARDED, "for=1.1.1.1"), (FORWARDED, "for=203.0.113.9")],
        "203.0.113.9",
    ),
    (
        "unknown: the last trusted hop",
        &[(FORWARDED, "for=203.0.113.9, for=unknown")],
        "127.0.0.1",
    ),
    (
        "X-Forwarded-For is ignored",
        &[(XFF, "203.0.113.9")],
        "127.0.0.1",
    ),
    (
        "X-Forwarded-For beside Forwarded is ignored",
        &[(XFF, "198.51.100.1"), (FORWARDED, "for=203.0.113.9")],
        "203.0.113.9",
    ),
];

fn check_table(options: &Options, table: &'static [Case]) -> TestResult {
    each_backend_with(options, |s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        let target = s.token(&acme, "Target robot", &[BILLING])?;
        for (case, (what, headers, expected)) in table.iter().enumerate() {
            let got = recorded_address(s, &admin, &target, case, headers)?;
            ensure_eq!(got.as_str(), *expected, "{what}");
        }
        Ok(())
    })
}

#[test]
fn x_forwarded_for_spoofing() -> TestResult {
    check_table(
        &behind_proxies(ForwardedHeader::XForwardedFor)?,
        X_FORWARDED_FOR,
    )
}

#[test]
fn forwarded_spoofing() -> TestResult {
    check_table(&behind_proxies(ForwardedHeader::Forwarded)?, RFC_7239)
}

#[test]
fn an_untrusted_peer_is_the_client() -> TestResult {
    const IGNORED: &[Case] = &[
        ("X-Forwarded-For", &[(XFF, "203.0.113.9")], "127.0.0.1"),
        ("Forwarded", &[(FORWARDED, "for=203.0.113.9")], "127.0.0.1"),
    ];
    check_table(&Options::default(), IGNORED)
}

/// Failures are counted per client address: forged left-most entries do not give a client a
/// fresh address for each attempt.
#[test]
fn forged_entries_do_not_escape_the_failure_limiter() -> TestResult {
    each_backend_with(&behind_proxies(ForwardedHeader::XForwardedFor)?, |s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        let attempt = |forged: u32, real: &str| {
            s.send(
                s.request(Method::GET, TOKENS, None)
                    .bearer_auth("idt:TKN-0000-0000:nonsense")
                    .header(XFF, format!("198.51.100.{forged}, {real}, 10.0.0.2")),
            )
        };
        for forged in 0..THRESHOLD {
            attempt(forged, "203.0.113.9")?.problem(401, "unauthenticated")?;
        }
        attempt(THRESHOLD, "203.0.113.9")?.problem(429, "too-many-requests")?;
        // Another client behind the same proxies is not held back.
        attempt(THRESHOLD, "203.0.113.10")?.problem(401, "unauthenticated")?;
        // Valid tokens are served from the limited address.
        s.send(
            s.request(Method::GET, TOKENS, Some(&admin))
                .header(XFF, "203.0.113.9"),
        )?
        .expect(200)?;
        Ok(())
    })
}

/// Two `Authorization` headers are refused with 401 wherever a credential is read, even when
/// both carry the same valid value.
#[test]
fn two_authorization_headers_are_refused() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        let bearer = format!("Bearer {}", admin.value);
        let twice = |builder: reqwest::blocking::RequestBuilder| {
            builder
                .header("authorization", bearer.as_str())
                .header("authorization", bearer.as_str())
        };
        let before = s.snapshot()?;
        for (what, builder) in [
            ("a REST read", s.request(Method::GET, TOKENS, None)),
            (
                "a REST change",
                s.request(Method::PUT, &token_path(&admin.id), None)
                    .json(&json!({"name": "Changed"})),
            ),
            (
                "introspection",
                s.request(Method::POST, "/v1/introspect", None)
                    .json(&json!({"token": admin.value})),
            ),
            (
                "forward auth",
                s.request(Method::GET, "/v1/authorize", None)
                    .header("x-forwarded-proto", "https")
                    .header("x-forwarded-uri", "/public/v1/billing/x"),
            ),
            (
                "forward auth with the path",
                s.request(Method::GET, "/v1/authorize/public/v1/billing/x", None)
                    .header("x-forwarded-proto", "https"),
            ),
        ] {
            let reply = s.send(twice(builder))?;
            reply
                .problem(401, "unauthenticated")
                .map_err(|error| format!("{what}: {error}"))?;
        }
        ensure_eq!(s.snapshot()?, before);
        // One header, the same value: served.
        s.get(&admin, TOKENS)?.expect(200)?;
        Ok(())
    })
}
