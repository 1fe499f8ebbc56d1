//! The reserved parameters of a query string: `limit` and `offset` (the page), `order` (the
//! sort keys) and `select` (the [`Selection`]), each given at most once.

use super::helpers::{clip, is_space, join};
use super::{Direction, Field, QueryError, RqlError, Selection, SortKey};

pub(super) fn set_once<T>(
    slot: &mut Option<T>,
    name: &'static str,
    value: T,
) -> Result<(), RqlError> {
    if slot.is_some() {
        return Err(RqlError::Repeated(name));
    }
    *slot = Some(value);
    Ok(())
}

/// A decimal number, `None` when not all digits; saturates at `u64::MAX`.
fn parse_number(value: &str) -> Option<u64> {
    if value.is_empty() || !value.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    Some(value.bytes().fold(0u64, |number, digit| {
        number
            .saturating_mul(10)
            .saturating_add(u64::from(digit - b'0'))
    }))
}

pub(super) fn parse_limit(value: &str) -> Result<u64, RqlError> {
    // A huge limit saturates, and `Page::new` caps it anyway.
    parse_number(value).ok_or_else(|| RqlError::BadParameter {
        error: QueryError::BadPage("limit"),
        given: clip(value),
    })
}

pub(super) fn parse_offset(value: &str) -> Result<u64, RqlError> {
    let offset = parse_number(value).ok_or_else(|| RqlError::BadParameter {
        error: QueryError::BadPage("offset"),
        given: clip(value),
    })?;
    // Databases take a signed 64-bit offset.
    let max = u64::try_from(i64::MAX).unwrap_or(u64::MAX >> 1);
    if offset > max {
        return Err(RqlError::OffsetTooLarge { max });
    }
    Ok(offset)
}

/// Splits `+name` / `-name` / `name` into direction and name.
fn signed(item: &str) -> (Direction, &str) {
    let item = item.trim_matches(is_space);
    match item.strip_prefix('-') {
        Some(name) => (Direction::Descending, name),
        None => (Direction::Ascending, item.strip_prefix('+').unwrap_or(item)),
    }
}

pub(super) fn parse_order<F: Field>(value: &str) -> Result<Vec<SortKey<F>>, RqlError> {
    let mut keys: Vec<SortKey<F>> = Vec::new();
    for item in value.split(',') {
        let (direction, name) = signed(item);
        if name.is_empty() {
            return Err(RqlError::EmptyItem { parameter: "order" });
        }
        let field = F::from_path(name).ok_or_else(|| RqlError::UnknownOrderField {
            name: clip(name),
            known: join(F::ALL.iter().filter(|f| f.orderable()).map(|f| f.path())),
        })?;
        let key = SortKey::new(field, direction)?;
        // Keys are distinct known fields, so this list stays as short as `F::ALL`.
        if keys.iter().any(|key| key.field == field) {
            return Err(RqlError::RepeatedOrderField(field.path()));
        }
        keys.push(key);
    }
    Ok(keys)
}

pub(super) fn parse_select(value: &str, selectable: &[&str]) -> Result<Selection, RqlError> {
    let mut selection = Selection::default();
    for item in value.split(',') {
        let (direction, name) = signed(item);
        if name.is_empty() {
            return Err(RqlError::EmptyItem {
                parameter: "select",
            });
        }
        if !selectable.contains(&name) {
            return Err(RqlError::UnknownSelect {
                name: clip(name),
                known: join(selectable.iter().copied()),
            });
        }
        let (list, other) = match direction {
            Direction::Ascending => (&mut selection.include, &selection.exclude),
            Direction::Descending => (&mut selection.exclude, &selection.include),
        };
        if other.iter().any(|n| n == name) {
            return Err(RqlError::SelectConflict(name.to_owned()));
        }
        if !list.iter().any(|n| n == name) {
            list.push(name.to_owned());
        }
    }
    Ok(selection)
}
