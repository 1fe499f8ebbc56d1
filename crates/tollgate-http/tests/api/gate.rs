//! The hot path (SPEC §4 "Request authorization for the rest of the platform", "Speed",
//! "Unknown ids"): the gate's cache and its invalidation, the change feed going away, forged
//! values that never reach the database, the write-behind (`lastAccessAt`, failure records),
//! `/v1/authorize` against hostile input, `/v1/introspect`, the `RequireModule` middleware and
//! the 429 of the REST API.
//!
//! Raw SQL on PostgreSQL (locks, `pg_terminate_backend`) goes through `psql`, which comes with
//! the server binaries the PostgreSQL tests already need.

use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix_web::{App, HttpMessage as _, HttpRequest, HttpResponse, web};
use rand::rngs::OsRng;
use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tollgate_audit::RequestInfo;
use tollgate_domain::{
    AccountType, FailureReason, RefusalReason, TokenId, TokenStatus, TokenValue,
};
use tollgate_gate::limiter::THRESHOLD;
use tollgate_gate::middleware::{Authorized, RequireModule};
use tollgate_gate::{Entry, Gate, GateError};

use crate::common::*;
use crate::statuses::mistyped;

const AUTHORIZE: &str = "/v1/authorize";
const INTROSPECT: &str = "/v1/introspect";

/// Caches `token` once the change feed has caught up with the fixtures' changes (PostgreSQL
/// notifications arrive on the feed's thread a moment after the commit; on SQLite the sequence
/// is polled): the entry must then stay cached for several poll intervals.
fn settle(s: &Server, token: &Tok) -> R<()> {
    let id = TokenId::parse(&token.id)?;
    let mut since = Instant::now();
    wait_for("the token cache to settle", || {
        if s.gate.cached_entry(id).is_none() {
            s.get(token, &token_path(&token.id))?.expect(200)?;
            since = Instant::now();
        }
        Ok((since.elapsed() > Duration::from_millis(600)).then_some(()))
    })
}

/// A well-formed value (right format, right checksum) for an id that does not exist.
fn forged(s: &Server) -> String {
    loop {
        let id = TokenId::random(&mut OsRng);
        if !s.gate.ids().contains(id) {
            return TokenValue::generate(id, &mut OsRng)
                .expose_secret()
                .to_owned();
        }
    }
}

/// `GET /v1/authorize` as a TLS-terminating proxy sends it.
fn authorize(s: &Server, value: &str, uri: &str) -> R<Reply> {
    s.send(
        s.client
            .get(s.url(AUTHORIZE))
            .bearer_auth(value)
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-method", "GET")
            .header("x-forwarded-uri", uri),
    )
}

/// The gate's decision for a bearer value, in process.
fn decide(
    runner: &actix_web::rt::SystemRunner,
    gate: &Arc<Gate>,
    value: &str,
) -> Result<Arc<Entry>, GateError> {
    let header = format!("Bearer {value}");
    runner.block_on(gate.decide(
        Ok(Some(&header)),
        tollgate_gate::Target::Caller,
        &RequestInfo::default,
    ))
}

/// Checks a 200 of `/v1/authorize` and its identity headers.
fn granted(reply: &Reply, token: &Tok, acct: &Acct, modules: &[&str]) -> R<()> {
    reply.status_is(200)?;
    ensure_eq!(reply.header("x-tollgate-token-id"), Some(token.id.as_str()));
    ensure_eq!(
        reply.header("x-tollgate-account-id"),
        Some(acct.id().as_str())
    );
    ensure_eq!(
        reply.header("x-tollgate-account-type"),
        Some(acct.account.account_type.as_str())
    );
    let mut got: Vec<&str> = reply
        .header("x-tollgate-modules")
        .unwrap_or_default()
        .split(',')
        .filter(|code| !code.is_empty())
        .collect();
    got.sort_unstable();
    let mut expected = modules.to_vec();
    expected.sort_unstable();
    ensure_eq!(got, expected, "X-Tollgate-Modules");
    Ok(())
}

/// Checks a 401 problem with `WWW-Authenticate: Bearer`.
fn unauthenticated(reply: &Reply) -> R<()> {
    reply.problem(401, "unauthenticated")?;
    let challenge = reply.header("www-authenticate").unwrap_or_default();
    ensure!(
        challenge.starts_with("Bearer"),
        "WWW-Authenticate is {challenge:?}"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL through psql.

fn psql_binary() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version: u32 = entry
                .file_name()
                .to_str()?
                .split('.')
                .next()?
                .parse()
                .ok()?;
            let psql = entry.path().join("bin/psql");
            psql.is_file().then_some((version, psql))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map_or_else(|| PathBuf::from("psql"), |(_, psql)| psql)
}

fn psql_command(url: &str) -> Command {
    let mut command = Command::new(psql_binary());
    command.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url]);
    command
}

