//! The gate under load (issue 5). Four measurements, printed with their targets:
//!
//! 1. `wrk` against `GET /v1/authorize` over HTTPS on loopback — (a) valid tokens (cached),
//!    (b) forged well-formed values (valid checksum, unknown ids), (c) a minimal actix-web
//!    server built here that only answers 200, with the same certificate and the same number
//!    of workers — on SQLite and on PostgreSQL. Requests/s, p50/p99 and CPU per request;
//!    authorize/minimal (target ≥ 0.6) and authorize's p99 against 1.5 × the minimal server's.
//! 2. The in-process cost of `RequireModule` per request (cached token): an actix app with a
//!    trivial handler, with and without the middleware, on a current-thread runtime; its parts;
//!    and `/v1/authorize` through Tollgate's whole app in process, step by step.
//! 3. Revocation latency between two instances (two gates, each with its own store on the same
//!    database): disable through A, time until B's decision refuses (target ≤ 100 ms).
//! 4. Memory with 100,000 cached tokens: process RSS before and after filling a gate's cache;
//!    and the write-behind's flush statement at that scale.
//!
//! `wrk` must be installed for (1) (`apt-get install wrk`); without it (1) is skipped with a
//! notice and the rest still runs. Environment: `TOLLGATE_BENCH_SECONDS` (wrk duration, default
//! 10), `TOLLGATE_BENCH_ROUNDS` (interleaved wrk rounds, default 3; each round's authorize
//! figures are divided by the same round's minimal-server figures, and the median is compared),
//! `TOLLGATE_BENCH_VALID_TOKENS` (valid tokens the load rotates among, default 1000),
//! `TOLLGATE_BENCH_CACHED` (tokens for (4), default 100000), `TOLLGATE_BENCH_POSTGRES=0`
//! (skip the PostgreSQL parts), `TOLLGATE_TEST_DATABASE_URL` (see `tollgate_store::testing`).
//! Figures and method: `docs/BENCHMARKS.md`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header;
use actix_web::{App, HttpResponse, HttpServer, test, web};
use diesel::connection::SimpleConnection;
use rand::SeedableRng;
use rand::rngs::StdRng;
use time::OffsetDateTime;
use tollgate_audit::RequestInfo;
use tollgate_domain::{
    AccountType, DisplayName, Keys, ModuleId, ModuleSet, NewToken, Principal, ServerKey,
    TokenDescription, TokenId, TokenName, TokenStatus, TokenValue,
};
use tollgate_gate::middleware::RequireModule;
use tollgate_gate::{Gate, GateOptions, IdSet, InMemory, Target};
use tollgate_http::{AppState, Listeners, Settings};
use tollgate_store::testing::TestDatabase;
use tollgate_store::{Context, NewSecret, PoolOptions, Store, StoreError};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Server workers, for Tollgate and for the minimal server alike (the machine's 2 cores).
const WORKERS: usize = 2;
/// wrk threads and connections.
const WRK_THREADS: u32 = 2;
const WRK_CONNECTIONS: u32 = 32;
/// Valid tokens the load rotates among (`TOLLGATE_BENCH_VALID_TOKENS` overrides), and forged
/// values.
const VALID_TOKENS: u64 = 1000;
const FORGED_VALUES: usize = 4000;
/// The path every authorize request asks about (the `billing` module).
const FORWARDED_URI: &str = "/public/v1/billing/invoices";

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn postgres_enabled() -> bool {
    std::env::var("TOLLGATE_BENCH_POSTGRES").map_or(true, |v| v.trim() != "0")
}

fn keys() -> Result<Keys, Error> {
    Ok(ServerKey::from_bytes(vec![9; 32])?.derive())
}

fn context() -> Context {
    Context {
        actor: Principal::System,
        ..Context::system(OffsetDateTime::now_utc())
    }
}

fn module(number: u64) -> Result<ModuleId, Error> {
    Ok(ModuleId::from_number(number).ok_or("module id")?)
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort_unstable();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index.min(samples.len() - 1)]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

/// A database with one Client account and `count` tokens scoped to marketplace + billing.
struct Fixture {
    store: Store,
    values: Vec<TokenValue>,
}

fn fixture(url: &str, count: usize) -> Result<Fixture, Error> {
    let keys = keys()?;
    let store = Store::open(url, keys.clone(), PoolOptions::default())?;
    let catalog = store.catalog()?;
    let account = store.create_account(
        &DisplayName::parse("name", "Bench")?,
        AccountType::Client,
        &catalog.allowed_for(AccountType::Client),
        OffsetDateTime::now_utc(),
    )?;
    let modules: ModuleSet = [module(1102)?, module(1104)?].into_iter().collect();
    let mut rng = StdRng::seed_from_u64(5);
    let mut values = Vec::with_capacity(count);
    for n in 0..count {
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
                    name: TokenName::parse(&format!("load robot {n}"))
                        .map_err(|e| StoreError::Database(e.to_string()))?,
                    description: TokenDescription::default(),
                    modules: modules.clone(),
                    expires_at: None,
                    self_rotate: false,
                },
                secret,
            ))
        })?;
        values.push(value.ok_or("no value")?);
    }
    Ok(Fixture { store, values })
}

// ---------------------------------------------------------------------------------------------
// 1. wrk against /v1/authorize

struct Running {
    port: u16,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        actix_web::rt::System::new().block_on(self.handle.stop(true));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs `build` (which must return the server) on its own actix system thread.
fn spawn_server(
    build: impl FnOnce(TcpListener) -> std::io::Result<actix_web::dev::Server> + Send + 'static,
) -> Result<Running, Error> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let (sender, receiver) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let result = actix_web::rt::System::new().block_on(async move {
            let server = build(listener)?;
            let _ = sender.send(server.handle());
            server.await
        });
        if let Err(error) = result {
            eprintln!("server failed: {error}");
        }
    });
    let handle = receiver.recv_timeout(Duration::from_secs(30))?;
    Ok(Running {
        port,
        handle,
        thread: Some(thread),
    })
}

