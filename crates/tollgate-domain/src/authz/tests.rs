//! Tests of the parent module.
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::*;
use crate::id::ModuleId;
use crate::secret::{Keys, ServerKey, TokenValue};

fn check_path(raw: &str, expect: Result<&str, PathError>) {
    let got = RequestPath::parse(raw).map(|p| p.to_path_string());
    assert_eq!(got.as_deref().map_err(|e| *e), expect, "{raw:?}");
}

#[test]
fn path_normalisation() {
    let ok = |raw: &str, normalised: &str| check_path(raw, Ok(normalised));
    ok("/public/v1/commerce/orders", "/public/v1/commerce/orders");
    ok(
        "/public/v1/commerce/orders?limit=10",
        "/public/v1/commerce/orders",
    );
    ok("/public//v1///commerce/", "/public/v1/commerce");
    // Dot segments: the service behind nginx or Caddy gets the path as sent.
    let refused = |raw: &str| check_path(raw, Err(PathError::DotSegment));
    refused("/public/v1/./commerce/../billing");
    refused("/public/v1/billing/..//x");
    refused("/../../public/v1/billing");
    refused("/public/v1/billing/../commerce/orders");
    refused("/public/v1/billing/.");
    ok("/public/v1/%63ommerce", "/public/v1/commerce");
    ok("/public/v1/caf%C3%A9", "/public/v1/café");
    ok("/public/v1/café", "/public/v1/café");
    ok("/public/v1/v1.2/x", "/public/v1/v1.2/x");
    ok("/public/v1/a%20b", "/public/v1/a b");
    ok("/public/v1/.well-known", "/public/v1/.well-known");
    ok("/public/v1/a=b,c+d@e", "/public/v1/a=b,c+d@e");
    ok("/", "/");
}