/// Runs one statement; its output, trimmed.
fn psql(url: &str, sql: &str) -> R<String> {
    let output = psql_command(url)
        .args(["-c", sql])
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run {}: {error}", psql_binary().display()))?;
    if !output.status.success() {
        return Err(format!(
            "psql failed on {sql:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(String::from_utf8(output.stdout)?.trim().to_owned())
}

/// A psql session fed statements through its standard input (a transaction kept open).
struct Session {
    child: Child,
    input: Option<ChildStdin>,
}

impl Session {
    fn open(url: &str) -> R<Session> {
        let mut child = psql_command(url)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| format!("cannot run {}: {error}", psql_binary().display()))?;
        let input = child.stdin.take();
        Ok(Session { child, input })
    }

    fn send(&mut self, sql: &str) -> R<()> {
        use std::io::Write as _;
        let input = self.input.as_mut().ok_or("the session is closed")?;
        input.write_all(sql.as_bytes())?;
        input.write_all(b"\n")?;
        input.flush()?;
        Ok(())
    }

    fn close(&mut self) -> R<()> {
        self.input.take();
        let status = self.child.wait()?;
        ensure!(status.success(), "psql ended with {status}");
        Ok(())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.input.take();
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The database name of a PostgreSQL server's store.
fn database_name(s: &Server) -> R<String> {
    let url = s.store.url().target();
    let path = url.split('?').next().unwrap_or(url);
    Ok(path
        .rsplit('/')
        .next()
        .ok_or("no database name")?
        .to_owned())
}

/// How many lock requests on `table` of the server's database are in `granted` state.
fn locks(url: &str, table: &str, granted: bool) -> R<u64> {
    Ok(psql(
        url,
        &format!(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
             WHERE l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             AND c.relname = '{table}' AND l.granted = {granted}"
        ),
    )?
    .parse()?)
}

// ---------------------------------------------------------------------------------------------
// Freshness.

/// A fill that read the token before a change and finishes after the change's invalidation
/// must not cache what it read. The interleaving is forced: the fill reads the token, then
/// waits for a lock on `account_modules` (which only the fill's second read touches) while the
/// token is disabled over the REST API (commit, then invalidation); then the lock goes.
#[test]
fn a_fill_racing_an_invalidation_does_not_cache_the_stale_read() -> TestResult {
    let s = Server::start(Backend::Postgres, Options::default())?;
    let acme = s.account(AccountType::Client, "Acme")?;
    let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
    let bot = s.token(&acme, "Bot", &[BILLING])?;
    let id = TokenId::parse(&bot.id)?;
    // The administrator is cached (and the fixtures' notifications are in), so disabling needs
    // no fill (which would wait for the lock); the bot is not cached.
    settle(&s, &admin)?;
    settle(&s, &bot)?;
    s.gate.invalidate(id);
    ensure!(s.gate.cached_entry(TokenId::parse(&admin.id)?).is_some());
    ensure!(s.gate.cached_entry(id).is_none());

    let url = s.store.url().target().to_owned();
    let mut locker = Session::open(&url)?;
    locker.send("BEGIN;")?;
    locker.send("LOCK TABLE account_modules IN ACCESS EXCLUSIVE MODE;")?;
    wait_for("the lock on account_modules", || {
        Ok((locks(&url, "account_modules", true)? > 0).then_some(()))
    })?;

    let lookups = s.store.token_lookups();
    let stale = s.gate.stats.stale_fills.load(Ordering::SeqCst);
    let gate = Arc::clone(&s.gate);
    let fill = std::thread::spawn(move || gate.fill(id));
    // The fill has read the token (Active) and now waits for the account's modules.
    wait_for("the fill to wait for account_modules", || {
        Ok((locks(&url, "account_modules", false)? > 0).then_some(()))
    })?;
    ensure_eq!(s.store.token_lookups(), lookups + 1, "the token was read");

    // Disabled: committed, then invalidated, before the answer.
    let disabled = s.switch(&admin, &bot.id, "disable")?.expect(200)?;
    ensure_eq!(disabled["status"], "Disabled");

    locker.send("ROLLBACK;")?;
    locker.close()?;
    let read = fill
        .join()
        .map_err(|_| "the fill panicked")??
        .ok_or("the fill found nothing")?;
    ensure_eq!(
        read.view.status,
        TokenStatus::Active,
        "the fill read the token before the change"
    );
    ensure!(
        s.gate.cached_entry(id).is_none(),
        "the stale read was cached"
    );
    ensure!(
        s.gate.stats.stale_fills.load(Ordering::SeqCst) > stale,
        "the discarded fill is counted"
    );

    // Every later decision sees the committed status.
    let runner = actix_web::rt::System::new();
    ensure_eq!(
        decide(&runner, &s.gate, &bot.value).err(),
        Some(GateError::Refused(RefusalReason::Failed(
            FailureReason::Disabled
        )))
    );
    unauthenticated(&authorize(&s, &bot.value, "/public/v1/billing/invoices")?)?;
    // And the fresh fill was cached.
    let cached = s
        .gate
        .cached_entry(id)
        .ok_or("not cached after a fresh fill")?;
    ensure_eq!(cached.view.status, TokenStatus::Disabled);
    Ok(())
}

/// Readers hammer the gate (fills racing invalidations) while the token is disabled and
/// enabled over and over: after each change is answered (committed and invalidated), the very
/// next decision follows it.
#[test]
fn decisions_follow_every_committed_change_under_concurrent_fills() -> TestResult {
    const CHANGES: usize = 30;
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        let bot = s.token(&acme, "Bot", &[BILLING])?;
        let stop = Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let gate = Arc::clone(&s.gate);
                let stop = Arc::clone(&stop);
                let value = bot.value.clone();
                std::thread::spawn(move || {
                    let runner = actix_web::rt::System::new();
                    let mut decisions = 0u64;
                    while !stop.load(Ordering::SeqCst) {
                        let _ = decide(&runner, &gate, &value);
                        decisions += 1;
                    }
                    decisions
                })
            })
            .collect();
        let fills = s.gate.stats.fills.load(Ordering::SeqCst);
        let runner = actix_web::rt::System::new();
        let checked = (|| -> TestResult {
            let mut active = true;
            for change in 0..CHANGES {
                let action = if active { "disable" } else { "enable" };
                s.switch(&admin, &bot.id, action)?.expect(200)?;
                active = !active;
                let decision = decide(&runner, &s.gate, &bot.value);
                match (active, &decision) {
                    (true, Ok(_))
                    | (
                        false,
                        Err(GateError::Refused(RefusalReason::Failed(FailureReason::Disabled))),
                    ) => {}
                    _ => {
                        return Err(format!(
                            "change {change} ({action}): decision {:?}",
                            decision.map(|entry| entry.view.status)
                        )
                        .into());
                    }
                }
                let reply = authorize(s, &bot.value, "/public/v1/billing/invoices")?;
                ensure_eq!(
                    reply.status,
                    if active { 200 } else { 401 },
                    "change {change} ({action})"
                );
            }
            Ok(())
        })();
        stop.store(true, Ordering::SeqCst);
        let mut decisions = 0;
        for reader in readers {
            decisions += reader.join().map_err(|_| "a reader panicked")?;
        }
        checked?;
        ensure!(decisions > 0, "the readers made no decision");
        ensure!(
            s.gate.stats.fills.load(Ordering::SeqCst) > fills,
            "the readers never filled"
        );
        Ok(())
    })
}

/// Set by the panic hook when a panic happens on the change feed's thread.
static FEED_PANICKED: AtomicBool = AtomicBool::new(false);

