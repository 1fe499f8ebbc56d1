//! Token values as clients present them: `PresentedToken::parse` (the gate, the `token=<value>`
//! lookup) and `TokenValue::parse` (a sealed copy read back).
//!
//! Invariants: a value that parses prints back to itself, byte for byte, names the id written in
//! it, has the documented form and checksum, seals and opens to itself, and reads the same inside
//! `Authorization: Bearer …`; a value refused by one parser is refused by the other; `Debug`
//! never shows the secret part.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate_domain::PresentedToken;
use tollgate_domain::TokenValue;
use tollgate_domain::secret::{CHECKSUM_CHARS, VALUE_LEN, checksum};
use tollgate_fuzz::fixture;

/// `idt:` + `TKN-dddd-dddd` + `:`.
const HEAD_LEN: usize = 18;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(presented) = PresentedToken::parse(text) else {
        assert!(
            TokenValue::parse(text).is_err(),
            "only one parser refused {text:?}"
        );
        return;
    };
    // It prints back to itself.
    assert_eq!(presented.expose_secret(), text);
    let value = presented.to_value();
    assert_eq!(value.expose_secret(), text);
    assert_eq!(value.token_id(), presented.id());
    let reparsed = TokenValue::parse(text);
    assert_eq!(reparsed.as_ref().map(TokenValue::expose_secret), Ok(text));
    // The id it names is the one written in it, in the id's own canonical form.
    assert_eq!(&text[4..HEAD_LEN - 1], presented.id().to_string());
    assert!(presented.id().index() < 100_000_000);
    // The documented form: ^idt:TKN-[0-9]{4}-[0-9]{4}:[0-9A-Za-z]{64}$ and a matching checksum.
    let bytes = text.as_bytes();
    assert_eq!(bytes.len(), VALUE_LEN);
    assert!(text.starts_with("idt:TKN-"));
    assert!(bytes[8..12].iter().all(u8::is_ascii_digit));
    assert_eq!(bytes[12], b'-');
    assert!(bytes[13..17].iter().all(u8::is_ascii_digit));
    assert_eq!(bytes[17], b':');
    assert!(bytes[HEAD_LEN..].iter().all(u8::is_ascii_alphanumeric));
    let (body, sum) = bytes.split_at(VALUE_LEN - CHECKSUM_CHARS);
    assert_eq!(checksum(body).as_slice(), sum);
    // The same value in a header.
    let header = format!("Bearer {text}");
    let from_header = PresentedToken::from_authorization(&header);
    assert_eq!(from_header.map(|p| p.expose_secret()), Ok(text));
    // A sealed copy opens to the same value, and only for its own token.
    let keys = &fixture().keys;
    let mut rng = Counter(u64::from(bytes[HEAD_LEN]));
    let sealed = keys.seal.seal(&value, &mut rng);
    assert_eq!(
        keys.seal.open(value.token_id(), &sealed).as_ref(),
        Ok(&value)
    );
    // Nothing secret in Debug.
    for printed in [format!("{presented:?}"), format!("{value:?}")] {
        assert!(!printed.contains(&text[HEAD_LEN..]), "{printed}");
    }
});

/// A deterministic stand-in for the nonce source (the nonce does not matter here).
struct Counter(u64);

impl rand_core::RngCore for Counter {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        self.0
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for byte in dest {
            *byte = self.next_u64().to_be_bytes()[0];
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for Counter {}
