//! Tests of the parent module.
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::*;

#[test]
fn the_exported_ticket_key_is_k_ticket() {
    let server = ServerKey::from_bytes(vec![9; 32]).unwrap_or_else(|_| unreachable!());
    let keys = server.derive();
    let exported = server.export_ticket_key();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(exported.as_bytes())
        .unwrap_or_default();
    assert_eq!(bytes.len(), 32);
    let message: &[&[u8]] = &[b"tollgate-ticket|v1|USR-1111-2222|1|00"];
    assert_eq!(MacKey::new(&bytes).sign(message), keys.ticket.sign(message));
    assert_ne!(
        MacKey::new(&bytes).sign(message),
        keys.session.sign(message)
    );
}

fn token_id(n: u64) -> TokenId {
    TokenId::from_number(n).unwrap_or_else(|| unreachable!())
}

fn keys() -> Keys {
    let key = ServerKey::from_bytes(vec![7u8; 32]).unwrap_or_else(|_| unreachable!());
    key.derive()
}

#[test]
fn generated_values_have_the_documented_form() {
    let mut rng = StdRng::seed_from_u64(1);
    let id = token_id(12_345_678);
    for _ in 0..200 {
        let value = TokenValue::generate(id, &mut rng);
        let text = value.expose_secret();
        assert_eq!(text.len(), 82);
        assert!(text.starts_with("idt:TKN-1234-5678:"));
        assert!(text[18..].bytes().all(|b| b.is_ascii_alphanumeric()));
        let parsed = PresentedToken::parse(text).map(|p| p.id());
        assert_eq!(parsed, Ok(id));
        assert_eq!(value.token_id(), id);
    }
}

#[test]
fn checksum_is_crc32_in_base62() {
    // The CRC-32/ISO-HDLC check value: crc32("123456789") = 0xCBF43926.
    let number = 0xCBF4_3926u32;
    let mut expect = String::new();
    let mut n = number;
    for _ in 0..6 {
        expect.insert(0, char::from(BASE62[(n % 62) as usize]));
        n /= 62;
    }
    assert_eq!(checksum(b"123456789").to_vec(), expect.into_bytes());
    assert_eq!(&checksum(b""), b"000000");
}

fn check_malformed(text: &str, expect: MalformedToken) {
    assert_eq!(
        PresentedToken::parse(text).map(|p| p.id()),
        Err(expect),
        "{text}"
    );
}

#[test]
fn malformed_values_are_rejected_without_lookup() {
    let mut rng = StdRng::seed_from_u64(2);
    let value = TokenValue::generate(token_id(42), &mut rng);
    let text = value.expose_secret();
    check_malformed("", MalformedToken::Length);
    check_malformed(&text[1..], MalformedToken::Length);
    check_malformed(&format!("xdt{}", &text[3..]), MalformedToken::Prefix);
    check_malformed(
        &text.replacen("TKN-0000-0042:", "TKN-0000-0042.", 1),
        MalformedToken::Prefix,
    );
    check_malformed(
        &text.replacen("TKN-0000-0042", "TKN-0000-004x", 1),
        MalformedToken::Id,
    );
    let mut bad_tail = text.to_owned();
    bad_tail.replace_range(30..31, "_");
    check_malformed(&bad_tail, MalformedToken::Alphabet);
    let mut bad_sum = text.to_owned();
    let last = if text.ends_with('0') { "1" } else { "0" };
    bad_sum.replace_range(81..82, last);
    check_malformed(&bad_sum, MalformedToken::Checksum);
}

#[test]
fn authorization_header() {
    let mut rng = StdRng::seed_from_u64(3);
    let value = TokenValue::generate(token_id(7), &mut rng);
    let text = value.expose_secret();
    for header in [
        format!("Bearer {text}"),
        format!("bearer  {text}"),
        format!("BEARER {text} "),
    ] {
        assert_eq!(
            PresentedToken::from_authorization(&header).map(|p| p.id()),
            Ok(token_id(7))
        );
    }
    for header in [
        text.to_owned(),
        format!("Basic {text}"),
        format!("Bearer{text}"),
        String::new(),
    ] {
        assert!(
            PresentedToken::from_authorization(&header).is_err(),
            "{header}"
        );
    }
}

