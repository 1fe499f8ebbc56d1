//! RQL: the query string of list requests (`GET /public/v1/accounts/api-tokens`,
//! `GET /public/v1/audit/records`) parsed into the domain's list model
//! ([`ListQuery`](tollgate_domain::query::ListQuery)) and a [`Selection`], and filters printed
//! back as RQL.
//!
//! # The query string
//!
//! The raw query string (without `?`) is split on `&`; each term is percent-decoded once
//! (`%XX` → byte; `+` stays a literal `+`, it is *not* a space). Empty terms are skipped.
//!
//! - `limit=N`, `offset=N`: non-negative decimal integers. The limit defaults to 10 and larger
//!   values than 100 are capped at 100; `limit=0` asks for the total only.
//! - `order=-audit.created.at,+name`: sort keys, `+` or no sign ascending, `-` descending; every
//!   field must be orderable and appear once.
//! - `select=+audit,-modules`: names to include (`+name` or `name`) or exclude (`-name`); only the
//!   names the endpoint declares selectable are accepted.
//! - `field=value`: shorthand for `eq(field,value)`; the value is written as inside `eq`.
//! - anything else: an RQL expression. Several filter terms are ANDed.
//!
//! Each reserved parameter may be given once. An empty `select=` or `order=` is the same as
//! leaving it out (the platform's clients send them). A `render()` term, anywhere, asks for
//! values rendered for people ([`ListRequest::render`]): summaries hold no placeholders, so
//! only audit `details` change, to one line of text (the platform's CLI shows them in a table).
//!
//! Lists whose fields take a token value ([`Field::VALUE_FILTER`]: the tokens list) accept
//! `token=<value>` or `eq(token,<value>)` as a top-level term, at most once; it is kept apart
//! from the filter as a [`ValueLookup`] (a secret: its `Debug` prints no value) and refused
//! anywhere inside `and`, `or`, `not` or `any`.
//!
//! # RQL grammar
//!
//! ```text
//! expr     = op "(" field "," value ")"            ; op: eq ne gt ge lt le
//!          | like-op "(" field "," text ")"        ; like-op: like ilike ('*' is the wildcard)
//!          | set-op "(" field "," "(" values ")" ")" ; set-op: in out
//!          | set-op "(" field "," values ")"
//!          | ("and" | "or") "(" expr { "," expr } ")"
//!          | "not" "(" expr ")"
//!          | "any" "(" collection "," expr ")"      ; fields inside are the collection's
//! values   = value { "," value }
//! value    = text | "empty()" | "null()"           ; empty()/null() only with eq ne in out
//! text     = bare | "'" chars "'" | '"' chars '"'
//! ```
//!
//! - A *bare* value runs until the next `,`, `(` or `)`; ASCII whitespace around it is dropped.
//!   Write a value that contains `,`, `(` or `)`, or leading/trailing spaces, in quotes.
//! - Inside quotes a backslash escapes the next character (`\'`, `\"`, `\\`, and `\x` is just
//!   `x`), so any string can be written: `eq(name,'it\'s a \\ test')`.
//! - ASCII whitespace is allowed between tokens. Only ASCII characters are syntax; values may
//!   hold any Unicode.
//! - Values are typed by the field ([`typed_value`]): times are RFC 3339, statuses are checked.
//!
//! # Limits
//!
//! Hostile input is refused quickly and without deep recursion: a query string is at most
//! [`MAX_QUERY_BYTES`] bytes and holds at most [`MAX_ITEMS`] filter terms; operators nest at most
//! [`MAX_DEPTH`] levels (a value list `(…)` is not a level, and cannot hold another list); one
//! argument or value list holds at most [`MAX_ITEMS`] items; one value or name is at most
//! [`MAX_VALUE_CHARS`] characters. [`parse_filter`] takes up to [`MAX_FILTER_BYTES`], more than a
//! query string, because [`print_filter`] may write a filter longer than the text it was parsed
//! from (quotes, escapes, `eq(…)` for `field=value`, milliseconds), and what it prints must read
//! back.
//!
//! # Errors
//!
//! Every refusal is an [`RqlError`] whose `Display` names the problem and where it is. Positions
//! count characters from 0 in the (decoded) term; long texts are shown shortened with `…`.

use std::fmt::Write as _;

