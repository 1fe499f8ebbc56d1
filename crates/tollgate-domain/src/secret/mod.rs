//! Token values and keys (SPEC §3).
//!
//! A value is `idt:TKN-dddd-dddd:` followed by 58 random base62 characters and a 6-character
//! base62 CRC-32 checksum of everything before it. Values are stored only as
//! `HMAC-SHA256(k_hash, value)` and, when reveal is allowed, sealed with `k_seal`. Every secret
//! type here prints only its type name.

use std::fmt;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand_core::{CryptoRng, RngCore};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::id::TokenId;

type HmacSha256 = Hmac<Sha256>;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The fixed start of every value.
pub const VALUE_PREFIX: &str = "idt:";
/// Random characters in a value's tail.
pub const RANDOM_CHARS: usize = 58;
/// Checksum characters at the end of a value.
pub const CHECKSUM_CHARS: usize = 6;
/// Length of the part before the random tail: `idt:TKN-dddd-dddd:`.
const HEAD_LEN: usize = VALUE_PREFIX.len() + TokenId::TEXT_LEN + 1;
/// The length of every value.
pub const VALUE_LEN: usize = HEAD_LEN + RANDOM_CHARS + CHECKSUM_CHARS;
/// The exact form of a value, for secret scanners and documentation.
pub const VALUE_REGEX: &str = r"^idt:TKN-[0-9]{4}-[0-9]{4}:[0-9A-Za-z]{64}$";

/// Base62 digits of `crc32(text)`, most significant first, zero-padded to six.
pub fn checksum(text: &[u8]) -> [u8; CHECKSUM_CHARS] {
    let mut number = crc32fast::hash(text);
    let mut digits = [b'0'; CHECKSUM_CHARS];
    for digit in digits.iter_mut().rev() {
        *digit = BASE62[(number % 62) as usize];
        number /= 62;
    }
    digits
}

/// A token's secret value. Never printed, zeroed when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenValue {
    id: TokenId,
    text: Zeroizing<String>,
}

impl TokenValue {
    /// A new value for token `id` from a cryptographically secure random source.
    pub fn generate(id: TokenId, rng: &mut (impl RngCore + CryptoRng)) -> Self {
        let mut text = String::with_capacity(VALUE_LEN);
        text.push_str(VALUE_PREFIX);
        text.push_str(&id.to_string());
        text.push(':');
        let mut pool = Zeroizing::new([0u8; 96]);
        let mut produced = 0;
        while produced < RANDOM_CHARS {
            rng.fill_bytes(pool.as_mut());
            for byte in pool.iter() {
                // 248 = 4 × 62: reject the top of the range so each character is uniform.
                if *byte < 248 && produced < RANDOM_CHARS {
                    text.push(char::from(BASE62[usize::from(*byte % 62)]));
                    produced += 1;
                }
            }
        }
        let sum = checksum(text.as_bytes());
        text.extend(sum.iter().map(|b| char::from(*b)));
        Self {
            id,
            text: Zeroizing::new(text),
        }
    }

    /// Accepts a complete, well-formed value (form and checksum), e.g. one read back from a
    /// sealed copy.
    pub fn parse(text: &str) -> Result<Self, MalformedToken> {
        Ok(PresentedToken::parse(text)?.to_value())
    }

    /// The token this value belongs to.
    pub fn token_id(&self) -> TokenId {
        self.id
    }

    /// The value itself, for the one response or page that shows it.
    pub fn expose_secret(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for TokenValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenValue(…)")
    }
}

/// Why a presented value was rejected before any lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MalformedToken {
    /// Not exactly the length of a value.
    #[error("wrong length")]
    Length,
    /// Does not start with `idt:TKN-` or lacks the `:` after the id.
    #[error("wrong prefix")]
    Prefix,
    /// The id part is not `TKN-dddd-dddd`.
    #[error("malformed token id")]
    Id,
    /// The tail has characters outside `[0-9A-Za-z]`.
    #[error("characters outside [0-9A-Za-z] in the tail")]
    Alphabet,
    /// The checksum does not match (a mistyped or truncated value).
    #[error("checksum mismatch")]
    Checksum,
}

/// A value presented by a client, checked for form and checksum and borrowed from the request.
/// Its id says which stored token to compare with.
#[derive(Clone, Copy)]
pub struct PresentedToken<'a> {
    id: TokenId,
    text: &'a str,
}

