//! Sign-in state (SPEC §4): the nonces of used sign-in tickets, so each works once, and the ids
//! of ended sessions, so a signed-out session cookie stops working before it expires. Each is
//! kept only until what it guards would have expired anyway. And the sessions signed in, by the
//! key that signed their cookie, until they expire or end (what `tollgate keys status` counts
//! as live sessions under a key).

use diesel::prelude::*;
use time::OffsetDateTime;
use tollgate_domain::KeyId;

use super::Store;
use super::rows::to_db;
use crate::error::StoreError;
use crate::schema::{sign_in_nonces, sign_in_sessions};

/// What a remembered nonce stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceKind {
    /// A used sign-in ticket.
    Ticket,
    /// An ended session.
    Session,
}

impl NonceKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Ticket => "ticket",
            Self::Session => "session",
        }
    }
}

impl Store {
    /// Remembers `nonce` until `expires`; false when it was already remembered (a ticket used
    /// twice, a session already ended). Forgets what has expired by `now` on the way.
    pub fn remember_nonce(
        &self,
        kind: NonceKind,
        nonce: &str,
        expires: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        diesel::delete(sign_in_nonces::table.filter(sign_in_nonces::expires_at.le(to_db(now))))
            .execute(&mut conn)?;
        if kind == NonceKind::Session {
            // An ended session is no longer live under its key.
            diesel::delete(sign_in_sessions::table.find(nonce)).execute(&mut conn)?;
        }
        let inserted = diesel::insert_into(sign_in_nonces::table)
            .values((
                sign_in_nonces::nonce.eq(format!("{}:{nonce}", kind.as_str())),
                sign_in_nonces::kind.eq(kind.as_str()),
                sign_in_nonces::expires_at.eq(to_db(expires)),
            ))
            .execute(&mut conn);
        match inserted {
            Ok(_) => Ok(true),
            Err(error) => match StoreError::from(error) {
                StoreError::Duplicate(_) => Ok(false),
                other => Err(other),
            },
        }
    }

    /// Notes a session signed in with the key `key`, until `expires` (and forgets sessions
    /// that have expired by `now`).
    pub fn session_started(
        &self,
        session: &str,
        key: KeyId,
        expires: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        diesel::delete(sign_in_sessions::table.filter(sign_in_sessions::expires_at.le(to_db(now))))
            .execute(&mut conn)?;
        diesel::insert_into(sign_in_sessions::table)
            .values((
                sign_in_sessions::session_id.eq(session),
                sign_in_sessions::key_id.eq(key.to_string()),
                sign_in_sessions::expires_at.eq(to_db(expires)),
            ))
            .execute(&mut conn)?;
        Ok(())
    }

    /// True when `nonce` is remembered (and not yet expired at `now`).
    pub fn nonce_remembered(
        &self,
        kind: NonceKind,
        nonce: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let found: i64 = sign_in_nonces::table
            .filter(sign_in_nonces::nonce.eq(format!("{}:{nonce}", kind.as_str())))
            .filter(sign_in_nonces::expires_at.gt(to_db(now)))
            .count()
            .get_result(&mut conn)?;
        Ok(found > 0)
    }
}
