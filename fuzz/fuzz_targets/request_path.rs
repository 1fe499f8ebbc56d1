//! The forwarded path (`X-Forwarded-Uri`, `/v1/authorize/<path>`, `/v1/introspect`'s `path`):
//! `RequestPath::parse` and `authorize_path`, as the gateway handler calls them, for a token
//! holding every module.
//!
//! Invariants: the normalised path reads back as itself; and a path allowed for a module still
//! lies under that module's prefixes however the service behind the gateway reads it — decoded
//! (once, or once more), `;` parameters stripped, `\` as `/`, dot segments resolved (before or
//! after decoding), trailing dots and spaces dropped, case folded, NFKC-normalised, `#` taken
//! as a character — in each of the orders below. A reading that would refuse the path (an
//! invalid escape, bytes that are not UTF-8) is skipped: that service answers 400; so is one
//! that leaves an escape encoded in a segment, which names no route (404).

#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate_domain::RequestPath;
use tollgate_domain::authz;
use tollgate_fuzz::fixture;
use unicode_normalization::UnicodeNormalization;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let fx = fixture();
    let Ok(path) = RequestPath::parse(raw) else {
        return;
    };
    let normalised = path.to_path_string();
    let again = RequestPath::parse(&normalised);
    assert_eq!(again.as_ref(), Ok(&path), "{raw:?} → {normalised:?}");

    let Ok(grant) = authz::authorize_path(&fx.view, &path, &fx.catalog) else {
        return;
    };
    let Some(module) = grant.module else {
        unreachable!("a path grant names its module")
    };
    for (name, reading) in READINGS {
        let Some(segments) = reading(raw) else {
            continue;
        };
        // A reader that leaves an escape encoded reads a name no route has (`%63ommerce`), and
        // answers 404.
        if segments.iter().any(|segment| segment.contains('%')) {
            continue;
        }
        let resolved = match segments.as_slice() {
            [public, v1, rest @ ..] if public == "public" && v1 == "v1" => {
                let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
                fx.catalog.resolve(&rest)
            }
            _ => None,
        };
        assert_eq!(
            resolved.map(|m| m.code.as_str()),
            Some(module.code.as_str()),
            "{raw:?} is allowed for {}, but read {name} it is {segments:?}",
            module.code
        );
    }
});

type Reading = fn(&str) -> Option<Vec<String>>;

/// Each way a service behind the gateway might read the raw path, by name.
const READINGS: &[(&str, Reading)] = &[
    ("as sent (dot segments resolved)", |raw| {
        Some(resolve(path_part(raw)))
    }),
    ("decoded", |raw| Some(resolve(&decode(path_part(raw))?))),
    ("decoded after resolving", |raw| {
        let mut joined = String::new();
        for segment in resolve(path_part(raw)) {
            joined.push('/');
            joined.push_str(&decode(&segment)?);
        }
        Some(resolve(&joined))
    }),
    ("decoded twice", |raw| {
        Some(resolve(&decode(&decode(path_part(raw))?)?))
    }),
    ("parameters stripped, then decoded", |raw| {
        Some(resolve(&decode(&strip_parameters(path_part(raw)))?))
    }),
    ("decoded, then parameters stripped", |raw| {
        Some(resolve(&strip_parameters(&decode(path_part(raw))?)))
    }),
    ("backslash as slash, then decoded", |raw| {
        Some(resolve(&decode(&path_part(raw).replace('\\', "/"))?))
    }),
    ("decoded, then backslash as slash", |raw| {
        Some(resolve(&decode(path_part(raw))?.replace('\\', "/")))
    }),
    (
        "decoded twice, parameters stripped, backslash as slash",
        |raw| {
            let text = decode(&decode(path_part(raw))?)?;
            Some(resolve(&strip_parameters(&text.replace('\\', "/"))))
        },
    ),
    ("decoded, trailing dots and spaces dropped", |raw| {
        Some(resolve(&drop_trailing_dots(&decode(path_part(raw))?)))
    }),
    ("decoded, lower case", |raw| {
        Some(resolve(&decode(path_part(raw))?.to_lowercase()))
    }),
    ("decoded, NFKC", |raw| {
        Some(resolve(&decode(path_part(raw))?.nfkc().collect::<String>()))
    }),
    (
        "decoded, NFKC, backslash as slash, parameters and trailing dots dropped",
        |raw| {
            let text: String = decode(path_part(raw))?.nfkc().collect();
            Some(resolve(&drop_trailing_dots(&strip_parameters(
                &text.replace('\\', "/"),
            ))))
        },
    ),
    ("with # as a character, decoded", |raw| {
        let path = raw.split('?').next().unwrap_or("");
        Some(resolve(&decode(path)?))
    }),
];

/// The path before the query and fragment.
fn path_part(raw: &str) -> &str {
    raw.split(['?', '#']).next().unwrap_or("")
}

/// Every `%XX` decoded; `None` for an invalid escape or bytes that are not UTF-8.
fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let hex = text.get(at + 1..at + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Segments with `.` and `..` resolved (RFC 3986 §5.2.4), empty segments merged.
fn resolve(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for segment in text.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            name => out.push(name.to_owned()),
        }
    }
    out
}

/// Each segment cut at its first `;` (Tomcat, Jetty, Spring).
fn strip_parameters(text: &str) -> String {
    text.split('/')
        .map(|segment| segment.split(';').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("/")
}

/// Each segment without its trailing dots and spaces (Windows).
fn drop_trailing_dots(text: &str) -> String {
    text.split('/')
        .map(|segment| match segment {
            "." | ".." => segment,
            _ => segment.trim_end_matches(['.', ' ']),
        })
        .collect::<Vec<_>>()
        .join("/")
}
