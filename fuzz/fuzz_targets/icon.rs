//! Icon uploads: `tollgate_domain::icon::sniff`, the content check both the REST API's `PUT …/icon` and
//! the pages' logo upload call.
//!
//! Invariants: only PNG and JPEG are accepted, each only with its signature at the start (the
//! signatures browsers sniff: `89 50 4E 47 0D 0A 1A 0A`, `FF D8 FF`); the verdict depends on the
//! first eight bytes alone; nothing accepted could be sniffed as markup (it starts with neither
//! whitespace nor `<`); the type is a valid `Content-Type` for serving it back.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate_domain::icon::sniff;

const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF];

fuzz_target!(|data: &[u8]| {
    let verdict = sniff(data);
    match verdict {
        Some("image/png") => assert!(data.starts_with(PNG)),
        Some("image/jpeg") => assert!(data.starts_with(JPEG)),
        Some(other) => panic!("accepted as {other}"),
        None => assert!(!data.starts_with(PNG) && !data.starts_with(JPEG)),
    }
    assert_eq!(sniff(&data[..data.len().min(8)]), verdict);
    if let Some(kind) = verdict {
        assert!(!data[0].is_ascii_whitespace() && data[0] != b'<');
        assert!(actix_web::http::header::HeaderValue::from_str(kind).is_ok());
    }
});
