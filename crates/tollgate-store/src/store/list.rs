//! Lists: the domain's filter/sort/page model translated into parameterised SQL (the same
//! statement text on both backends but for placeholders and the case-sensitive match
//! operator), with the total count.

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use time::OffsetDateTime;
use tollgate_domain::query::{
    AuditField, Comparison, Direction, Field, Filter, ListPage, ListQuery, SortKey, TokenField,
    Value,
};
use tollgate_domain::{AccountId, EventKind, FailureReason, TokenId, TokenStatus, Visibility};

use super::audit::parse_record;
use super::rows::{AuditRow, TokenRow, fold, from_db, parse_id, to_db};
use super::tokens::{StoredToken, stored_tokens};
use super::{Store, StoredRecord};
use crate::error::StoreError;
use crate::sql::{Bind, Sql, load};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// How one field maps onto SQL.
struct Column {
    /// The column compared and ordered by.
    name: &'static str,
    /// The folded column for `ilike` and case-insensitive order (text fields).
    folded: Option<&'static str>,
    /// Whether it can be NULL.
    nullable: bool,
    /// Whether values are timestamps.
    time: bool,
    /// For a collection member: the EXISTS wrapper (`modules.id`).
    exists: Option<(&'static str, &'static str)>,
}

trait Columns: Field {
    fn column(self) -> Column;

    /// A condition other than `column = value` for `eq`/`in` on this field (the derived
    /// `Expired` status), or `None`.
    fn derived(self, _value: &Value) -> Option<Sql> {
        None
    }
}

impl Columns for TokenField {
    fn column(self) -> Column {
        let plain = |name| Column {
            name,
            folded: None,
            nullable: false,
            time: false,
            exists: None,
        };
        match self {
            Self::Id => plain("t.id"),
            Self::Name => Column {
                folded: Some("t.name_folded"),
                ..plain("t.name")
            },
            Self::Description => Column {
                folded: Some("t.description_folded"),
                ..plain("t.description")
            },
            Self::Status => plain("t.status"),
            Self::AccountId => plain("t.account_id"),
            Self::ModuleId => Column {
                exists: Some((
                    "EXISTS (SELECT 1 FROM token_modules tm WHERE tm.token_id = t.id AND ",
                    ")",
                )),
                ..plain("tm.module_id")
            },
            Self::LastAccessAt => Column {
                nullable: true,
                time: true,
                ..plain("t.last_access_at")
            },
            Self::CreatedAt => Column {
                time: true,
                ..plain("t.created_at")
            },
            Self::CreatedById => plain("t.created_by_id"),
            Self::ExpiresAt => Column {
                nullable: true,
                time: true,
                ..plain("t.expires_at")
            },
        }
    }

    /// `Active` is stored Active and not expired; `Expired` is stored Active past `expiresAt`.
    fn derived(self, value: &Value) -> Option<Sql> {
        let (Self::Status, Value::Text(status)) = (self, value) else {
            return None;
        };
        let now = Bind::Time(to_db(time::OffsetDateTime::now_utc()));
        let mut sql = Sql::default();
        match status.as_str() {
            "Active" => {
                sql.push("(t.status = 'Active' AND (t.expires_at IS NULL OR t.expires_at > ")
                    .bind(now)
                    .push("))");
            }
            "Expired" => {
                sql.push("(t.status = 'Active' AND t.expires_at IS NOT NULL AND t.expires_at <= ")
                    .bind(now)
                    .push(")");
            }
            _ => return None,
        }
        Some(sql)
    }
}

impl Columns for AuditField {
    fn column(self) -> Column {
        let plain = |name| Column {
            name,
            folded: None,
            nullable: false,
            time: false,
            exists: None,
        };
        match self {
            Self::Id => plain("a.id"),
            Self::Event => plain("a.event"),
            Self::ObjectId => plain("a.object_id"),
            Self::ActorId => plain("a.actor_id"),
            Self::Timestamp => Column {
                time: true,
                ..plain("a.occurred_at")
            },
        }
    }
}

fn bind_value(column: &Column, value: &Value) -> Bind {
    match value {
        Value::Time(at) => Bind::Time(to_db(*at)),
        Value::Text(text) => Bind::Text(text.clone()),
        Value::Null | Value::Empty => Bind::Text(String::new()),
    }
    .normalise(column)
}