/// The last reference to a gate may be dropped on the feed's own thread (a change was being
/// applied when its owner let go): that thread must end quietly, not panic joining itself.
#[test]
fn a_gate_dropped_on_its_feed_thread_ends_quietly() -> TestResult {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() == Some("tollgate-listen") {
            FEED_PANICKED.store(true, Ordering::SeqCst);
        }
        previous(info);
    }));
    let database = tollgate_store::testing::TestDatabase::create()?;
    let keys = keys()?;
    let store = tollgate_store::Store::open(
        database.url(),
        keys.clone(),
        tollgate_store::PoolOptions::default(),
    )?;
    let gate = Gate::start(store.clone(), store.keyring(), Default::default())?;
    ensure_eq!(gate.regime(), tollgate_store::Regime::FeedHealthy);
    let listeners = || -> R<u64> {
        Ok(psql(
            database.url(),
            &format!(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = \
                 'tollgate-listener' AND datname = '{}'",
                database.name()
            ),
        )?
        .parse()?)
    };
    ensure_eq!(listeners()?, 1);

    // The feed applies a catalog change, and waits for the catalog (locked) meanwhile.
    let mut locker = Session::open(database.url())?;
    locker.send("BEGIN;")?;
    locker.send("LOCK TABLE modules IN ACCESS EXCLUSIVE MODE;")?;
    wait_for("the lock on modules", || {
        Ok((locks(database.url(), "modules", true)? > 0).then_some(()))
    })?;
    psql(database.url(), "NOTIFY tollgate_changes, 'modules'")?;
    wait_for("the feed to wait for the catalog", || {
        Ok((locks(database.url(), "modules", false)? > 0).then_some(()))
    })?;
    // Its thread now holds the last reference.
    drop(gate);
    locker.send("ROLLBACK;")?;
    locker.close()?;
    wait_for("the feed's thread to end", || {
        Ok((listeners()? == 0).then_some(()))
    })?;
    ensure!(
        !FEED_PANICKED.load(Ordering::SeqCst),
        "the feed's thread panicked"
    );
    Ok(())
}

/// When the LISTEN connection is killed, the gate keeps its cache: the feed drops to regime 2
/// (the change log's poll) until a new listener proves itself with a heartbeat, and a change
/// made meanwhile still reaches it — even while no new connection can be made.
#[test]
fn losing_the_listening_connection_keeps_the_cache_and_misses_no_change() -> TestResult {
    use tollgate_store::Regime;
    let s = Server::start(Backend::Postgres, Options::default())?;
    let acme = s.account(AccountType::Client, "Acme")?;
    let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
    let bot = s.token(&acme, "Bot", &[BILLING])?;
    let admin_url = tollgate_store::testing::postgres_server()?
        .admin_url()
        .to_owned();
    let database = database_name(&s)?;
    let kill = format!(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE application_name = 'tollgate-listener' AND datname = '{database}'"
    );
    let readyz = |query: &str| -> R<(u16, Value)> {
        let reply = s.call(Method::GET, &format!("/readyz{query}"), None, Body::None)?;
        Ok((reply.status, reply.json()?))
    };

    // 1. Killed, and back at once: nothing flushed, regime 1 again.
    settle(&s, &admin)?;
    settle(&s, &bot)?;
    let cached = s.gate.cached();
    ensure!(cached >= 2);
    ensure_eq!(readyz("?strict")?.0, 200);
    let listener = format!(
        "SELECT coalesce(string_agg(pid::text, ','), '') FROM pg_stat_activity \
         WHERE application_name = 'tollgate-listener' AND datname = '{database}'"
    );
    let before = psql(&admin_url, &listener)?;
    ensure_eq!(psql(&admin_url, &kill)?, "1", "one listening connection");
    wait_for("a new listener to prove itself", || {
        let now = psql(&admin_url, &listener)?;
        Ok((!now.is_empty()
            && now != before
            && !now.contains(',')
            && s.gate.regime() == Regime::FeedHealthy
            && readyz("?strict")?.0 == 200)
            .then_some(()))
    })?;
    ensure_eq!(s.gate.cached(), cached, "the cache was kept");
    granted(
        &authorize(&s, &bot.value, "/public/v1/billing/invoices")?,
        &bot,
        &acme,
        &["billing"],
    )?;

    // 2. Killed while no new connection can be made (the pool's open connections still work):
    // regime 2, ready but not strictly ready, and a change still reaches the gate by the poll.
    s.get(&admin, TOKENS)?.expect(200)?;
    psql(
        &admin_url,
        &format!("ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS false"),
    )?;
    let lost = (|| -> TestResult {
        ensure_eq!(psql(&admin_url, &kill)?, "1");
        wait_for("regime 2", || {
            Ok((s.gate.regime() == Regime::FeedLost).then_some(()))
        })?;
        let (status, body) = readyz("")?;
        ensure_eq!((status, &body["regime"]), (200, &json!(2)), "{body}");
        let (status, body) = readyz("?strict")?;
        ensure_eq!(status, 503, "{body}");
        ensure_eq!(body["regimeName"], "feed-lost");
        // Decisions go on from the cache.
        granted(
            &authorize(&s, &bot.value, "/public/v1/billing/invoices")?,
            &bot,
            &acme,
            &["billing"],
        )?;
        // A change whose notification goes nowhere.
        s.store.change_token::<tollgate_store::StoreError>(
            TokenId::parse(&bot.id)?,
            &acme.ctx(),
            |token, _| {
                token
                    .disable(acme.ctx().actor, OffsetDateTime::now_utc())
                    .map(Some)
                    .map_err(|error| tollgate_store::StoreError::Database(error.to_string()))
            },
        )?;
        wait_for("the poll to bring the change", || {
            Ok(
                (authorize(&s, &bot.value, "/public/v1/billing/invoices")?.status == 401)
                    .then_some(()),
            )
        })?;
        Ok(())
    })();
    psql(
        &admin_url,
        &format!("ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS true"),
    )?;
    lost?;
    wait_for("regime 1 again", || {
        Ok((s.gate.regime() == Regime::FeedHealthy).then_some(()))
    })?;
    unauthenticated(&authorize(&s, &bot.value, "/public/v1/billing/invoices")?)?;
    s.get(&admin, TOKENS)?.expect(200)?;
    ensure!(s.gate.cached() >= 1, "the cache fills again");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Unknown ids, the write-behind.

/// Forged well-formed values (random ids that do not exist) and malformed values are refused
/// without a single token lookup.
#[test]
fn unknown_ids_and_malformed_values_cause_no_lookup() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        // The caller of /v1/introspect, cached for good.
        settle(s, &admin)?;
        let lookups = s.store.token_lookups();
        let unknown = s.gate.stats.unknown.load(Ordering::SeqCst);

        let mut forgeries = 0;
        for _ in 0..200 {
            let reply = authorize(s, &forged(s), "/public/v1/billing/invoices")?;
            unauthenticated(&reply)?;
            forgeries += 1;
        }
        // The REST API (fewer than the limiter's threshold of failures).
        for _ in 0..5 {
            let value = forged(s);
            let token = Tok {
                id: value[4..17].to_owned(),
                value,
            };
            unauthenticated(&s.get(&token, TOKENS)?)?;
            unauthenticated(&s.get(&token, &token_path(&token.id))?)?;
            forgeries += 2;
        }
        // Introspection of a forged value.
        for _ in 0..5 {
            let body = s
                .post(&admin, INTROSPECT, json!({"token": forged(s)}))?
                .expect(200)?;
            ensure_eq!(body, json!({"active": false}));
            forgeries += 1;
        }
        ensure_eq!(
            s.store.token_lookups(),
            lookups,
            "a forged value reached the database"
        );
        ensure_eq!(
            s.gate.stats.unknown.load(Ordering::SeqCst),
            unknown + forgeries
        );

        // Malformed: refused before the id is even looked at.
        let malformed = [
            mistyped(&admin.value),
            format!("{}x", admin.value),
            admin.value[..admin.value.len() - 1].to_owned(),
            admin.value.replace("idt:", "idt-"),
            "idt:TKN-0000-0000:short".to_owned(),
            "garbage".to_owned(),
        ];
        for value in &malformed {
            unauthenticated(&authorize(s, value, "/public/v1/billing/invoices")?)?;
            let token = Tok {
                id: admin.id.clone(),
                value: value.clone(),
            };
            unauthenticated(&s.get(&token, TOKENS)?)?;
        }
        ensure_eq!(
            s.store.token_lookups(),
            lookups,
            "a malformed value reached the database"
        );
        ensure_eq!(
            s.gate.stats.unknown.load(Ordering::SeqCst),
            unknown + forgeries,
            "malformed values are refused before the id set"
        );
        // The real token is still served.
        s.get(&admin, TOKENS)?.expect(200)?;
        Ok(())
    })
}