use time::{OffsetDateTime, UtcOffset};
use tollgate_domain::query::{
    Comparison, Direction, Field, Filter, ListQuery, OperatorClass, Page, QueryError, SortKey,
    Value, check_operator, typed_value,
};

/// The longest query string accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 8 * 1024;
/// The longest filter text [`parse_filter`] accepts, in bytes: room for anything
/// [`print_filter`] prints from a filter parsed out of a query string (at most about 2.5 times
/// as long).
pub const MAX_FILTER_BYTES: usize = 4 * MAX_QUERY_BYTES;
/// The deepest nesting of operators accepted (`not(not(…))`; `null()` counts, a value list not).
pub const MAX_DEPTH: usize = 32;
/// The most items in one argument or value list (`and(…)`, `in(…)`, `(…)`), and the most filter
/// terms in one query string.
pub const MAX_ITEMS: usize = 1000;
/// The longest single value or name, in characters.
pub const MAX_VALUE_CHARS: usize = 4096;

/// The longest excerpt of input quoted in an error message, in characters.
const EXCERPT_CHARS: usize = 120;

const OPERATORS: &str = "eq, ne, gt, ge, lt, le, like, ilike, in, out, and, or, not, any";

/// What `select` asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Names to include (`+name` or `name`), without sign, in the order given, deduplicated.
    pub include: Vec<String>,
    /// Names to exclude (`-name`), without sign, in the order given, deduplicated.
    pub exclude: Vec<String>,
}

impl Selection {
    /// Was `name` asked for with `+name` (or `name`)?
    pub fn includes(&self, name: &str) -> bool {
        self.include.iter().any(|included| included == name)
    }

    /// Was `name` asked to be left out with `-name`?
    pub fn excludes(&self, name: &str) -> bool {
        self.exclude.iter().any(|excluded| excluded == name)
    }
}

/// A parsed list request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRequest<F> {
    /// Filter, order and page.
    pub query: ListQuery<F>,
    /// What `select` asked for.
    pub select: Selection,
    /// A token value to look up (`token=<value>`), for lists that take one.
    pub token: Option<ValueLookup>,
    /// `render()` was given: show values for people (audit `details` as one line of text).
    pub render: bool,
}

/// A token value given as a list filter (`token=<value>`): whose value is this? It is a secret:
/// `Debug` prints only its length, and it is never echoed in an error.
#[derive(Clone, PartialEq, Eq)]
pub struct ValueLookup(String);

impl ValueLookup {
    /// The value as given.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ValueLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ValueLookup({} bytes)", self.0.len())
    }
}

