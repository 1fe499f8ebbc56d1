//! The server keys in use (SPEC §8, key rotation): the **current** key, which makes everything
//! new (hashes, sealed copies, audit records, row MACs, sessions, tickets, checkpoints), and
//! **previous** keys, still accepted for what was made under them: values hashed under them,
//! copies sealed with them, audit records chained under them, and sessions and sign-in tickets
//! until they expire.
//!
//! A previous key that has been *retired* (another key became current on the database, at a
//! time the caller passes in) accepts only sessions and tickets that could have been issued
//! before it was retired: a session must end within one session lifetime of the retirement, a
//! ticket within [`MAX_TICKET_LIFETIME`]. So an old key that leaked cannot mint new sign-ins,
//! while what it signed before the rotation lives out its time.

use std::fmt;

use time::{Duration, OffsetDateTime};

use crate::id::TokenId;
use crate::secret::{HashKey, KeyId, Keys, OpenError, SealedValue, TokenHash, TokenValue};
use crate::ticket::{MAX_TICKET_LIFETIME, Session, SignInError, Ticket};

/// Checks a presented value against a stored hash: one key ([`HashKey`]) or a whole
/// [`Keyring`] (the key the hash names).
pub trait HashVerifier {
    /// True when `value` hashes to `stored` under the key `stored` names; constant time.
    fn verify_hash(&self, value: &str, stored: &TokenHash) -> bool;
}

impl HashVerifier for HashKey {
    fn verify_hash(&self, value: &str, stored: &TokenHash) -> bool {
        self.verify(value, stored)
    }
}

/// Why a keyring could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyringError {
    /// The same key was given twice (current and previous, or twice as previous).
    #[error("the key with key id {0} is given more than once")]
    Duplicate(KeyId),
}

/// The current key and the previous ones, each with the time it was retired (if it was).
#[derive(Clone)]
pub struct Keyring {
    current: Keys,
    previous: Vec<(Keys, Option<OffsetDateTime>)>,
}

impl From<Keys> for Keyring {
    fn from(current: Keys) -> Self {
        Self {
            current,
            previous: Vec::new(),
        }
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let previous: Vec<String> = self
            .previous
            .iter()
            .map(|(keys, _)| keys.id().to_string())
            .collect();
        write!(
            f,
            "Keyring(current {}, previous [{}], …)",
            self.current.id(),
            previous.join(", ")
        )
    }
}

impl Keyring {
    /// The current key and the previous ones (none retired yet).
    pub fn new(current: Keys, previous: Vec<Keys>) -> Result<Self, KeyringError> {
        let mut seen = vec![current.id()];
        for keys in &previous {
            if seen.contains(&keys.id()) {
                return Err(KeyringError::Duplicate(keys.id()));
            }
            seen.push(keys.id());
        }
        Ok(Self {
            current,
            previous: previous.into_iter().map(|keys| (keys, None)).collect(),
        })
    }

    /// The same keys, with the retirement times the database recorded (keys not listed stay as
    /// they were).
    pub fn with_retirements(mut self, retired: &[(KeyId, OffsetDateTime)]) -> Self {
        for (keys, at) in &mut self.previous {
            if let Some((_, when)) = retired.iter().find(|(id, _)| *id == keys.id()) {
                *at = Some(*when);
            }
        }
        self
    }

    /// The current key: everything new is made with it.
    pub fn current(&self) -> &Keys {
        &self.current
    }

    /// The previous keys, in the order given.
    pub fn previous(&self) -> impl Iterator<Item = &Keys> {
        self.previous.iter().map(|(keys, _)| keys)
    }

    /// Every key, the current one first.
    pub fn all(&self) -> impl Iterator<Item = &Keys> {
        std::iter::once(&self.current).chain(self.previous())
    }

    /// The key with this id (the current one or a previous one).
    pub fn get(&self, id: KeyId) -> Option<&Keys> {
        self.all().find(|keys| keys.id() == id)
    }

