//! Identifiers (SPEC §1): `ACC-dddd-dddd`, `USR-dddd-dddd`, `MOD-dddd`, `TKN-dddd-dddd`,
//! `AUD-dddd-dddd-dddd-dddd`.
//!
//! An id is a prefix and a number of four-digit groups. It is held as the number, so ids are
//! `Copy`, cheap to hash and compare, and can be kept in a bitset (see [`TokenId::index`]).

use std::fmt;
use std::hash::Hash;
use std::marker::PhantomData;
use std::str::FromStr;

use rand_core::RngCore;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What distinguishes one kind of id from another: its prefix and its number of digit groups.
pub trait IdKind: Copy + Eq + Ord + Hash + fmt::Debug + Send + Sync + 'static {
    /// The three letters before the first dash.
    const PREFIX: &'static str;
    /// How many groups of four digits follow the prefix.
    const GROUPS: u32;
    /// The name used in error messages ("token id").
    const NOUN: &'static str;
}

/// A typed identifier. `Id<TokenKind>` is spelled [`TokenId`], and so on.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id<K: IdKind> {
    number: u64,
    kind: PhantomData<K>,
}

/// Why a string is not an id of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {noun}: expected the form {pattern}")]
pub struct IdParseError {
    /// The kind of id that was expected ("token id").
    pub noun: &'static str,
    /// The expected form, for example `TKN-dddd-dddd`.
    pub pattern: String,
}

impl<K: IdKind> Id<K> {
    /// One more than the largest number an id of this kind can hold (10^(4 × groups)).
    pub const SPACE: u64 = 10u64.pow(4 * K::GROUPS);
    /// The length of the textual form.
    pub const TEXT_LEN: usize = 3 + 5 * K::GROUPS as usize;

    /// The id with this number, if it is in range.
    pub fn from_number(number: u64) -> Option<Self> {
        (number < Self::SPACE).then_some(Self {
            number,
            kind: PhantomData,
        })
    }

    /// The number behind the id (its digits read as one decimal number).
    pub fn number(self) -> u64 {
        self.number
    }

    /// A uniformly random id from the caller's random source. Callers retry on collision.
    pub fn random(rng: &mut impl RngCore) -> Self {
        // Rejection sampling keeps the distribution uniform.
        let zone = u64::MAX - (u64::MAX % Self::SPACE);
        loop {
            let draw = rng.next_u64();
            if draw < zone {
                return Self {
                    number: draw % Self::SPACE,
                    kind: PhantomData,
                };
            }
        }
    }

    /// Parses the exact textual form; anything else (lower case, spaces, wrong groups) fails.
    pub fn parse(text: &str) -> Result<Self, IdParseError> {
        Self::parse_bytes(text.as_bytes()).ok_or_else(Self::parse_error)
    }

    fn parse_error() -> IdParseError {
        let mut pattern = K::PREFIX.to_owned();
        for _ in 0..K::GROUPS {
            pattern.push_str("-dddd");
        }
        IdParseError {
            noun: K::NOUN,
            pattern,
        }
    }

    /// Parses without allocating; used on the request hot path.
    pub(crate) fn parse_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != Self::TEXT_LEN || !bytes.starts_with(K::PREFIX.as_bytes()) {
            return None;
        }
        let mut number: u64 = 0;
        for group in bytes[3..].chunks_exact(5) {
            let (dash, digits) = group.split_first()?;
            if *dash != b'-' {
                return None;
            }
            for digit in digits {
                if !digit.is_ascii_digit() {
                    return None;
                }
                number = number * 10 + u64::from(digit - b'0');
            }
        }
        Some(Self {
            number,
            kind: PhantomData,
        })
    }
}

impl<K: IdKind> fmt::Display for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(K::PREFIX)?;
        let groups = K::GROUPS;
        for index in (0..groups).rev() {
            let group = (self.number / 10u64.pow(4 * index)) % 10_000;
            write!(f, "-{group:04}")?;
        }
        Ok(())
    }
}

