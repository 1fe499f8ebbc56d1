//! The typed filter/sort/page model for lists (SPEC §5). The REST layer's RQL parser produces
//! it; the store translates it into parameterised SQL.

use std::fmt;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::token::TokenStatus;

/// The kind of values a field holds, which decides the operators it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// Free text: every operator, `like`/`ilike` included.
    Text,
    /// An id: equality, ordering and `like` (for prefixes), compared as text.
    Id,
    /// One of a closed set of names: `eq`, `ne`, `in`, `out`.
    Keyword(&'static [&'static str]),
    /// A timestamp (RFC 3339): equality and ordering.
    Time,
}

/// A field that lists can filter and sort on.
pub trait Field: Sized + Copy + Eq + fmt::Debug + 'static {
    /// Every field.
    const ALL: &'static [Self];
    /// The collections `any(collection, …)` accepts, with the fields inside each.
    const COLLECTIONS: &'static [(&'static str, &'static [(&'static str, Self)])] = &[];
    /// The name RQL uses (`audit.created.at`).
    fn path(self) -> &'static str;
    /// Whether the list takes a token value as a top-level `token=<value>` term (the tokens
    /// list: "whose value is this?"). The value never becomes a [`Filter`].
    const VALUE_FILTER: bool = false;
    /// What values it holds.
    fn kind(self) -> ValueKind;
    /// Can lists be ordered by it?
    fn orderable(self) -> bool;
    /// The field named `path`.
    fn from_path(path: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|field| field.path() == path)
    }
    /// The field `path` inside `collection` (as in `any(modules, eq(id, …))`).
    fn in_collection(collection: &str, path: &str) -> Option<Self> {
        Self::COLLECTIONS
            .iter()
            .find(|(name, _)| *name == collection)
            .and_then(|(_, fields)| fields.iter().find(|(name, _)| *name == path))
            .map(|(_, field)| *field)
    }
}

/// The filterable fields of tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenField {
    /// `id`.
    Id,
    /// `name` (ordered case-insensitively).
    Name,
    /// `description`.
    Description,
    /// `status`.
    Status,
    /// `account.id`.
    AccountId,
    /// `modules.id` (true when any of the token's modules matches).
    ModuleId,
    /// `lastAccessAt`.
    LastAccessAt,
    /// `audit.created.at`.
    CreatedAt,
    /// `audit.created.by.id`.
    CreatedById,
    /// `expiresAt`.
    ExpiresAt,
}

/// `Expired` is derived: stored Active, and now ≥ `expiresAt`; `Active` then means stored
/// Active and not expired.
const STATUS_NAMES: &[&str] = &["Active", "Disabled", "Deleted", "Expired"];

impl Field for TokenField {
    const ALL: &'static [Self] = &[
        Self::Id,
        Self::Name,
        Self::Description,
        Self::Status,
        Self::AccountId,
        Self::ModuleId,
        Self::LastAccessAt,
        Self::CreatedAt,
        Self::CreatedById,
        Self::ExpiresAt,
    ];
    const COLLECTIONS: &'static [(&'static str, &'static [(&'static str, Self)])] =
        &[("modules", &[("id", Self::ModuleId)])];
    const VALUE_FILTER: bool = true;

    fn path(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::Name => "name",
            Self::Description => "description",
            Self::Status => "status",
            Self::AccountId => "account.id",
            Self::ModuleId => "modules.id",
            Self::LastAccessAt => "lastAccessAt",
            Self::CreatedAt => "audit.created.at",
            Self::CreatedById => "audit.created.by.id",
            Self::ExpiresAt => "expiresAt",
        }
    }

    fn kind(self) -> ValueKind {
        match self {
            Self::Name | Self::Description => ValueKind::Text,
            Self::Id | Self::AccountId | Self::ModuleId | Self::CreatedById => ValueKind::Id,
            Self::Status => ValueKind::Keyword(STATUS_NAMES),
            Self::LastAccessAt | Self::CreatedAt | Self::ExpiresAt => ValueKind::Time,
        }
    }

    fn orderable(self) -> bool {
        !matches!(self, Self::ModuleId)
    }
}

/// The filterable fields of audit records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditField {
    /// `id`.
    Id,
    /// `event` (`platform.accounts.api-token.disabled`).
    Event,
    /// `object.id`.
    ObjectId,
    /// `actor.id`.
    ActorId,
    /// `timestamp`.
    Timestamp,
}

