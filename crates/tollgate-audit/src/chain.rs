//! The per-account keyed hash chain (SPEC §6).
//!
//! Each record of an account is linked to the one before it:
//! `hash = HMAC-SHA256(k_audit, previous hash ‖ canonical link)`, where the canonical link is the
//! RFC 8785 JSON of `{"account": …, "seq": n, "record": …}` (binding the record to its account and
//! position). The first record's previous hash is 32 zero bytes. A chain head per account holds
//! the record count and the last hash, so a deleted tail is detected too.
//!
//! Each record names the server key it was chained under (its key id; none for records written
//! before keys were recorded, which are under the database's first key), so a chain spans key
//! rotations: records keep verifying under their own key, new ones are chained under the
//! current key.
//!
//! The chain covers a record's JSON *as stored* (a [`serde_json::Value`]), never a
//! re-serialisation through today's [`AuditRecord`](crate::AuditRecord) type: records written
//! before a change of shape keep verifying, and only rendering (`crate::stored`) maps them to
//! the shape of today.

use serde::Serialize;
use serde_json::Value;
use tollgate_domain::{KeyId, MacKey};

/// The previous hash of an account's first record.
pub const GENESIS: [u8; 32] = [0; 32];

/// An account's chain head: how many records, and the hash of the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    /// Number of records.
    pub count: u64,
    /// Hash of the last record (GENESIS when there is none).
    pub last_hash: [u8; 32],
}

impl Default for ChainHead {
    fn default() -> Self {
        Self {
            count: 0,
            last_hash: GENESIS,
        }
    }
}

/// What a record's position in the chain is: its sequence number (from 1), previous hash and
/// hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainLink {
    /// Position in the account's chain, from 1.
    pub seq: u64,
    /// Hash of the record before (GENESIS for the first).
    pub prev_hash: [u8; 32],
    /// This record's hash.
    pub hash: [u8; 32],
}

#[derive(Serialize)]
struct Linked<'a> {
    account: &'a str,
    seq: u64,
    record: &'a Value,
}

/// The bytes a link's hash covers: the RFC 8785 form of `{account, seq, record}`.
pub fn link_bytes(account: &str, seq: u64, record: &Value) -> Result<Vec<u8>, serde_json::Error> {
    serde_json_canonicalizer::to_vec(&Linked {
        account,
        seq,
        record,
    })
}

impl ChainHead {
    /// Appends a record: returns its link and the new head.
    pub fn append(
        &self,
        key: &MacKey,
        account: &str,
        record: &Value,
    ) -> Result<(ChainLink, ChainHead), serde_json::Error> {
        let seq = self.count + 1;
        let bytes = link_bytes(account, seq, record)?;
        let hash = key.sign(&[&self.last_hash, &bytes]);
        Ok((
            ChainLink {
                seq,
                prev_hash: self.last_hash,
                hash,
            },
            ChainHead {
                count: seq,
                last_hash: hash,
            },
        ))
    }
}

/// One stored record as the verifier reads it back.
#[derive(Debug, Clone)]
pub struct LinkInput {
    /// The record's id (to name a broken link).
    pub record_id: String,
    /// The stored record, as stored.
    pub record: Value,
    /// Its stored link.
    pub link: ChainLink,
    /// The key it was chained under (none: the database's first key).
    pub key_id: Option<KeyId>,
}

/// Where and how a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    /// A record's stored hash does not match its content (forged or altered).
    #[error("record {record_id} (#{seq}) does not match its hash: altered or forged")]
    HashMismatch {
        /// Position.
        seq: u64,
        /// Record id.
        record_id: String,
    },
    /// A record does not point at the record before it (one was removed or reordered).
    #[error(
        "record {record_id} (#{seq}) does not follow the record before it: a record is missing or out of place"
    )]
    BrokenLink {
        /// Position.
        seq: u64,
        /// Record id.
        record_id: String,
    },
    /// Sequence numbers skip or repeat.
    #[error("record {record_id} has position #{found}, expected #{expected}: a record is missing")]
    Gap {
        /// Expected position.
        expected: u64,
        /// Found position.
        found: u64,
        /// Record id.
        record_id: String,
    },
    /// Fewer records than the head counts, or the last hash differs (a truncated tail).
    #[error(
        "the chain ends at #{found} but its head records {expected} records: the tail was removed or altered"
    )]
    Truncated {
        /// Records the head counts.
        expected: u64,
        /// Records found.
        found: u64,
    },
    /// A record could not be canonicalised.
    #[error("record {record_id} could not be canonicalised")]
    Unreadable {
        /// Record id.
        record_id: String,
    },
    /// A record was chained under a key that is not configured (keep it in
    /// `TOLLGATE_PREVIOUS_SECRET_KEYS`).
    #[error(
        "record {record_id} (#{seq}) was chained under key {key}, which is not configured: add it to TOLLGATE_PREVIOUS_SECRET_KEYS"
    )]
    UnknownKey {
        /// Position.
        seq: u64,
        /// Record id.
        record_id: String,
        /// The key id the record names (`first` for the database's first key).
        key: String,
    },
}

