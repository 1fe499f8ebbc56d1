//! The decision `/v1/authorize` runs, in process: [`Gate::decide_in_memory`] on a real gate (an
//! SQLite store in a temporary directory) with its tokens cached — the whole decision for a
//! cached token (parse, cache read, HMAC-SHA256 and constant-time compare, expiry, the path
//! resolved against the catalog, the use handed to the write-behind).
//!
//! Cases: a valid token with 3 modules and an `expiresAt` (target ≤ 500 ns); the same tokens
//! without an expiry (the expiry check's cost is the difference); a forged well-formed value
//! (an id outside the id set); the module form the middleware asks (`Target::Module`); and the
//! parts (parse, HMAC verify, path resolve). Figures: `docs/BENCHMARKS.md`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::StdRng;
use time::OffsetDateTime;
use tollgate_audit::RequestInfo;
use tollgate_domain::authz::{self, RequestPath};
use tollgate_domain::{
    AccountType, DisplayName, ModuleId, ModuleSet, NewToken, PresentedToken, Principal, ServerKey,
    TokenDescription, TokenId, TokenName, TokenValue,
};
use tollgate_gate::{Gate, GateOptions, InMemory, Target};
use tollgate_store::{Context, NewSecret, PoolOptions, Store, StoreError};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Tokens per case (the load rotates among them, so the cache is not one hot line).
const TOKENS: u64 = 1000;
const PATH: &str = "/public/v1/commerce/orders/ORD-1234-5678?select=+lines";

struct Fixture {
    _dir: tempfile::TempDir,
    gate: Arc<Gate>,
    /// `Bearer …` headers of tokens with an expiry, and of tokens without one.
    expiring: Vec<String>,
    lasting: Vec<String>,
    forged: Vec<String>,
    keys: tollgate_domain::Keys,
}

fn context() -> Context {
    Context {
        actor: Principal::System,
        ..Context::system(OffsetDateTime::now_utc())
    }
}

fn setup() -> Result<Fixture, Error> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}/tollgate.db", dir.path().display());
    let keys = ServerKey::from_bytes(vec![9; 32])?.derive();
    let store = Store::open(&url, keys.clone(), PoolOptions::default())?;
    let catalog = store.catalog()?;
    let account = store.create_account(
        &DisplayName::parse("name", "Bench")?,
        AccountType::Client,
        &catalog.allowed_for(AccountType::Client),
        OffsetDateTime::now_utc(),
    )?;
    // marketplace, commerce, billing: three modules, the path under the second.
    let modules: ModuleSet = [1101u64, 1102, 1104]
        .into_iter()
        .map(|n| ModuleId::from_number(n).ok_or("module id"))
        .collect::<Result<_, _>>()?;
    let mut rng = StdRng::seed_from_u64(5);
    let expires_at = Some(OffsetDateTime::now_utc() + time::Duration::days(30));
    let (mut expiring, mut lasting) = (Vec::new(), Vec::new());
    for n in 0..2 * TOKENS {
        let mut value = None;
        store.create_token::<StoreError>(account.id, &context(), |id| {
            let generated = TokenValue::generate(id, &mut rng);
            let secret = NewSecret {
                hash: keys.hash.hash(generated.expose_secret()),
                sealed: None,
            };
            value = Some(generated);
            Ok((
                NewToken {
                    id,
                    account_id: account.id,
                    name: TokenName::parse(&format!("robot {n}"))
                        .map_err(|e| StoreError::Database(e.to_string()))?,
                    description: TokenDescription::default(),
                    modules: modules.clone(),
                    expires_at: if n % 2 == 0 { expires_at } else { None },
                    self_rotate: false,
                },
                secret,
            ))
        })?;
        let header = format!("Bearer {}", value.ok_or("no value")?.expose_secret());
        if n % 2 == 0 {
            expiring.push(header);
        } else {
            lasting.push(header);
        }
    }
    let gate = Gate::start(store.clone(), store.keyring(), GateOptions::default())?;
    let forged = (0..TOKENS)
        .map(|n| {
            let id = TokenId::from_number(9_000_000 + n).ok_or("id")?;
            Ok(format!(
                "Bearer {}",
                TokenValue::generate(id, &mut rng).expose_secret()
            ))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let fixture = Fixture {
        _dir: dir,
        gate,
        expiring,
        lasting,
        forged,
        keys,
    };
    // Fill the cache: every valid token decided once (the fill reads the database).
    for header in fixture.expiring.iter().chain(&fixture.lasting) {
        if let InMemory::Fill(presented) = decide(&fixture.gate, header, Target::Caller) {
            fixture.gate.fill(presented.id())?;
        }
        if !matches!(
            decide(&fixture.gate, header, Target::Path(Some(PATH))),
            InMemory::Decided(Ok(_))
        ) {
            return Err("a valid cached token was refused".into());
        }
    }
    Ok(fixture)
}

/// The decision as `/v1/authorize` makes it, up to a cache miss.
fn decide<'h>(gate: &Gate, header: &'h str, target: Target<'_>) -> InMemory<'h> {
    gate.decide_in_memory(Ok(Some(header)), target, &RequestInfo::default)
}

fn rotating<'a>(headers: &'a [String], next: &mut usize) -> &'a str {
    *next = (*next + 1) % headers.len();
    headers[*next].as_str()
}