    /// When a previous key was retired (none for the current key, or one not yet retired).
    pub fn retired_at(&self, id: KeyId) -> Option<OffsetDateTime> {
        self.previous
            .iter()
            .find(|(keys, _)| keys.id() == id)
            .and_then(|(_, at)| *at)
    }

    /// Opens a sealed copy with the key it was sealed with; also returns that key's id.
    pub fn unseal(
        &self,
        id: TokenId,
        sealed: &SealedValue,
    ) -> Result<(TokenValue, KeyId), OpenError> {
        let seal_id = sealed.key_id().ok_or(OpenError::Damaged)?;
        let keys = self
            .all()
            .find(|keys| keys.seal.id() == seal_id)
            .ok_or(OpenError::OtherKey)?;
        keys.seal.open(id, sealed).map(|value| (value, keys.id()))
    }

    /// Verifies a session cookie under the key that signed it; `lifetime` is how long a session
    /// lasts (a retired key accepts only sessions ending within one lifetime of its retirement).
    /// Returns the session and the keys that signed it (its CSRF token is made with them).
    pub fn verify_session(
        &self,
        text: &str,
        now: OffsetDateTime,
        lifetime: Duration,
    ) -> Result<(Session, &Keys), SignInError> {
        let mut outcome = Err(SignInError::Malformed);
        for keys in self.all() {
            match Session::verify(&keys.session, text, now) {
                Ok(session) => {
                    return match self.retired_at(keys.id()) {
                        Some(retired) if session.expires > retired + lifetime => {
                            Err(SignInError::BadSignature)
                        }
                        _ => Ok((session, keys)),
                    };
                }
                Err(SignInError::BadSignature) => outcome = Err(SignInError::BadSignature),
                Err(other) => return Err(other),
            }
        }
        outcome
    }

    /// Verifies a sign-in ticket under the key that signed it (a retired key accepts only
    /// tickets that could have been minted before its retirement).
    pub fn verify_ticket(
        &self,
        text: &str,
        now: OffsetDateTime,
    ) -> Result<(Ticket, &Keys), SignInError> {
        let mut outcome = Err(SignInError::Malformed);
        for keys in self.all() {
            match Ticket::verify(&keys.ticket, text, now) {
                Ok(ticket) => {
                    return match self.retired_at(keys.id()) {
                        Some(retired) if ticket.expires > retired + MAX_TICKET_LIFETIME => {
                            Err(SignInError::BadSignature)
                        }
                        _ => Ok((ticket, keys)),
                    };
                }
                Err(SignInError::BadSignature) => outcome = Err(SignInError::BadSignature),
                Err(other) => return Err(other),
            }
        }
        outcome
    }
}

impl HashVerifier for Keyring {
    fn verify_hash(&self, value: &str, stored: &TokenHash) -> bool {
        self.get(stored.key_id)
            .is_some_and(|keys| keys.hash.verify(value, stored))
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;
    use crate::id::UserId;
    use crate::secret::ServerKey;

    fn keys(byte: u8) -> Keys {
        ServerKey::from_bytes(vec![byte; 32])
            .map(|key| key.derive())
            .unwrap_or_else(|_| unreachable!())
    }

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::days(20_000) + Duration::seconds(seconds)
    }

    #[test]
    fn a_key_given_twice_is_refused() {
        assert_eq!(
            Keyring::new(keys(1), vec![keys(2), keys(1)]).err(),
            Some(KeyringError::Duplicate(keys(1).id()))
        );
        assert!(Keyring::new(keys(1), vec![keys(2), keys(3)]).is_ok());
    }

    #[test]
    fn hashes_verify_under_the_key_they_name() -> Result<(), KeyringError> {
        let (old, new) = (keys(1), keys(2));
        let ring = Keyring::new(new.clone(), vec![old.clone()])?;
        let mut rng = StdRng::seed_from_u64(1);
        let id = TokenId::from_number(1).unwrap_or_else(|| unreachable!());
        let value = TokenValue::generate(id, &mut rng);
        let under_old = old.hash.hash(value.expose_secret());
        let under_new = new.hash.hash(value.expose_secret());
        assert!(ring.verify_hash(value.expose_secret(), &under_old));
        assert!(ring.verify_hash(value.expose_secret(), &under_new));
        let other = keys(3).hash.hash(value.expose_secret());
        assert!(!ring.verify_hash(value.expose_secret(), &other));
        assert!(!Keyring::from(new).verify_hash(value.expose_secret(), &under_old));
        Ok(())
    }