fn last_access(body: &Value) -> R<Option<OffsetDateTime>> {
    body.get("lastAccessAt")
        .map(|at| {
            let text = at.as_str().ok_or("lastAccessAt is not a string")?;
            OffsetDateTime::parse(text, &Rfc3339).map_err(|error| format!("{text}: {error}").into())
        })
        .transpose()
}

/// Uses are written behind (`lastAccessAt`, forward-only); a disabled token used twice within
/// a minute gets exactly one `authentication-failed` record.
#[test]
fn uses_and_failures_are_written_behind() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        let bot = s.token(&acme, "Bot", &[BILLING])?;
        let failing = s.token(&acme, "Failing", &[BILLING])?;

        let body = s.get(&admin, &token_path(&bot.id))?.expect(200)?;
        ensure_eq!(last_access(&body)?, None, "never used");
        let before = OffsetDateTime::now_utc() - time::Duration::seconds(1);
        for _ in 0..3 {
            authorize(s, &bot.value, "/public/v1/billing/invoices")?.status_is(200)?;
        }
        s.gate.flush()?;
        ensure_eq!(s.gate.writes.pending(), 0);
        let body = s.get(&admin, &token_path(&bot.id))?.expect(200)?;
        let at = last_access(&body)?.ok_or_else(|| format!("no lastAccessAt: {body}"))?;
        let after = OffsetDateTime::now_utc() + time::Duration::seconds(1);
        ensure!(before <= at && at <= after, "lastAccessAt {at}");
        // Forward-only: an older use does not move it back.
        let id = TokenId::parse(&bot.id)?;
        ensure_eq!(
            s.store
                .touch_tokens(&[(id, at - time::Duration::hours(1))])?,
            0
        );
        let body = s.get(&admin, &token_path(&bot.id))?.expect(200)?;
        ensure_eq!(last_access(&body)?, Some(at));
        let later = at + time::Duration::seconds(1);
        ensure_eq!(s.store.touch_tokens(&[(id, later)])?, 1);
        ensure_eq!(
            s.store.touch_tokens(&[(id, later)])?,
            0,
            "the same time again"
        );
        let body = s.get(&admin, &token_path(&bot.id))?.expect(200)?;
        ensure_eq!(last_access(&body)?, Some(later));

        // A disabled token, used twice within a minute: one record.
        s.switch(&admin, &failing.id, "disable")?.expect(200)?;
        let failures = |s: &Server| -> R<usize> {
            Ok(events_of(s, &admin, &failing.id)?
                .iter()
                .filter(|event| *event == "authentication-failed")
                .count())
        };
        for _ in 0..2 {
            unauthenticated(&authorize(
                s,
                &failing.value,
                "/public/v1/billing/invoices",
            )?)?;
        }
        s.gate.flush()?;
        ensure_eq!(failures(s)?, 1);
        unauthenticated(&authorize(
            s,
            &failing.value,
            "/public/v1/billing/invoices",
        )?)?;
        s.gate.flush()?;
        ensure_eq!(failures(s)?, 1, "at most one record per token per minute");
        let body = s.get(&admin, &token_path(&failing.id))?.expect(200)?;
        ensure_eq!(last_access(&body)?, None, "a refused use is no access");
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------
// The endpoints and the middleware.

/// One request to `/v1/authorize`, byte for byte: `(header name, value)` pairs.
fn forward(s: &Server, method: &str, headers: &[(&str, Vec<u8>)]) -> R<Reply> {
    let mut request = format!("{method} {AUTHORIZE} HTTP/1.1\r\nHost: localhost\r\n").into_bytes();
    for (name, value) in headers {
        request.extend_from_slice(name.as_bytes());
        request.extend_from_slice(b": ");
        request.extend_from_slice(value);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"Content-Length: 0\r\nConnection: close\r\n\r\n");
    s.raw(&request)
}