impl Bind {
    fn normalise(self, column: &Column) -> Bind {
        match (self, column.time) {
            // A text value on a time column cannot come from the parser (it types values),
            // but keep the statement well-typed: compare against the epoch.
            (Bind::Text(_), true) => Bind::Time(to_db(time::OffsetDateTime::UNIX_EPOCH)),
            (other, _) => other,
        }
    }
}

fn operator(op: Comparison) -> &'static str {
    match op {
        Comparison::Eq => " = ",
        Comparison::Ne => " <> ",
        Comparison::Gt => " > ",
        Comparison::Ge => " >= ",
        Comparison::Lt => " < ",
        Comparison::Le => " <= ",
    }
}

/// A condition on one column (without the collection wrapper).
fn leaf<F: Columns>(filter: &Filter<F>, inside_collection: bool) -> Result<Sql, StoreError> {
    let mut sql = Sql::default();
    match filter {
        Filter::Compare {
            field,
            op: op @ (Comparison::Eq | Comparison::Ne),
            value,
        } if field.derived(value).is_some() => {
            let derived = field.derived(value).unwrap_or_default();
            if *op == Comparison::Ne {
                sql.push("NOT ");
            }
            sql.append(derived);
        }
        Filter::In {
            field,
            values,
            negated,
        } if values.iter().any(|value| field.derived(value).is_some()) => {
            if *negated {
                sql.push("NOT ");
            }
            sql.push("(");
            for (index, value) in values.iter().enumerate() {
                if index > 0 {
                    sql.push(" OR ");
                }
                let single = Filter::Compare {
                    field: *field,
                    op: Comparison::Eq,
                    value: value.clone(),
                };
                sql.append(leaf(&single, inside_collection)?);
            }
            sql.push(")");
        }
        Filter::Compare { field, op, value } => {
            let column = field.column();
            let name = column.name;
            match (value, op) {
                (Value::Null, Comparison::Eq) => {
                    sql.push(name).push(if column.nullable {
                        " IS NULL"
                    } else {
                        " IS NULL AND 1 = 0"
                    });
                }
                (Value::Null, Comparison::Ne) => {
                    sql.push(name).push(" IS NOT NULL");
                }
                (Value::Empty, Comparison::Eq) => {
                    if column.time {
                        sql.push(name).push(" IS NULL");
                    } else {
                        sql.push("(")
                            .push(name)
                            .push(" IS NULL OR ")
                            .push(name)
                            .push(" = '')");
                    }
                }
                (Value::Empty, Comparison::Ne) => {
                    if column.time {
                        sql.push(name).push(" IS NOT NULL");
                    } else {
                        sql.push("(")
                            .push(name)
                            .push(" IS NOT NULL AND ")
                            .push(name)
                            .push(" <> '')");
                    }
                }
                (Value::Null | Value::Empty, _) => {
                    // Ordering against null() or empty() matches nothing.
                    sql.push("1 = 0");
                }
                (_, Comparison::Ne) if column.nullable => {
                    sql.push("(")
                        .push(name)
                        .push(" IS NULL OR ")
                        .push(name)
                        .push(" <> ");
                    sql.bind(bind_value(&column, value)).push(")");
                }
                (_, op) if column.nullable => {
                    sql.push("(")
                        .push(name)
                        .push(" IS NOT NULL AND ")
                        .push(name)
                        .push(operator(*op));
                    sql.bind(bind_value(&column, value)).push(")");
                }
                (_, op) => {
                    sql.push(name)
                        .push(operator(*op))
                        .bind(bind_value(&column, value));
                }
            }
        }
        Filter::In {
            field,
            values,
            negated,
        } => {
            let column = field.column();
            let concrete: Vec<&Value> = values
                .iter()
                .filter(|v| matches!(v, Value::Text(_) | Value::Time(_)))
                .collect();
            let wants_null = values
                .iter()
                .any(|v| matches!(v, Value::Null | Value::Empty));
            sql.push("(");
            if concrete.is_empty() {
                sql.push("1 = 0");
            } else {
                sql.push(column.name).push(" IN (");
                for (index, value) in concrete.iter().enumerate() {
                    if index > 0 {
                        sql.push(", ");
                    }
                    sql.bind(bind_value(&column, value));
                }
                sql.push(")");
            }
            if wants_null {
                sql.push(" OR ").push(column.name).push(" IS NULL");
            }
            sql.push(")");
            if *negated && !(column.exists.is_some() && inside_collection) {
                let mut negated_sql = Sql::new("NOT ");
                if column.nullable && !wants_null {
                    negated_sql = Sql::new("(");
                    negated_sql.push(column.name).push(" IS NULL OR NOT ");
                    negated_sql.append(sql);
                    negated_sql.push(")");
                    return Ok(negated_sql);
                }
                negated_sql.append(sql);
                return Ok(negated_sql);
            }
        }
        Filter::Like {
            field,
            pattern,
            case_insensitive,
        } => {
            let column = field.column();
            if *case_insensitive {
                let target = column.folded.unwrap_or(column.name);
                sql.push("(").matches(target, &fold(pattern)).push(")");
            } else {
                sql.push("(").matches(column.name, pattern).push(")");
            }
        }
        Filter::And(_) | Filter::Or(_) | Filter::Not(_) | Filter::Any { .. } => {
            return where_clause(filter, inside_collection);
        }
    }
    Ok(sql)
}