#[test]
fn hashing_and_verification() {
    let keys = keys();
    let mut rng = StdRng::seed_from_u64(4);
    let value = TokenValue::generate(token_id(9), &mut rng);
    let other = TokenValue::generate(token_id(9), &mut rng);
    let stored = keys.hash.hash(value.expose_secret());
    assert!(keys.hash.verify(value.expose_secret(), &stored));
    assert!(!keys.hash.verify(other.expose_secret(), &stored));
    let rotated = TokenHash {
        key_id: KeyId(stored.key_id.0 ^ 1),
        ..stored.clone()
    };
    assert!(!keys.hash.verify(value.expose_secret(), &rotated));
    let different_server = ServerKey::from_bytes(vec![8u8; 32]).map(|k| k.derive());
    let Ok(different_server) = different_server else {
        return;
    };
    assert_ne!(different_server.hash.id(), keys.hash.id());
    assert!(!different_server.hash.verify(value.expose_secret(), &stored));
}

#[test]
fn purpose_keys_differ() {
    let keys = keys();
    let parts: &[&[u8]] = &[b"same input"];
    let tags = [
        keys.session.sign(parts),
        keys.ticket.sign(parts),
        keys.audit.sign(parts),
        keys.row.sign(parts),
        keys.checkpoint.sign(parts),
    ];
    for (i, a) in tags.iter().enumerate() {
        for b in &tags[i + 1..] {
            assert_ne!(a, b);
        }
    }
    assert!(keys.audit.verify(parts, &tags[2]));
    assert!(!keys.audit.verify(parts, &tags[1]));
}

#[test]
fn sealing_round_trips_and_binds_the_token_id() {
    let keys = keys();
    let mut rng = StdRng::seed_from_u64(5);
    let value = TokenValue::generate(token_id(11), &mut rng);
    let sealed = keys.seal.seal(&value, &mut rng);
    assert!(
        !sealed
            .0
            .windows(10)
            .any(|w| value.expose_secret().as_bytes().windows(10).any(|v| v == w))
    );
    assert_eq!(keys.seal.open(token_id(11), &sealed).as_ref(), Ok(&value));
    assert_eq!(
        keys.seal.open(token_id(12), &sealed).err(),
        Some(OpenError::Damaged)
    );
    let mut damaged = sealed.clone();
    if let Some(last) = damaged.0.last_mut() {
        *last ^= 1;
    }
    assert_eq!(
        keys.seal.open(token_id(11), &damaged).err(),
        Some(OpenError::Damaged)
    );
    let other = ServerKey::from_bytes(vec![9u8; 32]).map(|k| k.derive());
    let Ok(other) = other else { return };
    assert_eq!(
        other.seal.open(token_id(11), &sealed).err(),
        Some(OpenError::OtherKey)
    );
}

#[test]
fn server_keys() {
    assert_eq!(
        ServerKey::from_base64("!!!").err(),
        Some(ServerKeyError::NotBase64)
    );
    assert_eq!(
        ServerKey::from_base64("AAAA").err(),
        Some(ServerKeyError::TooShort(3))
    );
    let mut rng = StdRng::seed_from_u64(6);
    let (_, text) = ServerKey::generate(&mut rng);
    assert!(ServerKey::from_base64(&text).is_ok());
}

#[test]
fn secrets_never_print_themselves() {
    let keys = keys();
    let mut rng = StdRng::seed_from_u64(7);
    let value = TokenValue::generate(token_id(13), &mut rng);
    let secret = value.expose_secret().to_owned();
    let presented = PresentedToken::parse(&secret);
    let printed = [
        format!("{value:?}"),
        format!("{presented:?}"),
        format!("{keys:?}"),
        format!("{:?}", keys.hash.hash(&secret)),
        format!("{:?}", keys.seal.seal(&value, &mut rng)),
        format!("{:?}", ServerKey::from_bytes(vec![1; 32])),
    ];
    for text in printed {
        assert!(!text.contains(&secret[18..]), "{text}");
        assert!(!text.contains("idt:"), "{text}");
    }
}