/// `/v1/authorize` answers 200, 401 or 403, as expected, to every input of a hostile table.
#[test]
fn forward_auth_answers_only_200_401_403() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(
            &acme,
            "Administrator",
            &[ACCESS_MANAGEMENT, MARKETPLACE, BILLING],
        )?;
        let shop = s.token(&acme, "Shop robot", &[MARKETPLACE, BILLING])?;
        let disabled = s.token(&acme, "Disabled robot", &[MARKETPLACE, BILLING])?;
        let deleted = s.token(&acme, "Deleted robot", &[MARKETPLACE, BILLING])?;
        s.switch(&admin, &disabled.id, "disable")?.expect(200)?;
        s.delete(&admin, &token_path(&deleted.id))?.status_is(204)?;
        let wrong_secret = TokenValue::generate(TokenId::parse(&shop.id)?, &mut OsRng)
            .expose_secret()
            .to_owned();
        let unknown = forged(s);
        let modules = ["marketplace", "billing"];

        let bearer = |value: &str| format!("Bearer {value}").into_bytes();
        let good = bearer(&shop.value);
        let billing = b"/public/v1/billing/invoices".to_vec();
        // (what, Authorization, X-Forwarded-Proto, X-Forwarded-Uri, expected status and code)
        type Case = (
            String,
            Option<Vec<u8>>,
            Option<&'static str>,
            Option<Vec<u8>>,
            u16,
            &'static str,
        );
        let mut cases: Vec<Case> = Vec::new();
        let mut credential = |what: &str, auth: Option<Vec<u8>>, status: u16| {
            let code = if status == 200 { "" } else { "unauthenticated" };
            cases.push((
                what.into(),
                auth,
                Some("https"),
                Some(billing.clone()),
                status,
                code,
            ));
        };
        credential("valid", Some(good.clone()), 200);
        credential(
            "scheme in lower case",
            Some(format!("bearer {}", shop.value).into_bytes()),
            200,
        );
        credential("no Authorization", None, 401);
        credential("empty Authorization", Some(Vec::new()), 401);
        credential("Bearer alone", Some(b"Bearer".to_vec()), 401);
        credential("Bearer and a space", Some(b"Bearer ".to_vec()), 401);
        credential("garbled", Some(b"Bearer !!garbled!!".to_vec()), 401);
        credential(
            "the value without a scheme",
            Some(shop.value.clone().into_bytes()),
            401,
        );
        credential("Basic", Some(b"Basic dXNlcjpwYXNzd29yZA==".to_vec()), 401);
        credential(
            "Basic with the value",
            Some(format!("Basic {}", shop.value).into_bytes()),
            401,
        );
        credential("overlong", Some(bearer(&"A".repeat(8 * 1024))), 401);
        credential(
            "overlong after a valid value",
            Some(bearer(&format!("{}{}", shop.value, "A".repeat(4096)))),
            401,
        );
        credential(
            "two values",
            Some(bearer(&format!("{} {}", shop.value, shop.value))),
            401,
        );
        credential(
            "a mistyped checksum",
            Some(bearer(&mistyped(&shop.value))),
            401,
        );
        credential("a wrong secret", Some(bearer(&wrong_secret)), 401);
        credential("an unknown id", Some(bearer(&unknown)), 401);
        credential("a disabled token", Some(bearer(&disabled.value)), 401);
        credential("a deleted token", Some(bearer(&deleted.value)), 401);
        credential("not UTF-8", Some(b"Bearer \xff\xfe\xfd".to_vec()), 401);

        let mut transport = |what: &str,
                             auth: &[u8],
                             proto: Option<&'static str>,
                             status: u16,
                             code: &'static str| {
            cases.push((
                what.into(),
                Some(auth.to_vec()),
                proto,
                Some(billing.clone()),
                status,
                code,
            ));
        };
        transport(
            "X-Forwarded-Proto: http",
            &good,
            Some("http"),
            403,
            "https-required",
        );
        transport(
            "X-Forwarded-Proto: http, invalid token",
            b"Bearer nope",
            Some("http"),
            403,
            "https-required",
        );
        transport("no X-Forwarded-Proto", &good, None, 403, "https-required");
        transport(
            "X-Forwarded-Proto: ftp",
            &good,
            Some("ftp"),
            403,
            "https-required",
        );
        transport("X-Forwarded-Proto: HTTPS", &good, Some("HTTPS"), 200, "");

        let mut path = |what: &str, uri: &[u8], status: u16| {
            let code = if status == 200 { "" } else { "forbidden" };
            cases.push((
                what.into(),
                Some(good.clone()),
                Some("https"),
                Some(uri.to_vec()),
                status,
                code,
            ));
        };
        path("a granted path", b"/public/v1/commerce/orders", 200);
        path("a module's root", b"/public/v1/commerce", 200);
        path(
            "commerce-x is not commerce",
            b"/public/v1/commerce-x/orders",
            403,
        );
        path("commercex is not commerce", b"/public/v1/commercex", 403);
        path(
            "segments are case-sensitive",
            b"/public/v1/Commerce/orders",
            403,
        );
        path(
            "dot segments, even into a granted module (the upstream gets the raw path)",
            b"/public/v1/helpdesk/../billing/x",
            403,
        );
        path(
            "dot segments out of a granted module",
            b"/public/v1/billing/../helpdesk/x",
            403,
        );
        path(
            "dot segments above /public/v1",
            b"/public/v1/billing/../../../billing",
            403,
        );
        path(
            "dot segments above the root",
            b"/../../public/v1/billing",
            403,
        );
        path("single dots", b"/public/./v1/./billing/.", 403);
        path(
            "encoded dot segments out",
            b"/public/v1/billing/%2e%2e/helpdesk/x",
            403,
        );
        path(
            "encoded dot segments in",
            b"/public/v1/helpdesk/%2E%2E/billing",
            403,
        );
        path(
            "a half-encoded dot segment",
            b"/public/v1/helpdesk/.%2e/billing",
            403,
        );
        path("an encoded single dot", b"/public/v1/%2e/billing", 403);
        path(
            "a path parameter dot segment (Tomcat reads ..; as ..)",
            b"/public/v1/billing/..;/helpdesk/x",
            403,
        );
        path(
            "an encoded dot segment with a parameter",
            b"/public/v1/billing/%2e%2e;/helpdesk/x",
            403,
        );
        path(
            "a session id parameter",
            b"/public/v1/billing;jsessionid=x/invoices",
            403,
        );
        path(
            "a session id parameter at the end",
            b"/public/v1/billing/invoices;jsessionid=x",
            403,
        );
        path(
            "an encoded semicolon",
            b"/public/v1/billing/..%3b/helpdesk/x",
            403,
        );
        path(
            "a repeated slash before ..",
            b"/public/v1/helpdesk//../billing/x",
            403,
        );
        path("a trailing dot", b"/public/v1/billing./x", 403);
        path("three dots", b"/public/v1/billing/.../helpdesk", 403);
        path("a trailing space", b"/public/v1/billing/x%20", 403);
        path(
            "an overlong dot (%c0%ae)",
            b"/public/v1/helpdesk/%c0%ae%c0%ae/billing",
            403,
        );
        path(
            "an overlong slash (%c0%af)",
            b"/public/v1/billing%c0%afx",
            403,
        );
        path(
            "a double-encoded dot segment",
            b"/public/v1/billing/%252e%252e/helpdesk",
            403,
        );
        path(
            "fullwidth dots",
            b"/public/v1/billing/%ef%bc%8e%ef%bc%8e/helpdesk",
            403,
        );
        path("an encoded C1 control", b"/public/v1/billing/x%c2%85", 403);
        path(
            "encoded dot segments above",
            b"/public/v1/%2e%2e/%2e%2e/billing",
            403,
        );
        path(
            "an encoded slash",
            b"/public/v1/billing%2F..%2Fhelpdesk",
            403,
        );
        path(
            "an encoded slash in a granted path",
            b"/public/v1/billing/a%2fb",
            403,
        );
        path(
            "an encoded backslash",
            b"/public/v1/billing/..%5Chelpdesk",
            403,
        );
        path("a backslash", b"/public/v1/billing\\..\\helpdesk", 403);
        path("an encoded NUL", b"/public/v1/billing/x%00", 403);
        path("an encoded newline", b"/public/v1/billing/x%0A", 403);
        path("an invalid escape", b"/public/v1/billing/%zz", 403);
        path("a truncated escape", b"/public/v1/billing/%2", 403);
        path("a lone percent", b"/public/v1/billing/%", 403);
        path(
            "an escape that is not UTF-8",
            b"/public/v1/billing/%FF",
            403,
        );
        path(
            "an escaped UTF-8 character",
            b"/public/v1/billing/caf%C3%A9",
            200,
        );
        path(
            "raw bytes that are not UTF-8",
            b"/public/v1/billing/\xff\xfe",
            403,
        );
        path("raw UTF-8", "/public/v1/billing/café".as_bytes(), 403);
        path("encoded segment names", b"/public/v1/%62illing/x", 200);
        path("repeated slashes", b"//public///v1//billing//x", 200);
        path(
            "a query naming another path",
            b"/public/v1/billing?next=/public/v1/helpdesk",
            200,
        );
        path(
            "a query hiding the real path",
            b"/public/v1/helpdesk?/public/v1/billing",
            403,
        );
        path("a fragment", b"/public/v1/helpdesk#/public/v1/billing", 403);
        path(
            "an 8 KB granted path",
            format!("/public/v1/billing/{}", "a".repeat(8 * 1024)).as_bytes(),
            200,
        );
        path(
            "8 KB of segments",
            format!("/public/v1/{}", "a/".repeat(4 * 1024)).as_bytes(),
            403,
        );
        path(
            "8 KB of dot segments",
            format!("/{}public/v1/billing", "../".repeat(2800)).as_bytes(),
            403,
        );
        path("outside /public/v1", b"/private/v1/billing", 403);
        path("another version", b"/public/v2/billing", 403);
        path("/public/v1 itself", b"/public/v1", 403);
        path("the root", b"/", 403);
        path("empty", b"", 403);
        path("relative", b"public/v1/billing", 403);
        path(
            "an absolute URL",
            b"https://api.example/public/v1/billing",
            403,
        );
        path(
            "a network-path reference",
            b"//api.example/public/v1/billing",
            403,
        );
        path("an asterisk", b"*", 403);
        path(
            "a path no module grants",
            b"/public/v1/warehouse/items",
            403,
        );
        path(
            "a module the token lacks",
            b"/public/v1/helpdesk/cases",
            403,
        );
        path(
            "a module of another account type",
            b"/public/v1/catalog/products",
            403,
        );
        path(
            "access-management, lacking",
            b"/public/v1/accounts/api-tokens",
            403,
        );
        path("a prefix of a module's path", b"/public/v1/accounts", 403);

        cases.push((
            "no X-Forwarded-Uri".into(),
            Some(good.clone()),
            Some("https"),
            None,
            403,
            "forbidden",
        ));
        cases.push((
            "no X-Forwarded-Uri, invalid token".into(),
            Some(b"Bearer nope".to_vec()),
            Some("https"),
            None,
            401,
            "unauthenticated",
        ));
        cases.push((
            "a forbidden path, unknown token".into(),
            Some(bearer(&unknown)),
            Some("https"),
            Some(b"/public/v1/helpdesk".to_vec()),
            401,
            "unauthenticated",
        ));

        for (what, auth, proto, uri, status, code) in &cases {
            let mut headers: Vec<(&str, Vec<u8>)> = Vec::new();
            if let Some(auth) = auth {
                headers.push(("Authorization", auth.clone()));
            }
            if let Some(proto) = proto {
                headers.push(("X-Forwarded-Proto", proto.as_bytes().to_vec()));
            }
            headers.push(("X-Forwarded-Method", b"GET".to_vec()));
            if let Some(uri) = uri {
                headers.push(("X-Forwarded-Uri", uri.clone()));
            }
            let reply = forward(s, "GET", &headers)?;
            let checked = match status {
                200 => granted(&reply, &shop, &acme, &modules),
                401 => unauthenticated(&reply),
                _ => reply.problem(*status, code).map(drop),
            };
            checked.map_err(|error| format!("{what}: {error}"))?;
        }

        // X-Original-URI (nginx) works alone; X-Forwarded-Uri wins when both are sent.
        let with = |uri_headers: &[(&'static str, &[u8])]| -> R<Reply> {
            let mut headers: Vec<(&str, Vec<u8>)> = vec![
                ("Authorization", good.clone()),
                ("X-Forwarded-Proto", b"https".to_vec()),
            ];
            headers.extend(
                uri_headers
                    .iter()
                    .map(|(name, value)| (*name, value.to_vec())),
            );
            forward(s, "GET", &headers)
        };
        granted(
            &with(&[("X-Original-URI", b"/public/v1/billing/x")])?,
            &shop,
            &acme,
            &modules,
        )?;
        with(&[("X-Original-URI", b"/public/v1/helpdesk/x")])?.problem(403, "forbidden")?;
        with(&[
            ("X-Forwarded-Uri", b"/public/v1/helpdesk/x"),
            ("X-Original-URI", b"/public/v1/billing/x"),
        ])?
        .problem(403, "forbidden")?;
        // An unusable X-Forwarded-Uri is refused, not replaced by X-Original-URI.
        with(&[
            ("X-Forwarded-Uri", b"/public/v1/helpdesk/\xff"),
            ("X-Original-URI", b"/public/v1/billing/x"),
        ])?
        .problem(403, "forbidden")?;
        // A forwarded header sent twice (a client's copy may be among them) is refused.
        let (billing_x, helpdesk_x): (&[u8], &[u8]) =
            (b"/public/v1/billing/x", b"/public/v1/helpdesk/x");
        for uris in [[billing_x, helpdesk_x], [helpdesk_x, billing_x]] {
            with(&[("X-Forwarded-Uri", uris[0]), ("X-Forwarded-Uri", uris[1])])?
                .problem(403, "forbidden")?;
        }
        for protos in [["https", "http"], ["http", "https"]] {
            let headers: Vec<(&str, Vec<u8>)> = vec![
                ("Authorization", good.clone()),
                ("X-Forwarded-Proto", protos[0].as_bytes().to_vec()),
                ("X-Forwarded-Proto", protos[1].as_bytes().to_vec()),
                ("X-Forwarded-Uri", billing.clone()),
            ];
            forward(s, "GET", &headers)?.problem(403, "https-required")?;
        }

        // Every method (the forwarded request's method does not matter either).
        for method in [
            "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND",
        ] {
            let method = Method::from_bytes(method.as_bytes())?;
            let request = |value: Option<&str>, uri: &str| {
                let builder = s
                    .client
                    .request(method.clone(), s.url(AUTHORIZE))
                    .header("x-forwarded-proto", "https")
                    .header("x-forwarded-method", method.as_str())
                    .header("x-forwarded-uri", uri);
                match value {
                    Some(value) => builder.bearer_auth(value),
                    None => builder,
                }
            };
            let reply = s.send(request(Some(&shop.value), "/public/v1/billing/x"))?;
            granted(&reply, &shop, &acme, &modules)
                .map_err(|error| format!("{method}: {error}"))?;
            let reply = s.send(request(None, "/public/v1/billing/x"))?;
            ensure_eq!(reply.status, 401, "{method} without a token");
            let reply = s.send(request(Some(&shop.value), "/public/v1/helpdesk/x"))?;
            ensure_eq!(reply.status, 403, "{method} of a module the token lacks");
        }
        Ok(())
    })
}