/// Verifies one account's chain, records in sequence order, against its head, every record
/// under `key`. Returns the number of records verified, or the first broken link.
pub fn verify_chain(
    key: &MacKey,
    account: &str,
    head: ChainHead,
    records: impl IntoIterator<Item = LinkInput>,
) -> Result<u64, ChainBreak> {
    verify_chain_under(|_| Some(key), account, head, records)
}

/// Verifies one account's chain as [`verify_chain`] does, each record under the key
/// `key_for` gives for it (none: the key is not configured, [`ChainBreak::UnknownKey`]).
pub fn verify_chain_under<'k>(
    key_for: impl Fn(&LinkInput) -> Option<&'k MacKey>,
    account: &str,
    head: ChainHead,
    records: impl IntoIterator<Item = LinkInput>,
) -> Result<u64, ChainBreak> {
    let mut expected_prev = GENESIS;
    let mut count = 0u64;
    for input in records {
        let expected_seq = count + 1;
        if input.link.seq != expected_seq {
            return Err(ChainBreak::Gap {
                expected: expected_seq,
                found: input.link.seq,
                record_id: input.record_id,
            });
        }
        let bytes = link_bytes(account, input.link.seq, &input.record).map_err(|_| {
            ChainBreak::Unreadable {
                record_id: input.record_id.clone(),
            }
        })?;
        let Some(key) = key_for(&input) else {
            return Err(ChainBreak::UnknownKey {
                seq: input.link.seq,
                key: input
                    .key_id
                    .map_or_else(|| "first".to_owned(), |id| id.to_string()),
                record_id: input.record_id,
            });
        };
        if !key.verify(&[&input.link.prev_hash, &bytes], &input.link.hash) {
            return Err(ChainBreak::HashMismatch {
                seq: input.link.seq,
                record_id: input.record_id,
            });
        }
        if input.link.prev_hash != expected_prev {
            return Err(ChainBreak::BrokenLink {
                seq: input.link.seq,
                record_id: input.record_id,
            });
        }
        expected_prev = input.link.hash;
        count = input.link.seq;
    }
    if count != head.count || expected_prev != head.last_hash {
        return Err(ChainBreak::Truncated {
            expected: head.count,
            found: count,
        });
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, json};

    use super::*;
    use crate::record::{
        ActorRecord, AuditRecord, Documents, ObjectRef, RequestRecord, SnapshotAccount,
        TokenSnapshot,
    };

    fn record(n: u32) -> Value {
        serde_json::to_value(AuditRecord {
            id: format!("AUD-0000-0000-0000-{n:04}"),
            event: "platform.accounts.api-token.updated".into(),
            summary: format!("change {n}"),
            details: Map::new(),
            object: ObjectRef {
                id: "TKN-0000-0001".into(),
                name: "robot".into(),
                object_type: "ApiToken".into(),
            },
            timestamp: "2026-11-28T10:00:00.000Z".into(),
            actor: ActorRecord {
                id: "SYSTEM".into(),
                name: "Tollgate".into(),
                kind: "System".into(),
                account: None,
            },
            request: RequestRecord::default(),
            record_type: "Public".into(),
            documents: Documents {
                token: TokenSnapshot {
                    id: "TKN-0000-0001".into(),
                    name: "robot".into(),
                    description: String::new(),
                    status: "Active".into(),
                    account: SnapshotAccount {
                        id: "ACC-0000-0001".into(),
                    },
                    modules: vec![],
                    has_icon: false,
                    revision: n,
                },
            },
            revision: n,
        })
        .unwrap_or_default()
    }

    fn chain(key: &MacKey, n: u32) -> Result<(Vec<LinkInput>, ChainHead), serde_json::Error> {
        let mut head = ChainHead::default();
        let mut out = Vec::new();
        for i in 1..=n {
            let record = record(i);
            let (link, next) = head.append(key, "ACC-0000-0001", &record)?;
            head = next;
            out.push(LinkInput {
                record_id: format!("AUD-0000-0000-0000-{i:04}"),
                record,
                link,
                key_id: None,
            });
        }
        Ok((out, head))
    }

    #[test]
    fn an_intact_chain_verifies() -> Result<(), serde_json::Error> {
        let key = MacKey::new(b"k_audit for tests");
        let (links, head) = chain(&key, 5)?;
        assert_eq!(verify_chain(&key, "ACC-0000-0001", head, links), Ok(5));
        assert_eq!(
            verify_chain(&key, "ACC-0000-0001", ChainHead::default(), vec![]),
            Ok(0)
        );
        Ok(())
    }

    #[test]
    fn breaks_are_named() -> Result<(), serde_json::Error> {
        let key = MacKey::new(b"k_audit for tests");
        let (links, head) = chain(&key, 5)?;

        let mut altered = links.clone();
        altered[2].record["summary"] = json!("forged");
        assert_eq!(
            verify_chain(&key, "ACC-0000-0001", head, altered),
            Err(ChainBreak::HashMismatch {
                seq: 3,
                record_id: "AUD-0000-0000-0000-0003".into()
            })
        );

        let mut removed = links.clone();
        removed.remove(1);
        assert!(matches!(
            verify_chain(&key, "ACC-0000-0001", head, removed),
            Err(ChainBreak::Gap {
                expected: 2,
                found: 3,
                ..
            })
        ));

        let mut truncated = links.clone();
        truncated.pop();
        assert_eq!(
            verify_chain(&key, "ACC-0000-0001", head, truncated),
            Err(ChainBreak::Truncated {
                expected: 5,
                found: 4
            })
        );

        assert!(
            matches!(
                verify_chain(&key, "ACC-0000-0002", head, links.clone()),
                Err(ChainBreak::HashMismatch { seq: 1, .. })
            ),
            "a record moved to another account's chain does not verify"
        );

        let other_key = MacKey::new(b"another key");
        assert!(verify_chain(&other_key, "ACC-0000-0001", head, links).is_err());
        Ok(())
    }

    /// A chain that spans a key rotation: the first records under the old key, the rest under
    /// the new one; each verifies under the key it names, and an unknown key is named.
    #[test]
    fn a_chain_spans_a_key_rotation() -> Result<(), serde_json::Error> {
        let old = MacKey::new(b"old k_audit");
        let new = MacKey::new(b"new k_audit");
        let mut head = ChainHead::default();
        let mut links = Vec::new();
        for i in 1..=4u32 {
            let (key, key_id) = if i <= 2 {
                (&old, None)
            } else {
                (&new, Some(KeyId(2)))
            };
            let record = record(i);
            let (link, next) = head.append(key, "ACC-0000-0001", &record)?;
            head = next;
            links.push(LinkInput {
                record_id: format!("AUD-0000-0000-0000-{i:04}"),
                record,
                link,
                key_id,
            });
        }
        let both = |input: &LinkInput| match input.key_id {
            None => Some(&old),
            Some(KeyId(2)) => Some(&new),
            Some(_) => None,
        };
        assert_eq!(
            verify_chain_under(both, "ACC-0000-0001", head, links.clone()),
            Ok(4)
        );
        let only_new = |input: &LinkInput| input.key_id.map(|_| &new);
        assert_eq!(
            verify_chain_under(only_new, "ACC-0000-0001", head, links.clone()),
            Err(ChainBreak::UnknownKey {
                seq: 1,
                record_id: "AUD-0000-0000-0000-0001".into(),
                key: "first".into()
            })
        );
        assert!(verify_chain(&new, "ACC-0000-0001", head, links).is_err());
        Ok(())
    }

    #[test]
    fn a_record_rehashed_without_the_key_is_detected() -> Result<(), serde_json::Error> {
        let key = MacKey::new(b"k_audit for tests");
        let (mut links, head) = chain(&key, 3)?;
        // A forger without the key recomputes with a guessed key.
        let forger = MacKey::new(b"guess");
        links[1].record["summary"] = json!("forged");
        let bytes = link_bytes("ACC-0000-0001", 2, &links[1].record)?;
        links[1].link.hash = forger.sign(&[&links[1].link.prev_hash, &bytes]);
        assert!(matches!(
            verify_chain(&key, "ACC-0000-0001", head, links),
            Err(ChainBreak::HashMismatch { seq: 2, .. })
        ));
        Ok(())
    }

    /// Records stored before the record's shape changed (flat `request`, no `type`) keep
    /// verifying: the chain covers them as stored.
    #[test]
    fn records_stored_in_an_older_shape_verify() -> Result<(), Box<dyn std::error::Error>> {
        let key = MacKey::new(b"k_audit of the golden fixture");
        let fixture = include_str!("../tests/fixtures/chain-v1-flat-request.txt");
        let mut links = Vec::new();
        let mut last = GENESIS;
        for line in fixture.lines().filter(|line| !line.starts_with('#')) {
            let mut parts = line.splitn(4, ' ');
            let (Some(seq), Some(prev), Some(hash), Some(json)) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err("malformed fixture line".into());
            };
            let hex = |text: &str| -> Result<[u8; 32], Box<dyn std::error::Error>> {
                let bytes: Result<Vec<u8>, _> = (0..text.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(text.get(i..i + 2).unwrap_or(""), 16))
                    .collect();
                <[u8; 32]>::try_from(bytes?).map_err(|_| "not 32 bytes".into())
            };
            let record: Value = serde_json::from_str(json)?;
            assert!(record["request"].get("ip").is_some(), "the fixture is flat");
            let link = ChainLink {
                seq: seq.parse()?,
                prev_hash: hex(prev)?,
                hash: hex(hash)?,
            };
            last = link.hash;
            links.push(LinkInput {
                record_id: record["id"].as_str().unwrap_or_default().to_owned(),
                record,
                link,
                key_id: None,
            });
        }
        let head = ChainHead {
            count: 2,
            last_hash: last,
        };
        assert_eq!(
            verify_chain(&key, "ACC-1234-5678", head, links.clone()),
            Ok(2)
        );
        // And today's record type reads them, mapped to today's shape.
        let rendered = crate::stored::render(links[0].record.clone())?;
        assert_eq!(rendered.request.api_ip(), Some("203.0.113.7"));
        assert_eq!(rendered.record_type, "Public");
        Ok(())
    }
}