/// The baseline: the same TLS and workers, a handler that only answers 200.
fn minimal_server(tls: rustls::ServerConfig) -> Result<Running, Error> {
    spawn_server(move |listener| {
        Ok(HttpServer::new(|| {
            App::new().default_service(web::to(|| async { HttpResponse::Ok().finish() }))
        })
        .workers(WORKERS)
        .listen_rustls_0_23(listener, tls)?
        .run())
    })
}

fn tollgate_server(state: AppState, tls: rustls::ServerConfig) -> Result<Running, Error> {
    spawn_server(move |https| {
        tollgate_http::serve(state, tls, Listeners { https, http: None }, WORKERS)
    })
}

/// A wrk script sending `GET /v1/authorize` with each value of `values_file` in turn (requests
/// are formatted once, in `init`, so wrk's own cost per request is the same for every run).
fn write_script(dir: &Path, name: &str, values_file: &Path) -> Result<PathBuf, Error> {
    let path = dir.join(name);
    let script = format!(
        r#"local requests = {{}}
local next_index = 0
function init(args)
  for line in io.lines([[{file}]]) do
    if #line > 0 then
      requests[#requests + 1] = wrk.format("GET", "/v1/authorize", {{
        ["Authorization"] = "Bearer " .. line,
        ["X-Forwarded-Proto"] = "https",
        ["X-Forwarded-Uri"] = "{uri}",
      }})
    end
  end
  next_index = math.random(#requests) - 1
end
function request()
  next_index = next_index % #requests + 1
  return requests[next_index]
end
"#,
        file = values_file.display(),
        uri = FORWARDED_URI,
    );
    std::fs::write(&path, script)?;
    Ok(path)
}

#[derive(Debug, Clone, Default)]
struct WrkResult {
    requests_per_second: f64,
    p50: f64,
    p99: f64,
    requests: u64,
    non_2xx: u64,
    socket_errors: Option<String>,
    /// CPU time of this process (the servers) per request, µs.
    server_cpu: f64,
    /// CPU time of wrk per request, µs.
    wrk_cpu: f64,
    /// Cores busy on average (servers + wrk) during the run.
    busy: f64,
    /// Cores busy on average with other processes during the run (interference).
    others: f64,
    /// Cores' time stolen by the hypervisor on average during the run.
    steal: f64,
}

/// Milliseconds from wrk's `1.23ms`, `456.78us`, `1.02s`, `1.5m`.
fn parse_latency(text: &str) -> Option<f64> {
    let text = text.trim();
    let (number, factor) = if let Some(n) = text.strip_suffix("us") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1e3)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60e3)
    } else {
        return None;
    };
    number.trim().parse::<f64>().ok().map(|n| n * factor)
}

fn parse_wrk(output: &str) -> Result<WrkResult, Error> {
    let mut result = WrkResult::default();
    for line in output.lines() {
        let line = line.trim();
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("Requests/sec:"), Some(n)) => result.requests_per_second = n.parse()?,
            (Some("50%"), Some(latency)) => {
                result.p50 = parse_latency(latency).ok_or("bad p50")?;
            }
            (Some("99%"), Some(latency)) => {
                result.p99 = parse_latency(latency).ok_or("bad p99")?;
            }
            (Some(n), Some("requests")) => result.requests = n.parse()?,
            _ => {}
        }
        if let Some(n) = line.strip_prefix("Non-2xx or 3xx responses:") {
            result.non_2xx = n.trim().parse()?;
        }
        if line.starts_with("Socket errors:") {
            result.socket_errors = Some(line.to_owned());
        }
    }
    if result.requests_per_second <= 0.0 || result.p99 <= 0.0 {
        return Err(format!("cannot read wrk's output:\n{output}").into());
    }
    Ok(result)
}

/// CPU ticks of this process (user + system) and of its waited-for children (wrk).
fn cpu_ticks() -> Result<(u64, u64), Error> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the command name: state is field 3, utime 14, stime 15, cutime 16, cstime 17.
    let fields: Vec<u64> = stat
        .rsplit_once(')')
        .ok_or("unreadable /proc/self/stat")?
        .1
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let field = |n: usize| fields.get(n - 4).copied().unwrap_or(0);
    Ok((field(14) + field(15), field(16) + field(17)))
}

/// The machine's busy and stolen CPU ticks (all processes), from `/proc/stat`.
fn machine_ticks() -> Result<(u64, u64), Error> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let line = stat.lines().next().ok_or("empty /proc/stat")?;
    // cpu user nice system idle iowait irq softirq steal guest guest_nice
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let at = |i: usize| v.get(i).copied().unwrap_or(0);
    Ok((at(0) + at(1) + at(2) + at(5) + at(6), at(7)))
}

/// `USER_HZ`, the unit of `/proc/self/stat` times (100 on every mainstream Linux).
const TICKS_PER_SECOND: f64 = 100.0;

fn wrk(port: u16, script: &Path, seconds: u64) -> Result<WrkResult, Error> {
    let (server_before, children_before) = cpu_ticks()?;
    let (machine_before, steal_before) = machine_ticks()?;
    let started = Instant::now();
    let output = Command::new("wrk")
        .arg(format!("-t{WRK_THREADS}"))
        .arg(format!("-c{WRK_CONNECTIONS}"))
        .arg(format!("-d{seconds}s"))
        .arg("--latency")
        .arg("-s")
        .arg(script)
        .arg(format!("https://127.0.0.1:{port}/v1/authorize"))
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "wrk failed ({}): {stdout}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (server_after, children_after) = cpu_ticks()?;
    let (machine_after, steal_after) = machine_ticks()?;
    let mut result = parse_wrk(&stdout)?;
    let per_request =
        |ticks: u64| ticks as f64 / TICKS_PER_SECOND * 1e6 / result.requests.max(1) as f64;
    result.server_cpu = per_request(server_after - server_before);
    result.wrk_cpu = per_request(children_after - children_before);
    let ours = server_after - server_before + children_after - children_before;
    result.busy = ours as f64 / TICKS_PER_SECOND / elapsed;
    result.others =
        (machine_after - machine_before).saturating_sub(ours) as f64 / TICKS_PER_SECOND / elapsed;
    result.steal = (steal_after - steal_before) as f64 / TICKS_PER_SECOND / elapsed;
    Ok(result)
}