impl<K: IdKind> fmt::Debug for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl<K: IdKind> FromStr for Id<K> {
    type Err = IdParseError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl<K: IdKind> Serialize for Id<K> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de, K: IdKind> Deserialize<'de> for Id<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

macro_rules! id_kind {
    ($(#[$doc:meta])* $kind:ident, $alias:ident, $prefix:literal, $groups:literal, $noun:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $kind {}
        impl IdKind for $kind {
            const PREFIX: &'static str = $prefix;
            const GROUPS: u32 = $groups;
            const NOUN: &'static str = $noun;
        }
        $(#[$doc])*
        pub type $alias = Id<$kind>;
    };
}

id_kind!(
    /// An account (tenant): `ACC-dddd-dddd`.
    AccountKind, AccountId, "ACC", 2, "account id"
);
id_kind!(
    /// A person in one account: `USR-dddd-dddd`.
    UserKind, UserId, "USR", 2, "user id"
);
id_kind!(
    /// A module of the catalog: `MOD-dddd`.
    ModuleKind, ModuleId, "MOD", 1, "module id"
);
id_kind!(
    /// An API token: `TKN-dddd-dddd`.
    TokenKind, TokenId, "TKN", 2, "token id"
);
id_kind!(
    /// An audit record: `AUD-dddd-dddd-dddd-dddd`.
    AuditKind, AuditId, "AUD", 4, "audit record id"
);

impl TokenId {
    /// A dense index in `0..10^8`, for exact in-memory id sets (a 12.5 MB bitset covers them all).
    pub fn index(self) -> u32 {
        // SPACE is 10^8 for token ids, which fits in a u32.
        u32::try_from(self.number).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<K: IdKind>(text: &str, expect: Option<u64>) {
        let parsed = Id::<K>::parse(text).ok().map(Id::number);
        assert_eq!(parsed, expect, "parsing {text:?}");
        if let Some(number) = expect {
            let id = Id::<K>::from_number(number);
            assert_eq!(id.map(|id| id.to_string()).as_deref(), Some(text));
        }
    }

    #[test]
    fn parse_and_display() {
        check::<TokenKind>("TKN-1234-5678", Some(12_345_678));
        check::<TokenKind>("TKN-0000-0001", Some(1));
        check::<TokenKind>("TKN-0000-0000", Some(0));
        check::<TokenKind>("TKN-9999-9999", Some(99_999_999));
        check::<TokenKind>("tkn-1234-5678", None);
        check::<TokenKind>("TKN-1234-567", None);
        check::<TokenKind>("TKN-1234-56789", None);
        check::<TokenKind>("TKN-1234_5678", None);
        check::<TokenKind>("TKN-12a4-5678", None);
        check::<TokenKind>("ACC-1234-5678", None);
        check::<TokenKind>(" TKN-1234-5678", None);
        check::<TokenKind>("TKN-１２３４-5678", None);
        check::<TokenKind>("", None);
        check::<ModuleKind>("MOD-1756", Some(1756));
        check::<ModuleKind>("MOD-17561", None);
        check::<AuditKind>("AUD-0001-0002-0003-0004", Some(1_0002_0003_0004));
        check::<AccountKind>("ACC-0042-0000", Some(420_000));
        check::<UserKind>("USR-1111-2222", Some(11_112_222));
    }

    #[test]
    fn out_of_range_numbers_are_refused() {
        assert!(TokenId::from_number(100_000_000).is_none());
        assert!(ModuleId::from_number(10_000).is_none());
        assert!(AuditId::from_number(10u64.pow(16) - 1).is_some());
        assert!(AuditId::from_number(10u64.pow(16)).is_none());
    }

    #[test]
    fn errors_say_what_was_expected() {
        let error = TokenId::parse("nope").err();
        assert_eq!(
            error.map(|e| e.to_string()).as_deref(),
            Some("not a valid token id: expected the form TKN-dddd-dddd")
        );
    }

    #[test]
    fn serde_uses_the_text_form() -> Result<(), serde_json::Error> {
        let id = TokenId::parse("TKN-1234-5678").map_err(serde::de::Error::custom)?;
        assert_eq!(serde_json::to_string(&id)?, "\"TKN-1234-5678\"");
        let back: TokenId = serde_json::from_str("\"TKN-1234-5678\"")?;
        assert_eq!(back, id);
        assert!(serde_json::from_str::<TokenId>("\"TKN-1234\"").is_err());
        Ok(())
    }
}