/// Why a query string was refused (→ 400). `Display` is the message shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RqlError {
    /// The query string is longer than [`MAX_QUERY_BYTES`].
    #[error("query string too long ({len} bytes; at most {max})")]
    QueryTooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// More than [`MAX_ITEMS`] filter terms in a query string.
    #[error("too many filter terms (at most {max})")]
    TooManyTerms {
        /// The limit.
        max: usize,
    },
    /// The filter text is longer than [`MAX_FILTER_BYTES`].
    #[error("filter too long ({len} bytes; at most {max})")]
    FilterTooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A `%` not followed by two hex digits.
    #[error(
        "invalid percent-encoding at position {position} of '{term}': '%' must be followed by \
         two hex digits (write %25 for a literal '%')"
    )]
    BadEscape {
        /// Character position of the `%`.
        position: usize,
        /// The term (shortened).
        term: String,
    },
    /// A decoded term holds a NUL character.
    #[error("a query-string term contains a NUL character (%00): {term}")]
    Nul {
        /// The term (clipped).
        term: String,
    },
    /// The decoded bytes are not UTF-8.
    #[error("invalid percent-encoding in '{term}': the decoded text is not valid UTF-8")]
    NotUtf8 {
        /// The term (shortened).
        term: String,
    },
    /// Bad syntax.
    #[error("{problem} at position {position} of '{text}'{hint}")]
    Syntax {
        /// What was expected or found.
        problem: String,
        /// Character position.
        position: usize,
        /// The text (shortened around the position).
        text: String,
        /// Advice, starting with `"; "`, or empty.
        hint: &'static str,
    },
    /// Operators nested deeper than [`MAX_DEPTH`].
    #[error("filter nested too deeply (at most {max} levels) at position {position} of '{text}'")]
    TooDeep {
        /// The limit.
        max: usize,
        /// Character position of the refused `(`.
        position: usize,
        /// The text (shortened around the position).
        text: String,
    },
    /// An argument or value list with more than [`MAX_ITEMS`] items.
    #[error("too many items in one list (at most {max}) at position {position} of '{text}'")]
    TooManyItems {
        /// The limit.
        max: usize,
        /// Character position of the refused item.
        position: usize,
        /// The text (shortened around the position).
        text: String,
    },
    /// A value or name longer than [`MAX_VALUE_CHARS`].
    #[error("value too long (at most {max} characters) at position {position} of '{text}'")]
    ValueTooLong {
        /// The limit.
        max: usize,
        /// Character position where the value starts.
        position: usize,
        /// The text (shortened around the position).
        text: String,
    },
    /// An operator RQL does not know.
    #[error("unknown operator '{name}' in {context}; operators are {OPERATORS}")]
    UnknownOperator {
        /// The operator (shortened).
        name: String,
        /// The expression (shortened).
        context: String,
    },
    /// A field the list does not have.
    #[error("unknown field '{name}' in {context}; fields are {known}")]
    UnknownField {
        /// The field (shortened).
        name: String,
        /// The expression (shortened).
        context: String,
        /// The fields there are.
        known: String,
    },
    /// A field the collection of `any(collection, …)` does not have.
    #[error("unknown field '{name}' of collection '{collection}' in {context}; fields are {known}")]
    UnknownCollectionField {
        /// The collection.
        collection: &'static str,
        /// The field (shortened).
        name: String,
        /// The expression (shortened).
        context: String,
        /// The collection's fields.
        known: String,
    },
    /// `any(x, …)` with a collection the list does not have.
    #[error("unknown collection '{name}' in {context}; collections are {known}")]
    UnknownCollection {
        /// The collection (shortened).
        name: String,
        /// The expression (shortened).
        context: String,
        /// The collections there are (or "none").
        known: String,
    },
    /// An operator with the wrong number of arguments.
    #[error("{op}() takes {expected} but got {got} in {context}")]
    Arity {
        /// The operator.
        op: &'static str,
        /// What it takes.
        expected: &'static str,
        /// How many arguments it got.
        got: usize,
        /// The expression (shortened).
        context: String,
    },
    /// An argument of the wrong sort (a list where a value belongs, …).
    #[error("{problem} in {context}")]
    BadArgument {
        /// What is wrong.
        problem: String,
        /// The expression (shortened).
        context: String,
    },
    /// The domain refused a field, operator or value inside a filter expression.
    #[error("{error} in {context}")]
    InFilter {
        /// The domain's reason.
        error: QueryError,
        /// The expression (shortened).
        context: String,
    },
    /// The domain refused a parameter (`order`, `limit`, `offset`).
    #[error(transparent)]
    Query(#[from] QueryError),
    /// `limit` or `offset` that is not a non-negative integer.
    #[error("{error}, got '{given}'")]
    BadParameter {
        /// The domain's reason ([`QueryError::BadPage`]).
        error: QueryError,
        /// What was given (shortened).
        given: String,
    },
    /// An offset beyond what a database accepts.
    #[error("offset too large (at most {max})")]
    OffsetTooLarge {
        /// The limit.
        max: u64,
    },
    /// `limit`, `offset`, `order` or `select` given twice.
    #[error("'{0}' given more than once")]
    Repeated(&'static str),
    /// An empty item in `order` or `select` (`order=name,,id`).
    #[error("empty item in '{parameter}' (items are separated by ',')")]
    EmptyItem {
        /// `order` or `select`.
        parameter: &'static str,
    },
    /// `order` naming a field the list does not have.
    #[error("cannot order by unknown field '{name}'; orderable fields are {known}")]
    UnknownOrderField {
        /// The field (shortened).
        name: String,
        /// The orderable fields.
        known: String,
    },
    /// `order` naming a field twice.
    #[error("field '{0}' appears more than once in 'order'")]
    RepeatedOrderField(&'static str),
    /// `select` naming something that cannot be selected.
    #[error("cannot select '{name}'; selectable are {known}")]
    UnknownSelect {
        /// The name (shortened).
        name: String,
        /// The names there are (or "none").
        known: String,
    },
    /// `token` anywhere but as a top-level `eq`, or on a list that does not take it.
    #[error(
        "'token' can be filtered on only as a top-level term of the tokens list: token=<value> or \
         eq(token,<value>), not inside and, or, not or any"
    )]
    TokenPlacement,
    /// `token` given twice.
    #[error("'token' given more than once")]
    RepeatedToken,
    /// `select` both including and excluding a name.
    #[error("'{0}' is both included and excluded in 'select'")]
    SelectConflict(String),
}

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

