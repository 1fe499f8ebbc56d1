//! Property tests for token values, ids and paths: the checksum catches every single-character
//! change, and no parser panics on arbitrary input.

use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tollgate_domain::authz::RequestPath;
use tollgate_domain::query::{TokenField, typed_value};
use tollgate_domain::{AuditId, PresentedToken, TokenId, TokenName, TokenValue};

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz:-idtTKN";

proptest! {
    #[test]
    fn any_single_character_change_is_rejected(
        seed in any::<u64>(),
        id in 0u64..100_000_000,
        position in 0usize..82,
        replacement in proptest::sample::select(ALPHABET.to_vec()),
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let id = TokenId::from_number(id).unwrap_or_else(|| unreachable!());
        let value = TokenValue::generate(id, &mut rng);
        let original = value.expose_secret().as_bytes().to_vec();
        prop_assume!(original[position] != replacement);
        let mut changed = original.clone();
        changed[position] = replacement;
        let changed = String::from_utf8(changed).unwrap_or_default();
        prop_assert!(PresentedToken::parse(&changed).is_err(), "accepted {changed}");
        prop_assert!(PresentedToken::parse(value.expose_secret()).is_ok());
    }

    #[test]
    fn value_parsing_never_panics(text in any::<String>()) {
        let _ = PresentedToken::parse(&text);
        let _ = PresentedToken::from_authorization(&text);
        let _ = TokenValue::parse(&text);
    }

    #[test]
    fn value_parsing_never_panics_on_near_misses(text in "idt:TKN-[0-9]{4}-[0-9]{4}:[0-9A-Za-z_]{60,66}") {
        let _ = PresentedToken::parse(&text);
    }

    #[test]
    fn id_parsing_never_panics_and_round_trips(text in any::<String>(), number in 0u64..10_000_000_000_000_000) {
        let _ = TokenId::parse(&text);
        let _ = AuditId::parse(&text);
        let id = AuditId::from_number(number).unwrap_or_else(|| unreachable!());
        prop_assert_eq!(AuditId::parse(&id.to_string()), Ok(id));
    }

    #[test]
    fn path_parsing_never_panics(text in any::<String>()) {
        if let Ok(path) = RequestPath::parse(&text) {
            // Normalising is idempotent.
            let once = path.to_path_string();
            let twice = RequestPath::parse(&once).map(|p| p.to_path_string());
            prop_assert_eq!(Ok(once), twice);
        }
    }

    #[test]
    fn value_typing_and_names_never_panic(text in any::<String>()) {
        let _ = TokenName::parse(&text);
        let _ = typed_value(TokenField::CreatedAt, &text);
        let _ = typed_value(TokenField::Status, &text);
    }
}
