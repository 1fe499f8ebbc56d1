//! One filter expression as text: [`parse_filter`] reads it (through the parser and the
//! typer), [`print_filter`] writes a filter back as RQL that reads back to the same filter.

use std::fmt::Write as _;

use time::{OffsetDateTime, UtcOffset};

use super::helpers::clip;
use super::parser::Parser;
use super::typer::Typer;
use super::{Field, Filter, MAX_FILTER_BYTES, RqlError, Value};

/// Parses one RQL filter expression (already percent-decoded).
pub fn parse_filter<F: Field>(text: &str) -> Result<Filter<F>, RqlError> {
    if text.len() > MAX_FILTER_BYTES {
        return Err(RqlError::FilterTooLong {
            len: text.len(),
            max: MAX_FILTER_BYTES,
        });
    }
    if text.contains('\0') {
        return Err(RqlError::Nul { term: clip(text) });
    }
    let chars: Vec<char> = text.chars().collect();
    let mut parser = Parser {
        chars: &chars,
        pos: 0,
    };
    let node = parser.term(0, false)?;
    parser.expect_end("after the end of the expression", "")?;
    Typer { chars: &chars }.expr(&node, None, 0)
}

/// Prints a filter as RQL that [`parse_filter`] reads back to an equal filter: text values in
/// single quotes with `'` and `\` escaped, times as RFC 3339 in UTC (`Z`) with milliseconds (or
/// more digits when needed), fields inside `any(collection, …)` by the collection's names.
pub fn print_filter<F: Field>(filter: &Filter<F>) -> String {
    enum Step<'a, F> {
        Filter(&'a Filter<F>, Option<&'static str>),
        Text(&'static str),
    }
    let mut out = String::new();
    // An explicit stack rather than recursion: filters built by hand may nest arbitrarily.
    let mut stack = vec![Step::Filter(filter, None)];
    while let Some(step) = stack.pop() {
        let (filter, scope) = match step {
            Step::Text(text) => {
                out.push_str(text);
                continue;
            }
            Step::Filter(filter, scope) => (filter, scope),
        };
        match filter {
            Filter::And(parts) | Filter::Or(parts) => {
                out.push_str(if matches!(filter, Filter::And(_)) {
                    "and("
                } else {
                    "or("
                });
                stack.push(Step::Text(")"));
                for (index, part) in parts.iter().enumerate().rev() {
                    stack.push(Step::Filter(part, scope));
                    if index > 0 {
                        stack.push(Step::Text(","));
                    }
                }
            }
            Filter::Not(inner) => {
                out.push_str("not(");
                stack.push(Step::Text(")"));
                stack.push(Step::Filter(inner, scope));
            }
            Filter::Any { collection, filter } => {
                out.push_str("any(");
                out.push_str(collection);
                out.push(',');
                stack.push(Step::Text(")"));
                stack.push(Step::Filter(filter, Some(collection)));
            }
            Filter::Compare { field, op, value } => {
                out.push_str(op.name());
                out.push('(');
                out.push_str(field_name(*field, scope));
                out.push(',');
                print_value(&mut out, value);
                out.push(')');
            }
            Filter::In {
                field,
                values,
                negated,
            } => {
                out.push_str(if *negated { "out(" } else { "in(" });
                out.push_str(field_name(*field, scope));
                out.push_str(",(");
                for (index, value) in values.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    print_value(&mut out, value);
                }
                out.push_str("))");
            }
            Filter::Like {
                field,
                pattern,
                case_insensitive,
            } => {
                out.push_str(if *case_insensitive { "ilike(" } else { "like(" });
                out.push_str(field_name(*field, scope));
                out.push(',');
                print_text(&mut out, pattern);
                out.push(')');
            }
        }
    }
    out
}
/// The name of `field` inside `any(scope, …)`, or its path outside.
fn field_name<F: Field>(field: F, scope: Option<&'static str>) -> &'static str {
    scope
        .and_then(|collection| {
            F::COLLECTIONS
                .iter()
                .filter(|(name, _)| *name == collection)
                .flat_map(|(_, fields)| fields.iter())
                .find(|(_, member)| *member == field)
                .map(|(name, _)| *name)
        })
        .unwrap_or_else(|| field.path())
}

fn print_value(out: &mut String, value: &Value) {
    match value {
        Value::Text(text) => print_text(out, text),
        Value::Time(time) => print_time(out, *time),
        Value::Null => out.push_str("null()"),
        Value::Empty => out.push_str("empty()"),
    }
}

/// `'text'` with `'` and `\` escaped.
fn print_text(out: &mut String, text: &str) {
    out.push('\'');
    for c in text.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
}

/// RFC 3339 in UTC with milliseconds (`2026-11-28T10:00:00.000Z`), or micro/nanoseconds when the
/// instant needs them. An instant whose UTC year RFC 3339 cannot write (before 0000 or after
/// 9999) keeps its own offset, as it was parsed.
fn print_time(out: &mut String, time: OffsetDateTime) {
    let (time, offset) = match time.checked_to_offset(UtcOffset::UTC) {
        Some(utc) if (0..=9999).contains(&utc.year()) => (utc, None),
        _ => (time, Some(time.offset())),
    };
    let nanos = time.nanosecond();
    // Writing to a `String` cannot fail.
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute(),
        time.second(),
    );
    let _ = if nanos % 1_000_000 == 0 {
        write!(out, ".{:03}", nanos / 1_000_000)
    } else if nanos % 1_000 == 0 {
        write!(out, ".{:06}", nanos / 1_000)
    } else {
        write!(out, ".{nanos:09}")
    };
    match offset {
        None => out.push('Z'),
        Some(offset) => {
            let sign = if offset.is_negative() { '-' } else { '+' };
            let _ = write!(
                out,
                "{sign}{:02}:{:02}",
                offset.whole_hours().unsigned_abs(),
                offset.minutes_past_hour().unsigned_abs()
            );
        }
    }
}