// ---------------------------------------------------------------------------------------------
// The query-string parameters.

fn set_once<T>(slot: &mut Option<T>, name: &'static str, value: T) -> Result<(), RqlError> {
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

fn parse_limit(value: &str) -> Result<u64, RqlError> {
    // A huge limit saturates, and `Page::new` caps it anyway.
    parse_number(value).ok_or_else(|| RqlError::BadParameter {
        error: QueryError::BadPage("limit"),
        given: clip(value),
    })
}

fn parse_offset(value: &str) -> Result<u64, RqlError> {
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

fn parse_order<F: Field>(value: &str) -> Result<Vec<SortKey<F>>, RqlError> {
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

fn parse_select(value: &str, selectable: &[&str]) -> Result<Selection, RqlError> {
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

// ---------------------------------------------------------------------------------------------
// Syntax: text → nodes.

/// A stretch of the input, in characters.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
}

/// The untyped syntax tree: at most [`MAX_DEPTH`] calls deep, with at most one value list
/// between two calls.
#[derive(Debug)]
enum Node {
    /// A bare word: a value, a field or a collection name.
    Word { text: String, span: Span },
    /// A quoted value.
    Quoted { text: String },
    /// `(a,b)`.
    List { items: Vec<Node> },
    /// `name(args)`.
    Call {
        name: String,
        args: Vec<Node>,
        span: Span,
    },
}

#[derive(Debug)]
struct Parser<'a> {
    chars: &'a [char],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(is_space) {
            self.pos += 1;
        }
    }

    fn syntax(&self, problem: String, position: usize, hint: &'static str) -> RqlError {
        RqlError::Syntax {
            problem,
            position,
            text: excerpt(self.chars, position),
            hint,
        }
    }

    /// After the whole term: nothing but space may follow.
    fn expect_end(&mut self, after: &str, hint: &'static str) -> Result<(), RqlError> {
        self.skip_space();
        match self.peek() {
            None => Ok(()),
            Some(c) => Err(self.syntax(
                format!("unexpected {} {after}", show_char(c)),
                self.pos,
                hint,
            )),
        }
    }

    /// One argument: a quoted value, a list, a bare word or a call. `depth` counts the calls
    /// around it; `in_list` says it is an item of a value list.
    fn term(&mut self, depth: usize, in_list: bool) -> Result<Node, RqlError> {
        self.skip_space();
        let start = self.pos;
        let node = match self.peek() {
            None => {
                return Err(self.syntax(
                    "expected an expression or value".into(),
                    start,
                    "; write '' for empty text",
                ));
            }
            Some(c @ (',' | ')')) => {
                return Err(self.syntax(
                    format!("expected an expression or value, found {}", show_char(c)),
                    start,
                    "; write '' for empty text",
                ));
            }
            Some(quote @ ('\'' | '"')) => Node::Quoted {
                text: self.quoted(quote)?,
            },
            Some('(') if in_list => {
                return Err(self.syntax("a value list cannot contain a list".into(), start, ""));
            }
            Some('(') => Node::List {
                items: self.group(depth, true)?,
            },
            Some(_) => {
                let word = self.word()?;
                if self.peek() == Some('(') {
                    let args = self.group(depth, false)?;
                    Node::Call {
                        name: word,
                        args,
                        span: Span {
                            start,
                            end: self.pos,
                        },
                    }
                } else {
                    Node::Word {
                        text: word,
                        span: Span {
                            start,
                            end: self.pos,
                        },
                    }
                }
            }
        };
        Ok(node)
    }

    /// `( term, … )`, at the `(`: the arguments of a call, or a value list when `list`. Calls
    /// count towards the depth; a value list does not, as it cannot hold another list.
    fn group(&mut self, depth: usize, list: bool) -> Result<Vec<Node>, RqlError> {
        let open = self.pos;
        let depth = if list {
            depth
        } else if depth >= MAX_DEPTH {
            return Err(RqlError::TooDeep {
                max: MAX_DEPTH,
                position: open,
                text: excerpt(self.chars, open),
            });
        } else {
            depth + 1
        };
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_space();
        if self.peek() == Some(')') {
            self.pos += 1;
            return Ok(items);
        }
        loop {
            if items.len() >= MAX_ITEMS {
                return Err(RqlError::TooManyItems {
                    max: MAX_ITEMS,
                    position: self.pos,
                    text: excerpt(self.chars, self.pos),
                });
            }
            items.push(self.term(depth, list)?);
            self.skip_space();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(')') => {
                    self.pos += 1;
                    return Ok(items);
                }
                None => {
                    let problem = if items.len() == 1 {
                        "expected ')'"
                    } else {
                        "expected ',' or ')'"
                    };
                    return Err(self.syntax(problem.into(), self.pos, ""));
                }
                Some(c) => {
                    let hint = if matches!(c, '\'' | '"') {
                        "; inside quotes write \\' for ' and \\\" for \" (doubling a quote does not \
                         escape it)"
                    } else {
                        "; quote values that contain ',', '(' or ')'"
                    };
                    return Err(self.syntax(
                        format!("expected ',' or ')', found {}", show_char(c)),
                        self.pos,
                        hint,
                    ));
                }
            }
        }
    }

    /// A bare word, up to `,`, `(`, `)` or the end, without surrounding space.
    fn word(&mut self) -> Result<String, RqlError> {
        let start = self.pos;
        while self.peek().is_some_and(|c| !matches!(c, ',' | '(' | ')')) {
            self.pos += 1;
        }
        let mut end = self.pos;
        while end > start && self.chars.get(end - 1).copied().is_some_and(is_space) {
            end -= 1;
        }
        if end - start > MAX_VALUE_CHARS {
            return Err(RqlError::ValueTooLong {
                max: MAX_VALUE_CHARS,
                position: start,
                text: excerpt(self.chars, start),
            });
        }
        Ok(self
            .chars
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .collect())
    }

    /// A quoted value, at the opening quote; `\` escapes the next character.
    fn quoted(&mut self, quote: char) -> Result<String, RqlError> {
        let start = self.pos;
        self.pos += 1;
        let mut text = String::new();
        let mut length = 0usize;
        loop {
            let c = match self.peek() {
                None => break,
                Some(c) if c == quote => {
                    self.pos += 1;
                    return Ok(text);
                }
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        None => break,
                        Some(c) => c,
                    }
                }
                Some(c) => c,
            };
            self.pos += 1;
            length += 1;
            if length > MAX_VALUE_CHARS {
                return Err(RqlError::ValueTooLong {
                    max: MAX_VALUE_CHARS,
                    position: start,
                    text: excerpt(self.chars, start),
                });
            }
            text.push(c);
        }
        Err(self.syntax(
            format!("unterminated string: no closing {quote} for the string starting"),
            start,
            "; inside quotes write \\' for ', \\\" for \" and \\\\ for \\",
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Meaning: nodes → a typed filter.

#[derive(Debug)]
struct Typer<'a> {
    chars: &'a [char],
}

impl Typer<'_> {
    /// The text of `span`, shortened.
    fn context(&self, span: Span) -> String {
        let text = self.chars.get(span.start..span.end).unwrap_or_default();
        clip_chars(text)
    }

    /// An expression; `scope` is the collection of an enclosing `any`, `depth` counts the
    /// enclosing expressions (bounded by the parser's [`MAX_DEPTH`], checked again here).
    fn expr<F: Field>(
        &self,
        node: &Node,
        scope: Option<&'static str>,
        depth: usize,
    ) -> Result<Filter<F>, RqlError> {
        let (name, args, span) = match node {
            Node::Call { name, args, span } => (name, args, *span),
            Node::Word { text, span } => {
                return Err(RqlError::Syntax {
                    problem: format!(
                        "expected an expression such as eq(field,value), found '{}'",
                        clip(text)
                    ),
                    position: span.start,
                    text: excerpt(self.chars, span.start),
                    hint: "",
                });
            }
            Node::Quoted { .. } | Node::List { .. } => {
                // Only reachable at the top: inside a call the caller reports it with context.
                return Err(RqlError::Syntax {
                    problem: format!(
                        "expected an expression such as eq(field,value), found {}",
                        describe(node)
                    ),
                    position: 0,
                    text: excerpt(self.chars, 0),
                    hint: "",
                });
            }
        };
        if depth >= MAX_DEPTH {
            return Err(RqlError::TooDeep {
                max: MAX_DEPTH,
                position: span.start,
                text: excerpt(self.chars, span.start),
            });
        }
        let context = self.context(span);
        let comparison = |op| self.compare::<F>(op, args, scope, &context);
        match name.as_str() {
            "eq" => comparison(Comparison::Eq),
            "ne" => comparison(Comparison::Ne),
            "gt" => comparison(Comparison::Gt),
            "ge" => comparison(Comparison::Ge),
            "lt" => comparison(Comparison::Lt),
            "le" => comparison(Comparison::Le),
            "like" => self.like(false, args, scope, &context),
            "ilike" => self.like(true, args, scope, &context),
            "in" => self.set(false, args, scope, &context),
            "out" => self.set(true, args, scope, &context),
            "and" | "or" => {
                let op = if name == "and" { "and" } else { "or" };
                if args.is_empty() {
                    return Err(RqlError::Arity {
                        op,
                        expected: "at least one expression",
                        got: 0,
                        context,
                    });
                }
                let parts = args
                    .iter()
                    .map(|arg| self.sub_expr(arg, scope, depth, &context))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(if op == "and" {
                    Filter::And(parts)
                } else {
                    Filter::Or(parts)
                })
            }
            "not" => match args.as_slice() {
                [inner] => Ok(Filter::Not(Box::new(
                    self.sub_expr(inner, scope, depth, &context)?,
                ))),
                _ => Err(RqlError::Arity {
                    op: "not",
                    expected: "1 expression",
                    got: args.len(),
                    context,
                }),
            },
            "any" => self.any(args, scope, depth, &context),
            "empty" | "null" => Err(RqlError::BadArgument {
                problem: format!("{name}() is a value, not an expression"),
                context,
            }),
            _ => Err(RqlError::UnknownOperator {
                name: clip(name),
                context,
            }),
        }
    }

    /// An expression argument of `and`, `or`, `not` or `any`.
    fn sub_expr<F: Field>(
        &self,
        node: &Node,
        scope: Option<&'static str>,
        depth: usize,
        context: &str,
    ) -> Result<Filter<F>, RqlError> {
        match node {
            Node::Call { .. } | Node::Word { .. } => self.expr(node, scope, depth + 1),
            Node::Quoted { .. } | Node::List { .. } => Err(RqlError::BadArgument {
                problem: format!(
                    "expected an expression such as eq(field,value), found {}",
                    describe(node)
                ),
                context: context.to_owned(),
            }),
        }
    }

    fn any<F: Field>(
        &self,
        args: &[Node],
        scope: Option<&'static str>,
        depth: usize,
        context: &str,
    ) -> Result<Filter<F>, RqlError> {
        let [collection, inner] = args else {
            return Err(RqlError::Arity {
                op: "any",
                expected: "2 arguments (collection, expression)",
                got: args.len(),
                context: context.to_owned(),
            });
        };
        if let Some(outer) = scope {
            return Err(RqlError::BadArgument {
                problem: format!("any() cannot be used inside any({outer},…)"),
                context: context.to_owned(),
            });
        }
        let Node::Word { text, .. } = collection else {
            return Err(RqlError::BadArgument {
                problem: format!("expected a collection name, found {}", describe(collection)),
                context: context.to_owned(),
            });
        };
        let collection = F::COLLECTIONS
            .iter()
            .map(|(name, _)| *name)
            .find(|name| name == text)
            .ok_or_else(|| RqlError::UnknownCollection {
                name: clip(text),
                context: context.to_owned(),
                known: join(F::COLLECTIONS.iter().map(|(name, _)| *name)),
            })?;
        let filter = self.sub_expr(inner, Some(collection), depth, context)?;
        Ok(Filter::Any {
            collection,
            filter: Box::new(filter),
        })
    }

    fn field<F: Field>(
        &self,
        node: &Node,
        scope: Option<&'static str>,
        context: &str,
    ) -> Result<F, RqlError> {
        let Node::Word { text, .. } = node else {
            return Err(RqlError::BadArgument {
                problem: format!("expected a field name, found {}", describe(node)),
                context: context.to_owned(),
            });
        };
        // The context would hold a token value: say where `token` belongs, and quote nothing.
        if text == "token" {
            return Err(RqlError::TokenPlacement);
        }
        match scope {
            None => F::from_path(text).ok_or_else(|| RqlError::UnknownField {
                name: clip(text),
                context: context.to_owned(),
                known: join(F::ALL.iter().map(|f| f.path())),
            }),
            Some(collection) => {
                F::in_collection(collection, text).ok_or_else(|| RqlError::UnknownCollectionField {
                    collection,
                    name: clip(text),
                    context: context.to_owned(),
                    known: join(
                        F::COLLECTIONS
                            .iter()
                            .filter(|(name, _)| *name == collection)
                            .flat_map(|(_, fields)| fields.iter().map(|(name, _)| *name)),
                    ),
                })
            }
        }
    }

    fn compare<F: Field>(
        &self,
        op: Comparison,
        args: &[Node],
        scope: Option<&'static str>,
        context: &str,
    ) -> Result<Filter<F>, RqlError> {
        let [field, value] = args else {
            return Err(RqlError::Arity {
                op: op.name(),
                expected: "2 arguments (field, value)",
                got: args.len(),
                context: context.to_owned(),
            });
        };
        let field = self.field::<F>(field, scope, context)?;
        let class = match op {
            Comparison::Eq | Comparison::Ne => OperatorClass::Equality,
            Comparison::Gt | Comparison::Ge | Comparison::Lt | Comparison::Le => {
                OperatorClass::Ordering
            }
        };
        check_operator(field, op.name(), class).map_err(|error| in_filter(error, context))?;
        let value = self.value(
            value,
            field,
            op.name(),
            class == OperatorClass::Equality,
            context,
        )?;
        Ok(Filter::Compare { field, op, value })
    }

    fn like<F: Field>(
        &self,
        case_insensitive: bool,
        args: &[Node],
        scope: Option<&'static str>,
        context: &str,
    ) -> Result<Filter<F>, RqlError> {
        let op = if case_insensitive { "ilike" } else { "like" };
        let [field, pattern] = args else {
            return Err(RqlError::Arity {
                op,
                expected: "2 arguments (field, pattern)",
                got: args.len(),
                context: context.to_owned(),
            });
        };
        let field = self.field::<F>(field, scope, context)?;
        check_operator(field, op, OperatorClass::Pattern)
            .map_err(|error| in_filter(error, context))?;
        let pattern = match pattern {
            Node::Word { text, .. } | Node::Quoted { text } => text.clone(),
            Node::Call { name, .. } if name == "empty" || name == "null" => {
                return Err(RqlError::BadArgument {
                    problem: format!("{name}() can only be used with eq, ne, in and out"),
                    context: context.to_owned(),
                });
            }
            Node::Call { .. } | Node::List { .. } => {
                return Err(RqlError::BadArgument {
                    problem: format!(
                        "expected a pattern such as '*bot*', found {}",
                        describe(pattern)
                    ),
                    context: context.to_owned(),
                });
            }
        };
        Ok(Filter::Like {
            field,
            pattern,
            case_insensitive,
        })
    }

    fn set<F: Field>(
        &self,
        negated: bool,
        args: &[Node],
        scope: Option<&'static str>,
        context: &str,
    ) -> Result<Filter<F>, RqlError> {
        let op = if negated { "out" } else { "in" };
        let Some((field, rest)) = args.split_first().filter(|(_, rest)| !rest.is_empty()) else {
            return Err(RqlError::Arity {
                op,
                expected: "a field and at least one value",
                got: args.len(),
                context: context.to_owned(),
            });
        };
        let items = match rest {
            [Node::List { items }] => items.as_slice(),
            _ => rest,
        };
        if items.is_empty() {
            return Err(RqlError::BadArgument {
                problem: format!("{op}() needs at least one value"),
                context: context.to_owned(),
            });
        }
        let field = self.field::<F>(field, scope, context)?;
        check_operator(field, op, OperatorClass::Equality)
            .map_err(|error| in_filter(error, context))?;
        let values = items
            .iter()
            .map(|item| self.value(item, field, op, true, context))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Filter::In {
            field,
            values,
            negated,
        })
    }

    /// A value for `field`; `empty()`/`null()` only where `special` (eq, ne, in, out).
    fn value<F: Field>(
        &self,
        node: &Node,
        field: F,
        op: &'static str,
        special: bool,
        context: &str,
    ) -> Result<Value, RqlError> {
        match node {
            Node::Word { text, .. } | Node::Quoted { text } => {
                typed_value(field, text).map_err(|error| in_filter(error, context))
            }
            Node::Call { name, args, .. } if name == "empty" || name == "null" => {
                let (op_name, value) = if name == "empty" {
                    ("empty", Value::Empty)
                } else {
                    ("null", Value::Null)
                };
                if !args.is_empty() {
                    return Err(RqlError::Arity {
                        op: op_name,
                        expected: "no arguments",
                        got: args.len(),
                        context: context.to_owned(),
                    });
                }
                if !special {
                    return Err(RqlError::BadArgument {
                        problem: format!(
                            "{op_name}() can only be used with eq, ne, in and out, not {op}"
                        ),
                        context: context.to_owned(),
                    });
                }
                Ok(value)
            }
            Node::Call { .. } => Err(RqlError::BadArgument {
                problem: format!(
                    "expected a value, found {}; quote values that contain '(' or ')'",
                    describe(node)
                ),
                context: context.to_owned(),
            }),
            Node::List { .. } => Err(RqlError::BadArgument {
                problem: format!("expected a single value for {op}(), found a list"),
                context: context.to_owned(),
            }),
        }
    }
}

