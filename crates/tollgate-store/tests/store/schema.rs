//! Schema checks: migrations up → down → up, `schema.rs` against the migrations on both
//! backends (the introspection `diesel print-schema` does), foreign keys indexed, the seeded
//! catalog.

use std::collections::BTreeMap;

use diesel::QueryableByName;
use diesel::RunQueryDsl;
use diesel::sql_types::{BigInt, Text};
use tollgate_domain::Catalog;
use tollgate_store::AnyConnection;
use tollgate_store::backend::{revert_all_migrations, run_migrations};

use crate::common::*;

/// table → [(column, diesel type)], in column order.
type Columns = BTreeMap<String, Vec<(String, String)>>;

/// Reads `schema.rs` the way a reader would: each `table!` block's columns and types.
fn declared() -> Columns {
    let text = include_str!("../../src/schema.rs");
    let mut out = Columns::new();
    let mut current: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if let Some(table) = line
            .strip_suffix('{')
            .map(str::trim)
            .filter(|l| l.contains('(') && !l.starts_with("diesel"))
        {
            current = table.split_whitespace().next().map(str::to_owned);
            continue;
        }
        if line == "}" {
            current = None;
            continue;
        }
        if let (Some(table), Some((column, kind))) = (&current, line.split_once("->")) {
            let kind = kind.trim().trim_end_matches(',').to_owned();
            out.entry(table.clone())
                .or_default()
                .push((column.trim().to_owned(), kind));
        }
    }
    out
}

#[derive(QueryableByName)]
struct PgColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

fn diesel_type(sql_type: &str) -> String {
    match sql_type.to_ascii_lowercase().as_str() {
        "text" | "character varying" => "Text",
        "boolean" => "Bool",
        "bigint" => "BigInt",
        "integer" => "Integer",
        "smallint" => "SmallInt",
        "bytea" | "blob" => "Binary",
        "timestamp without time zone" | "timestamp" => "Timestamp",
        other => other,
    }
    .to_owned()
}

fn nullable(kind: String, is_nullable: bool) -> String {
    if is_nullable {
        format!("Nullable<{kind}>")
    } else {
        kind
    }
}

fn introspect(
    conn: &mut AnyConnection,
) -> Result<Columns, Box<dyn std::error::Error + Send + Sync>> {
    let mut out = Columns::new();
    match conn {
        AnyConnection::Postgresql(pg) => {
            let rows: Vec<PgColumn> = diesel::sql_query(
                "SELECT table_name::text AS table_name, column_name::text AS column_name, data_type::text AS data_type, is_nullable::text AS is_nullable \
                 FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT LIKE '\\_\\_diesel%' \
                 ORDER BY table_name, ordinal_position",
            )
            .load(pg)?;
            for row in rows {
                let kind = nullable(diesel_type(&row.data_type), row.is_nullable == "YES");
                out.entry(row.table_name)
                    .or_default()
                    .push((row.column_name, kind));
            }
        }
        AnyConnection::Sqlite(lite) => {
            #[derive(QueryableByName)]
            struct Table {
                #[diesel(sql_type = Text)]
                name: String,
            }
            #[derive(QueryableByName)]
            struct Info {
                #[diesel(sql_type = Text)]
                name: String,
                #[diesel(sql_type = Text)]
                r#type: String,
                #[diesel(sql_type = BigInt)]
                notnull: i64,
                #[diesel(sql_type = BigInt)]
                pk: i64,
            }
            let tables: Vec<Table> = diesel::sql_query(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_\\_diesel%' ESCAPE '\\' ORDER BY name",
            )
            .load(lite)?;
            for table in tables {
                let infos: Vec<Info> =
                    diesel::sql_query(format!("PRAGMA table_info(\"{}\")", table.name))
                        .load(lite)?;
                for info in infos {
                    // SQLite lets primary key columns be NULL unless declared NOT NULL; our keys are
                    // never null, as on PostgreSQL.
                    let kind =
                        nullable(diesel_type(&info.r#type), info.notnull == 0 && info.pk == 0);
                    out.entry(table.name.clone())
                        .or_default()
                        .push((info.name, kind));
                }
            }
        }
    }
    Ok(out)
}

#[test]
fn schema_rs_matches_the_migrations_on_both_backends() -> TestResult {
    let declared = declared();
    assert!(declared.len() >= 10, "parsed {declared:?}");
    each_backend(|h| {
        let mut conn = h.store.conn()?;
        let actual = introspect(&mut conn)?;
        assert_eq!(
            actual, declared,
            "schema.rs differs from the {} migrations",
            h.name
        );
        Ok(())
    })
}

#[derive(QueryableByName, PartialEq, Eq, Debug, PartialOrd, Ord)]
struct Object {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    definition: String,
}

fn objects(
    conn: &mut AnyConnection,
) -> Result<Vec<Object>, Box<dyn std::error::Error + Send + Sync>> {
    let mut objects: Vec<Object> = match conn {
        AnyConnection::Postgresql(pg) => diesel::sql_query(
            "SELECT 'column' AS kind, table_name || '.' || column_name AS name, data_type || ' ' || is_nullable || ' ' || coalesce(collation_name, '') AS definition \
               FROM information_schema.columns WHERE table_schema = 'public' \
             UNION ALL SELECT 'index', indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' \
             UNION ALL SELECT 'trigger', trigger_name || ' ' || event_manipulation, action_statement FROM information_schema.triggers \
             UNION ALL SELECT 'constraint', conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'public'::regnamespace",
        )
        .load(pg)?,
        AnyConnection::Sqlite(lite) => diesel::sql_query(
            "SELECT type AS kind, name, coalesce(sql, '') AS definition FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
        )
        .load(lite)?,
    };
    objects.retain(|o| !o.name.contains("__diesel_schema_migrations"));
    objects.sort();
    Ok(objects)
}

#[test]
fn migrations_up_down_up_leave_the_same_schema() -> TestResult {
    each_backend(|h| {
        let mut conn = h.store.conn()?;
        let first = objects(&mut conn)?;
        assert!(first.len() > 20);
        revert_all_migrations(&mut conn)?;
        let empty = objects(&mut conn)?;
        assert!(
            empty
                .iter()
                .all(|o| o.kind != "table" && o.kind != "column"),
            "down left {empty:?}"
        );
        run_migrations(&mut conn)?;
        let again = objects(&mut conn)?;
        assert_eq!(first, again);
        Ok(())
    })
}

#[derive(QueryableByName)]
struct Unindexed {
    #[diesel(sql_type = Text)]
    constraint: String,
}

#[test]
fn every_foreign_key_is_indexed() -> TestResult {
    let h = postgres()?;
    let mut conn = h.store.conn()?;
    let AnyConnection::Postgresql(pg) = &mut *conn else {
        return Err("expected PostgreSQL".into());
    };
    // A foreign key is covered when some index starts with its columns.
    let missing: Vec<Unindexed> = diesel::sql_query(
        "SELECT c.conname::text AS constraint FROM pg_constraint c \
         WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace AND NOT EXISTS ( \
           SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid \
             AND (i.indkey::int2[])[0:array_length(c.conkey, 1) - 1] = c.conkey)",
    )
    .load(pg)?;
    let names: Vec<String> = missing.into_iter().map(|m| m.constraint).collect();
    assert!(names.is_empty(), "foreign keys without an index: {names:?}");
    Ok(())
}

#[test]
fn the_seeded_catalog_is_the_default_catalog() -> TestResult {
    each_backend(|h| {
        assert_eq!(h.store.catalog()?, Catalog::default_catalog());
        Ok(())
    })
}
