//! The `Authorization` header, as raw header lines (one per `\n` of the input; an empty input is
//! no header): `credential_header` (at most one), `PresentedToken::from_authorization`,
//! `authz::decide` (what `Gate::decide` runs on the cached view) against the known token for a
//! path, and the same decision composed from its parts (`authenticate`, `authorize_path`).
//!
//! Invariants: two lines are always refused; `decide` and its parts decide alike; a request is
//! allowed only with exactly one line carrying exactly the known value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate_domain::authz::{self, RefusalReason, Target};
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
    // From the parts: authenticate, then the path.
    let parts = header.and_then(|header| {
        let header = header.ok_or(RefusalReason::MissingCredential)?;
        let presented =
            PresentedToken::from_authorization(header).map_err(RefusalReason::Malformed)?;
        let view = authz::authenticate(&presented, fx.lookup(presented.id()), &fx.keys.hash, NOW)?;
        let path = RequestPath::parse(PATH).map_err(|_| RefusalReason::BadPath)?;
        authz::authorize_path(view, &path, &fx.catalog).map(|grant| grant.module.map(|m| m.id))
    });
    // As the gate decides it: the header parsed once, then `authz::decide`.
    let gate = header.and_then(|header| {
        let header = header.ok_or(RefusalReason::MissingCredential)?;
        let presented =
            PresentedToken::from_authorization(header).map_err(RefusalReason::Malformed)?;
        authz::decide(
            &presented,
            fx.lookup(presented.id()),
            Target::Path(Some(PATH)),
            &fx.keys.hash,
            &fx.catalog,
            NOW,
        )
        .map(|grant| grant.module.map(|m| m.id))
    });
    assert_eq!(gate, parts, "decide and its parts disagree on {header:?}");
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