/// Hostile paths: refused before matching, each with the reason.
#[test]
fn path_refusals() {
    use PathError::*;
    let refused = |raw: &str, why: PathError| check_path(raw, Err(why));
    // Not a path.
    refused("public/v1/billing", NotAbsolute);
    refused("", NotAbsolute);
    refused("*", NotAbsolute);
    // Escapes.
    refused("/public/v1/a%zz", BadEscape);
    refused("/public/v1/a%2", BadEscape);
    refused("/public/v1/a%", BadEscape);
    // Separators another server splits on.
    refused("/public/v1/commerce%2F..%2Fbilling", EncodedSlash);
    refused("/public/v1/billing/a%2fb", EncodedSlash);
    refused("/public/v1/a%5Cb", Backslash);
    refused("/public/v1/a%5cb", Backslash);
    refused("/public/v1/a\\b", Backslash);
    refused("/public/v1/billing\\..\\helpdesk", Backslash);
    // Path parameters: Tomcat, Jetty and Spring read `..;` as `..`.
    refused("/public/v1/billing/..;/helpdesk", PathParameter);
    refused("/public/v1/billing/%2e%2e;/helpdesk", PathParameter);
    refused("/public/v1/billing;jsessionid=x/y", PathParameter);
    refused("/public/v1/billing/;jsessionid=x", PathParameter);
    refused("/public/v1/billing/..%3B/helpdesk", PathParameter);
    refused("/public/v1/billing;/x", PathParameter);
    // Read again by a server that decodes twice or re-parses the decoded path.
    refused("/public/v1/billing/%252e%252e/helpdesk", EncodedDelimiter);
    refused("/public/v1/helpdesk%3F/../billing", EncodedDelimiter);
    refused("/public/v1/helpdesk%23/../billing", EncodedDelimiter);
    // A `#` that a server takes as a character (found by the `request_path` fuzz target:
    // `/public/v1/billing#/esk` was allowed as `/public/v1/billing`).
    refused("/public/v1/commerce#/../billing", Fragment);
    refused("/public/v1/billing#/esk", Fragment);
    refused("/public/v1/commerce/#x", Fragment);
    refused("/public/v1/commerce#", Fragment);
    check_path("/public/v1/commerce?x=#y", Ok("/public/v1/commerce"));
    // Control characters, literal or encoded, C0, DEL and C1.
    refused("/public/v1/a%00", Control);
    refused("/public/v1/a%0A", Control);
    refused("/public/v1/a%0d%0aX-Injected:%201", Control);
    refused("/public/v1/a%7F", Control);
    refused("/public/v1/a\u{7}b", Control);
    refused("/public/v1/a%C2%85", Control);
    refused("/public/v1/a\u{85}", Control);
    // Not UTF-8, overlong UTF-8 included (`%C0%AE` is an overlong `.`, `%C0%AF` a `/`).
    refused("/public/v1/%FF", NotUtf8);
    refused("/public/v1/billing/%C0%AE%C0%AE/helpdesk", NotUtf8);
    refused("/public/v1/billing/%C0%AF", NotUtf8);
    refused("/public/v1/billing/%E0%80%AE", NotUtf8);
    refused("/public/v1/billing/%C1%9C", NotUtf8);
    refused("/public/v1/billing/%ED%A0%80", NotUtf8);
    refused("/public/v1/caf%C3", NotUtf8);
    // Look-alikes of delimiters.
    refused("/public/v1/billing/%EF%BC%8E%EF%BC%8E/helpdesk", LookAlike);
    refused("/public/v1/billing/\u{2025}/helpdesk", LookAlike);
    refused("/public/v1/billing\u{FF0F}x", LookAlike);
    refused("/public/v1/billing%EF%BC%BC..", LookAlike);
    refused("/public/v1/billing\u{A5}..\u{A5}helpdesk", LookAlike);
    refused("/public/v1/billing\u{FF1B}x", LookAlike);
    // Found by the `request_path` fuzz target (its NFKC reading): `︰` is `..` in NFKC.
    refused("/public/v1/helpdesk/%EF%B8%B0/billing", LookAlike);
    refused("/public/v1/helpdesk/\u{FE30}/billing", LookAlike);
    refused("/public/v1/helpdesk/\u{FE19}/billing", LookAlike);
    refused("/public/v1/helpdesk/..\u{FE14}/billing", LookAlike);
    refused("/public/v1/helpdesk/x\u{2100}", LookAlike);
    refused("/public/v1/helpdesk/\u{2488}", LookAlike);
    refused("/public/v1/helpdesk/\u{249B}", LookAlike);
    refused("/public/v1/helpdesk/\u{33D8}", LookAlike);
    refused("/public/v1/helpdesk/\u{2047}", LookAlike);
    check_path(
        "/public/v1/helpdesk/\u{2487}",
        Ok("/public/v1/helpdesk/\u{2487}"),
    );
    // Dot segments that are dot segments only after decoding.
    refused("/public/v1/commerce/%2e%2e/billing", EncodedDotSegment);
    refused("/public/v1/helpdesk/%2E%2E/billing", EncodedDotSegment);
    refused("/public/v1/billing/.%2e/helpdesk", EncodedDotSegment);
    refused("/public/v1/billing/%2e./helpdesk", EncodedDotSegment);
    refused("/public/v1/%2e/billing", EncodedDotSegment);
    // Trailing dots and spaces (Windows servers drop them; `...` may be read as `..`).
    refused("/public/v1/billing./x", TrailingDot);
    refused("/public/v1/billing/.../helpdesk", TrailingDot);
    refused("/public/v1/billing/x%20", TrailingDot);
    refused("/public/v1/billing/x%2e", TrailingDot);
    // A repeated slash before `..`: RFC 3986 and merge-slashes-first servers disagree.
    refused("/public/v1/helpdesk//../billing/x", DotSegment);
    refused("//../public/v1/billing", DotSegment);
    refused("/public/v1/billing/x//y/../../z", DotSegment);
}

struct Fixture {
    keys: Keys,
    catalog: Catalog,
    value: TokenValue,
    view: TokenView,
}

fn module(n: u64) -> ModuleId {
    ModuleId::from_number(n).unwrap_or_else(|| unreachable!())
}

fn fixture() -> Fixture {
    let keys = ServerKey::from_bytes(vec![3; 32])
        .map(|k| k.derive())
        .unwrap_or_else(|_| unreachable!());
    let mut rng = StdRng::seed_from_u64(9);
    let id = TokenId::from_number(1234_5678).unwrap_or_else(|| unreachable!());
    let value = TokenValue::generate(id, &mut rng);
    let view = TokenView {
        id,
        name: "CRM robot".into(),
        account_id: AccountId::from_number(1).unwrap_or_else(|| unreachable!()),
        account_type: AccountType::Client,
        account_status: AccountStatus::Active,
        status: TokenStatus::Active,
        hash: keys.hash.hash(value.expose_secret()),
        modules: [module(1102), module(1104)].into_iter().collect(),
        revision: 1,
        expires_at: None,
        previous: None,
    };
    Fixture {
        keys,
        catalog: Catalog::default_catalog(),
        value,
        view,
    }
}

