//! A small builder for the dynamic statements (lists, batched updates): SQL text written here,
//! every value a bind parameter, placeholders rendered per backend (`$n` or `?`).

use diesel::QueryResult;
use diesel::RunQueryDsl;
use diesel::pg::Pg;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::query_dsl::LoadQuery;
use diesel::sql_types::{BigInt, Text, Timestamp};
use diesel::sqlite::Sqlite;
use time::PrimitiveDateTime;

use crate::backend::{AnyConnection, Backend};

/// A bound value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Bind {
    Text(String),
    Time(PrimitiveDateTime),
    Int(i64),
}

#[derive(Debug, Clone)]
enum Part {
    Raw(String),
    Bind(Bind),
    /// A case-sensitive match of `column` against an RQL pattern (`*` = any run of characters):
    /// `LIKE … ESCAPE` on PostgreSQL, `GLOB` on SQLite (both case-sensitive).
    Match {
        column: &'static str,
        pattern: String,
    },
}

/// SQL text with its binds.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sql {
    parts: Vec<Part>,
}

impl Sql {
    pub(crate) fn new(text: &str) -> Self {
        let mut sql = Self::default();
        sql.push(text);
        sql
    }

    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.parts.push(Part::Raw(text.to_owned()));
        self
    }

    pub(crate) fn bind(&mut self, value: Bind) -> &mut Self {
        self.parts.push(Part::Bind(value));
        self
    }

    pub(crate) fn text(&mut self, value: impl Into<String>) -> &mut Self {
        self.bind(Bind::Text(value.into()))
    }

    pub(crate) fn matches(&mut self, column: &'static str, pattern: &str) -> &mut Self {
        self.parts.push(Part::Match {
            column,
            pattern: pattern.to_owned(),
        });
        self
    }

    pub(crate) fn append(&mut self, other: Sql) -> &mut Self {
        self.parts.extend(other.parts);
        self
    }

    pub(crate) fn render(&self, backend: Backend) -> (String, Vec<Bind>) {
        let mut text = String::new();
        let mut binds = Vec::new();
        let placeholder = |binds: &mut Vec<Bind>, text: &mut String, value: Bind| {
            binds.push(value);
            match backend {
                Backend::Postgres => {
                    text.push('$');
                    text.push_str(&binds.len().to_string());
                }
                Backend::Sqlite => text.push('?'),
            }
        };
        for part in &self.parts {
            match part {
                Part::Raw(raw) => text.push_str(raw),
                Part::Bind(value) => placeholder(&mut binds, &mut text, value.clone()),
                Part::Match { column, pattern } => {
                    text.push_str(column);
                    match backend {
                        Backend::Postgres => {
                            text.push_str(" LIKE ");
                            placeholder(&mut binds, &mut text, Bind::Text(like_pattern(pattern)));
                            text.push_str(" ESCAPE '\\'");
                        }
                        Backend::Sqlite => {
                            text.push_str(" GLOB ");
                            placeholder(&mut binds, &mut text, Bind::Text(glob_pattern(pattern)));
                        }
                    }
                }
            }
        }
        (text, binds)
    }
}

/// RQL pattern → SQL LIKE pattern with `\` as the escape character.
pub(crate) fn like_pattern(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 2);
    for c in pattern.chars() {
        match c {
            '*' => out.push('%'),
            '%' | '_' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// RQL pattern → SQLite GLOB pattern (`?` and `[` made literal).
pub(crate) fn glob_pattern(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 2);
    for c in pattern.chars() {
        match c {
            '?' => out.push_str("[?]"),
            '[' => out.push_str("[[]"),
            _ => out.push(c),
        }
    }
    out
}

fn bind_pg<'a>(
    mut query: BoxedSqlQuery<'a, Pg, SqlQuery>,
    binds: Vec<Bind>,
) -> BoxedSqlQuery<'a, Pg, SqlQuery> {
    for value in binds {
        query = match value {
            Bind::Text(v) => query.bind::<Text, _>(v),
            Bind::Time(v) => query.bind::<Timestamp, _>(v),
            Bind::Int(v) => query.bind::<BigInt, _>(v),
        };
    }
    query
}

fn bind_sqlite<'a>(
    mut query: BoxedSqlQuery<'a, Sqlite, SqlQuery>,
    binds: Vec<Bind>,
) -> BoxedSqlQuery<'a, Sqlite, SqlQuery> {
    for value in binds {
        query = match value {
            Bind::Text(v) => query.bind::<Text, _>(v),
            Bind::Time(v) => query.bind::<Timestamp, _>(v),
            Bind::Int(v) => query.bind::<BigInt, _>(v),
        };
    }
    query
}

/// Loads rows of `T` (a `QueryableByName` struct) from a built statement.
pub(crate) fn load<T>(conn: &mut AnyConnection, sql: &Sql) -> QueryResult<Vec<T>>
where
    T: 'static,
    for<'a> BoxedSqlQuery<'a, Pg, SqlQuery>: LoadQuery<'a, diesel::pg::PgConnection, T>,
    for<'a> BoxedSqlQuery<'a, Sqlite, SqlQuery>: LoadQuery<'a, diesel::sqlite::SqliteConnection, T>,
{
    match conn {
        AnyConnection::Postgresql(conn) => {
            let (text, binds) = sql.render(Backend::Postgres);
            bind_pg(diesel::sql_query(text).into_boxed(), binds).load(conn)
        }
        AnyConnection::Sqlite(conn) => {
            let (text, binds) = sql.render(Backend::Sqlite);
            bind_sqlite(diesel::sql_query(text).into_boxed(), binds).load(conn)
        }
    }
}

/// Executes a built statement; returns the affected row count.
pub(crate) fn execute(conn: &mut AnyConnection, sql: &Sql) -> QueryResult<usize> {
    match conn {
        AnyConnection::Postgresql(conn) => {
            let (text, binds) = sql.render(Backend::Postgres);
            bind_pg(diesel::sql_query(text).into_boxed(), binds).execute(conn)
        }
        AnyConnection::Sqlite(conn) => {
            let (text, binds) = sql.render(Backend::Sqlite);
            bind_sqlite(diesel::sql_query(text).into_boxed(), binds).execute(conn)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_per_backend() {
        let mut sql = Sql::new("SELECT * FROM t WHERE a = ");
        sql.text("x")
            .push(" AND ")
            .matches("b", "*50%_off*")
            .push(" AND c = ")
            .bind(Bind::Int(3));
        let (pg, pg_binds) = sql.render(Backend::Postgres);
        assert_eq!(
            pg,
            "SELECT * FROM t WHERE a = $1 AND b LIKE $2 ESCAPE '\\' AND c = $3"
        );
        assert_eq!(pg_binds[1], Bind::Text("%50\\%\\_off%".into()));
        let (lite, lite_binds) = sql.render(Backend::Sqlite);
        assert_eq!(lite, "SELECT * FROM t WHERE a = ? AND b GLOB ? AND c = ?");
        assert_eq!(lite_binds[1], Bind::Text("*50%_off*".into()));
        assert_eq!(glob_pattern("a?[b]*"), "a[?][[]b]*");
    }
}
