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

use tollgate_domain::query::{
    Comparison, Direction, Field, Filter, ListQuery, OperatorClass, Page, QueryError, SortKey,
    Value, check_operator, typed_value,
};

mod filter;
mod helpers;
mod params;
mod parser;
mod query;
mod typer;

pub use filter::{parse_filter, print_filter};
pub use query::{decode_term, parse_list_query};

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