impl<'a> PresentedToken<'a> {
    /// Checks form and checksum without any lookup or allocation.
    pub fn parse(text: &'a str) -> Result<Self, MalformedToken> {
        let bytes = text.as_bytes();
        if bytes.len() != VALUE_LEN {
            return Err(MalformedToken::Length);
        }
        if !bytes.starts_with(b"idt:TKN-") || bytes[HEAD_LEN - 1] != b':' {
            return Err(MalformedToken::Prefix);
        }
        let id = TokenId::parse_bytes(&bytes[VALUE_PREFIX.len()..HEAD_LEN - 1])
            .ok_or(MalformedToken::Id)?;
        if !bytes[HEAD_LEN..].iter().all(u8::is_ascii_alphanumeric) {
            return Err(MalformedToken::Alphabet);
        }
        let (body, sum) = bytes.split_at(VALUE_LEN - CHECKSUM_CHARS);
        if checksum(body) != sum {
            return Err(MalformedToken::Checksum);
        }
        Ok(Self { id, text })
    }

    /// Reads `Authorization: Bearer <value>` (scheme case-insensitive).
    pub fn from_authorization(header: &'a str) -> Result<Self, MalformedToken> {
        let (scheme, rest) = header.split_once(' ').ok_or(MalformedToken::Prefix)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(MalformedToken::Prefix);
        }
        Self::parse(rest.trim_matches(' '))
    }

    /// The id named by the value.
    pub fn id(&self) -> TokenId {
        self.id
    }

    /// The presented text, for echoing a token's own value back to it (`GET` of itself).
    pub fn expose_secret(&self) -> &'a str {
        self.text
    }

    /// An owned copy of the value.
    pub fn to_value(&self) -> TokenValue {
        TokenValue {
            id: self.id,
            text: Zeroizing::new(self.text.to_owned()),
        }
    }
}

impl fmt::Debug for PresentedToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PresentedToken({}, …)", self.id)
    }
}

/// The server key (`TOLLGATE_SECRET_KEY`): at least 32 random bytes. Never printed; every copy
/// is zeroed when dropped.
#[derive(Clone)]
pub struct ServerKey(Zeroizing<Vec<u8>>);

/// Why a server key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerKeyError {
    /// Not base64.
    #[error("is not base64 (standard or URL-safe alphabet)")]
    NotBase64,
    /// Decodes to too few bytes.
    #[error("decodes to {0} bytes; at least 32 random bytes are required")]
    TooShort(usize),
}

impl ServerKey {
    /// The minimum key length in bytes.
    pub const MIN_BYTES: usize = 32;

    /// Decodes a base64 key of at least 32 bytes (standard or URL-safe alphabet, padded or not).
    pub fn from_base64(text: &str) -> Result<Self, ServerKeyError> {
        use base64::engine::general_purpose::{
            STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD,
        };
        let text = text.trim();
        let bytes = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())
            .ok_or(ServerKeyError::NotBase64)?;
        Self::from_bytes(bytes)
    }

    /// Takes raw key bytes (at least 32).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, ServerKeyError> {
        let bytes = Zeroizing::new(bytes);
        if bytes.len() < Self::MIN_BYTES {
            return Err(ServerKeyError::TooShort(bytes.len()));
        }
        Ok(Self(bytes))
    }

    /// `k_ticket` as base64 (standard alphabet, padded): what an identity provider is given so
    /// it can mint sign-in tickets (`MacKey::new` of the decoded bytes is `Keys::ticket`). No
    /// other purpose key can be exported.
    pub fn export_ticket_key(&self) -> Zeroizing<String> {
        let key = hkdf_label(self, "tollgate/v1/k_ticket");
        Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(key.as_slice()))
    }

    /// A new random 32-byte key and its base64 text (to be written where the operator keeps it).
    pub fn generate(rng: &mut (impl RngCore + CryptoRng)) -> (Self, Zeroizing<String>) {
        let mut bytes = Zeroizing::new(vec![0u8; Self::MIN_BYTES]);
        rng.fill_bytes(&mut bytes);
        let text = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(&*bytes));
        (Self(bytes), text)
    }

    /// Derives the purpose keys.
    pub fn derive(&self) -> Keys {
        Keys::derive(self)
    }
}

impl fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerKey(…)")
    }
}