impl Field for AuditField {
    const ALL: &'static [Self] = &[
        Self::Id,
        Self::Event,
        Self::ObjectId,
        Self::ActorId,
        Self::Timestamp,
    ];

    fn path(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::Event => "event",
            Self::ObjectId => "object.id",
            Self::ActorId => "actor.id",
            Self::Timestamp => "timestamp",
        }
    }

    fn kind(self) -> ValueKind {
        match self {
            Self::Id | Self::Event | Self::ObjectId | Self::ActorId => ValueKind::Id,
            Self::Timestamp => ValueKind::Time,
        }
    }

    fn orderable(self) -> bool {
        matches!(self, Self::Timestamp | Self::Id)
    }
}

/// The filterable fields of modules (`GET /public/v1/accounts/modules`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModuleField {
    /// `id`.
    Id,
    /// `code`.
    Code,
    /// `name` (ordered case-insensitively).
    Name,
}

impl Field for ModuleField {
    const ALL: &'static [Self] = &[Self::Id, Self::Code, Self::Name];

    fn path(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::Code => "code",
            Self::Name => "name",
        }
    }

    fn kind(self) -> ValueKind {
        match self {
            Self::Id | Self::Code => ValueKind::Id,
            Self::Name => ValueKind::Text,
        }
    }

    fn orderable(self) -> bool {
        true
    }
}

/// The filterable fields of audit event types (`GET /public/v1/audit/event-types`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventTypeField {
    /// `id` (`AET-dddd-dddd`).
    Id,
    /// `key` (`platform.accounts.api-token.created`).
    Key,
    /// `name`.
    Name,
}

impl Field for EventTypeField {
    const ALL: &'static [Self] = &[Self::Id, Self::Key, Self::Name];

    fn path(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::Key => "key",
            Self::Name => "name",
        }
    }

    fn kind(self) -> ValueKind {
        match self {
            Self::Id | Self::Key => ValueKind::Id,
            Self::Name => ValueKind::Text,
        }
    }

    fn orderable(self) -> bool {
        true
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparison {
    /// `eq`.
    Eq,
    /// `ne`.
    Ne,
    /// `gt`.
    Gt,
    /// `ge`.
    Ge,
    /// `lt`.
    Lt,
    /// `le`.
    Le,
}

impl Comparison {
    /// Every operator.
    pub const ALL: [Self; 6] = [Self::Eq, Self::Ne, Self::Gt, Self::Ge, Self::Lt, Self::Le];

    /// The RQL name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Gt => "gt",
            Self::Ge => "ge",
            Self::Lt => "lt",
            Self::Le => "le",
        }
    }
}

/// A typed value in a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Text (ids, names, statuses).
    Text(String),
    /// A timestamp.
    Time(OffsetDateTime),
    /// `null()`: the field has no value.
    Null,
    /// `empty()`: the field is empty (no value, or "").
    Empty,
}

/// A filter over fields `F`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter<F> {
    /// Every part holds.
    And(Vec<Filter<F>>),
    /// Some part holds.
    Or(Vec<Filter<F>>),
    /// The part does not hold.
    Not(Box<Filter<F>>),
    /// `field op value`.
    Compare {
        /// Field.
        field: F,
        /// Operator.
        op: Comparison,
        /// Value.
        value: Value,
    },
    /// `in(field, (values))`, or `out(…)` when negated.
    In {
        /// Field.
        field: F,
        /// Values.
        values: Vec<Value>,
        /// `out` rather than `in`.
        negated: bool,
    },
    /// `like(field, pattern)` (case-sensitive) or `ilike` (Unicode case-insensitive); `*`
    /// matches any run of characters.
    Like {
        /// Field.
        field: F,
        /// Pattern, with `*` wildcards.
        pattern: String,
        /// `ilike`.
        case_insensitive: bool,
    },
    /// `any(collection, filter)`: some member of the collection satisfies the filter (whose
    /// fields are the collection's).
    Any {
        /// Collection name (`modules`).
        collection: &'static str,
        /// Condition on one member.
        filter: Box<Filter<F>>,
    },
}