fn leaf_field<F: Columns>(filter: &Filter<F>) -> Option<F> {
    match filter {
        Filter::Compare { field, .. } | Filter::In { field, .. } | Filter::Like { field, .. } => {
            Some(*field)
        }
        _ => None,
    }
}

/// True for a leaf that is negative about a collection member (`ne`, `out`): outside `any()` it
/// means "no member matches".
fn negative_member<F: Columns>(filter: &Filter<F>) -> bool {
    matches!(
        filter,
        Filter::Compare {
            op: Comparison::Ne,
            ..
        } | Filter::In { negated: true, .. }
    )
}

fn positive_of<F: Columns>(filter: &Filter<F>) -> Filter<F> {
    match filter {
        Filter::Compare {
            field,
            op: Comparison::Ne,
            value,
        } => Filter::Compare {
            field: *field,
            op: Comparison::Eq,
            value: value.clone(),
        },
        Filter::In {
            field,
            values,
            negated: true,
        } => Filter::In {
            field: *field,
            values: values.clone(),
            negated: false,
        },
        other => other.clone(),
    }
}

fn where_clause<F: Columns>(
    filter: &Filter<F>,
    inside_collection: bool,
) -> Result<Sql, StoreError> {
    let mut sql = Sql::default();
    match filter {
        Filter::And(parts) | Filter::Or(parts) => {
            let joiner = if matches!(filter, Filter::And(_)) {
                " AND "
            } else {
                " OR "
            };
            if parts.is_empty() {
                sql.push(if matches!(filter, Filter::And(_)) {
                    "1 = 1"
                } else {
                    "1 = 0"
                });
                return Ok(sql);
            }
            sql.push("(");
            for (index, part) in parts.iter().enumerate() {
                if index > 0 {
                    sql.push(joiner);
                }
                sql.append(where_clause(part, inside_collection)?);
            }
            sql.push(")");
        }
        Filter::Not(inner) => {
            sql.push("NOT (")
                .append(where_clause(inner, inside_collection)?)
                .push(")");
        }
        Filter::Any { filter: inner, .. } => {
            sql.push("EXISTS (SELECT 1 FROM token_modules tm WHERE tm.token_id = t.id AND ")
                .append(where_clause(inner, true)?)
                .push(")");
        }
        leaf_filter => {
            let column = leaf_field(leaf_filter).map(Columns::column);
            match column.and_then(|c| c.exists) {
                Some((open, close)) if !inside_collection => {
                    if negative_member(leaf_filter) {
                        sql.push("NOT ")
                            .push(open)
                            .append(leaf(&positive_of(leaf_filter), true)?)
                            .push(close);
                    } else {
                        sql.push(open).append(leaf(leaf_filter, true)?).push(close);
                    }
                }
                _ => {
                    sql.append(leaf(leaf_filter, inside_collection)?);
                }
            }
        }
    }
    Ok(sql)
}

fn order_by<F: Columns>(order: &[SortKey<F>], default: SortKey<F>, id_column: &str) -> Sql {
    let keys: Vec<SortKey<F>> = if order.is_empty() {
        vec![default]
    } else {
        order.to_vec()
    };
    let mut sql = Sql::new(" ORDER BY ");
    for key in &keys {
        let column = key.field.column();
        let name = column.folded.unwrap_or(column.name);
        if column.nullable {
            sql.push("(").push(column.name).push(" IS NULL), ");
        }
        sql.push(name).push(match key.direction {
            Direction::Ascending => " ASC, ",
            Direction::Descending => " DESC, ",
        });
    }
    // Every order ends with the id (ascending, as the indexes have it) so pages never overlap.
    sql.push(id_column).push(" ASC");
    sql
}

