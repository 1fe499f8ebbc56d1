//! Token issuance: one new value and what is stored of it. The only place a value is made.

use rand::rngs::OsRng;
use tollgate_domain::{Keyring, TokenId, TokenValue};
use tollgate_store::NewSecret;

use crate::RevealPolicy;

/// A new value and what the database keeps of it.
#[derive(Debug)]
pub struct Issued {
    /// The value, shown to the caller once.
    pub value: TokenValue,
    /// Its hash under the current key, and its sealed copy under reveal `audited`.
    pub secret: NewSecret,
}

/// A new value for token `id` (from the operating system's random source), hashed under the
/// current key and, under reveal `audited`, sealed.
pub fn issue(id: TokenId, keys: &Keyring, reveal: RevealPolicy) -> Issued {
    let value = TokenValue::generate(id, &mut OsRng);
    let current = keys.current();
    let secret = NewSecret {
        hash: current.hash.hash(value.expose_secret()),
        sealed: (reveal == RevealPolicy::Audited).then(|| current.seal.seal(&value, &mut OsRng)),
    };
    Issued { value, secret }
}