fn decide(
    fixture: &Fixture,
    view: &TokenView,
    transport: Transport,
    header: Option<&str>,
    path: Option<&str>,
) -> Result<Option<String>, RefusalReason> {
    // As the gate does: the transport, the credential header, then the decision.
    if transport == Transport::Http {
        return Err(RefusalReason::InsecureTransport);
    }
    let header = header.ok_or(RefusalReason::MissingCredential)?;
    let presented = PresentedToken::from_authorization(header).map_err(RefusalReason::Malformed)?;
    super::decide(
        &presented,
        (presented.id() == view.id).then_some(view),
        Target::Path(path),
        &fixture.keys.hash,
        &fixture.catalog,
        NOW,
    )
    .map(|grant| grant.module.map(|m| m.code.to_string()))
}

const NOW: OffsetDateTime = time::macros::datetime!(2026-12-01 12:00 UTC);

/// Expiry at its boundary, and a rotation's previous value during and after its grace.
#[test]
fn expiry_and_grace_at_their_boundaries() {
    let f = fixture();
    let milli = time::Duration::milliseconds(1);
    let check = |view: &TokenView, value: &str, now: OffsetDateTime| {
        let presented = PresentedToken::parse(value).unwrap_or_else(|_| unreachable!());
        authenticate(&presented, Some(view), &f.keys.hash, now).map(|_| ())
    };
    let current = f.value.expose_secret();
    let mut view = f.view.clone();
    view.expires_at = Some(NOW);
    assert_eq!(check(&view, current, NOW - milli), Ok(()));
    assert_eq!(check(&view, current, NOW), Err(RefusalReason::Expired));
    assert_eq!(
        RefusalReason::Expired.kind(),
        RefusalKind::Unauthenticated,
        "refused like an unknown token"
    );
    // Rotated: the old value works until the grace ends, then is retired.
    let mut rng = StdRng::seed_from_u64(10);
    let new = TokenValue::generate(view.id, &mut rng);
    let mut rotated = f.view.clone();
    rotated.hash = f.keys.hash.hash(new.expose_secret());
    rotated.previous = Some(PreviousValue {
        hash: f.view.hash.clone(),
        until: Some(NOW),
    });
    assert_eq!(check(&rotated, new.expose_secret(), NOW), Ok(()));
    assert_eq!(check(&rotated, current, NOW - milli), Ok(()));
    assert_eq!(
        check(&rotated, current, NOW),
        Err(RefusalReason::Failed(FailureReason::RetiredValue))
    );
    rotated.previous = Some(PreviousValue {
        hash: f.view.hash.clone(),
        until: None,
    });
    assert_eq!(
        check(&rotated, current, NOW - milli),
        Err(RefusalReason::Failed(FailureReason::RetiredValue))
    );
    let other = TokenValue::generate(view.id, &mut rng);
    assert_eq!(
        check(&rotated, other.expose_secret(), NOW),
        Err(RefusalReason::Failed(FailureReason::WrongSecret))
    );
}

type Case<'a> = (
    TokenView,
    Transport,
    Option<&'a str>,
    Option<&'a str>,
    Result<Option<String>, RefusalReason>,
);

