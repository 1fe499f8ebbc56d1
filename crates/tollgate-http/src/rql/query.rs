//! The query string of a list request: its terms split and percent-decoded, the top-level
//! `token=<value>` term, the `field=value` shortcut, and the whole assembled into a
//! [`ListRequest`].

use super::filter::parse_filter;
use super::helpers::{clip, excerpt, hex_digit, is_space, join};
use super::params::{parse_limit, parse_offset, parse_order, parse_select, set_once};
use super::parser::Parser;
use super::typer::Typer;
use super::{
    Comparison, Field, Filter, ListQuery, ListRequest, MAX_ITEMS, MAX_QUERY_BYTES, Page, RqlError,
    ValueLookup,
};

/// Parses a raw query string (without the leading '?'). `selectable` lists the names `select`
/// accepts (e.g. `["audit", "token", "modules"]`); any other name → error naming it.
pub fn parse_list_query<F: Field>(
    raw: &str,
    selectable: &[&str],
) -> Result<ListRequest<F>, RqlError> {
    if raw.len() > MAX_QUERY_BYTES {
        return Err(RqlError::QueryTooLong {
            len: raw.len(),
            max: MAX_QUERY_BYTES,
        });
    }
    let mut limit = None;
    let mut offset = None;
    let mut order = None;
    let mut select = None;
    let mut token = None;
    let mut render = false;
    let mut filters = Vec::new();
    for term in raw.split('&') {
        if term.is_empty() {
            continue;
        }
        let term = decode_term(term)?;
        let trimmed = term.trim_matches(is_space);
        if trimmed.is_empty() {
            continue;
        }
        if trimmed == "render()" {
            render = true;
            continue;
        }
        if let Some(value) = token_term(&term) {
            if !F::VALUE_FILTER {
                return Err(RqlError::TokenPlacement);
            }
            if token.is_some() {
                return Err(RqlError::RepeatedToken);
            }
            token = Some(ValueLookup(value?));
            continue;
        }
        match term.split_once('=') {
            // An empty `order=` or `select=` is the same as none.
            Some(("order" | "select", value)) if value.trim_matches(is_space).is_empty() => {}
            Some(("limit", value)) => set_once(&mut limit, "limit", parse_limit(value)?)?,
            Some(("offset", value)) => set_once(&mut offset, "offset", parse_offset(value)?)?,
            Some(("order", value)) => set_once(&mut order, "order", parse_order::<F>(value)?)?,
            Some(("select", value)) => {
                set_once(&mut select, "select", parse_select(value, selectable)?)?;
            }
            Some((key, _)) if is_shortcut_key(key) => {
                filters.push(parse_shortcut::<F>(&term, key)?)
            }
            _ => filters.push(parse_filter::<F>(&term)?),
        }
        // Their `and(…)` must read back, so it holds no more than any argument list.
        if filters.len() > MAX_ITEMS {
            return Err(RqlError::TooManyTerms { max: MAX_ITEMS });
        }
    }
    let filter = if filters.len() > 1 {
        Some(Filter::And(filters))
    } else {
        filters.pop()
    };
    Ok(ListRequest {
        query: ListQuery {
            filter,
            order: order.unwrap_or_default(),
            page: Page::new(
                offset.unwrap_or(0),
                limit.unwrap_or(u64::from(Page::DEFAULT_LIMIT)),
            ),
        },
        select: select.unwrap_or_default(),
        token,
        render,
    })
}

/// A top-level token-value term, `token=<value>` or `eq(token,<value>)`: `Some` with the value
/// (or the error in its syntax), `None` for any other term. The value is never quoted in an
/// error.
fn token_term(term: &str) -> Option<Result<String, RqlError>> {
    let text = term.trim_matches(is_space);
    if let Some(value) = text.strip_prefix("token=") {
        return Some(Ok(unquote(value.trim_matches(is_space))));
    }
    let inner = text.strip_prefix("eq(")?.strip_suffix(')')?;
    let (field, value) = inner.split_once(',')?;
    if field.trim_matches(is_space) != "token" {
        return None;
    }
    let value = value.trim_matches(is_space);
    if value.contains([',', '(', ')']) {
        return Some(Err(RqlError::TokenPlacement));
    }
    Some(Ok(unquote(value)))
}

/// `'x'` or `"x"` → `x` (token values hold no quotes or backslashes); anything else as is.
fn unquote(value: &str) -> String {
    for quote in ['\'', '"'] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|rest| rest.strip_suffix(quote))
        {
            return inner.to_owned();
        }
    }
    value.to_owned()
}
/// Percent-decodes one query-string term once: `%XX` → byte, `+` stays '+'. Invalid escapes or
/// bytes that are not UTF-8 → error.
pub fn decode_term(term: &str) -> Result<String, RqlError> {
    let bytes = term.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        if byte != b'%' {
            out.push(byte);
            index += 1;
            continue;
        }
        let high = bytes.get(index + 1).copied().and_then(hex_digit);
        let low = bytes.get(index + 2).copied().and_then(hex_digit);
        match (high, low) {
            (Some(high), Some(low)) => {
                out.push(high << 4 | low);
                index += 3;
            }
            _ => {
                // `index` is at an ASCII '%', so it is a character boundary.
                let position = term.get(..index).map_or(0, |before| before.chars().count());
                let chars: Vec<char> = term.chars().collect();
                return Err(RqlError::BadEscape {
                    position,
                    term: excerpt(&chars, position),
                });
            }
        }
    }
    let text = String::from_utf8(out).map_err(|_| RqlError::NotUtf8 { term: clip(term) })?;
    // PostgreSQL refuses NUL in text, and no stored value holds one: refuse it here.
    if text.contains('\0') {
        return Err(RqlError::Nul { term: clip(term) });
    }
    Ok(text)
}
/// `status` in `status=Active`: a field-like name directly before the first `=`.
fn is_shortcut_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
}

/// `field=value`, meaning `eq(field,value)`.
fn parse_shortcut<F: Field>(term: &str, key: &str) -> Result<Filter<F>, RqlError> {
    let chars: Vec<char> = term.chars().collect();
    let mut parser = Parser {
        chars: &chars,
        // The key is ASCII, so its length in bytes is its length in characters.
        pos: key.len() + 1,
    };
    let node = parser.term(0, false)?;
    parser.expect_end(
        "after the value",
        "; quote values that contain ',', '(' or ')'",
    )?;
    if key == "token" {
        return Err(RqlError::TokenPlacement);
    }
    let context = clip(term);
    let field = F::from_path(key).ok_or_else(|| RqlError::UnknownField {
        name: clip(key),
        context: context.clone(),
        known: join(F::ALL.iter().map(|f| f.path())),
    })?;
    let value = Typer { chars: &chars }.value(&node, field, "eq", true, &context)?;
    Ok(Filter::Compare {
        field,
        op: Comparison::Eq,
        value,
    })
}