fn hkdf_label(server_key: &ServerKey, label: &str) -> Zeroizing<[u8; 32]> {
    let hkdf = hkdf::Hkdf::<Sha256>::new(Some(b"tollgate"), &server_key.0);
    let mut okm = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's limit of 255 × 32, so expand cannot fail.
    if hkdf.expand(label.as_bytes(), okm.as_mut()).is_err() {
        unreachable!("HKDF output of 32 bytes is always valid");
    }
    okm
}

fn keyed(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length.
    <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!())
}

/// The purpose keys derived from the server key with HKDF-SHA256 and distinct labels.
#[derive(Clone)]
pub struct Keys {
    /// `k_hash`: value hashing.
    pub hash: HashKey,
    /// `k_seal`: the recoverable copy.
    pub seal: SealKey,
    /// `k_session`: session cookies.
    pub session: MacKey,
    /// `k_ticket`: sign-in tickets (the only key given to an identity provider).
    pub ticket: MacKey,
    /// `k_audit`: the audit hash chain.
    pub audit: MacKey,
    /// `k_row`: the MACs over the security fields of token, account, user and module rows.
    pub row: MacKey,
    /// `k_checkpoint`: signed chain heads an operator keeps outside the database.
    pub checkpoint: MacKey,
}

impl Keys {
    /// Derives every purpose key.
    pub fn derive(server_key: &ServerKey) -> Self {
        let hash = hkdf_label(server_key, "tollgate/v1/k_hash");
        let seal = hkdf_label(server_key, "tollgate/v1/k_seal");
        Self {
            hash: HashKey::new(&*hash),
            seal: SealKey::new(&*seal),
            session: MacKey::new(&*hkdf_label(server_key, "tollgate/v1/k_session")),
            ticket: MacKey::new(&*hkdf_label(server_key, "tollgate/v1/k_ticket")),
            audit: MacKey::new(&*hkdf_label(server_key, "tollgate/v1/k_audit")),
            row: MacKey::new(&*hkdf_label(server_key, "tollgate/v1/k_row")),
            checkpoint: MacKey::new(&*hkdf_label(server_key, "tollgate/v1/k_checkpoint")),
        }
    }

    /// The server key's id (its fingerprint): the key id its hashes carry. The database records
    /// it, and audit records, row MACs and checkpoints name the key they were made with by it.
    pub fn id(&self) -> KeyId {
        self.hash.id()
    }
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keys(…)")
    }
}

/// Identifies the key a hash or sealed copy was made with, so the server key can be rotated.
/// Derived from the key; reveals nothing about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub u32);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

impl KeyId {
    /// Parses the 8-hex-digit form.
    pub fn parse(text: &str) -> Option<Self> {
        (text.len() == 8)
            .then(|| u32::from_str_radix(text, 16).ok())
            .flatten()
            .map(Self)
    }

    fn of(mac: &HmacSha256) -> Self {
        let mut mac = mac.clone();
        mac.update(b"tollgate key id");
        let digest = mac.finalize().into_bytes();
        Self(u32::from_be_bytes([
            digest[0], digest[1], digest[2], digest[3],
        ]))
    }
}

/// `k_hash`, with the HMAC's keyed state precomputed (hashing a value costs three SHA-256
/// blocks).
#[derive(Clone)]
pub struct HashKey {
    id: KeyId,
    mac: HmacSha256,
}

/// A stored verification hash: `HMAC-SHA256(k_hash, value)` and the id of the key.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenHash {
    /// The key it was made with.
    pub key_id: KeyId,
    /// The digest.
    pub digest: [u8; 32],
}

impl TokenHash {
    /// True when both are the same key's hash of the same value; compared in constant time.
    pub fn matches(&self, other: &TokenHash) -> bool {
        self.key_id == other.key_id && bool::from(self.digest.ct_eq(&other.digest))
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash(key {}, …)", self.key_id)
    }
}

impl HashKey {
    fn new(key: &[u8]) -> Self {
        let mac = keyed(key);
        Self {
            id: KeyId::of(&mac),
            mac,
        }
    }

    /// This key's id.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The verification hash of a value.
    pub fn hash(&self, value: &str) -> TokenHash {
        let mut mac = self.mac.clone();
        mac.update(value.as_bytes());
        TokenHash {
            key_id: self.id,
            digest: mac.finalize().into_bytes().into(),
        }
    }