    #[test]
    fn copies_open_with_the_key_that_sealed_them() -> Result<(), KeyringError> {
        let (old, new) = (keys(1), keys(2));
        let ring = Keyring::new(new.clone(), vec![old.clone()])?;
        let mut rng = StdRng::seed_from_u64(2);
        let id = TokenId::from_number(2).unwrap_or_else(|| unreachable!());
        let value = TokenValue::generate(id, &mut rng);
        let sealed = old.seal.seal(&value, &mut rng);
        assert_eq!(ring.unseal(id, &sealed), Ok((value, old.id())));
        assert_eq!(
            Keyring::from(new).unseal(id, &sealed).err(),
            Some(OpenError::OtherKey)
        );
        Ok(())
    }

    #[test]
    fn a_retired_key_accepts_only_what_it_signed_before_its_retirement() -> Result<(), KeyringError>
    {
        let (old, new) = (keys(1), keys(2));
        let lifetime = Duration::hours(8);
        let user = UserId::from_number(11_112_222).unwrap_or_else(|| unreachable!());
        let mut rng = StdRng::seed_from_u64(3);
        let before = Session::issue(&old.session, user, at(0), lifetime, &mut rng);
        let after = Session::issue(&old.session, user, at(3600), lifetime, &mut rng);
        let ring = Keyring::new(new.clone(), vec![old.clone()])?;
        // Not yet retired: both are accepted, and each names the key that signed it.
        let (_, signer) = ring
            .verify_session(&after, at(3700), lifetime)
            .map_err(|_| KeyringError::Duplicate(old.id()))?;
        assert_eq!(signer.id(), old.id());
        let retired = ring.with_retirements(&[(old.id(), at(60))]);
        assert!(retired.verify_session(&before, at(3700), lifetime).is_ok());
        assert_eq!(
            retired.verify_session(&after, at(3700), lifetime).err(),
            Some(SignInError::BadSignature),
            "a session signed after the retirement"
        );
        let fresh = Session::issue(&new.session, user, at(3600), lifetime, &mut rng);
        assert!(retired.verify_session(&fresh, at(3700), lifetime).is_ok());
        assert_eq!(
            retired
                .verify_session(&before, at(0) + lifetime + Duration::seconds(1), lifetime)
                .err(),
            Some(SignInError::Expired)
        );

        let ticket = Ticket::mint(&old.ticket, user, at(3600), MAX_TICKET_LIFETIME, &mut rng);
        assert!(
            Keyring::new(new.clone(), vec![old.clone()])?
                .verify_ticket(&ticket, at(3601))
                .is_ok()
        );
        assert!(retired.verify_ticket(&ticket, at(3601)).is_err());
        let early = Ticket::mint(&old.ticket, user, at(0), MAX_TICKET_LIFETIME, &mut rng);
        assert!(retired.verify_ticket(&early, at(1)).is_ok());
        let stranger = Ticket::mint(&keys(9).ticket, user, at(0), MAX_TICKET_LIFETIME, &mut rng);
        assert_eq!(
            retired.verify_ticket(&stranger, at(1)).err(),
            Some(SignInError::BadSignature)
        );
        Ok(())
    }

    #[test]
    fn debug_names_key_ids_only() -> Result<(), KeyringError> {
        let ring = Keyring::new(keys(1), vec![keys(2)])?;
        let printed = format!("{ring:?}");
        assert!(printed.contains(&keys(1).id().to_string()), "{printed}");
        assert!(!printed.contains("MacKey"), "{printed}");
        Ok(())
    }
}
