//! The `Authorization` header, as raw header lines (one per `\n` of the input; an empty input is
//! no header): `credential_header` (at most one), `PresentedToken::from_authorization`,
//! `authenticate` against the known token, then the path — the gate's composition — and the
//! domain's whole `authorize`.
//!
//! Invariants: two lines are always refused; the gate's composition and `authorize` decide
//! alike; a request is allowed only with exactly one line carrying exactly the known value;
//! plain HTTP is refused before the credential is looked at.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate_domain::authz::{self, RefusalReason, Transport};
use tollgate_domain::{PresentedToken, RequestPath};
use tollgate_fuzz::fixture;

/// A path the known token's modules grant.
const PATH: &str = "/public/v1/commerce/orders?limit=10";

/// A fixed time: the fixture's token never expires, so any instant decides the same.
const NOW: time::OffsetDateTime = time::OffsetDateTime::UNIX_EPOCH;

fuzz_target!(|data: &[u8]| {
    let fx = fixture();
    let lines: Vec<&[u8]> = if data.is_empty() {
        Vec::new()
    } else {
        data.split(|byte| *byte == b'\n').collect()
    };
    let header = authz::credential_header(&lines);
    match lines.len() {
        0 => assert_eq!(header, Ok(None)),
        1 => assert_eq!(header.is_ok(), std::str::from_utf8(lines[0]).is_ok()),
        _ => assert_eq!(header, Err(RefusalReason::DuplicateCredential)),
    }
    // As the gate composes it (`Gate::lookup`, `Gate::verify`, then the path).
    let gate = header.and_then(|header| {
        let header = header.ok_or(RefusalReason::MissingCredential)?;
        let presented =
            PresentedToken::from_authorization(header).map_err(RefusalReason::Malformed)?;
        let view = authz::authenticate(&presented, fx.lookup(presented.id()), &fx.keys.hash, NOW)?;
        let path = RequestPath::parse(PATH).map_err(|_| RefusalReason::BadPath)?;
        authz::authorize_path(view, &path, &fx.catalog).map(|grant| grant.module.map(|m| m.id))
    });
    if let Ok(header) = header {
        let whole = authz::authorize(
            Transport::Https,
            header,
            Some(PATH),
            |id| fx.lookup(id),
            &fx.keys.hash,
            &fx.catalog,
            NOW,
        )
        .map(|grant| grant.module.map(|m| m.id));
        assert_eq!(whole, gate, "the two compositions disagree on {header:?}");
        let plain = authz::authorize(
            Transport::Http,
            header,
            Some(PATH),
            |_| unreachable!("plain HTTP must be refused before any lookup"),
            &fx.keys.hash,
            &fx.catalog,
            NOW,
        );
        assert_eq!(plain.err(), Some(RefusalReason::InsecureTransport));
    }
    if gate.is_ok() {
        assert_eq!(lines.len(), 1);
        let header = header.ok().flatten().unwrap_or_default();
        let presented = PresentedToken::from_authorization(header).map(|p| p.expose_secret());
        assert_eq!(
            presented,
            Ok(fx.value.expose_secret()),
            "allowed {header:?}"
        );
        let (scheme, _) = header.split_once(' ').unwrap_or_default();
        assert!(scheme.eq_ignore_ascii_case("bearer"), "allowed {header:?}");
    }
});
