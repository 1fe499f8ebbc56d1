//! Scale benchmark (PostgreSQL): 1,000,000 tokens over 10,000 accounts, filled with bulk SQL;
//! then list pages (status filter + name `ilike`, newest first, with the total) in one account and
//! across all accounts, and token creates with their audit record. Prints p50/p95 and the query
//! plans. Targets: list page p95 < 50 ms, create p95 < 10 ms.
//!
//! Uses `TOLLGATE_TEST_DATABASE_URL` when set, otherwise a throwaway cluster. Set
//! `TOLLGATE_BENCH_TOKENS` to fill fewer tokens (for a quick run).

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{QueryableByName, RunQueryDsl};
use rand::SeedableRng;
use rand::rngs::StdRng;
use time::OffsetDateTime;
use tollgate_domain::query::{Comparison, Filter, ListQuery, Page, TokenField, Value};
use tollgate_domain::{
    AccountId, ModuleId, NewToken, Principal, ServerKey, TokenDescription, TokenName, TokenValue,
    Visibility,
};
use tollgate_store::testing::TestDatabase;
use tollgate_store::{AnyConnection, Context, NewSecret, PoolOptions, Store, StoreError};

type Error = Box<dyn std::error::Error + Send + Sync>;

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort_unstable();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index.min(samples.len() - 1)]
}

fn report(label: &str, samples: &mut [Duration]) {
    let p50 = percentile(samples, 0.50);
    let p95 = percentile(samples, 0.95);
    println!(
        "{label:<58} n={:<4} p50 {:>8.2} ms   p95 {:>8.2} ms",
        samples.len(),
        p50.as_secs_f64() * 1e3,
        p95.as_secs_f64() * 1e3
    );
}

