//! The gate under real faults (SPEC §4 "Faults"): `tollgate serve` on a throwaway PostgreSQL
//! cluster of its own, which is stopped and started under the running server, and whose
//! listening backend is frozen with `SIGSTOP`. Second-scale timings (500 ms heartbeats, a 2 s
//! deadline, a 3 s `TOLLGATE_MAX_STALE`, 2 s outages); each phase prints its time.

mod server;

use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::Integer;
use serde_json::{Value, json};
use tollgate_store::testing::OwnCluster;

use crate::server::*;

/// `TOLLGATE_MAX_STALE` for the server (3 s; `TOLLGATE_TEST_MAX_STALE` seconds to measure
/// with another).
fn max_stale() -> Duration {
    seconds_from("TOLLGATE_TEST_MAX_STALE", 3)
}

/// The short outage (2 s; `TOLLGATE_TEST_OUTAGE` seconds to measure a longer one, below the
/// bound).
fn outage() -> Duration {
    seconds_from("TOLLGATE_TEST_OUTAGE", 2)
}

fn seconds_from(variable: &str, default: u64) -> Duration {
    Duration::from_secs(
        std::env::var(variable)
            .ok()
            .and_then(|text| text.parse().ok())
            .unwrap_or(default),
    )
}

/// Prints how long each phase took (the test budget stays visible).
struct Phases {
    started: Instant,
    phase: Instant,
}

impl Phases {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            phase: Instant::now(),
        }
    }

    fn done(&mut self, what: &str) {
        eprintln!(
            "faults: {what}: {:.1} s (total {:.1} s)",
            self.phase.elapsed().as_secs_f64(),
            self.started.elapsed().as_secs_f64()
        );
        self.phase = Instant::now();
    }
}

/// A decision's status and how long it took.
fn timed(instance: &Instance, value: &str) -> R<(u16, Duration)> {
    let started = Instant::now();
    let status = instance.authorize(value, BILLING_PATH)?;
    Ok((status, started.elapsed()))
}

fn readyz(instance: &Instance, query: &str) -> R<(u16, Value)> {
    let response = instance
        .client()?
        .get(instance.url(&format!("/readyz{query}")))
        .send()?;
    let status = response.status().as_u16();
    Ok((status, response.json()?))
}

fn create(instance: &Instance, admin: &str, name: &str) -> R<(u16, Duration)> {
    let started = Instant::now();
    let (status, _) = instance.call(
        reqwest::Method::POST,
        admin,
        TOKENS,
        Some(json!({"name": name, "modules": [{"id": "MOD-1104"}]})),
    )?;
    Ok((status, started.elapsed()))
}

fn total_tokens(instance: &Instance, admin: &str) -> R<u64> {
    let body = instance.expect(
        200,
        instance.call(
            reqwest::Method::GET,
            admin,
            &format!("{TOKENS}?limit=0"),
            None,
        )?,
    )?;
    body.pointer("/$meta/pagination/total")
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("no total in {body}").into())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

#[derive(QueryableByName)]
struct Pid {
    #[diesel(sql_type = Integer)]
    pid: i32,
}

/// The process id of the server's listening backend.
fn listener_pid(admin_url: &str) -> R<i32> {
    let mut conn = diesel::pg::PgConnection::establish(admin_url)?;
    let rows: Vec<Pid> = diesel::sql_query(
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'tollgate-listener'",
    )
    .load(&mut conn)?;
    match rows.as_slice() {
        [one] => Ok(one.pid),
        other => Err(format!("expected one listening connection, found {}", other.len()).into()),
    }
}

fn signal(signal: &str, pid: i32) -> R<()> {
    let status = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("kill {signal} {pid} failed").into())
    }
}

