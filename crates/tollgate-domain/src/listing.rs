//! Lists held in memory (the module catalog, the audit event types): a [`ListQuery`] applied
//! by the rules the database applies to the lists it holds — `like` case-sensitive with `*`
//! as the wildcard, `ilike` and the order of text fields by Unicode lower case, `null()` for a
//! missing value, `empty()` for a missing or empty one, every order ending with the id.

use std::cmp::Ordering;

use crate::query::{
    Comparison, Direction, Field, Filter, ListPage, ListQuery, Page, SortKey, Value, ValueKind,
};

/// Applies `query` to `items`. `text` gives a field's value of an item (`None` when it has
/// none); `id` is the tie-breaker that ends every order. Without an order the items keep the
/// order they were given in.
pub fn list<T, F: Field>(
    items: impl IntoIterator<Item = T>,
    query: &ListQuery<F>,
    id: F,
    text: impl Fn(&T, F) -> Option<String>,
) -> ListPage<T> {
    let mut rows: Vec<T> = items
        .into_iter()
        .filter(|item| {
            query
                .filter
                .as_ref()
                .is_none_or(|filter| matches(filter, &|field| text(item, field)))
        })
        .collect();
    if !query.order.is_empty() {
        let tie = SortKey {
            field: id,
            direction: Direction::Ascending,
        };
        rows.sort_by(|a, b| {
            query
                .order
                .iter()
                .chain(std::iter::once(&tie))
                .map(|key| {
                    let ordering = order_key(key.field, text(a, key.field))
                        .cmp(&order_key(key.field, text(b, key.field)));
                    match key.direction {
                        Direction::Ascending => ordering,
                        Direction::Descending => ordering.reverse(),
                    }
                })
                .find(|ordering| *ordering != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        });
    }
    let total = rows.len() as u64;
    let Page { offset, limit } = query.page;
    let items = rows
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(limit as usize)
        .collect();
    ListPage {
        items,
        total,
        page: query.page,
    }
}

/// Text fields order by their lower case; a missing value sorts first.
fn order_key<F: Field>(field: F, value: Option<String>) -> Option<String> {
    match field.kind() {
        ValueKind::Text => value.map(|value| value.to_lowercase()),
        _ => value,
    }
}

/// Does the row whose fields `text` reads satisfy `filter`?
pub fn matches<F: Field>(filter: &Filter<F>, text: &dyn Fn(F) -> Option<String>) -> bool {
    match filter {
        Filter::And(parts) => parts.iter().all(|part| matches(part, text)),
        Filter::Or(parts) => parts.iter().any(|part| matches(part, text)),
        Filter::Not(inner) => !matches(inner, text),
        Filter::Compare { field, op, value } => compare(text(*field).as_deref(), *op, value),
        Filter::In {
            field,
            values,
            negated,
        } => {
            let actual = text(*field);
            let found = values
                .iter()
                .any(|value| compare(actual.as_deref(), Comparison::Eq, value));
            found != *negated
        }
        Filter::Like {
            field,
            pattern,
            case_insensitive,
        } => text(*field).is_some_and(|actual| {
            if *case_insensitive {
                glob(&pattern.to_lowercase(), &actual.to_lowercase())
            } else {
                glob(pattern, &actual)
            }
        }),
        // The lists held in memory have no collections.
        Filter::Any { .. } => false,
    }
}

fn compare(actual: Option<&str>, op: Comparison, value: &Value) -> bool {
    let holds = |ordering: Ordering| match op {
        Comparison::Eq => ordering == Ordering::Equal,
        Comparison::Ne => ordering != Ordering::Equal,
        Comparison::Gt => ordering == Ordering::Greater,
        Comparison::Ge => ordering != Ordering::Less,
        Comparison::Lt => ordering == Ordering::Less,
        Comparison::Le => ordering != Ordering::Greater,
    };
    match value {
        Value::Null => (actual.is_none()) == (op == Comparison::Eq),
        Value::Empty => actual.is_none_or(str::is_empty) == (op == Comparison::Eq),
        // SQL: a comparison with a missing value is not true.
        Value::Text(expected) => actual.is_some_and(|actual| holds(actual.cmp(expected))),
        // No field held in memory is a time.
        Value::Time(_) => false,
    }
}

/// `*` matches any run of characters; everything else matches itself.
fn glob(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    // The classic two-pointer match with backtracking to the last `*`: linear in practice,
    // never exponential.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if text.get(t) == Some(&c) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::ModuleField;

    #[derive(Debug)]
    struct Row(&'static str, &'static str, &'static str);

    fn rows() -> Vec<Row> {
        vec![
            Row("MOD-1104", "billing", "Billing"),
            Row("MOD-1102", "marketplace", "Marketplace"),
            Row("MOD-1756", "access-management", "Access Management"),
            Row("MOD-1101", "account-management", "Account Management"),
        ]
    }

    fn text(row: &Row, field: ModuleField) -> Option<String> {
        Some(
            match field {
                ModuleField::Id => row.0,
                ModuleField::Code => row.1,
                ModuleField::Name => row.2,
            }
            .to_owned(),
        )
    }

    fn ids(query: &ListQuery<ModuleField>) -> Vec<&'static str> {
        list(rows(), query, ModuleField::Id, text)
            .items
            .iter()
            .map(|row| row.0)
            .collect()
    }

    fn query(
        filter: Option<Filter<ModuleField>>,
        order: Vec<SortKey<ModuleField>>,
    ) -> ListQuery<ModuleField> {
        ListQuery {
            filter,
            order,
            page: Page::default(),
        }
    }

    #[test]
    fn globs() {
        for (pattern, text, expected) in [
            ("*", "", true),
            ("*bill*", "billing", true),
            ("bill", "billing", false),
            ("b*g", "billing", true),
            ("*a*a*a*", "aaa", true),
            ("*a*a*a*", "aa", false),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("", "", true),
            ("", "x", false),
        ] {
            assert_eq!(glob(pattern, text), expected, "{pattern} ~ {text}");
        }
    }

    #[test]
    fn filters_like_the_database() {
        let like = |pattern: &str, case_insensitive| {
            Some(Filter::Like {
                field: ModuleField::Name,
                pattern: pattern.into(),
                case_insensitive,
            })
        };
        assert_eq!(
            ids(&query(like("*management", false), vec![])),
            Vec::<&str>::new()
        );
        assert_eq!(
            ids(&query(like("*management", true), vec![])),
            ["MOD-1756", "MOD-1101"]
        );
        let eq = Filter::Compare {
            field: ModuleField::Code,
            op: Comparison::Eq,
            value: Value::Text("billing".into()),
        };
        assert_eq!(ids(&query(Some(eq.clone()), vec![])), ["MOD-1104"]);
        assert_eq!(
            ids(&query(Some(Filter::Not(Box::new(eq))), vec![])),
            ["MOD-1102", "MOD-1756", "MOD-1101"]
        );
        let within = Filter::In {
            field: ModuleField::Id,
            values: vec![
                Value::Text("MOD-1102".into()),
                Value::Text("MOD-9999".into()),
            ],
            negated: false,
        };
        assert_eq!(ids(&query(Some(within), vec![])), ["MOD-1102"]);
        let empty = Filter::Compare {
            field: ModuleField::Name,
            op: Comparison::Eq,
            value: Value::Empty,
        };
        assert_eq!(ids(&query(Some(empty), vec![])), Vec::<&str>::new());
        let after = Filter::Compare {
            field: ModuleField::Id,
            op: Comparison::Ge,
            value: Value::Text("MOD-1104".into()),
        };
        assert_eq!(ids(&query(Some(after), vec![])), ["MOD-1104", "MOD-1756"]);
    }

    #[test]
    fn orders_and_pages() -> Result<(), crate::query::QueryError> {
        let by_name = vec![SortKey::new(ModuleField::Name, Direction::Descending)?];
        assert_eq!(
            ids(&query(None, by_name)),
            ["MOD-1102", "MOD-1104", "MOD-1101", "MOD-1756"]
        );
        let mut paged = query(
            None,
            vec![SortKey::new(ModuleField::Id, Direction::Ascending)?],
        );
        paged.page = Page::new(1, 2);
        let page = list(rows(), &paged, ModuleField::Id, text);
        assert_eq!(page.total, 4);
        assert_eq!(
            page.items.iter().map(|row| row.0).collect::<Vec<_>>(),
            ["MOD-1102", "MOD-1104"]
        );
        Ok(())
    }
}