const WRK_MISSING: &str = "  NOTE: `wrk` is not installed, so the load test (1) is SKIPPED. Install it \
     (Debian/Ubuntu: `apt-get install wrk`; macOS: `brew install wrk`) and run \
     `cargo bench -p tollgate --bench gate` again. The in-process figures do not need it.";

fn wrk_available() -> bool {
    Command::new("wrk")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok()
}

fn authorize_status(
    client: &reqwest::blocking::Client,
    port: u16,
    value: &str,
) -> Result<u16, Error> {
    let response = client
        .get(format!("https://localhost:{port}/v1/authorize"))
        .header("Authorization", format!("Bearer {value}"))
        .header("X-Forwarded-Proto", "https")
        .header("X-Forwarded-Uri", FORWARDED_URI)
        .send()?;
    Ok(response.status().as_u16())
}

struct LoadFigures {
    backend: &'static str,
    /// Means over the rounds.
    minimal: WrkResult,
    valid: WrkResult,
    forged: WrkResult,
    /// Per round: (valid, forged) requests/s over the minimal server's in the same round.
    throughput_ratios: Vec<(f64, f64)>,
    /// Per round: (valid, forged) p99 over the minimal server's in the same round.
    p99_ratios: Vec<(f64, f64)>,
}

impl LoadFigures {
    /// The medians of the per-round ratios: (throughput valid, forged; p99 valid, forged).
    fn ratios(&self) -> (f64, f64, f64, f64) {
        let first = |v: &[(f64, f64)]| median(v.iter().map(|r| r.0).collect());
        let second = |v: &[(f64, f64)]| median(v.iter().map(|r| r.1).collect());
        (
            first(&self.throughput_ratios),
            second(&self.throughput_ratios),
            first(&self.p99_ratios),
            second(&self.p99_ratios),
        )
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}

fn print_wrk(label: &str, result: &WrkResult) {
    println!(
        "  {label:<30} {:>7.0} req/s  p50 {:>5.2} ms  p99 {:>5.2} ms  CPU/request: server {:>4.1} µs, \
         wrk {:>4.1} µs  (cores busy: ours {:.2}, others {:.2}, stolen {:.2}; {} requests, {} non-2xx{})",
        result.requests_per_second,
        result.p50,
        result.p99,
        result.server_cpu,
        result.wrk_cpu,
        result.busy,
        result.others,
        result.steal,
        result.requests,
        result.non_2xx,
        result
            .socket_errors
            .as_deref()
            .map(|e| format!(", {e}"))
            .unwrap_or_default()
    );
    if result.others > 0.15 {
        println!(
            "    WARNING: other processes used {:.2} cores during this run; its figures are disturbed",
            result.others
        );
    }
}

fn load(backend: &'static str, url: &str, seconds: u64, rounds: u64) -> Result<LoadFigures, Error> {
    let dir = tempfile::tempdir()?;
    let valid_tokens = env_number("TOLLGATE_BENCH_VALID_TOKENS", VALID_TOKENS).max(1);
    let fixture = fixture(url, usize::try_from(valid_tokens)?)?;
    let mut rng = StdRng::seed_from_u64(11);
    let known: std::collections::HashSet<TokenId> =
        fixture.values.iter().map(TokenValue::token_id).collect();
    let mut forged = Vec::with_capacity(FORGED_VALUES);
    while forged.len() < FORGED_VALUES {
        let id = TokenId::random(&mut rng);
        if !known.contains(&id) {
            forged.push(TokenValue::generate(id, &mut rng));
        }
    }
    let write_values = |name: &str, values: &[TokenValue]| -> Result<PathBuf, Error> {
        let path = dir.path().join(name);
        let text: String = values
            .iter()
            .map(|v| format!("{}\n", v.expose_secret()))
            .collect();
        std::fs::write(&path, text)?;
        Ok(path)
    };
    let valid_file = write_values("valid.txt", &fixture.values)?;
    let forged_file = write_values("forged.txt", &forged)?;
    let valid_script = write_script(dir.path(), "valid.lua", &valid_file)?;
    let forged_script = write_script(dir.path(), "forged.lua", &forged_file)?;

    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
    let tls = tollgate_http::tls_config(
        generated.cert.pem().as_bytes(),
        generated.key_pair.serialize_pem().as_bytes(),
    )?;
    let client = reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(
            generated.cert.pem().as_bytes(),
        )?)
        .build()?;

    let state = AppState::new(fixture.store.clone(), keys()?, Settings::default())?;
    let gate = Arc::clone(&state.gate);
    let tollgate = tollgate_server(state, tls.clone())?;
    let minimal = minimal_server(tls)?;

    // Warm up: every valid token once (so each is cached), then check the answers.
    for value in &fixture.values {
        let status = authorize_status(&client, tollgate.port, value.expose_secret())?;
        if status != 200 {
            return Err(format!("[{backend}] a valid token was answered {status}").into());
        }
    }
    let status = authorize_status(&client, tollgate.port, fixture.values[0].expose_secret())?;
    if status != 200 {
        return Err(format!("[{backend}] (a) valid token: expected 200, got {status}").into());
    }
    let status = authorize_status(&client, tollgate.port, forged[0].expose_secret())?;
    if status != 401 {
        return Err(format!("[{backend}] (b) forged value: expected 401, got {status}").into());
    }
    let response = client
        .get(format!("https://localhost:{}/v1/authorize", minimal.port))
        .send()?;
    if response.status() != 200 {
        return Err(format!("the minimal server answered {}", response.status()).into());
    }
    println!(
        "[{backend}] checked: valid → 200, forged → 401, minimal → 200; {} tokens cached, {} fills so far",
        gate.cached(),
        gate.stats.fills.load(std::sync::atomic::Ordering::Relaxed)
    );
    // A short wrk pass at each server (connections, TLS, allocator, branch predictors).
    for (port, script) in [
        (minimal.port, &valid_script),
        (tollgate.port, &valid_script),
        (tollgate.port, &forged_script),
    ] {
        wrk(port, script, 2)?;
    }