fn fill(store: &Store, tokens: u64, accounts: u64) -> Result<(), Error> {
    let mut conn = store.conn()?;
    let started = Instant::now();
    // Ids are formatted from the series number; 0.1 % of names contain "needle"; 10 % of tokens
    // are Disabled; creation times spread over the last ~12 days.
    conn.batch_execute(&format!(
        "INSERT INTO accounts (id, name, account_type, status, created_at)
           SELECT 'ACC-' || lpad((g / 10000)::text, 4, '0') || '-' || lpad((g % 10000)::text, 4, '0'),
                  'Account ' || g, 'Client', 'Active', now()::timestamp
           FROM generate_series(1, {accounts}) g;
         INSERT INTO audit_chain_heads (account_id, record_count, last_hash)
           SELECT id, 0, '\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea FROM accounts;
         INSERT INTO account_modules (account_id, module_id)
           SELECT id, 'MOD-1756' FROM accounts;
         INSERT INTO tokens (id, account_id, name, name_folded, description, description_folded, has_icon, status,
                             revision, secret_key_id, secret_hash, sealed_value, last_access_at, created_at,
                             created_by_id, created_by_name)
           SELECT 'TKN-' || lpad((g / 10000)::text, 4, '0') || '-' || lpad((g % 10000)::text, 4, '0'),
                  'ACC-' || lpad(((g % {accounts}) + 1) / 10000 || '', 4, '0') || '-' || lpad((((g % {accounts}) + 1) % 10000)::text, 4, '0'),
                  n, lower(n), '', '', false,
                  CASE WHEN g % 10 = 0 THEN 'Disabled' ELSE 'Active' END,
                  1, '00000000', sha256(g::text::bytea), NULL, NULL,
                  (now() - make_interval(secs => g))::timestamp,
                  'SYSTEM', 'Tollgate'
           FROM (SELECT g, CASE WHEN g % 1000 = 7 THEN 'Robot Needle ' || g ELSE 'Robot ' || md5(g::text) END AS n
                 FROM generate_series(1, {tokens}) g) s;
         INSERT INTO token_modules (token_id, module_id) SELECT id, 'MOD-1756' FROM tokens;
         ANALYZE;"
    ))?;
    println!(
        "filled {tokens} tokens over {accounts} accounts in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = diesel::sql_types::Text)]
    #[diesel(column_name = "QUERY PLAN")]
    line: String,
}

fn explain(store: &Store, label: &str, sql: &str) -> Result<(), Error> {
    let mut conn = store.conn()?;
    let AnyConnection::Postgresql(pg) = &mut *conn else {
        return Ok(());
    };
    let lines: Vec<PlanLine> = diesel::sql_query(format!(
        "EXPLAIN (ANALYZE, BUFFERS OFF, TIMING OFF, SUMMARY OFF) {sql}"
    ))
    .load(pg)?;
    println!("\n-- plan: {label}\n{sql}");
    for line in lines {
        println!("  {}", line.line);
    }
    Ok(())
}

fn main() -> Result<(), Error> {
    // `cargo bench` passes --bench; under `cargo test` this runs as a quick smoke test.
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let tokens: u64 = std::env::var("TOLLGATE_BENCH_TOKENS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if measuring { 1_000_000 } else { 2_000 });
    let accounts = 10_000u64.min(tokens.max(1));
    let db = TestDatabase::create()?;
    let keys = ServerKey::from_bytes(vec![1; 32])?.derive();
    let store = Store::open(db.url(), keys.clone(), PoolOptions::default())?;
    fill(&store, tokens, accounts)?;

    let filter = Filter::And(vec![
        Filter::Compare {
            field: TokenField::Status,
            op: Comparison::Eq,
            value: Value::Text("Active".into()),
        },
        Filter::Like {
            field: TokenField::Name,
            pattern: "*needle*".into(),
            case_insensitive: true,
        },
    ]);
    let query = ListQuery {
        filter: Some(filter),
        order: vec![],
        page: Page::new(0, 50),
    };
    let all = store.list_tokens(Visibility::AllAccounts, &query)?;
    println!(
        "across all accounts: {} matching tokens ({:.3} % of {tokens})",
        all.total,
        all.total as f64 * 100.0 / tokens as f64
    );

    let mut samples = Vec::new();
    let rounds: u64 = if measuring { 100 } else { 10 };
    for _ in 0..rounds {
        let started = Instant::now();
        let page = store.list_tokens(Visibility::AllAccounts, &query)?;
        samples.push(started.elapsed());
        assert_eq!(page.items.len(), 50.min(all.total as usize));
    }
    report(
        "list page of 50, status + ilike '*needle*', all accounts",
        &mut samples,
    );

    let mut samples = Vec::new();
    let mut rng = StdRng::seed_from_u64(7);
    for n in 0..rounds * 2 {
        let account = AccountId::from_number(1 + (n * 37) % accounts).ok_or("account")?;
        let started = Instant::now();
        let page = store.list_tokens(Visibility::Account(account), &query)?;
        samples.push(started.elapsed());
        assert!(page.items.len() <= 50);
    }
    report(
        "list page of 50, status + ilike '*needle*', one account",
        &mut samples,
    );

    let unfiltered = ListQuery {
        filter: None,
        order: vec![],
        page: Page::new(0, 50),
    };
    let mut samples = Vec::new();
    for n in 0..rounds * 2 {
        let account = AccountId::from_number(1 + (n * 37) % accounts).ok_or("account")?;
        let started = Instant::now();
        store.list_tokens(Visibility::Account(account), &unfiltered)?;
        samples.push(started.elapsed());
    }
    report("list page of 50, no filter, one account", &mut samples);

    let mut samples = Vec::new();
    let account = AccountId::from_number(42).ok_or("account")?;
    let module = ModuleId::from_number(1756).ok_or("module")?;
    for n in 0..rounds * 3 {
        let ctx = Context {
            actor: Principal::System,
            ..Context::system(OffsetDateTime::now_utc())
        };
        let started = Instant::now();
        store.create_token::<StoreError>(account, &ctx, |id| {
            let value = TokenValue::generate(id, &mut rng);
            Ok((
                NewToken {
                    id,
                    account_id: account,
                    name: TokenName::parse(&format!("bench {n}"))
                        .map_err(|e| StoreError::Database(e.to_string()))?,
                    description: TokenDescription::default(),
                    modules: [module].into_iter().collect(),
                    expires_at: None,
                    self_rotate: false,
                },
                NewSecret {
                    hash: keys.hash.hash(value.expose_secret()),
                    sealed: Some(keys.seal.seal(&value, &mut rng)),
                },
            ))
        })?;
        samples.push(started.elapsed());
    }
    report("token create with its audit record", &mut samples);

    explain(
        &store,
        "count, all accounts",
        "SELECT COUNT(*) AS total FROM tokens t WHERE 1 = 1 AND (t.status = 'Active' AND (t.name_folded LIKE '%needle%' ESCAPE '\\'))",
    )?;
    explain(
        &store,
        "page, all accounts",
        "SELECT t.* FROM tokens t WHERE 1 = 1 AND (t.status = 'Active' AND (t.name_folded LIKE '%needle%' ESCAPE '\\')) ORDER BY t.created_at DESC, t.id ASC LIMIT 50 OFFSET 0",
    )?;
    explain(
        &store,
        "page, one account",
        "SELECT t.* FROM tokens t WHERE 1 = 1 AND t.account_id = 'ACC-0000-0042' AND t.status <> 'Deleted' AND (t.status = 'Active' AND (t.name_folded LIKE '%needle%' ESCAPE '\\')) ORDER BY t.created_at DESC, t.id ASC LIMIT 50 OFFSET 0",
    )?;
    Ok(())
}