/// `POST /v1/introspect`: the caller's own token authenticates it; the answer says whether the
/// value is active and, for a path, whether it is allowed; nothing more for an inactive value.
#[test]
fn introspection() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        let caller = s.token(&acme, "Resource server", &[HELPDESK])?;
        let shop = s.token(&acme, "Shop robot", &[MARKETPLACE, BILLING])?;
        let disabled = s.token(&acme, "Disabled robot", &[BILLING])?;
        let deleted = s.token(&acme, "Deleted robot", &[BILLING])?;
        s.switch(&admin, &disabled.id, "disable")?.expect(200)?;
        s.delete(&admin, &token_path(&deleted.id))?.status_is(204)?;

        let body = s
            .post(
                &caller,
                INTROSPECT,
                json!({"token": shop.value, "method": "GET", "path": "/public/v1/billing/invoices"}),
            )?
            .expect(200)?;
        ensure_eq!(body["active"], true);
        ensure_eq!(body["tokenId"], shop.id.as_str());
        ensure_eq!(body["accountId"], acme.id().as_str());
        ensure_eq!(body["accountType"], "Client");
        ensure_eq!(body["allowed"], true);
        let mut modules: Vec<&str> = body["modules"]
            .as_array()
            .ok_or("no modules")?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        modules.sort_unstable();
        ensure_eq!(modules, vec!["billing", "marketplace"]);
        for (path, allowed) in [
            ("/public/v1/commerce/orders", true),
            ("/public/v1/helpdesk/cases", false),
            ("/public/v1/commerce-x/orders", false),
            ("/public/v1/billing/%2e%2e/helpdesk", false),
            ("/public/v1/billing%2Fx", false),
            ("/elsewhere", false),
        ] {
            let body = s
                .post(
                    &caller,
                    INTROSPECT,
                    json!({"token": shop.value, "path": path}),
                )?
                .expect(200)?;
            ensure_eq!(body["active"], true, "{path}");
            ensure_eq!(body["allowed"], allowed, "{path}");
        }
        let body = s
            .post(&caller, INTROSPECT, json!({"token": shop.value}))?
            .expect(200)?;
        ensure_eq!(body["active"], true);
        ensure!(
            body.get("allowed").is_none(),
            "allowed without a path: {body}"
        );

        for (what, value) in [
            ("unknown", forged(s)),
            ("disabled", disabled.value.clone()),
            ("deleted", deleted.value.clone()),
            ("mistyped", mistyped(&shop.value)),
            ("garbage", "garbage".to_owned()),
            ("with its scheme", format!("Bearer {}", shop.value)),
        ] {
            let body = s
                .post(
                    &caller,
                    INTROSPECT,
                    json!({"token": value, "path": "/public/v1/billing/invoices"}),
                )?
                .expect(200)?;
            ensure_eq!(body, json!({"active": false}), "{what}");
        }

        // The caller must authenticate.
        let anonymous = s.call(
            Method::POST,
            INTROSPECT,
            None,
            Body::Json(json!({"token": shop.value})),
        )?;
        unauthenticated(&anonymous)?;
        for value in [disabled.value.clone(), forged(s), mistyped(&caller.value)] {
            let token = Tok {
                id: String::new(),
                value,
            };
            unauthenticated(&s.post(&token, INTROSPECT, json!({"token": shop.value}))?)?;
        }
        Ok(())
    })
}

