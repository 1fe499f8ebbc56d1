//! Checkpoints (SPEC §6): signed chain heads that an operator keeps outside the database.
//!
//! A database superuser can delete an account's last records and roll its chain head back to
//! match: the chain then verifies. A checkpoint taken earlier and kept elsewhere still names
//! the longer chain, so `tollgate audit verify --checkpoint FILE` fails when a chain is
//! shorter than a kept checkpoint or does not pass through it.
//!
//! One line per account:
//!
//! ```text
//! tollgate-checkpoint v1 <account> <record count> <hash of the last record, hex> <taken at> <key id> <signature, hex>
//! ```
//!
//! The signature is `HMAC-SHA256(k_checkpoint, "tollgate-checkpoint|v1|<account>|<count>|<hash>|<taken at>")`
//! under the key the line names, so a checkpoint cannot be made without the server key, and
//! lines can be kept, filtered or concatenated freely.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tollgate_domain::{KeyId, Keyring, Keys};

use crate::chain::GENESIS;
use crate::record::format_timestamp;

const MAGIC: &str = "tollgate-checkpoint";

/// An account's chain head at a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The account.
    pub account: String,
    /// How many records its chain had.
    pub count: u64,
    /// The hash of the last of them (32 zero bytes for none).
    pub hash: [u8; 32],
    /// When it was taken (milliseconds).
    pub at: OffsetDateTime,
}

/// Why a checkpoint line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// Not of the documented form.
    #[error("line {line}: not a checkpoint line")]
    Malformed {
        /// 1-based line number.
        line: usize,
    },
    /// Signed with a key that is not configured.
    #[error("line {line}: signed with key {key}, which is not configured")]
    UnknownKey {
        /// 1-based line number.
        line: usize,
        /// The key id it names.
        key: KeyId,
    },
    /// The signature does not match (altered).
    #[error("line {line}: the signature does not match: the checkpoint was altered")]
    BadSignature {
        /// 1-based line number.
        line: usize,
    },
}