fn in_filter(error: QueryError, context: &str) -> RqlError {
    RqlError::InFilter {
        error,
        context: context.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Printing.

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

// ---------------------------------------------------------------------------------------------
// Small helpers.

fn is_space(c: char) -> bool {
    c.is_ascii_whitespace()
}

fn hex_digit(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}

fn join<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let joined = names.collect::<Vec<_>>().join(", ");
    if joined.is_empty() {
        "none".into()
    } else {
        joined
    }
}

/// `'x'`, or a name for characters that do not show.
fn show_char(c: char) -> String {
    if c.is_control() || c.is_whitespace() {
        format!("character {}", c.escape_unicode())
    } else if c == '\'' {
        "\"'\"".into()
    } else {
        format!("'{c}'")
    }
}

/// How a node is called in messages.
fn describe(node: &Node) -> String {
    match node {
        Node::Word { text, .. } => format!("'{}'", clip(text)),
        Node::Quoted { .. } => "a quoted value".into(),
        Node::List { .. } => "a list".into(),
        Node::Call { name, .. } => format!("{}(…)", clip(name)),
    }
}

/// Characters for a message: control characters escaped.
fn render(chars: &[char]) -> String {
    let mut out = String::with_capacity(chars.len());
    for c in chars {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(*c);
        }
    }
    out
}

/// At most [`EXCERPT_CHARS`] characters of `chars` around `position`, with `…` where cut.
fn excerpt(chars: &[char], position: usize) -> String {
    if chars.len() <= EXCERPT_CHARS {
        return render(chars);
    }
    let end = position
        .saturating_add(EXCERPT_CHARS / 3)
        .max(EXCERPT_CHARS)
        .min(chars.len());
    let start = end - EXCERPT_CHARS;
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.push_str(&render(chars.get(start..end).unwrap_or_default()));
    if end < chars.len() {
        out.push('…');
    }
    out
}

/// The start of `chars` for a message, with `…` where cut.
fn clip_chars(chars: &[char]) -> String {
    if chars.len() <= EXCERPT_CHARS {
        render(chars)
    } else {
        let mut out = render(chars.get(..EXCERPT_CHARS).unwrap_or_default());
        out.push('…');
        out
    }
}

fn clip(text: &str) -> String {
    let chars: Vec<char> = text.chars().take(EXCERPT_CHARS + 1).collect();
    clip_chars(&chars)
}