#[test]
fn the_gate_rides_out_outages_and_a_frozen_listener() -> R<()> {
    let mut phases = Phases::new();
    let (max_stale, outage) = (max_stale(), outage());
    let cluster = OwnCluster::start()?;
    let site = Site {
        database_url: cluster.create_database("tollgate")?,
        secret_key: Some(SECRET_KEY),
        previous_keys: None,
        env: vec![
            ("TOLLGATE_MAX_STALE", format!("{}s", max_stale.as_secs())),
            ("TOLLGATE_HEARTBEAT_INTERVAL", "500ms".to_owned()),
            ("TOLLGATE_HEARTBEAT_DEADLINE", "2s".to_owned()),
        ],
    };
    let dir = tempfile::tempdir()?;
    let (_, _, admin) = site.account_and_token(dir.path(), "access-management,billing")?;
    let (other_account, _, other) = site.account_and_token(dir.path(), "billing")?;
    let cold = text(
        &site.cli(
            dir.path(),
            &[
                "tokens",
                "create",
                "--account",
                &other_account,
                "--name",
                "Never used",
                "--modules",
                "billing",
                "--json",
            ],
        )?,
        "/token",
    )?;
    let server = Instance::start(&site, dir.path())?;
    for value in [&admin, &other] {
        if server.authorize(value, BILLING_PATH)? != 200 {
            return Err(format!("a token is refused: {}", server.log()).into());
        }
    }
    wait_until("regime 1", || Ok(readyz(&server, "?strict")?.0 == 200))?;
    let mut created = 0u64;
    for n in 0..3 {
        let (status, _) = create(&server, &admin, &format!("Before {n}"))?;
        assert_eq!(status, 201);
        created += 1;
    }
    let tokens_before = total_tokens(&server, &admin)?;
    phases.done("set-up");

    // 1. A short outage: the cached token is allowed throughout at normal latency, an uncached
    // one is refused at once, writes answer 503 within a second, and everything recovers.
    cluster.stop()?;
    let stopped = Instant::now();
    let mut latencies = Vec::new();
    let (mut uncached, mut write) = (None, None);
    while stopped.elapsed() < outage {
        let (status, took) = timed(&server, &admin)?;
        assert_eq!(status, 200, "a cached token during a short outage");
        latencies.push(took);
        if uncached.is_none() && stopped.elapsed() > Duration::from_millis(300) {
            uncached = Some(timed(&server, &cold)?);
        }
        if write.is_none() && stopped.elapsed() > Duration::from_millis(600) {
            write = Some(create(&server, &admin, "During the outage")?);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, body) = readyz(&server, "")?;
    assert_eq!(status, 200, "ready through a short outage: {body}");
    let (status, body) = readyz(&server, "?strict")?;
    assert_eq!((status, &body["regime"]), (503, &json!(3)), "{body}");
    cluster.start_again()?;
    let restarted = Instant::now();
    wait_until("regime 1 after the outage", || {
        Ok(readyz(&server, "?strict")?.0 == 200)
    })?;
    let recovery = restarted.elapsed();
    latencies.sort();
    let (uncached_status, uncached_took) = uncached.ok_or("no uncached probe")?;
    let (write_status, write_took) = write.ok_or("no write probe")?;
    eprintln!(
        "faults: during a {:?} outage, {} decisions: p50 {:?}, p99 {:?}, max {:?}; uncached \
         {uncached_status} in {uncached_took:?}; a create {write_status} in {write_took:?}; \
         regime 1 again {recovery:?} after the restart",
        outage,
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default(),
    );
    assert!(
        latencies
            .last()
            .is_some_and(|max| *max < Duration::from_millis(500)),
        "no decision waits on a dead database"
    );
    assert_eq!(uncached_status, 401, "an uncached token is refused");
    assert!(uncached_took < Duration::from_millis(500), "at once");
    assert_eq!(write_status, 503, "a write during the outage");
    assert!(
        write_took < Duration::from_millis(1500),
        "within about a second"
    );
    let (status, _) = create(&server, &admin, "After the outage")?;
    assert_eq!(status, 201, "writes work again by themselves");
    created += 1;
    assert_eq!(
        server.authorize(&cold, BILLING_PATH)?,
        200,
        "fills work again"
    );
    phases.done("a short outage");

    // 2. An outage past TOLLGATE_MAX_STALE: every decision fails closed, and /readyz says so.
    // Timed from before the stop: the last confirmation is at most one heartbeat before it
    // begins (a stop can take a while to return, and the bound runs meanwhile).
    let stopped = Instant::now();
    cluster.stop()?;
    wait_within(
        "the cached token to fail closed",
        max_stale + Duration::from_secs(10),
        || Ok(server.authorize(&admin, BILLING_PATH)? == 401),
    )?;
    let closed_after = stopped.elapsed();
    // The bound counts from the last confirmation, at most one heartbeat before the stop.
    assert!(
        closed_after >= max_stale.saturating_sub(Duration::from_millis(500)),
        "not before the bound ({closed_after:?})"
    );
    wait_until(
        "/readyz to answer 503",
        || Ok(readyz(&server, "")?.0 == 503),
    )?;
    eprintln!("faults: failed closed {closed_after:?} after the database stopped");
    cluster.start_again()?;
    wait_until("regime 1 after the long outage", || {
        Ok(readyz(&server, "?strict")?.0 == 200 && server.authorize(&admin, BILLING_PATH)? == 200)
    })?;
    phases.done("an outage past the bound");

    // 3. The listening backend frozen (the socket stays open, nothing arrives): the silence
    // is noticed, and a revocation made by another process still arrives.
    assert_eq!(server.authorize(&other, BILLING_PATH)?, 200);
    let pid = listener_pid(&cluster.url("postgres"))?;
    signal("-STOP", pid)?;
    let frozen = Instant::now();
    let outcome = (|| -> R<(Duration, Duration)> {
        wait_until("/readyz?strict to notice the frozen listener", || {
            Ok(readyz(&server, "?strict")?.0 == 503)
        })?;
        let noticed = frozen.elapsed();
        site.cli(
            dir.path(),
            &[
                "accounts",
                "set-status",
                &other_account,
                "disabled",
                "--json",
            ],
        )?;
        let revoked = Instant::now();
        wait_until("the revocation to arrive", || {
            Ok(server.authorize(&other, BILLING_PATH)? == 401)
        })?;
        Ok((noticed, revoked.elapsed()))
    })();
    signal("-CONT", pid)?;
    let (noticed, arrived) = outcome?;
    eprintln!(
        "faults: a frozen listener noticed after {noticed:?}; a revocation arrived {arrived:?} \
         after it was made"
    );
    assert!(arrived < Duration::from_secs(5), "within 5 s");
    wait_until("regime 1 with a new listener", || {
        Ok(readyz(&server, "?strict")?.0 == 200)
    })?;
    phases.done("a frozen listener");

    // Nothing lost: every create that answered 201 is there, and the audit chain is whole.
    assert_eq!(total_tokens(&server, &admin)?, tokens_before + 1);
    assert_eq!(created, 4);
    server.stop()?;
    let verified = site.command(dir.path(), &["audit", "verify"]).output()?;
    assert!(
        verified.status.success(),
        "audit verify: {}{}",
        String::from_utf8_lossy(&verified.stdout),
        String::from_utf8_lossy(&verified.stderr)
    );
    phases.done("checks");
    Ok(())
}