/// `RequireModule` around the routes of a small actix app: a token holding the module passes
/// and the handler sees `Authorized`; a token without it gets 403; no token or an unknown,
/// disabled or malformed one gets 401; the handler runs only when allowed.
#[test]
fn require_module_middleware() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        let billing = s.token(&acme, "Billing robot", &[BILLING, HELPDESK])?;
        let helpdesk = s.token(&acme, "Helpdesk robot", &[HELPDESK])?;
        let disabled = s.token(&acme, "Disabled robot", &[BILLING])?;
        s.switch(&admin, &disabled.id, "disable")?.expect(200)?;
        let unknown = forged(s);
        let gate = Arc::clone(&s.gate);
        let account_id = acme.id();

        actix_web::rt::System::new().block_on(async move {
            use actix_web::test;
            let calls = web::Data::new(AtomicUsize::new(0));
            let app = test::init_service(
                App::new().app_data(calls.clone()).service(
                    web::scope("/public/v1/billing")
                        .wrap(RequireModule::new(gate, "billing"))
                        .route(
                            "/invoices",
                            web::get().to(
                                |req: HttpRequest, calls: web::Data<AtomicUsize>| async move {
                                    calls.fetch_add(1, Ordering::SeqCst);
                                    let authorized = req.extensions().get::<Authorized>().cloned();
                                    match authorized {
                                        Some(who) => HttpResponse::Ok().json(json!({
                                            "tokenId": who.token_id,
                                            "accountId": who.account_id,
                                            "accountType": who.account_type,
                                            "modules": who.modules,
                                        })),
                                        None => HttpResponse::InternalServerError().finish(),
                                    }
                                },
                            ),
                        ),
                ),
            )
            .await;
            let call = |value: Option<String>| {
                let mut request = test::TestRequest::get().uri("/public/v1/billing/invoices");
                if let Some(value) = value {
                    request = request.insert_header(("authorization", value));
                }
                test::call_service(&app, request.to_request())
            };

            let response = call(Some(format!("Bearer {}", billing.value))).await;
            ensure_eq!(response.status().as_u16(), 200);
            let body: Value = serde_json::from_slice(&test::read_body(response).await)?;
            ensure_eq!(body["tokenId"], billing.id.as_str());
            ensure_eq!(body["accountId"], account_id.as_str());
            ensure_eq!(body["accountType"], "Client");
            let mut modules: Vec<&str> = body["modules"]
                .as_array()
                .ok_or("no modules")?
                .iter()
                .filter_map(Value::as_str)
                .collect();
            modules.sort_unstable();
            ensure_eq!(modules, vec!["billing", "helpdesk"]);
            ensure_eq!(calls.load(Ordering::SeqCst), 1);

            let response = call(Some(format!("Bearer {}", helpdesk.value))).await;
            ensure_eq!(response.status().as_u16(), 403, "a token without billing");
            for (what, value) in [
                ("no token", None),
                ("unknown", Some(format!("Bearer {unknown}"))),
                ("disabled", Some(format!("Bearer {}", disabled.value))),
                (
                    "mistyped",
                    Some(format!("Bearer {}", mistyped(&billing.value))),
                ),
                ("Basic", Some("Basic dXNlcjpwYXNzd29yZA==".to_owned())),
            ] {
                let response = call(value).await;
                ensure_eq!(response.status().as_u16(), 401, "{what}");
                let challenge = response
                    .headers()
                    .get("www-authenticate")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                ensure!(challenge.starts_with("Bearer"), "{what}: {challenge:?}");
            }
            // Two Authorization headers, both valid: refused like a wrong one.
            let bearer = format!("Bearer {}", billing.value);
            let twice = test::TestRequest::get()
                .uri("/public/v1/billing/invoices")
                .append_header(("authorization", bearer.as_str()))
                .append_header(("authorization", bearer.as_str()));
            let response = test::call_service(&app, twice.to_request()).await;
            ensure_eq!(response.status().as_u16(), 401, "two Authorization headers");
            ensure_eq!(
                calls.load(Ordering::SeqCst),
                1,
                "the handler ran for a refused request"
            );
            Ok::<(), Error>(())
        })
    })
}