/// Why a filter, order or page is refused (a 400 naming the problem).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The field cannot be filtered or ordered on.
    #[error("unknown field '{0}'")]
    UnknownField(String),
    /// The operator does not apply to the field.
    #[error("operator '{op}' does not apply to field '{field}'")]
    OperatorNotAllowed {
        /// Operator.
        op: &'static str,
        /// Field.
        field: &'static str,
    },
    /// The value does not suit the field.
    #[error("invalid value for '{field}': {reason}")]
    BadValue {
        /// Field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The field cannot be ordered on.
    #[error("cannot order by '{0}'")]
    NotOrderable(&'static str),
    /// `limit` or `offset` is not a non-negative integer.
    #[error("{0} must be a non-negative integer")]
    BadPage(&'static str),
}

/// Which operator family a value is used with, for checking it against the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorClass {
    /// `eq`, `ne`, `in`, `out`.
    Equality,
    /// `gt`, `ge`, `lt`, `le`.
    Ordering,
    /// `like`, `ilike`.
    Pattern,
}

/// Checks that `op` applies to `field`.
pub fn check_operator<F: Field>(
    field: F,
    op: &'static str,
    class: OperatorClass,
) -> Result<(), QueryError> {
    let allowed = match (field.kind(), class) {
        (_, OperatorClass::Equality) => true,
        (ValueKind::Keyword(_), _) => false,
        (ValueKind::Time, OperatorClass::Pattern) => false,
        _ => true,
    };
    if allowed {
        Ok(())
    } else {
        Err(QueryError::OperatorNotAllowed {
            op,
            field: field.path(),
        })
    }
}

/// Turns raw text into a value of the field's kind.
pub fn typed_value<F: Field>(field: F, raw: &str) -> Result<Value, QueryError> {
    match field.kind() {
        ValueKind::Text | ValueKind::Id => Ok(Value::Text(raw.to_owned())),
        ValueKind::Keyword(names) => {
            if names.contains(&raw) {
                Ok(Value::Text(raw.to_owned()))
            } else {
                Err(QueryError::BadValue {
                    field: field.path(),
                    reason: format!("expected one of {}", names.join(", ")),
                })
            }
        }
        ValueKind::Time => parse_time(raw).map(Value::Time).ok_or_else(|| QueryError::BadValue {
            field: field.path(),
            reason: "expected an RFC 3339 timestamp such as 2026-11-28T10:00:00.000Z (or a date, 2026-11-28)".into(),
        }),
    }
}

/// An RFC 3339 timestamp; or, as clients send them, a date (`2026-11-28`, midnight UTC) or a
/// date and time without an offset (read as UTC). The last two only in the years RFC 3339 can
/// write, 0000–9999 (`[year]` alone would also take `-9998`), so that every time read here
/// prints back as one.
fn parse_time(raw: &str) -> Option<OffsetDateTime> {
    use time::macros::format_description;
    if let Ok(at) = OffsetDateTime::parse(raw, &Rfc3339) {
        return Some(at);
    }
    let writable = |year: i32| (0..=9999).contains(&year);
    if let Ok(date) = time::Date::parse(raw, format_description!("[year]-[month]-[day]")) {
        return writable(date.year()).then(|| date.midnight().assume_utc());
    }
    let naive = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    time::PrimitiveDateTime::parse(raw, naive)
        .ok()
        .filter(|at| writable(at.year()))
        .map(|at| at.assume_utc())
}

/// Ascending or descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `+field`.
    Ascending,
    /// `-field`.
    Descending,
}

/// One sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey<F> {
    /// Field.
    pub field: F,
    /// Direction.
    pub direction: Direction,
}

impl<F: Field> SortKey<F> {
    /// A sort key on an orderable field.
    pub fn new(field: F, direction: Direction) -> Result<Self, QueryError> {
        if field.orderable() {
            Ok(Self { field, direction })
        } else {
            Err(QueryError::NotOrderable(field.path()))
        }
    }
}

/// `offset` and `limit` (default 10, at most 100; 0 asks for the total only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return.
    pub limit: u32,
}

impl Page {
    /// The default limit.
    pub const DEFAULT_LIMIT: u32 = 10;
    /// The largest limit; larger ones are capped.
    pub const MAX_LIMIT: u32 = 100;

    /// A page, the limit capped at [`Page::MAX_LIMIT`].
    pub fn new(offset: u64, limit: u64) -> Self {
        Self {
            offset,
            limit: u32::try_from(limit.min(u64::from(Self::MAX_LIMIT))).unwrap_or(Self::MAX_LIMIT),
        }
    }
}

impl Default for Page {
    fn default() -> Self {
        Self {
            offset: 0,
            limit: Self::DEFAULT_LIMIT,
        }
    }
}

