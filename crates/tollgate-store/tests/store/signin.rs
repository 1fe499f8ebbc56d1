//! Sign-in nonces: a ticket works once; an ended session stays ended until it expires.

use time::Duration;
use tollgate_store::NonceKind;

use crate::common::*;

#[test]
fn a_nonce_is_remembered_once_and_forgotten_after_expiry() -> TestResult {
    each_backend(|h| {
        let nonce = "0123456789abcdef0123456789abcdef";
        let expires = NOW + Duration::minutes(5);
        assert!(
            h.store
                .remember_nonce(NonceKind::Ticket, nonce, expires, NOW)?
        );
        // The second use is refused; the same text of another kind is independent.
        assert!(
            !h.store
                .remember_nonce(NonceKind::Ticket, nonce, expires, NOW)?
        );
        assert!(!h.store.nonce_remembered(NonceKind::Session, nonce, NOW)?);
        assert!(h.store.nonce_remembered(NonceKind::Ticket, nonce, NOW)?);
        // Past its expiry it no longer counts, and the next write clears it away.
        let later = NOW + Duration::minutes(6);
        assert!(!h.store.nonce_remembered(NonceKind::Ticket, nonce, later)?);
        assert!(h.store.remember_nonce(
            NonceKind::Session,
            "other",
            later + Duration::hours(1),
            later
        )?);
        assert!(h.store.remember_nonce(
            NonceKind::Ticket,
            nonce,
            later + Duration::minutes(5),
            later
        )?);
        Ok(())
    })
}