/// How a chain disagrees with a kept checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointBreak {
    /// The chain has fewer records than the checkpoint counted: records were removed.
    #[error(
        "the chain has {found} records, fewer than the {kept} of the checkpoint taken {at}: records were removed"
    )]
    Shorter {
        /// Records the checkpoint counted.
        kept: u64,
        /// Records found.
        found: u64,
        /// When the checkpoint was taken.
        at: String,
    },
    /// Record #`seq` is not the one the checkpoint saw.
    #[error(
        "record #{seq} is not the record the checkpoint taken {at} saw: the chain was rewritten"
    )]
    Diverged {
        /// The checkpoint's count.
        seq: u64,
        /// When the checkpoint was taken.
        at: String,
    },
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..64)
        .step_by(2)
        .map(|at| {
            text.get(at..at + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect();
    bytes.and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
}

impl Checkpoint {
    fn message(&self) -> String {
        format!(
            "{MAGIC}|v1|{}|{}|{}|{}",
            self.account,
            self.count,
            hex(&self.hash),
            format_timestamp(self.at)
        )
    }

    /// The signed line, under `keys` (the current key).
    pub fn line(&self, keys: &Keys) -> String {
        let signature = keys.checkpoint.sign(&[self.message().as_bytes()]);
        format!(
            "{MAGIC} v1 {} {} {} {} {} {}",
            self.account,
            self.count,
            hex(&self.hash),
            format_timestamp(self.at),
            keys.id(),
            hex(&signature)
        )
    }

    /// Reads one signed line (`number` is its 1-based line number, for errors) and checks its
    /// signature under the key it names.
    pub fn parse(text: &str, number: usize, ring: &Keyring) -> Result<Self, CheckpointError> {
        let malformed = CheckpointError::Malformed { line: number };
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [magic, "v1", account, count, hash, at, key, signature] = parts.as_slice() else {
            return Err(malformed);
        };
        if *magic != MAGIC {
            return Err(malformed);
        }
        let checkpoint = Checkpoint {
            account: (*account).to_owned(),
            count: count.parse().map_err(|_| malformed.clone())?,
            hash: unhex32(hash).ok_or_else(|| malformed.clone())?,
            at: OffsetDateTime::parse(at, &Rfc3339).map_err(|_| malformed.clone())?,
        };
        let key = KeyId::parse(key).ok_or_else(|| malformed.clone())?;
        let signature = unhex32(signature).ok_or(malformed)?;
        let keys = ring
            .get(key)
            .ok_or(CheckpointError::UnknownKey { line: number, key })?;
        if !keys
            .checkpoint
            .verify(&[checkpoint.message().as_bytes()], &signature)
        {
            return Err(CheckpointError::BadSignature { line: number });
        }
        Ok(checkpoint)
    }

    /// Reads a file of lines (blank lines and `#` comments are skipped).
    pub fn parse_all(text: &str, ring: &Keyring) -> Vec<Result<Self, CheckpointError>> {
        text.lines()
            .enumerate()
            .filter(|(_, line)| {
                let line = line.trim();
                !line.is_empty() && !line.starts_with('#')
            })
            .map(|(index, line)| Self::parse(line, index + 1, ring))
            .collect()
    }

    /// Compares a chain of `count` records with this checkpoint; `hash_at(n)` is the stored
    /// hash of record #n.
    pub fn compare(
        &self,
        count: u64,
        hash_at: impl Fn(u64) -> Option<[u8; 32]>,
    ) -> Result<(), CheckpointBreak> {
        let at = format_timestamp(self.at);
        if count < self.count {
            return Err(CheckpointBreak::Shorter {
                kept: self.count,
                found: count,
                at,
            });
        }
        let seen = if self.count == 0 {
            Some(GENESIS)
        } else {
            hash_at(self.count)
        };
        if seen != Some(self.hash) {
            return Err(CheckpointBreak::Diverged {
                seq: self.count,
                at,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;
    use tollgate_domain::ServerKey;

    use super::*;

    fn keys(byte: u8) -> Keys {
        ServerKey::from_bytes(vec![byte; 32])
            .map(|key| key.derive())
            .unwrap_or_else(|_| unreachable!())
    }

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            account: "ACC-1234-5678".into(),
            count: 3,
            hash: [9; 32],
            at: datetime!(2026-12-01 10:00:00.123 UTC),
        }
    }

    #[test]
    fn lines_round_trip_under_any_configured_key() -> Result<(), CheckpointError> {
        let (old, new) = (keys(1), keys(2));
        let line = checkpoint().line(&old);
        assert!(
            line.starts_with("tollgate-checkpoint v1 ACC-1234-5678 3 0909"),
            "{line}"
        );
        let ring = Keyring::new(new.clone(), vec![old.clone()]).unwrap_or_else(|_| unreachable!());
        assert_eq!(Checkpoint::parse(&line, 1, &ring)?, checkpoint());
        assert_eq!(
            Checkpoint::parse(&line, 4, &Keyring::from(new)),
            Err(CheckpointError::UnknownKey {
                line: 4,
                key: old.id()
            })
        );
        let altered = line.replacen(" 3 ", " 2 ", 1);
        assert_eq!(
            Checkpoint::parse(&altered, 2, &ring),
            Err(CheckpointError::BadSignature { line: 2 })
        );
        assert_eq!(
            Checkpoint::parse("hello", 7, &ring),
            Err(CheckpointError::Malformed { line: 7 })
        );
        let file = format!("# kept on 2026-12-01\n\n{line}\nnonsense\n");
        let parsed = Checkpoint::parse_all(&file, &ring);
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[1], Err(CheckpointError::Malformed { line: 4 }));
        Ok(())
    }

    #[test]
    fn a_shorter_or_rewritten_chain_fails() {
        let kept = checkpoint();
        let hashes = |n: u64| Some([n as u8 * 3; 32]);
        assert_eq!(kept.compare(5, hashes), Ok(()));
        assert!(matches!(
            kept.compare(2, hashes),
            Err(CheckpointBreak::Shorter {
                kept: 3,
                found: 2,
                ..
            })
        ));
        assert!(matches!(
            kept.compare(5, |n| Some([n as u8; 32])),
            Err(CheckpointBreak::Diverged { seq: 3, .. })
        ));
        let empty = Checkpoint {
            count: 0,
            hash: GENESIS,
            ..checkpoint()
        };
        assert_eq!(empty.compare(0, |_| None), Ok(()));
    }
}