    let fills_before = gate.stats.fills.load(std::sync::atomic::Ordering::Relaxed);
    let (mut minimal_runs, mut valid_runs, mut forged_runs) = (Vec::new(), Vec::new(), Vec::new());
    // Interleaved rounds, so drift on a shared machine affects the three alike.
    for round in 1..=rounds {
        println!("[{backend}] round {round} of {rounds}:");
        let result = wrk(minimal.port, &valid_script, seconds)?;
        print_wrk("(c) minimal actix-web server", &result);
        minimal_runs.push(result);
        let result = wrk(tollgate.port, &valid_script, seconds)?;
        print_wrk("(a) authorize, valid tokens", &result);
        if result.non_2xx != 0 {
            return Err(format!("[{backend}] (a) had {} non-2xx answers", result.non_2xx).into());
        }
        valid_runs.push(result);
        let result = wrk(tollgate.port, &forged_script, seconds)?;
        print_wrk("(b) authorize, forged values", &result);
        if result.non_2xx != result.requests {
            return Err(format!("[{backend}] (b) had 2xx answers").into());
        }
        forged_runs.push(result);
    }
    let fills_after = gate.stats.fills.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "[{backend}] database reads during the measured runs: {} (cache fills)",
        fills_after - fills_before
    );
    drop(tollgate);
    drop(minimal);
    if let Err(error) = gate.shutdown() {
        eprintln!("gate shutdown: {error}");
    }
    let rounds = minimal_runs.iter().zip(&valid_runs).zip(&forged_runs);
    let throughput_ratios = rounds
        .clone()
        .map(|((m, v), f)| {
            (
                v.requests_per_second / m.requests_per_second,
                f.requests_per_second / m.requests_per_second,
            )
        })
        .collect();
    let p99_ratios = rounds
        .map(|((m, v), f)| (v.p99 / m.p99, f.p99 / m.p99))
        .collect();
    Ok(LoadFigures {
        backend,
        minimal: mean(&minimal_runs),
        valid: mean(&valid_runs),
        forged: mean(&forged_runs),
        throughput_ratios,
        p99_ratios,
    })
}

/// The mean of several runs (requests/s, p50, p99; requests and non-2xx summed).
fn mean(runs: &[WrkResult]) -> WrkResult {
    let n = runs.len().max(1) as f64;
    WrkResult {
        requests_per_second: runs.iter().map(|r| r.requests_per_second).sum::<f64>() / n,
        p50: runs.iter().map(|r| r.p50).sum::<f64>() / n,
        p99: runs.iter().map(|r| r.p99).sum::<f64>() / n,
        requests: runs.iter().map(|r| r.requests).sum(),
        non_2xx: runs.iter().map(|r| r.non_2xx).sum(),
        socket_errors: None,
        server_cpu: runs.iter().map(|r| r.server_cpu).sum::<f64>() / n,
        wrk_cpu: runs.iter().map(|r| r.wrk_cpu).sum::<f64>() / n,
        busy: runs.iter().map(|r| r.busy).sum::<f64>() / n,
        others: runs.iter().map(|r| r.others).sum::<f64>() / n,
        steal: runs.iter().map(|r| r.steal).sum::<f64>() / n,
    }
}

