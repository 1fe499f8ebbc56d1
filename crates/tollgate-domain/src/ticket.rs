//! Sign-in tickets and sessions (SPEC §4), pure.
//!
//! A **ticket** is a short-lived, single-use sign-in link's credential, signed with `k_ticket`
//! (the only key an identity provider is given, so it can mint tickets too):
//!
//! ```text
//! v1.<USR-dddd-dddd>.<expires: unix seconds>.<nonce: 32 hex>.<base64url(HMAC-SHA256(k_ticket, "tollgate-ticket|v1|<user>|<expires>|<nonce>"))>
//! ```
//!
//! Checking a ticket here proves it authentic and unexpired; single use is the caller's part
//! (remember the nonce until the ticket expires).
//!
//! A **session** is the signed cookie that follows: `<USR-…>.<expires>.<session id: 32 hex>.<mac>`
//! with `k_session`; its CSRF token is `HMAC(k_session, "tollgate-csrf|<session id>")`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::{CryptoRng, RngCore};
use time::{Duration, OffsetDateTime};

use crate::id::UserId;
use crate::secret::MacKey;

/// The longest a ticket may live.
pub const MAX_TICKET_LIFETIME: Duration = Duration::minutes(10);

/// Why a ticket or session was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// Not of the documented form.
    #[error("malformed")]
    Malformed,
    /// The signature does not match.
    #[error("bad signature")]
    BadSignature,
    /// Past its expiry.
    #[error("expired")]
    Expired,
    /// Expires further ahead than a ticket may live.
    #[error("lifetime too long")]
    TooLong,
}

