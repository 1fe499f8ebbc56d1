//! Sign-in tickets (`/sign-in?ticket=…`) and session cookies: `Ticket::verify`,
//! `Session::verify` and `Session::check_csrf`, with fixed keys and a fixed "now".
//!
//! The input is tried as sent, and also re-signed as the key holder would sign what `verify`
//! reads from it (so the fuzzer reaches past the signature).
//!
//! Invariants: what verifies is the one canonical spelling of what it says (`v1.<user>.<expires
//! as decimal>.<nonce>.<base64url MAC>`; for sessions without `v1.`), so no two texts verify as
//! one ticket or one session; an accepted ticket is unexpired and lives at most its maximum; a
//! CSRF token is accepted only as the session's own, canonically encoded.

#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use time::Duration;
use tollgate_domain::UserId;
use tollgate_domain::ticket::{MAX_TICKET_LIFETIME, Session, Ticket};
use tollgate_fuzz::{Fixture, fixture};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let fx = fixture();
    check_ticket(fx, text);
    check_session(fx, text);
    if let Some(resigned) = resign(text, "tollgate-ticket|v1", 5, &fx.ticket_key) {
        check_ticket(fx, &resigned);
    }
    if let Some(resigned) = resign(text, "tollgate-session|v1", 4, &fx.session_key) {
        check_session(fx, &resigned);
    }
    // The text as a CSRF token of a fixed session.
    let session = Session {
        user: UserId::from_number(11_112_222).unwrap_or_else(|| unreachable!()),
        expires: fx.now + Duration::hours(8),
        id: "0123456789abcdef0123456789abcdef".into(),
    };
    let csrf = session.csrf_token(&fx.session_key);
    assert!(session.check_csrf(&fx.session_key, &csrf));
    if session.check_csrf(&fx.session_key, text) {
        assert_eq!(text, csrf);
    }
});

/// `text` with its last part replaced by the MAC of `label|<user>|<expires>|<id>`, the expiry
/// read as `verify` reads it: the key holder's signature over what `verify` checks.
fn resign(text: &str, label: &str, parts: usize, key: &tollgate_domain::MacKey) -> Option<String> {
    let split: Vec<&str> = text.split('.').collect();
    if split.len() != parts {
        return None;
    }
    let [user, expires, id] = split[parts - 4..parts - 1] else {
        return None;
    };
    let number: i64 = expires.parse().ok()?;
    let mac = key.sign(&[format!("{label}|{user}|{number}|{id}").as_bytes()]);
    let mut out: Vec<String> = split[..parts - 1].iter().map(|s| (*s).to_owned()).collect();
    out.push(URL_SAFE_NO_PAD.encode(mac));
    Some(out.join("."))
}

fn check_ticket(fx: &Fixture, text: &str) {
    let Ok(ticket) = Ticket::verify(&fx.ticket_key, text, fx.now) else {
        return;
    };
    let mac = text.rsplit('.').next().unwrap_or_default();
    let canonical = format!(
        "v1.{}.{}.{}.{mac}",
        ticket.user,
        ticket.expires.unix_timestamp(),
        ticket.nonce
    );
    assert_eq!(text, canonical, "a ticket verifies in another spelling");
    assert!(ticket.expires > fx.now);
    assert!(ticket.expires - fx.now <= MAX_TICKET_LIFETIME + Duration::seconds(5));
    let message = format!(
        "tollgate-ticket|v1|{}|{}|{}",
        ticket.user,
        ticket.expires.unix_timestamp(),
        ticket.nonce
    );
    assert_eq!(
        mac,
        URL_SAFE_NO_PAD.encode(fx.ticket_key.sign(&[message.as_bytes()]))
    );
}

fn check_session(fx: &Fixture, text: &str) {
    let Ok(session) = Session::verify(&fx.session_key, text, fx.now) else {
        return;
    };
    let mac = text.rsplit('.').next().unwrap_or_default();
    let canonical = format!(
        "{}.{}.{}.{mac}",
        session.user,
        session.expires.unix_timestamp(),
        session.id
    );
    assert_eq!(text, canonical, "a session verifies in another spelling");
    assert!(session.expires > fx.now);
    let csrf = session.csrf_token(&fx.session_key);
    assert!(session.check_csrf(&fx.session_key, &csrf));
    assert!(!format!("{session:?}").contains(&session.id));
}
