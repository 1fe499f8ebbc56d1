//! The REST API over HTTPS, on SQLite and on PostgreSQL: token creates per second (4 client
//! threads) and list-page latency (p50/p95), through a real server on a loopback port.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;
use time::OffsetDateTime;
use tollgate_domain::{
    AccountType, DisplayName, NewToken, Principal, ServerKey, TokenDescription, TokenName,
    TokenValue,
};
use tollgate_http::{AppState, Listeners, Settings};
use tollgate_store::testing::TestDatabase;
use tollgate_store::{Context, NewSecret, PoolOptions, Store, StoreError};

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Server {
    base: String,
    client: reqwest::blocking::Client,
    token: String,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        actix_web::rt::System::new().block_on(self.handle.stop(true));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn start(url: &str) -> Result<Server, Error> {
    let keys = ServerKey::from_bytes(vec![9; 32])?.derive();
    let store = Store::open(url, keys.clone(), PoolOptions::default())?;
    let catalog = store.catalog()?;
    let now = OffsetDateTime::now_utc();
    let modules = catalog.allowed_for(AccountType::Client);
    let account = store.create_account(
        &DisplayName::parse("name", "Bench")?,
        AccountType::Client,
        &modules,
        now,
    )?;
    let mut rng = StdRng::seed_from_u64(1);
    let mut value = None;
    store.create_token::<StoreError>(
        account.id,
        &Context {
            actor: Principal::System,
            ..Context::system(now)
        },
        |id| {
            let generated = TokenValue::generate(id, &mut rng);
            let secret = NewSecret {
                hash: keys.hash.hash(generated.expose_secret()),
                sealed: Some(keys.seal.seal(&generated, &mut rng)),
            };
            value = Some(generated);
            Ok((
                NewToken {
                    id,
                    account_id: account.id,
                    name: TokenName::parse("bench admin")
                        .map_err(|e| StoreError::Database(e.to_string()))?,
                    description: TokenDescription::default(),
                    modules: modules.clone(),
                    expires_at: None,
                    self_rotate: false,
                },
                secret,
            ))
        },
    )?;
    let token = value.ok_or("no value")?.expose_secret().to_owned();
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
    let tls = tollgate_http::tls_config(
        generated.cert.pem().as_bytes(),
        generated.key_pair.serialize_pem().as_bytes(),
    )?;
    let https = TcpListener::bind("127.0.0.1:0")?;
    let port = https.local_addr()?.port();
    let state = AppState::new(store, keys, Settings::default())?;
    let (sender, receiver) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let result = actix_web::rt::System::new().block_on(async move {
            let server = tollgate_http::serve(state, tls, Listeners { https, http: None }, 2)?;
            let _ = sender.send(server.handle());
            server.await
        });
        if let Err(error) = result {
            eprintln!("server failed: {error}");
        }
    });
    let handle = receiver.recv_timeout(Duration::from_secs(30))?;
    let client = reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(
            generated.cert.pem().as_bytes(),
        )?)
        .build()?;
    Ok(Server {
        base: format!("https://localhost:{port}/public/v1"),
        client,
        token,
        handle,
        thread: Some(thread),
    })
}

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort_unstable();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index.min(samples.len() - 1)].as_secs_f64() * 1e3
}

fn run(label: &str, url: &str, measuring: bool) -> Result<(), Error> {
    let server = Arc::new(start(url)?);
    let create_url = format!("{}/accounts/api-tokens", server.base);
    // Warm up the connection pools.
    for _ in 0..20 {
        server
            .client
            .get(&create_url)
            .bearer_auth(&server.token)
            .send()?
            .error_for_status()?;
    }
    let total = if measuring { 800usize } else { 20 };
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let server = Arc::clone(&server);
            let next = Arc::clone(&next);
            let url = create_url.clone();
            std::thread::spawn(move || -> Result<(), Error> {
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    if n >= total {
                        return Ok(());
                    }
                    let body = serde_json::json!({"name": format!("robot {n}"), "modules": [{"id": "MOD-1104"}]});
                    let response = server.client.post(&url).bearer_auth(&server.token).json(&body).send()?;
                    if response.status() != 201 {
                        return Err(format!("create answered {}", response.status()).into());
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().map_err(|_| "client thread panicked")??;
    }
    let elapsed = started.elapsed();
    println!(
        "[{label}] token creates over HTTPS: {total} in {:.2} s = {:.0} creates/s (4 clients)",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );

    for (what, query) in [
        ("default page of 10", String::new()),
        (
            "page of 50, status + ilike",
            "?and(eq(status,'Active'),ilike(name,'*robot 1*'))&limit=50".to_owned(),
        ),
    ] {
        let mut samples = Vec::new();
        for _ in 0..(if measuring { 300 } else { 10 }) {
            let started = Instant::now();
            let response = server
                .client
                .get(format!("{create_url}{query}"))
                .bearer_auth(&server.token)
                .send()?;
            let status = response.status();
            let _ = response.bytes()?;
            samples.push(started.elapsed());
            if status != 200 {
                return Err(format!("list answered {status}").into());
            }
        }
        println!(
            "[{label}] list {what} over HTTPS (of {} tokens): p50 {:.2} ms, p95 {:.2} ms",
            total + 1,
            percentile(&mut samples, 0.5),
            percentile(&mut samples, 0.95)
        );
    }
    Ok(())
}

fn main() -> Result<(), Error> {
    // `cargo bench` passes --bench; under `cargo test` this runs as a quick smoke test.
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let dir = tempfile::tempdir()?;
    run(
        "sqlite",
        &format!("sqlite://{}/bench.db", dir.path().display()),
        measuring,
    )?;
    let db = TestDatabase::create()?;
    run("postgres", db.url(), measuring)?;
    Ok(())
}