/// Over [`THRESHOLD`] failed attempts from one address within the window: the REST API
/// answers 429 to further failures, while a valid token from the same address is served.
#[test]
fn too_many_failures_from_one_address_get_429() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        let bad = Tok {
            id: String::new(),
            value: mistyped(&admin.value),
        };
        for attempt in 0..THRESHOLD {
            unauthenticated(&s.get(&bad, TOKENS)?)
                .map_err(|error| format!("attempt {attempt}: {error}"))?;
        }
        s.get(&bad, TOKENS)?.problem(429, "too-many-requests")?;
        let unknown = Tok {
            id: String::new(),
            value: forged(s),
        };
        s.get(&unknown, TOKENS)?.problem(429, "too-many-requests")?;
        s.call(Method::GET, TOKENS, None, Body::None)?
            .problem(429, "too-many-requests")?;
        // The valid token is still served, from the same address.
        s.get(&admin, TOKENS)?.expect(200)?;
        s.get(&admin, &token_path(&admin.id))?.expect(200)?;
        s.get(&bad, TOKENS)?.problem(429, "too-many-requests")?;
        // The forward-auth endpoint never answers 429.
        unauthenticated(&authorize(s, &bad.value, "/public/v1/billing/x")?)?;
        authorize(s, &admin.value, "/public/v1/billing/x")?.status_is(200)?;
        Ok(())
    })
}
