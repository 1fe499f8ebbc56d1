//! RQL filter expressions (already percent-decoded): `parse_filter` and `print_filter` for each
//! list's fields (the first byte picks the list), and the module and event-type filters applied
//! in memory (`listing::matches`).
//!
//! Invariants: `parse(print(parse(x))) == parse(x)`, and printing is a fixed point
//! (`print(parse(print(f))) == print(f)`); refusals format without panicking.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate_domain::listing;
use tollgate_domain::query::{AuditField, EventTypeField, Field, Filter, ModuleField, TokenField};
use tollgate_fuzz::fixture;
use tollgate_http::rql::{parse_filter, print_filter};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    match pick % 4 {
        0 => {
            round_trip::<TokenField>(text);
        }
        1 => {
            round_trip::<AuditField>(text);
        }
        2 => {
            if let Some(filter) = round_trip::<ModuleField>(text) {
                for module in fixture().catalog.modules() {
                    listing::matches(&filter, &|field| {
                        Some(match field {
                            ModuleField::Id => module.id.to_string(),
                            ModuleField::Code => module.code.to_string(),
                            ModuleField::Name => module.name.to_string(),
                        })
                    });
                }
            }
        }
        _ => {
            if let Some(filter) = round_trip::<EventTypeField>(text) {
                for key in tollgate_audit::keys_written() {
                    listing::matches(&filter, &|field| match field {
                        EventTypeField::Key => Some(key.to_string()),
                        EventTypeField::Id | EventTypeField::Name => None,
                    });
                }
            }
        }
    }
});

fn round_trip<F: Field>(text: &str) -> Option<Filter<F>> {
    let filter = match parse_filter::<F>(text) {
        Ok(filter) => filter,
        Err(error) => {
            let _ = error.to_string();
            return None;
        }
    };
    let printed = print_filter(&filter);
    let back = parse_filter::<F>(&printed);
    assert_eq!(
        back.as_ref(),
        Ok(&filter),
        "{text:?} printed as {printed:?}"
    );
    if let Ok(back) = back {
        assert_eq!(print_filter(&back), printed);
    }
    Some(filter)
}
