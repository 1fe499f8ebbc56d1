//! The harness: every test body runs on SQLite and on PostgreSQL.

use rand::SeedableRng;
use rand::rngs::StdRng;
use time::OffsetDateTime;
use time::macros::datetime;
use tollgate_audit::{AccountRef, RequestInfo};
use tollgate_domain::{
    Account, AccountType, DisplayName, Keys, ModuleId, ModuleSet, NewToken, Principal, ServerKey,
    TokenDescription, TokenName, TokenValue, User,
};
use tollgate_store::testing::TestDatabase;
use tollgate_store::{Context, NewSecret, PoolOptions, Store, StoredToken};

pub type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

pub const NOW: OffsetDateTime = datetime!(2026-11-28 10:00:00 UTC);

pub struct Harness {
    pub name: &'static str,
    pub store: Store,
    pub keys: Keys,
    pub url: String,
    _pg: Option<TestDatabase>,
    _dir: Option<tempfile::TempDir>,
}

pub fn keys() -> Keys {
    ServerKey::from_bytes(vec![5; 32])
        .map(|k| k.derive())
        .unwrap_or_else(|_| unreachable!())
}

pub fn sqlite() -> Result<Harness, Box<dyn std::error::Error + Send + Sync>> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}/tollgate.db", dir.path().display());
    let keys = keys();
    let store = Store::open(&url, keys.clone(), PoolOptions::default())?;
    Ok(Harness {
        name: "sqlite",
        store,
        keys,
        url,
        _pg: None,
        _dir: Some(dir),
    })
}

pub fn postgres() -> Result<Harness, Box<dyn std::error::Error + Send + Sync>> {
    let db = TestDatabase::create()?;
    let url = db.url().to_owned();
    let keys = keys();
    let store = Store::open(&url, keys.clone(), PoolOptions::default())?;
    Ok(Harness {
        name: "postgres",
        store,
        keys,
        url,
        _pg: Some(db),
        _dir: None,
    })
}

/// Runs `test` on SQLite, then on PostgreSQL; a failure names the backend.
pub fn each_backend(test: impl Fn(&Harness) -> TestResult) -> TestResult {
    for make in [sqlite as fn() -> _, postgres] {
        let harness = make()?;
        test(&harness).map_err(|error| format!("[{}] {error}", harness.name))?;
    }
    Ok(())
}

pub fn module(n: u64) -> ModuleId {
    ModuleId::from_number(n).unwrap_or_else(|| unreachable!())
}

pub fn modules(ns: &[u64]) -> ModuleSet {
    ns.iter().map(|n| module(*n)).collect()
}

pub struct Fixture {
    pub account: Account,
    pub admin: User,
}

pub fn fixture(
    h: &Harness,
    kind: AccountType,
) -> Result<Fixture, Box<dyn std::error::Error + Send + Sync>> {
    let catalog = h.store.catalog()?;
    let account = h.store.create_account(
        &DisplayName::parse("name", "Acme")?,
        kind,
        &catalog.allowed_for(kind),
        NOW,
    )?;
    let admin = h.store.create_user(
        account.id,
        &DisplayName::parse("name", "Jane Doe")?,
        true,
        NOW,
    )?;
    Ok(Fixture { account, admin })
}

impl Fixture {
    pub fn ctx(&self) -> Context {
        self.ctx_at(NOW)
    }

    pub fn ctx_at(&self, now: OffsetDateTime) -> Context {
        Context {
            actor: Principal::User {
                id: self.admin.id,
                name: self.admin.name.to_string(),
            },
            actor_account: Some(AccountRef::new(
                self.account.id,
                self.account.name.to_string(),
                self.account.account_type,
            )),
            request: RequestInfo {
                ip: Some("127.0.0.1".into()),
                user_agent: Some("tests".into()),
                correlation_id: Some(
                    "00-0123456789abcdef0123456789abcdef-0123456789abcdef-00".into(),
                ),
            },
            now,
        }
    }
}

/// Creates a token; returns it and its value.
pub fn create_token(
    h: &Harness,
    f: &Fixture,
    name: &str,
    scope: &[u64],
) -> Result<(StoredToken, TokenValue), Box<dyn std::error::Error + Send + Sync>> {
    create_token_at(h, f, name, scope, NOW)
}

pub fn create_token_at(
    h: &Harness,
    f: &Fixture,
    name: &str,
    scope: &[u64],
    now: OffsetDateTime,
) -> Result<(StoredToken, TokenValue), Box<dyn std::error::Error + Send + Sync>> {
    create_token_in(&h.store, &h.keys, f, name, scope, now, true)
}

/// Creates a token in `store`, hashed (and, when `sealed`, sealed) under `keys`.
pub fn create_token_in(
    store: &Store,
    keys: &Keys,
    f: &Fixture,
    name: &str,
    scope: &[u64],
    now: OffsetDateTime,
    sealed: bool,
) -> Result<(StoredToken, TokenValue), Box<dyn std::error::Error + Send + Sync>> {
    let mut value = None;
    let mut rng = StdRng::from_entropy();
    let name = TokenName::parse(name)?;
    let stored =
        store.create_token::<tollgate_store::StoreError>(f.account.id, &f.ctx_at(now), |id| {
            let generated = TokenValue::generate(id, &mut rng);
            let secret = NewSecret {
                hash: keys.hash.hash(generated.expose_secret()),
                sealed: sealed.then(|| keys.seal.seal(&generated, &mut rng)),
            };
            value = Some(generated);
            Ok((
                NewToken {
                    id,
                    account_id: f.account.id,
                    name: name.clone(),
                    description: TokenDescription::default(),
                    modules: modules(scope),
                    expires_at: None,
                    self_rotate: false,
                },
                secret,
            ))
        })?;
    let value = value.ok_or("no value generated")?;
    Ok((stored, value))
}

/// Another server key (the harness's is `keys()`).
pub fn other_keys(byte: u8) -> Keys {
    ServerKey::from_bytes(vec![byte; 32])
        .map(|k| k.derive())
        .unwrap_or_else(|_| unreachable!())
}

/// Reverts the newest migration (the one that records keys), making the database one from
/// before it.
pub fn revert_newest_migration(h: &Harness) -> TestResult {
    use diesel_migrations::MigrationHarness;
    use tollgate_store::AnyConnection;
    use tollgate_store::backend::{POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};
    let mut conn = h.store.conn()?;
    match &mut *conn {
        AnyConnection::Postgresql(pg) => {
            pg.revert_last_migration(POSTGRES_MIGRATIONS)?;
        }
        AnyConnection::Sqlite(lite) => {
            lite.revert_last_migration(SQLITE_MIGRATIONS)?;
        }
    }
    Ok(())
}

/// One number from SQL (`SELECT … AS n`).
pub fn count_sql(h: &Harness, sql: &str) -> Result<i64, Box<dyn std::error::Error + Send + Sync>> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = h.store.conn()?;
    let row: N = diesel::sql_query(sql).get_result(&mut *conn)?;
    Ok(row.n)
}

/// Raw SQL on the harness's database (for tests that play a superuser).
pub fn execute_sql(h: &Harness, sql: &str) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use diesel::connection::SimpleConnection;
    let mut conn = h.store.conn()?;
    conn.batch_execute(sql)?;
    Ok(())
}