fn random_hex(rng: &mut (impl RngCore + CryptoRng)) -> String {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn is_hex32(text: &str) -> bool {
    text.len() == 32
        && text
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// A verified ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// Who signs in.
    pub user: UserId,
    /// When it expires.
    pub expires: OffsetDateTime,
    /// Its single-use nonce.
    pub nonce: String,
}

/// The expiry as Tollgate writes it: decimal Unix seconds, no sign, no leading zeros. Any other
/// spelling of the same number (`+1795860300`, `01795860300`) is refused, so that a ticket or a
/// session has one text only.
fn expiry(text: &str) -> Result<i64, SignInError> {
    let number: i64 = text.parse().map_err(|_| SignInError::Malformed)?;
    if number.to_string() != text {
        return Err(SignInError::Malformed);
    }
    Ok(number)
}

fn ticket_message(user: &str, expires: i64, nonce: &str) -> String {
    format!("tollgate-ticket|v1|{user}|{expires}|{nonce}")
}

impl Ticket {
    /// Mints a ticket for `user` valid for `lifetime` (at most [`MAX_TICKET_LIFETIME`]).
    pub fn mint(
        key: &MacKey,
        user: UserId,
        now: OffsetDateTime,
        lifetime: Duration,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> String {
        let expires = (now + lifetime.min(MAX_TICKET_LIFETIME)).unix_timestamp();
        let nonce = random_hex(rng);
        let user = user.to_string();
        let mac = key.sign(&[ticket_message(&user, expires, &nonce).as_bytes()]);
        format!(
            "v1.{user}.{expires}.{nonce}.{}",
            URL_SAFE_NO_PAD.encode(mac)
        )
    }

    /// Checks a ticket's form, signature and expiry.
    pub fn verify(key: &MacKey, text: &str, now: OffsetDateTime) -> Result<Ticket, SignInError> {
        let parts: Vec<&str> = text.split('.').collect();
        let [version, user, expires, nonce, mac] = parts.as_slice() else {
            return Err(SignInError::Malformed);
        };
        let user_id = UserId::parse(user).map_err(|_| SignInError::Malformed)?;
        let expires_at = expiry(expires)?;
        if *version != "v1" || !is_hex32(nonce) {
            return Err(SignInError::Malformed);
        }
        let mac = URL_SAFE_NO_PAD
            .decode(mac)
            .map_err(|_| SignInError::Malformed)?;
        if !key.verify(&[ticket_message(user, expires_at, nonce).as_bytes()], &mac) {
            return Err(SignInError::BadSignature);
        }
        let expires =
            OffsetDateTime::from_unix_timestamp(expires_at).map_err(|_| SignInError::Malformed)?;
        if expires <= now {
            return Err(SignInError::Expired);
        }
        if expires - now > MAX_TICKET_LIFETIME + Duration::seconds(5) {
            return Err(SignInError::TooLong);
        }
        Ok(Ticket {
            user: user_id,
            expires,
            nonce: (*nonce).to_owned(),
        })
    }
}

/// A verified session. `Debug` leaves out its id (its CSRF token is derived from it).
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    /// Who is signed in.
    pub user: UserId,
    /// When the session ends.
    pub expires: OffsetDateTime,
    /// Its id (for the CSRF token and sign-out).
    pub id: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

fn session_message(user: &str, expires: i64, id: &str) -> String {
    format!("tollgate-session|v1|{user}|{expires}|{id}")
}

impl Session {
    /// A new session cookie value for `user`.
    pub fn issue(
        key: &MacKey,
        user: UserId,
        now: OffsetDateTime,
        lifetime: Duration,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> String {
        let expires = (now + lifetime).unix_timestamp();
        let id = random_hex(rng);
        let user = user.to_string();
        let mac = key.sign(&[session_message(&user, expires, &id).as_bytes()]);
        format!("{user}.{expires}.{id}.{}", URL_SAFE_NO_PAD.encode(mac))
    }

    /// Checks a session cookie value.
    pub fn verify(key: &MacKey, text: &str, now: OffsetDateTime) -> Result<Session, SignInError> {
        let parts: Vec<&str> = text.split('.').collect();
        let [user, expires, id, mac] = parts.as_slice() else {
            return Err(SignInError::Malformed);
        };
        let user_id = UserId::parse(user).map_err(|_| SignInError::Malformed)?;
        let expires_at = expiry(expires)?;
        if !is_hex32(id) {
            return Err(SignInError::Malformed);
        }
        let mac = URL_SAFE_NO_PAD
            .decode(mac)
            .map_err(|_| SignInError::Malformed)?;
        if !key.verify(&[session_message(user, expires_at, id).as_bytes()], &mac) {
            return Err(SignInError::BadSignature);
        }
        let expires =
            OffsetDateTime::from_unix_timestamp(expires_at).map_err(|_| SignInError::Malformed)?;
        if expires <= now {
            return Err(SignInError::Expired);
        }
        Ok(Session {
            user: user_id,
            expires,
            id: (*id).to_owned(),
        })
    }

    /// The CSRF token of this session (put in every state-changing form).
    pub fn csrf_token(&self, key: &MacKey) -> String {
        URL_SAFE_NO_PAD.encode(key.sign(&[b"tollgate-csrf|", self.id.as_bytes()]))
    }

    /// True when `token` is this session's CSRF token (constant time).
    pub fn check_csrf(&self, key: &MacKey, token: &str) -> bool {
        URL_SAFE_NO_PAD
            .decode(token)
            .is_ok_and(|tag| key.verify(&[b"tollgate-csrf|", self.id.as_bytes()], &tag))
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-11-28 10:00 UTC);

    fn user() -> UserId {
        UserId::from_number(11_112_222).unwrap_or_else(|| unreachable!())
    }

    #[test]
    fn tickets_verify_once_minted_and_refuse_tampering() {
        let key = MacKey::new(b"k_ticket");
        let mut rng = StdRng::seed_from_u64(1);
        let text = Ticket::mint(&key, user(), NOW, Duration::minutes(5), &mut rng);
        assert!(text.starts_with("v1.USR-1111-2222."));
        let ticket = Ticket::verify(&key, &text, NOW + Duration::minutes(4));
        assert_eq!(ticket.as_ref().map(|t| t.user), Ok(user()));
        assert_eq!(
            Ticket::verify(&key, &text, NOW + Duration::minutes(5)),
            Err(SignInError::Expired)
        );
        assert_eq!(
            Ticket::verify(&MacKey::new(b"other"), &text, NOW),
            Err(SignInError::BadSignature)
        );
        let forged = text.replacen("USR-1111-2222", "USR-1111-2223", 1);
        assert_eq!(
            Ticket::verify(&key, &forged, NOW),
            Err(SignInError::BadSignature)
        );
        for bad in ["", "v1", "v2.USR-1111-2222.1.00.AA", "v1.USR-1.1.x.y"] {
            assert_eq!(
                Ticket::verify(&key, bad, NOW),
                Err(SignInError::Malformed),
                "{bad}"
            );
        }
        let long = Ticket::mint(&key, user(), NOW, Duration::hours(5), &mut rng);
        assert!(
            Ticket::verify(&key, &long, NOW).is_ok(),
            "minting caps the lifetime"
        );
    }

    #[test]
    fn an_identity_provider_can_mint_a_ticket_from_the_documented_form() {
        let key = MacKey::new(b"k_ticket");
        let expires = (NOW + Duration::minutes(2)).unix_timestamp();
        let nonce = "0123456789abcdef0123456789abcdef";
        let message = format!("tollgate-ticket|v1|USR-1111-2222|{expires}|{nonce}");
        let mac = URL_SAFE_NO_PAD.encode(key.sign(&[message.as_bytes()]));
        let text = format!("v1.USR-1111-2222.{expires}.{nonce}.{mac}");
        assert_eq!(
            Ticket::verify(&key, &text, NOW).map(|t| t.nonce),
            Ok(nonce.to_owned())
        );
        let far = (NOW + Duration::hours(1)).unix_timestamp();
        let message = format!("tollgate-ticket|v1|USR-1111-2222|{far}|{nonce}");
        let mac = URL_SAFE_NO_PAD.encode(key.sign(&[message.as_bytes()]));
        let text = format!("v1.USR-1111-2222.{far}.{nonce}.{mac}");
        assert_eq!(Ticket::verify(&key, &text, NOW), Err(SignInError::TooLong));
    }

    /// Found by the `sign_in` fuzz target: `+` or leading zeros before the expiry gave a second
    /// text that verified as the same ticket or session.
    #[test]
    fn another_spelling_of_the_expiry_is_refused() {
        let key = MacKey::new(b"k");
        let mut rng = StdRng::seed_from_u64(3);
        let ticket = Ticket::mint(&key, user(), NOW, Duration::minutes(5), &mut rng);
        let cookie = Session::issue(&key, user(), NOW, Duration::hours(8), &mut rng);
        assert!(Ticket::verify(&key, &ticket, NOW).is_ok());
        assert!(Session::verify(&key, &cookie, NOW).is_ok());
        let respell = |text: &str, at: usize, how: &str| {
            let mut parts: Vec<String> = text.split('.').map(str::to_owned).collect();
            parts[at] = format!("{how}{}", parts[at]);
            parts.join(".")
        };
        for how in ["+", "0", "00"] {
            let forged = respell(&ticket, 2, how);
            assert_eq!(
                Ticket::verify(&key, &forged, NOW),
                Err(SignInError::Malformed),
                "{forged}"
            );
            let forged = respell(&cookie, 1, how);
            assert_eq!(
                Session::verify(&key, &forged, NOW),
                Err(SignInError::Malformed),
                "{forged}"
            );
        }
    }

    #[test]
    fn sessions_and_csrf() {
        let key = MacKey::new(b"k_session");
        let mut rng = StdRng::seed_from_u64(2);
        let cookie = Session::issue(&key, user(), NOW, Duration::hours(8), &mut rng);
        let session = Session::verify(&key, &cookie, NOW + Duration::hours(1));
        let Ok(session) = session else {
            panic!("{session:?}")
        };
        assert_eq!(session.user, user());
        let csrf = session.csrf_token(&key);
        assert!(session.check_csrf(&key, &csrf));
        assert!(!session.check_csrf(&key, "x"));
        let debug = format!("{session:?}");
        assert!(!debug.contains(&session.id), "{debug}");
        assert!(debug.contains("USR-1111-2222"), "{debug}");
        let other = Session::issue(&key, user(), NOW, Duration::hours(8), &mut rng);
        let other = Session::verify(&key, &other, NOW).unwrap_or_else(|_| unreachable!());
        assert!(
            !other.check_csrf(&key, &csrf),
            "a CSRF token belongs to one session"
        );
        assert_eq!(
            Session::verify(&key, &cookie, NOW + Duration::hours(9)),
            Err(SignInError::Expired)
        );
        assert_eq!(
            Session::verify(&MacKey::new(b"x"), &cookie, NOW),
            Err(SignInError::BadSignature)
        );
    }
}