fn decision(c: &mut Criterion) {
    let fixture = match setup() {
        Ok(fixture) => fixture,
        Err(error) => panic!("cannot set up the decision benchmark: {error}"),
    };
    let gate = &fixture.gate;
    let mut next = 0usize;
    let mut group = c.benchmark_group("decision");
    group.bench_function("decide: cached token, 3 modules, expiresAt, path", |b| {
        b.iter(|| {
            let header = rotating(&fixture.expiring, &mut next);
            black_box(matches!(
                decide(gate, black_box(header), Target::Path(Some(black_box(PATH)))),
                InMemory::Decided(Ok(_))
            ))
        })
    });
    group.bench_function("decide: cached token, 3 modules, no expiry, path", |b| {
        b.iter(|| {
            let header = rotating(&fixture.lasting, &mut next);
            black_box(matches!(
                decide(gate, black_box(header), Target::Path(Some(black_box(PATH)))),
                InMemory::Decided(Ok(_))
            ))
        })
    });
    group.bench_function("decide: forged well-formed value (unknown id)", |b| {
        b.iter(|| {
            let header = rotating(&fixture.forged, &mut next);
            black_box(matches!(
                decide(gate, black_box(header), Target::Path(Some(PATH))),
                InMemory::Decided(Err(_))
            ))
        })
    });
    group.bench_function("decide: cached token, module (the middleware)", |b| {
        b.iter(|| {
            let header = rotating(&fixture.expiring, &mut next);
            black_box(matches!(
                decide(gate, black_box(header), Target::Module("billing")),
                InMemory::Decided(Ok(_))
            ))
        })
    });
    group.finish();

    let mut parts = c.benchmark_group("decision parts");
    let header = fixture.expiring[0].as_str();
    parts.bench_function("parse only", |b| {
        b.iter(|| black_box(PresentedToken::from_authorization(black_box(header)).is_ok()))
    });
    let value = &header["Bearer ".len()..];
    let hash = fixture.keys.hash.hash(value);
    parts.bench_function("verify only (HMAC-SHA256 + constant-time compare)", |b| {
        b.iter(|| black_box(fixture.keys.hash.verify(black_box(value), &hash)))
    });
    let catalog = gate.catalog();
    if let Some(entry) = PresentedToken::from_authorization(header)
        .ok()
        .and_then(|presented| gate.cached_entry(presented.id()))
    {
        parts.bench_function("path normalise + resolve", |b| {
            b.iter(|| {
                let path = RequestPath::parse(black_box(PATH));
                black_box(path.map(|p| authz::authorize_path(&entry.view, &p, &catalog).is_ok()))
            })
        });
    }
    parts.finish();
    let _ = gate.shutdown();
}

criterion_group!(benches, decision);
criterion_main!(benches);