fn report_load(figures: &LoadFigures) {
    println!("[{}] means over the rounds:", figures.backend);
    print_wrk("(c) minimal actix-web server", &figures.minimal);
    print_wrk("(a) authorize, valid tokens", &figures.valid);
    print_wrk("(b) authorize, forged values", &figures.forged);
    let show = |v: &[(f64, f64)], pick: fn(&(f64, f64)) -> f64| {
        v.iter()
            .map(|r| format!("{:.2}", pick(r)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (valid, forged, valid_p99, forged_p99) = figures.ratios();
    println!("  against the minimal server, round by round (median compared with the target):");
    println!(
        "  valid   throughput {} → {valid:.2} (target ≥ 0.6: {})   p99 {} → {valid_p99:.2} (target ≤ 1.5: {})",
        show(&figures.throughput_ratios, |r| r.0),
        verdict(valid >= 0.6),
        show(&figures.p99_ratios, |r| r.0),
        verdict(valid_p99 <= 1.5)
    );
    println!(
        "  forged  throughput {} → {forged:.2} (target ≥ 0.6: {})   p99 {} → {forged_p99:.2} (target ≤ 1.5: {})",
        show(&figures.throughput_ratios, |r| r.1),
        verdict(forged >= 0.6),
        show(&figures.p99_ratios, |r| r.1),
        verdict(forged_p99 <= 1.5)
    );
}

// ---------------------------------------------------------------------------------------------
// 2. RequireModule in process

async fn invoices() -> HttpResponse {
    HttpResponse::Ok().finish()
}

/// Nanoseconds per request of `count` requests made by `make` through `app`, each of which must
/// be answered `status`.
async fn drive<S, R, B>(
    app: &S,
    make: impl Fn() -> R,
    status: u16,
    count: usize,
) -> Result<f64, Error>
where
    S: Service<R, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let started = Instant::now();
    for _ in 0..count {
        let request = make();
        let response = app
            .call(request)
            .await
            .map_err(|e| format!("the app failed: {e}"))?;
        if response.status().as_u16() != status {
            return Err(format!("the app answered {}, not {status}", response.status()).into());
        }
    }
    Ok(started.elapsed().as_nanos() as f64 / count as f64)
}

fn best(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::INFINITY, f64::min)
}

fn rounded(values: &[f64]) -> Vec<f64> {
    values.iter().map(|n| n.round()).collect()
}

/// Requests per measured round in process.
const IN_PROCESS_REQUESTS: usize = 200_000;

fn middleware_cost(gate: &Arc<Gate>, value: &TokenValue) -> Result<(f64, f64), Error> {
    let authorization = format!("Bearer {}", value.expose_secret());
    let authorization = authorization.as_str();
    let make = || {
        test::TestRequest::get()
            .uri(FORWARDED_URI)
            .insert_header((header::AUTHORIZATION, authorization))
            .to_request()
    };
    let gate = Arc::clone(gate);
    actix_web::rt::System::new().block_on(async move {
        let plain =
            test::init_service(App::new().service(
                web::scope("/public/v1/billing").route("/invoices", web::get().to(invoices)),
            ))
            .await;
        let guarded = test::init_service(
            App::new().service(
                web::scope("/public/v1/billing")
                    .wrap(RequireModule::new(Arc::clone(&gate), "billing"))
                    .route("/invoices", web::get().to(invoices)),
            ),
        )
        .await;
        // Warm up (the first guarded request fills the cache).
        drive(&plain, make, 200, 20_000).await?;
        drive(&guarded, make, 200, 20_000).await?;
        let count = IN_PROCESS_REQUESTS;
        let mut without = Vec::new();
        let mut with = Vec::new();
        for _ in 0..3 {
            without.push(drive(&plain, make, 200, count).await?);
            with.push(drive(&guarded, make, 200, count).await?);
        }
        println!(
            "  rounds of {count} requests (ns/request): without {:?}, with {:?}",
            rounded(&without),
            rounded(&with)
        );

        // Where the middleware's time goes: its parts, called directly.
        let mut parts = Vec::new();
        let started = Instant::now();
        for _ in 0..count {
            let decided = gate.decide_in_memory(
                Ok(Some(authorization)),
                Target::Module("billing"),
                &RequestInfo::default,
            );
            if !matches!(decided, InMemory::Decided(Ok(_))) {
                return Err("the decision refused a cached token".into());
            }
        }
        parts.push((
            "Gate::decide_in_memory (parse, cache read, HMAC, grant, use)",
            started.elapsed().as_nanos() as f64 / count as f64,
        ));
        let started = Instant::now();
        for _ in 0..count {
            std::hint::black_box(
                tollgate_gate::middleware::check(&gate, Ok(Some(authorization)), "billing")
                    .await
                    .map_err(|e| format!("check refused: {e}"))?,
            );
        }
        parts.push((
            "require::check (the whole decision)",
            started.elapsed().as_nanos() as f64 / count as f64,
        ));
        for (what, ns) in parts {
            println!("  {what:<44} {ns:>6.0} ns/call");
        }
        Ok((best(&without), best(&with)))
    })
}

/// Best-of-three ns/request in process.
struct AppCost {
    /// An app that only answers 200.
    minimal: f64,
    /// The trace middleware around a handler answering 200.
    traced: f64,
    /// A valid token, with only the gateway's routes registered.
    gateway_only: f64,
    /// A valid token through every route (`/v1/authorize` is registered last).
    valid: f64,
    /// A forged value through every route.
    forged: f64,
}

/// `GET /v1/authorize` through Tollgate's whole app (trace middleware, metrics, handler) in
/// process — no TLS, no sockets — against an app that only answers 200, with the steps between.
fn full_app_cost(
    state: AppState,
    valid: &TokenValue,
    forged: &TokenValue,
) -> Result<AppCost, Error> {
    let request = |value: &TokenValue| {
        let authorization = format!("Bearer {}", value.expose_secret());
        move || {
            test::TestRequest::get()
                .uri("/v1/authorize")
                .insert_header((header::AUTHORIZATION, authorization.as_str()))
                .insert_header(("x-forwarded-proto", "https"))
                .insert_header(("x-forwarded-uri", FORWARDED_URI))
                .to_request()
        }
    };
    let valid = request(valid);
    let forged = request(forged);
    actix_web::rt::System::new().block_on(async move {
        let minimal = test::init_service(
            App::new().default_service(web::to(|| async { HttpResponse::Ok().finish() })),
        )
        .await;
        let data = web::Data::new(state);
        let traced = test::init_service(
            App::new()
                .app_data(data.clone())
                .wrap(actix_web::middleware::from_fn(
                    tollgate_http::middleware::trace,
                ))
                .default_service(web::to(|| async { HttpResponse::Ok().finish() })),
        )
        .await;
        let gateway_only = test::init_service(
            App::new()
                .app_data(data.clone())
                .wrap(actix_web::middleware::from_fn(
                    tollgate_http::middleware::trace,
                ))
                .configure(tollgate_http::handlers::gateway::configure),
        )
        .await;
        let tollgate = test::init_service(
            App::new()
                .app_data(data.clone())
                .wrap(actix_web::middleware::from_fn(
                    tollgate_http::middleware::trace,
                ))
                .configure(tollgate_http::configure),
        )
        .await;
        drive(&minimal, &valid, 200, 20_000).await?;
        drive(&traced, &valid, 200, 20_000).await?;
        drive(&gateway_only, &valid, 200, 20_000).await?;
        drive(&tollgate, &valid, 200, 20_000).await?;
        drive(&tollgate, &forged, 401, 20_000).await?;
        let count = IN_PROCESS_REQUESTS;
        let (mut m, mut t, mut g, mut v, mut f) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..3 {
            m.push(drive(&minimal, &valid, 200, count).await?);
            t.push(drive(&traced, &valid, 200, count).await?);
            g.push(drive(&gateway_only, &valid, 200, count).await?);
            v.push(drive(&tollgate, &valid, 200, count).await?);
            f.push(drive(&tollgate, &forged, 401, count).await?);
        }
        println!(
            "  rounds of {count} requests (ns/request): minimal {:?}, trace middleware only {:?}, \
             valid with only the gateway's routes {:?}, valid {:?}, forged {:?}",
            rounded(&m),
            rounded(&t),
            rounded(&g),
            rounded(&v),
            rounded(&f)
        );
        Ok(AppCost {
            minimal: best(&m),
            traced: best(&t),
            gateway_only: best(&g),
            valid: best(&v),
            forged: best(&f),
        })
    })
}

// ---------------------------------------------------------------------------------------------
// 3. Revocation latency between two instances

/// B's decision for a bearer header, as `Gate::decide` makes it (fill on a miss).
fn accepts(gate: &Gate, authorization: &str) -> Result<bool, Error> {
    let decide = || {
        gate.decide_in_memory(
            Ok(Some(authorization)),
            Target::Caller,
            &RequestInfo::default,
        )
    };
    match decide() {
        InMemory::Decided(decision) => Ok(decision.is_ok()),
        InMemory::Fill(presented) => {
            gate.fill(presented.id())?;
            Ok(matches!(decide(), InMemory::Decided(Ok(_))))
        }
    }
}

/// Runs B's decision in a tight loop until it answers `want`; the time it took.
fn until(gate: &Gate, authorization: &str, want: bool) -> Result<Duration, Error> {
    let started = Instant::now();
    loop {
        if accepts(gate, authorization)? == want {
            return Ok(started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(5) {
            return Err("instance B did not see the change within 5 s".into());
        }
        std::thread::yield_now();
    }
}

struct Revocation {
    /// Commit of the disabling transaction → B refuses.
    refused: Vec<Duration>,
    /// Start of the disabling transaction → B refuses.
    refused_with_write: Vec<Duration>,
    /// Commit of the enabling transaction → B accepts again.
    reenabled: Vec<Duration>,
    /// Rounds where B had not cached the token when the disable started (should be 0).
    not_cached: usize,
}

fn revocation(url: &str, rounds: usize) -> Result<Revocation, Error> {
    let keys = keys()?;
    let fixture = fixture(url, 1)?;
    let store_a = fixture.store;
    let store_b = Store::open(url, keys.clone(), PoolOptions::default())?;
    let value = fixture.values.first().ok_or("no token")?;
    let id = value.token_id();
    let authorization = format!("Bearer {}", value.expose_secret());
    // Default options, except that the write-behind does not flush during the run: a flushed
    // failure record is itself a token change, and would evict the token at B out of turn.
    let options = GateOptions {
        flush_interval: Duration::from_secs(3600),
        ..GateOptions::default()
    };
    let gate_a = Gate::start(store_a.clone(), store_a.keyring(), options)?;
    let gate_b = Gate::start(store_b.clone(), store_b.keyring(), options)?;
    if !accepts(&gate_a, &authorization)? {
        return Err("the token is not accepted to begin with".into());
    }
    until(&gate_b, &authorization, true)?;
    let mut result = Revocation {
        refused: Vec::new(),
        refused_with_write: Vec::new(),
        reenabled: Vec::new(),
        not_cached: 0,
    };
    for _ in 0..rounds {
        if gate_b
            .cached_entry(id)
            .is_none_or(|entry| entry.view.status != TokenStatus::Active)
        {
            result.not_cached += 1;
        }
        let started = Instant::now();
        store_a.change_token::<StoreError>(id, &context(), |token, _| {
            Ok(Some(
                token.disable(Principal::System, OffsetDateTime::now_utc())?,
            ))
        })?;
        let committed = Instant::now();
        gate_a.invalidate(id);
        until(&gate_b, &authorization, false)?;
        result.refused.push(committed.elapsed());
        result.refused_with_write.push(started.elapsed());

        store_a.change_token::<StoreError>(id, &context(), |token, _| {
            Ok(Some(
                token.enable(Principal::System, OffsetDateTime::now_utc())?,
            ))
        })?;
        gate_a.invalidate(id);
        result.reenabled.push(until(&gate_b, &authorization, true)?);
    }
    for gate in [&gate_a, &gate_b] {
        if let Err(error) = gate.shutdown() {
            eprintln!("gate shutdown: {error}");
        }
    }
    Ok(result)
}

/// Prints the figures; returns (p50, p99, max) of commit → refused.
fn report_revocation(label: &str, mut result: Revocation) -> (Duration, Duration, Duration) {
    let line = |what: &str, samples: &mut [Duration]| {
        println!(
            "  {what:<46} n={:<4} p50 {:>7.2} ms   p99 {:>7.2} ms   max {:>7.2} ms",
            samples.len(),
            ms(percentile(samples, 0.5)),
            ms(percentile(samples, 0.99)),
            ms(samples.iter().copied().max().unwrap_or_default())
        );
    };
    println!("[{label}] revocation between two instances:");
    line("commit of disable at A → B refuses", &mut result.refused);
    line(
        "disable at A (incl. its transaction) → B refuses",
        &mut result.refused_with_write,
    );
    line("commit of enable at A → B accepts", &mut result.reenabled);
    if result.not_cached > 0 {
        println!(
            "  note: in {} rounds B had not cached the token when the disable started",
            result.not_cached
        );
    }
    (
        percentile(&mut result.refused, 0.5),
        percentile(&mut result.refused, 0.99),
        result.refused.iter().copied().max().unwrap_or_default(),
    )
}

// ---------------------------------------------------------------------------------------------
// 4. Memory with many cached tokens

/// `VmRSS` and `RssAnon` of this process, in bytes.
fn rss() -> Result<(u64, u64), Error> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    Ok((
        field("VmRSS:").ok_or("no VmRSS")?,
        field("RssAnon:").ok_or("no RssAnon")?,
    ))
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Fills `tokens` tokens over 1,000 Client accounts with bulk SQL (ids spread over the whole id
/// space, as random ids are; two modules each). Returns their ids.
fn bulk_fill(store: &Store, tokens: u64) -> Result<Vec<TokenId>, Error> {
    let accounts = 1000u64.min(tokens.max(1));
    let step = (TokenId::SPACE / tokens.max(1)).max(1);
    let mut conn = store.conn()?;
    conn.batch_execute(&format!(
        "BEGIN;
         WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {accounts})
         INSERT INTO accounts (id, name, account_type, status, created_at)
           SELECT printf('ACC-9%03d-%04d', n / 10000, n % 10000), 'Bulk account ' || n, 'Client',
                  'Active', strftime('%Y-%m-%d %H:%M:%f', 'now')
           FROM g;
         INSERT INTO audit_chain_heads (account_id, record_count, last_hash)
           SELECT id, 0, zeroblob(32) FROM accounts WHERE id LIKE 'ACC-9%';
         INSERT INTO account_modules (account_id, module_id)
           SELECT id, m FROM accounts, (SELECT 'MOD-1102' AS m UNION ALL SELECT 'MOD-1104')
           WHERE id LIKE 'ACC-9%';
         WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n < {last})
         INSERT INTO tokens (id, account_id, name, name_folded, description, description_folded,
                             has_icon, status, revision, secret_key_id, secret_hash, sealed_value,
                             last_access_at, created_at, created_by_id, created_by_name)
           SELECT printf('TKN-%04d-%04d', (n * {step}) / 10000, (n * {step}) % 10000),
                  printf('ACC-9%03d-%04d', (n % {accounts} + 1) / 10000, (n % {accounts} + 1) % 10000),
                  'Robot ' || n, 'robot ' || n, '', '', 0, 'Active', 1, '00000000', randomblob(32),
                  NULL, NULL, strftime('%Y-%m-%d %H:%M:%f', 'now'), 'SYSTEM', 'Tollgate'
           FROM g;
         INSERT INTO token_modules (token_id, module_id)
           SELECT id, m FROM tokens, (SELECT 'MOD-1102' AS m UNION ALL SELECT 'MOD-1104');
         COMMIT;",
        last = tokens - 1,
    ))?;
    (0..tokens)
        .map(|n| Ok(TokenId::from_number(n * step).ok_or("token id")?))
        .collect()
}

struct Memory {
    tokens: u64,
    id_set: u64,
    base: (u64, u64),
    started: (u64, u64),
    primed: (u64, u64),
    filled: (u64, u64),
    fill_time: Duration,
    /// Write-behind flushes (distinct tokens, time or error).
    flushes: Vec<(usize, Result<Duration, String>)>,
}

fn memory(tokens: u64) -> Result<Memory, Error> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}/memory.db", dir.path().display());
    let keys = keys()?;
    let store = Store::open(&url, keys.clone(), PoolOptions::default())?;
    let started = Instant::now();
    let ids = bulk_fill(&store, tokens)?;
    println!(
        "  bulk-inserted {tokens} tokens in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // The id set alone, with these ids (its words are touched as ids are set).
    let before_set = rss()?;
    let set = IdSet::new();
    for id in &ids {
        set.insert(*id);
    }
    let id_set = rss()?.0.saturating_sub(before_set.0);
    drop(set);
    let base = rss()?;
    let gate = Gate::start(store.clone(), store.keyring(), GateOptions::default())?;
    let after_start = rss()?;
    if gate.ids().len() != tokens {
        return Err(format!("the id set holds {} ids", gate.ids().len()).into());
    }
    // Warm SQLite's page caches (they grow while reading) without caching anything, so the
    // difference below is the gate's cache.
    for id in &ids {
        store.token_view(*id)?;
    }
    let primed = rss()?;
    let started = Instant::now();
    for id in &ids {
        if gate.fill(*id)?.is_none() {
            return Err(format!("token {id} not found").into());
        }
    }
    let fill_time = started.elapsed();
    let filled = rss()?;
    if gate.cached() as u64 != tokens {
        return Err(format!(
            "{} of {tokens} tokens cached (an invalidation raced the fill?)",
            gate.cached()
        )
        .into());
    }
    let _ = gate.shutdown();
    drop(gate);
    // The write-behind's flush at this scale: `touch_tokens` for N distinct tokens (statements
    // of 500 tokens in one transaction).
    let mut flushes = Vec::new();
    for n in [100usize, 1_000, 6_554, 20_000, 100_000] {
        let Some(used) = ids.get(..n) else { break };
        let now = OffsetDateTime::now_utc();
        let uses: Vec<(TokenId, OffsetDateTime)> = used.iter().map(|id| (*id, now)).collect();
        let started = Instant::now();
        let outcome = store
            .touch_tokens(&uses)
            .map(|_| started.elapsed())
            .map_err(|error| error.to_string());
        flushes.push((n, outcome));
    }
    Ok(Memory {
        tokens,
        id_set,
        flushes,
        base,
        started: after_start,
        primed,
        filled,
        fill_time,
    })
}

fn report_memory(m: &Memory) -> f64 {
    let per_token = m.filled.0.saturating_sub(m.primed.0) as f64 / m.tokens as f64;
    let per_token_anon = m.filled.1.saturating_sub(m.primed.1) as f64 / m.tokens as f64;
    println!(
        "  an IdSet alone with these {} ids: +{:.1} MiB resident (10^8 bits = 12.5 MB = 11.9 MiB)",
        m.tokens,
        mib(m.id_set)
    );
    println!("  VmRSS before the gate        {:>8.1} MiB", mib(m.base.0));
    println!(
        "  after Gate::start            {:>8.1} MiB  (+{:.1} MiB: the id set, the catalog, threads, \
         and what loading the ids left in the heap and in SQLite's page cache)",
        mib(m.started.0),
        mib(m.started.0.saturating_sub(m.base.0)),
    );
    println!(
        "  after warming SQLite's cache {:>8.1} MiB",
        mib(m.primed.0)
    );
    println!(
        "  after caching {} tokens  {:>8.1} MiB  (+{:.1} MiB; filled in {:.1} s)",
        m.tokens,
        mib(m.filled.0),
        mib(m.filled.0.saturating_sub(m.primed.0)),
        m.fill_time.as_secs_f64()
    );
    println!(
        "  per cached token: {per_token:.0} bytes (VmRSS), {per_token_anon:.0} bytes (RssAnon); \
         size_of::<Entry>() = {} bytes before its heap parts",
        std::mem::size_of::<tollgate_gate::Entry>()
    );
    for (n, outcome) in &m.flushes {
        match outcome {
            Ok(took) => println!(
                "  write-behind flush (Store::touch_tokens) of {n:>6} distinct tokens: {:>9.2} ms",
                ms(*took)
            ),
            Err(error) => println!(
                "  write-behind flush (Store::touch_tokens) of {n:>6} distinct tokens: FAILED ({error})"
            ),
        }
    }
    per_token
}

// ---------------------------------------------------------------------------------------------

fn main() -> Result<(), Error> {
    // Load runs take minutes and need wrk: only under `cargo bench` (which passes --bench).
    if !std::env::args().any(|arg| arg == "--bench") {
        println!("gate: a load benchmark; run it with `cargo bench -p tollgate --bench gate`");
        return Ok(());
    }
    let seconds = env_number("TOLLGATE_BENCH_SECONDS", 10).max(1);
    let rounds = env_number("TOLLGATE_BENCH_ROUNDS", 3).max(1);
    let cached = env_number("TOLLGATE_BENCH_CACHED", 100_000).max(1);
    let postgres = postgres_enabled();
    let have_wrk = wrk_available();
    println!(
        "gate bench: {} cores; wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{seconds}s --latency × {rounds} rounds, {WORKERS} server workers",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if !have_wrk {
        println!("{WRK_MISSING}");
    }

    // 4 first: the process is smallest and its heap least fragmented now.
    println!("\n== 4. memory with {cached} cached tokens (SQLite) ==");
    let memory = memory(cached)?;
    let per_token = report_memory(&memory);

    println!("\n== 2. RequireModule in process (current-thread runtime, cached token) ==");
    let dir = tempfile::tempdir()?;
    let sqlite_url = format!("sqlite://{}/gate.db", dir.path().display());
    let small = fixture(&sqlite_url, 1)?;
    let gate = Gate::start(
        small.store.clone(),
        small.store.keyring(),
        GateOptions::default(),
    )?;
    let value = small.values.first().ok_or("no token")?;
    let (without, with) = middleware_cost(&gate, value)?;
    println!(
        "  without {without:.0} ns/request, with RequireModule {with:.0} ns/request: the middleware costs {:.0} ns/request",
        with - without
    );
    let _ = gate.shutdown();
    drop(gate);
    println!("  -- GET /v1/authorize through the whole app, in process (no TLS, no sockets) --");
    let state = AppState::new(small.store.clone(), keys()?, Settings::default())?;
    let state_gate = Arc::clone(&state.gate);
    let mut rng = StdRng::seed_from_u64(3);
    let forged = TokenValue::generate(TokenId::random(&mut rng), &mut rng);
    let app = full_app_cost(state, value, &forged)?;
    println!(
        "  minimal app {:.0} ns/request; trace middleware + 200 {:.0}; authorize with only the gateway's \
         routes {:.0}; authorize through every route: valid {:.0}, forged {:.0}",
        app.minimal, app.traced, app.gateway_only, app.valid, app.forged
    );
    let _ = state_gate.shutdown();
    drop(state_gate);

    println!("\n== 3. revocation latency between two instances ==");
    let database = if postgres {
        Some(TestDatabase::create()?)
    } else {
        None
    };
    let mut revocation_max = None;
    if let Some(database) = &database {
        let result = revocation(database.url(), 200)?;
        revocation_max = Some(report_revocation("postgres", result));
    }
    let sqlite_two = format!("sqlite://{}/two.db", dir.path().display());
    let result = revocation(&sqlite_two, 20)?;
    report_revocation("sqlite (change-sequence polling every 200 ms)", result);

    println!("\n== 1. wrk against GET /v1/authorize over HTTPS on loopback ==");
    println!(
        "  note: wrk and the servers share the machine's cores; every figure includes wrk's own CPU"
    );
    let mut loads = Vec::new();
    if have_wrk {
        let load_dir = tempfile::tempdir()?;
        loads.push(load(
            "sqlite",
            &format!("sqlite://{}/load.db", load_dir.path().display()),
            seconds,
            rounds,
        )?);
        if postgres {
            let load_db = TestDatabase::create()?;
            loads.push(load("postgres", load_db.url(), seconds, rounds)?);
        }
        for figures in &loads {
            report_load(figures);
        }
    } else {
        println!("{WRK_MISSING}");
    }

    println!("\n== summary ==");
    println!(
        "  RequireModule: {:.0} ns/request ({without:.0} → {with:.0})",
        with - without
    );
    match revocation_max {
        Some((p50, p99, max)) => println!(
            "  revocation (PostgreSQL): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (target ≤ 100 ms: {})",
            ms(p50),
            ms(p99),
            ms(max),
            verdict(max <= Duration::from_millis(100))
        ),
        None => println!("  revocation (PostgreSQL): skipped"),
    }
    println!("  memory: {per_token:.0} bytes per cached token, plus the id set's fixed 12.5 MB");
    if !have_wrk {
        println!("  load (wrk): SKIPPED — `wrk` is not installed (apt-get install wrk)");
    }
    for figures in &loads {
        let (valid, forged, valid_p99, forged_p99) = figures.ratios();
        println!(
            "  [{}] authorize/minimal (median of rounds): valid {valid:.2}, forged {forged:.2} (target ≥ 0.6: {}); \
             p99 valid {valid_p99:.2}×, forged {forged_p99:.2}× the minimal server's (target ≤ 1.5×: {})",
            figures.backend,
            verdict(valid >= 0.6 && forged >= 0.6),
            verdict(valid_p99 <= 1.5 && forged_p99 <= 1.5)
        );
    }
    Ok(())
}
