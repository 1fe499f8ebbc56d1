//! The test-database helper: per-test databases on the shared test server.

use diesel::pg::PgConnection;
use diesel::sql_types::{BigInt, Integer, Text};
use diesel::{Connection as _, QueryableByName, RunQueryDsl as _};
use tollgate_store::testing::{TestDatabase, postgres_server};

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[derive(QueryableByName)]
struct One {
    #[diesel(sql_type = Integer)]
    one: i32,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

fn select_one(url: &str) -> Result<i32, Box<dyn std::error::Error>> {
    let mut conn = PgConnection::establish(url)?;
    let row: One = diesel::sql_query("SELECT 1 AS one").get_result(&mut conn)?;
    Ok(row.one)
}

fn database_exists(name: &str) -> Result<bool, Box<dyn std::error::Error>> {
    let mut admin = PgConnection::establish(postgres_server()?.admin_url())?;
    let row: Count =
        diesel::sql_query("SELECT count(*) AS count FROM pg_database WHERE datname = $1")
            .bind::<Text, _>(name)
            .get_result(&mut admin)?;
    Ok(row.count == 1)
}

#[test]
fn databases_are_distinct_usable_and_dropped() -> TestResult {
    let first = TestDatabase::create()?;
    let second = TestDatabase::create()?;
    assert_ne!(first.name(), second.name());
    assert_ne!(first.url(), second.url());
    assert!(first.name().starts_with("tollgate_test_"));
    assert!(first.url().contains(first.name()));

    assert_eq!(select_one(first.url())?, 1);
    assert_eq!(select_one(second.url())?, 1);

    let first_name = first.name().to_owned();
    assert!(database_exists(&first_name)?);
    // Dropping works even while a connection is still open.
    let mut open = PgConnection::establish(first.url())?;
    drop(first);
    assert!(!database_exists(&first_name)?);
    assert!(
        diesel::sql_query("SELECT 1 AS one")
            .get_result::<One>(&mut open)
            .is_err()
    );

    assert!(database_exists(second.name())?);
    assert_eq!(select_one(second.url())?, 1);
    Ok(())
}

#[test]
fn pg_trgm_is_installed() -> TestResult {
    let db = TestDatabase::create()?;
    let mut conn = PgConnection::establish(db.url())?;
    let row: Count =
        diesel::sql_query("SELECT count(*) AS count FROM pg_extension WHERE extname = 'pg_trgm'")
            .get_result(&mut conn)?;
    assert_eq!(row.count, 1);

    #[derive(QueryableByName)]
    struct Similar {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        similar: bool,
    }
    let row: Similar =
        diesel::sql_query("SELECT 'tollgate' % 'tolgate' AS similar").get_result(&mut conn)?;
    assert!(row.similar);
    Ok(())
}