fn page(sql: &mut Sql, query_page: tollgate_domain::query::Page) {
    sql.push(" LIMIT ")
        .bind(Bind::Int(i64::from(query_page.limit)))
        .push(" OFFSET ")
        .bind(Bind::Int(
            i64::try_from(query_page.offset).unwrap_or(i64::MAX),
        ));
}

/// One list: `source` is `<table> <alias>`, `visible` the visibility condition (already
/// starting with ` AND …`, or empty), `default` the order when none is asked for. Returns the
/// page's rows (none for `limit=0`) and the total.
fn list_rows<F, Row>(
    conn: &mut crate::backend::AnyConnection,
    source: &str,
    visible: Sql,
    query: &ListQuery<F>,
    default: SortKey<F>,
) -> Result<(Vec<Row>, u64), StoreError>
where
    F: Columns,
    Row: 'static,
    for<'a> diesel::query_builder::BoxedSqlQuery<'a, diesel::pg::Pg, diesel::query_builder::SqlQuery>:
        diesel::query_dsl::LoadQuery<'a, diesel::pg::PgConnection, Row>,
    for<'a> diesel::query_builder::BoxedSqlQuery<
        'a,
        diesel::sqlite::Sqlite,
        diesel::query_builder::SqlQuery,
    >: diesel::query_dsl::LoadQuery<'a, diesel::sqlite::SqliteConnection, Row>,
{
    let alias = source.rsplit(' ').next().unwrap_or(source);
    let mut condition = Sql::new(" WHERE 1 = 1");
    condition.append(visible);
    if let Some(filter) = &query.filter {
        condition.push(" AND ").append(where_clause(filter, false)?);
    }
    let mut count = Sql::new(&format!("SELECT COUNT(*) AS total FROM {source}"));
    count.append(condition.clone());
    let total = load::<Count>(conn, &count)?
        .first()
        .map(|c| c.total)
        .unwrap_or(0);
    let mut rows = Vec::new();
    if query.page.limit > 0 {
        let mut select = Sql::new(&format!("SELECT {alias}.* FROM {source}"));
        select.append(condition);
        select.append(order_by(&query.order, default, &format!("{alias}.id")));
        page(&mut select, query.page);
        rows = load(conn, &select)?;
    }
    Ok((rows, u64::try_from(total).unwrap_or(0)))
}

impl Store {
    /// A page of tokens visible under `visibility`, filtered and ordered, with the total.
    pub fn list_tokens(
        &self,
        visibility: Visibility,
        query: &ListQuery<TokenField>,
    ) -> Result<ListPage<StoredToken>, StoreError> {
        let mut visible = Sql::default();
        if let Visibility::Account(account) = visibility {
            visible
                .push(" AND t.account_id = ")
                .text(account.to_string())
                .push(" AND t.status <> ")
                .text(TokenStatus::Deleted.as_str());
        }
        let mut conn = self.conn()?;
        let (rows, total): (Vec<TokenRow>, u64) = list_rows(
            &mut conn,
            "tokens t",
            visible,
            query,
            tollgate_domain::query::TOKEN_DEFAULT_ORDER,
        )?;
        Ok(ListPage {
            items: stored_tokens(&mut conn, rows)?,
            total,
            page: query.page,
        })
    }

    /// A page of audit records visible under `visibility` (their account's records, deleted
    /// tokens included), filtered and ordered (newest first by default), with the total.
    pub fn list_audit_records(
        &self,
        visibility: Visibility,
        query: &ListQuery<AuditField>,
    ) -> Result<ListPage<StoredRecord>, StoreError> {
        let mut visible = Sql::default();
        if let Visibility::Account(account) = visibility {
            visible
                .push(" AND a.account_id = ")
                .text(account.to_string());
        }
        let default = SortKey {
            field: AuditField::Timestamp,
            direction: Direction::Descending,
        };
        let mut conn = self.conn()?;
        let (rows, total): (Vec<AuditRow>, u64) =
            list_rows(&mut conn, "audit_records a", visible, query, default)?;
        Ok(ListPage {
            items: rows.iter().map(parse_record).collect::<Result<_, _>>()?,
            total,
            page: query.page,
        })
    }
}

/// A token the list page warns about (SPEC §9 "Owners see trouble").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TroubleToken {
    /// Id.
    pub id: TokenId,
    /// Name.
    pub name: String,
    /// When it expires, if it does.
    pub expires_at: Option<OffsetDateTime>,
}