#[test]
fn decision_table() {
    let f = fixture();
    let good = format!("Bearer {}", f.value.expose_secret());
    let v = &f.view;
    let https = Transport::Https;
    let cases: Vec<Case<'_>> = vec![
        (
            v.clone(),
            https,
            Some(&good),
            Some("/public/v1/commerce/orders"),
            Ok(Some("marketplace".into())),
        ),
        (
            v.clone(),
            https,
            Some(&good),
            Some("/public/v1/billing"),
            Ok(Some("billing".into())),
        ),
        (
            v.clone(),
            Transport::Http,
            Some(&good),
            Some("/public/v1/billing"),
            Err(RefusalReason::InsecureTransport),
        ),
        (
            v.clone(),
            https,
            None,
            Some("/public/v1/billing"),
            Err(RefusalReason::MissingCredential),
        ),
        (
            v.clone(),
            https,
            Some("Bearer nope"),
            Some("/public/v1/billing"),
            Err(RefusalReason::Malformed(MalformedToken::Length)),
        ),
        (
            v.clone(),
            https,
            Some(&good),
            Some("/public/v1/helpdesk/cases"),
            Err(RefusalReason::ModuleNotInScope),
        ),
        (
            v.clone(),
            https,
            Some(&good),
            Some("/public/v1/catalog/products"),
            Err(RefusalReason::AccountTypeNotAllowed),
        ),
        (
            v.clone(),
            https,
            Some(&good),
            Some("/public/v1/commerce-x"),
            Err(RefusalReason::PathNotGranted),
        ),
        (
            v.clone(),
            https,
            Some(&good),
            Some("/other/commerce"),
            Err(RefusalReason::PathNotGranted),
        ),
        (
            v.clone(),
            https,
            Some(&good),
            None,
            Err(RefusalReason::BadPath),
        ),
        (
            v.clone(),
            https,
            Some(&good),
            Some("/public/v1/commerce%2Fx"),
            Err(RefusalReason::BadPath),
        ),
        (
            TokenView {
                status: TokenStatus::Disabled,
                ..v.clone()
            },
            https,
            Some(&good),
            Some("/public/v1/billing"),
            Err(RefusalReason::Failed(FailureReason::Disabled)),
        ),
        (
            TokenView {
                status: TokenStatus::Deleted,
                ..v.clone()
            },
            https,
            Some(&good),
            Some("/public/v1/billing"),
            Err(RefusalReason::Failed(FailureReason::Deleted)),
        ),
        (
            TokenView {
                account_status: AccountStatus::Disabled,
                ..v.clone()
            },
            https,
            Some(&good),
            Some("/public/v1/billing"),
            Err(RefusalReason::Failed(FailureReason::AccountDisabled)),
        ),
        (
            TokenView {
                hash: f.keys.hash.hash("something else"),
                ..v.clone()
            },
            https,
            Some(&good),
            Some("/public/v1/billing"),
            Err(RefusalReason::Failed(FailureReason::WrongSecret)),
        ),
        (
            TokenView {
                id: TokenId::from_number(1).unwrap_or_else(|| unreachable!()),
                ..v.clone()
            },
            https,
            Some(&good),
            Some("/public/v1/billing"),
            Err(RefusalReason::UnknownToken),
        ),
    ];
    for (index, (view, transport, header, path, expect)) in cases.into_iter().enumerate() {
        assert_eq!(
            decide(&f, &view, transport, header, path),
            expect,
            "case {index}"
        );
    }
}

#[test]
fn refusal_kinds() {
    assert_eq!(
        RefusalReason::UnknownToken.kind(),
        RefusalKind::Unauthenticated
    );
    assert_eq!(
        RefusalReason::Failed(FailureReason::Deleted).kind(),
        RefusalKind::Unauthenticated
    );
    assert_eq!(
        RefusalReason::Malformed(MalformedToken::Checksum).kind(),
        RefusalKind::Unauthenticated
    );
    assert_eq!(
        RefusalReason::InsecureTransport.kind(),
        RefusalKind::Forbidden
    );
    assert_eq!(
        RefusalReason::ModuleNotInScope.kind(),
        RefusalKind::Forbidden
    );
    assert_eq!(RefusalReason::BadPath.kind(), RefusalKind::Forbidden);
    assert_eq!(
        RefusalReason::DuplicateCredential.kind(),
        RefusalKind::Unauthenticated
    );
}

#[test]
fn one_authorization_header_at_most() {
    let value: &[u8] = b"Bearer idt:x";
    assert_eq!(credential_header(&[]), Ok(None));
    assert_eq!(credential_header(&[value]), Ok(Some("Bearer idt:x")));
    assert_eq!(
        credential_header(&[value, value]),
        Err(RefusalReason::DuplicateCredential)
    );
    assert_eq!(
        credential_header(&[value, b""]),
        Err(RefusalReason::DuplicateCredential)
    );
    assert_eq!(
        credential_header(&[b"Bearer \xff"]),
        Err(RefusalReason::Malformed(MalformedToken::Prefix))
    );
}