    /// True when `value` hashes to `stored` under this key; compared in constant time.
    pub fn verify(&self, value: &str, stored: &TokenHash) -> bool {
        if stored.key_id != self.id {
            return false;
        }
        let computed = self.hash(value);
        bool::from(computed.digest.ct_eq(&stored.digest))
    }
}

impl fmt::Debug for HashKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HashKey({}, …)", self.id)
    }
}

/// `k_seal`: XChaCha20-Poly1305 for the recoverable copy, the token id as associated data.
#[derive(Clone)]
pub struct SealKey {
    id: KeyId,
    cipher: XChaCha20Poly1305,
}

/// A sealed copy of a value: version byte, key id, 24-byte nonce, ciphertext and tag.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedValue(pub Vec<u8>);

impl fmt::Debug for SealedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealedValue(…)")
    }
}

/// Why a sealed copy could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Sealed with another server key.
    #[error("sealed with another key")]
    OtherKey,
    /// Damaged, or sealed for another token.
    #[error("sealed copy is damaged or belongs to another token")]
    Damaged,
}

const SEAL_VERSION: u8 = 1;

impl SealedValue {
    /// The id of the `k_seal` it was sealed with (none when damaged).
    pub fn key_id(&self) -> Option<KeyId> {
        match self.0.as_slice() {
            [SEAL_VERSION, a, b, c, d, ..] => Some(KeyId(u32::from_be_bytes([*a, *b, *c, *d]))),
            _ => None,
        }
    }
}

impl SealKey {
    /// This key's id (sealed copies carry it).
    pub fn id(&self) -> KeyId {
        self.id
    }

    fn new(key: &[u8]) -> Self {
        let mut material = Zeroizing::new([0u8; 32]);
        material.copy_from_slice(&key[..32]);
        let id = KeyId::of(&keyed(&*material));
        let cipher = XChaCha20Poly1305::new((&*material).into());
        Self { id, cipher }
    }

    /// Seals `value` for token `id` with a fresh random nonce.
    pub fn seal(&self, value: &TokenValue, rng: &mut (impl RngCore + CryptoRng)) -> SealedValue {
        let id = value.token_id().to_string();
        let mut nonce = [0u8; 24];
        rng.fill_bytes(&mut nonce);
        let payload = Payload {
            msg: value.expose_secret().as_bytes(),
            aad: id.as_bytes(),
        };
        // Encryption of a short in-memory message cannot fail.
        let ciphertext = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), payload)
            .unwrap_or_default();
        let mut out = Vec::with_capacity(1 + 4 + 24 + ciphertext.len());
        out.push(SEAL_VERSION);
        out.extend_from_slice(&self.id.0.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        SealedValue(out)
    }

    /// Opens a sealed copy made for token `id`.
    pub fn open(&self, id: TokenId, sealed: &SealedValue) -> Result<TokenValue, OpenError> {
        let bytes = &sealed.0;
        if bytes.len() < 1 + 4 + 24 + 16 || bytes[0] != SEAL_VERSION {
            return Err(OpenError::Damaged);
        }
        let key_id = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
        if key_id != self.id.0 {
            return Err(OpenError::OtherKey);
        }
        let aad = id.to_string();
        let mut plain = self
            .cipher
            .decrypt(
                XNonce::from_slice(&bytes[5..29]),
                Payload {
                    msg: &bytes[29..],
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| OpenError::Damaged)?;
        let value = std::str::from_utf8(&plain)
            .ok()
            .and_then(|text| TokenValue::parse(text).ok());
        plain.zeroize();
        value
            .filter(|value| value.token_id() == id)
            .ok_or(OpenError::Damaged)
    }
}

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealKey({}, …)", self.id)
    }
}

/// An HMAC-SHA256 key for one purpose (sessions, tickets, the audit chain).
#[derive(Clone)]
pub struct MacKey(HmacSha256);

impl MacKey {
    /// A key from raw bytes (for identity providers minting tickets, and tests).
    pub fn new(key: &[u8]) -> Self {
        Self(keyed(key))
    }

    /// HMAC of the concatenation of `parts`.
    pub fn sign(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.0.clone();
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// True when `tag` is the HMAC of `parts`; compared in constant time.
    pub fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        bool::from(self.sign(parts).as_slice().ct_eq(tag))
    }
}

impl fmt::Debug for MacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MacKey(…)")
    }
}

#[cfg(test)]
mod tests;