/// The first tokens with one kind of trouble, and how many have it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TroubleList {
    /// At most the asked-for number, by name (soonest first for expiry).
    pub tokens: Vec<TroubleToken>,
    /// All of them.
    pub total: u64,
}

/// What an account's banner says about its tokens (deleted ones never count).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trouble {
    /// Reported leaked and not rotated since.
    pub compromised: TroubleList,
    /// Presented with a value a rotation retired (an `authentication-failed` record with
    /// `details.reason = "retired-value"`) since [`TroubleQuery::retired_since`].
    pub retired_value_used: TroubleList,
    /// Active, not expired yet, expiring by [`TroubleQuery::expiring_by`].
    pub expiring: TroubleList,
}

/// What [`Store::token_trouble`] looks for.
#[derive(Debug, Clone, Copy)]
pub struct TroubleQuery {
    /// Whose tokens.
    pub account: AccountId,
    /// Now (tokens expired before it are not "expiring").
    pub now: OffsetDateTime,
    /// The end of the expiry warning window.
    pub expiring_by: OffsetDateTime,
    /// The start of the retired-value window.
    pub retired_since: OffsetDateTime,
    /// The most tokens listed per kind.
    pub limit: u32,
}

#[derive(QueryableByName)]
struct TroubleRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Nullable<Timestamp>)]
    expires_at: Option<time::PrimitiveDateTime>,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// The stored audit record is canonical JSON (RFC 8785: no whitespace; a quote inside a string
/// is always escaped), so this text appears in it only as the `reason` of its details.
const RETIRED_VALUE_REASON: &str = "*\"reason\":\"retired-value\"*";

fn trouble_list(
    conn: &mut crate::backend::AnyConnection,
    condition: Sql,
    order: &str,
    query: &TroubleQuery,
) -> Result<TroubleList, StoreError> {
    let mut sql = Sql::new(
        "SELECT t.id, t.name, t.expires_at, COUNT(*) OVER () AS total FROM tokens t \
         WHERE t.account_id = ",
    );
    sql.text(query.account.to_string())
        .push(" AND ")
        .append(condition)
        .push(" ORDER BY ")
        .push(order)
        .push(", t.id ASC LIMIT ")
        .bind(Bind::Int(i64::from(query.limit)));
    let rows: Vec<TroubleRow> = load(conn, &sql)?;
    let total = rows
        .first()
        .map_or(0, |row| u64::try_from(row.total).unwrap_or(0));
    let tokens = rows
        .into_iter()
        .map(|row| {
            Ok(TroubleToken {
                id: parse_id(&row.id)?,
                name: row.name,
                expires_at: row.expires_at.map(from_db),
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(TroubleList { tokens, total })
}

impl Store {
    /// The account's tokens that need their owners' attention: reported leaked, used with a
    /// retired value lately, or expiring soon. Three small statements on the account's rows
    /// (the retired-value one through the audit records' per-object index).
    pub fn token_trouble(&self, query: &TroubleQuery) -> Result<Trouble, StoreError> {
        let mut conn = self.conn()?;
        let deleted = || Bind::Text(TokenStatus::Deleted.as_str().to_owned());

        let mut compromised = Sql::new("t.status <> ");
        compromised
            .bind(deleted())
            .push(" AND t.compromised = TRUE");

        let mut retired = Sql::new("t.status <> ");
        retired
            .bind(deleted())
            .push(
                " AND EXISTS (SELECT 1 FROM audit_records a WHERE a.object_id = t.id \
                 AND a.account_id = t.account_id AND a.event = ",
            )
            .text(tollgate_audit::record::event_key(
                EventKind::AuthenticationFailed(FailureReason::RetiredValue),
            ))
            .push(" AND a.occurred_at >= ")
            .bind(Bind::Time(to_db(query.retired_since)))
            .push(" AND ")
            .matches("a.record", RETIRED_VALUE_REASON)
            .push(")");

        let mut expiring = Sql::new("t.status = ");
        expiring
            .text(TokenStatus::Active.as_str())
            .push(" AND t.expires_at > ")
            .bind(Bind::Time(to_db(query.now)))
            .push(" AND t.expires_at <= ")
            .bind(Bind::Time(to_db(query.expiring_by)));

        Ok(Trouble {
            compromised: trouble_list(&mut conn, compromised, "t.name_folded ASC", query)?,
            retired_value_used: trouble_list(&mut conn, retired, "t.name_folded ASC", query)?,
            expiring: trouble_list(&mut conn, expiring, "t.expires_at ASC", query)?,
        })
    }
}