/// A whole list request: filter, order (the id tie-breaker is implied), page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery<F> {
    /// Filter; `None` for everything.
    pub filter: Option<Filter<F>>,
    /// Sort keys; empty for the default order.
    pub order: Vec<SortKey<F>>,
    /// Page.
    pub page: Page,
}

impl<F> Default for ListQuery<F> {
    fn default() -> Self {
        Self {
            filter: None,
            order: Vec::new(),
            page: Page::default(),
        }
    }
}

/// A page of results and the total number matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// How many rows match in all.
    pub total: u64,
    /// The page that was applied.
    pub page: Page,
}

/// The default order of token lists: newest first.
pub const TOKEN_DEFAULT_ORDER: SortKey<TokenField> = SortKey {
    field: TokenField::CreatedAt,
    direction: Direction::Descending,
};

/// Converts `Deleted` etc. for filters; a convenience for callers building filters by hand.
pub fn status_value(status: TokenStatus) -> Value {
    Value::Text(status.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_by_path() {
        for field in TokenField::ALL {
            assert_eq!(TokenField::from_path(field.path()), Some(*field));
        }
        for field in AuditField::ALL {
            assert_eq!(AuditField::from_path(field.path()), Some(*field));
        }
        assert_eq!(TokenField::from_path("secret"), None);
        assert_eq!(
            TokenField::in_collection("modules", "id"),
            Some(TokenField::ModuleId)
        );
        assert_eq!(TokenField::in_collection("modules", "name"), None);
        assert_eq!(AuditField::in_collection("modules", "id"), None);
    }

    #[test]
    fn operators_by_kind() {
        use OperatorClass::*;
        let check = |field: TokenField, class| check_operator(field, "op", class).is_ok();
        assert!(check(TokenField::Name, Pattern));
        assert!(check(TokenField::Name, Ordering));
        assert!(check(TokenField::Id, Pattern));
        assert!(check(TokenField::Status, Equality));
        assert!(!check(TokenField::Status, Pattern));
        assert!(!check(TokenField::Status, Ordering));
        assert!(!check(TokenField::CreatedAt, Pattern));
        assert!(check(TokenField::CreatedAt, Ordering));
    }

    #[test]
    fn values_by_kind() {
        assert_eq!(
            typed_value(TokenField::Status, "Active"),
            Ok(Value::Text("Active".into()))
        );
        assert!(typed_value(TokenField::Status, "active").is_err());
        assert!(matches!(
            typed_value(TokenField::CreatedAt, "2026-11-28T10:00:00.000Z"),
            Ok(Value::Time(_))
        ));
        assert!(typed_value(TokenField::CreatedAt, "yesterday").is_err());
        assert!(typed_value(TokenField::CreatedAt, "2026-13-01").is_err());
        let midnight = time::macros::datetime!(2026-11-28 00:00 UTC);
        assert_eq!(
            typed_value(TokenField::CreatedAt, "2026-11-28"),
            Ok(Value::Time(midnight))
        );
        assert_eq!(
            typed_value(TokenField::CreatedAt, "2026-11-28T00:00:00"),
            Ok(Value::Time(midnight))
        );
        assert_eq!(
            typed_value(TokenField::CreatedAt, "2026-11-28T00:00:00.000"),
            Ok(Value::Time(midnight))
        );
        // Found by the `rql_filter` fuzz target: a negative year was read, but its time could
        // not be printed back as RFC 3339.
        for raw in [
            "-9998-04-05",
            "-0001-01-01T00:00:00",
            "-0001-12-31T23:59:59.5",
        ] {
            assert!(typed_value(TokenField::CreatedAt, raw).is_err(), "{raw}");
        }
        let first = time::macros::datetime!(0000-01-01 00:00 UTC);
        assert_eq!(
            typed_value(TokenField::CreatedAt, "0000-01-01"),
            Ok(Value::Time(first))
        );
    }

    #[test]
    fn pages_and_sorts() {
        assert_eq!(
            Page::new(5, 1000),
            Page {
                offset: 5,
                limit: 100
            }
        );
        assert_eq!(Page::new(0, 0).limit, 0);
        assert_eq!(Page::default().limit, 10);
        assert!(SortKey::new(TokenField::ModuleId, Direction::Ascending).is_err());
        assert!(SortKey::new(TokenField::Name, Direction::Ascending).is_ok());
    }
}
