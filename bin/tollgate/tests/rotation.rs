//! Rotating the server key as `docs/OPERATIONS.md` says (SPEC §8): add the new key as a
//! previous key everywhere → make it current everywhere → `tollgate keys rotate` → `tollgate
//! keys status` → drop the old key only when nothing depends on it. On PostgreSQL with two
//! instances serving throughout (each restart starts the replacement before stopping the old
//! one) and not one request refused; on SQLite with its one server and the CLI, sessions and
//! sign-in tickets of the old key living out their time.

mod server;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tollgate_domain::ServerKey;
use tollgate_domain::ticket::{Session, Ticket};
use tollgate_store::testing::TestDatabase;

use crate::server::*;

/// The key rotated to (SECRET_KEY is the old one).
const NEW_KEY: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
const ADMIN_PAGE: &str = "/administration/settings/api-tokens";

fn key_id(key: &str) -> R<String> {
    Ok(ServerKey::from_base64(key)
        .map_err(|e| e.to_string())?
        .derive()
        .id()
        .to_string())
}

/// Requests sent to every live instance, all the time, counting what was refused.
struct Load {
    targets: Arc<Mutex<Vec<(u16, reqwest::blocking::Client)>>>,
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicU64>,
    refused: Arc<Mutex<Vec<String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start(values: Vec<String>) -> Load {
        let targets: Arc<Mutex<Vec<(u16, reqwest::blocking::Client)>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicU64::new(0));
        let refused: Arc<Mutex<Vec<String>>> = Arc::default();
        let thread = {
            let (targets, stop, answered, refused) = (
                Arc::clone(&targets),
                Arc::clone(&stop),
                Arc::clone(&answered),
                Arc::clone(&refused),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let live = targets.lock().map(|t| t.clone()).unwrap_or_default();
                    for (port, client) in live {
                        for value in &values {
                            let sent = client
                                .get(format!("https://localhost:{port}/v1/authorize"))
                                .bearer_auth(value)
                                .header("x-forwarded-proto", "https")
                                .header("x-forwarded-method", "GET")
                                .header("x-forwarded-uri", BILLING_PATH)
                                .send();
                            // An instance that stopped between the list and the request answers
                            // nothing: that is not a refusal.
                            let Ok(response) = sent else { continue };
                            answered.fetch_add(1, Ordering::SeqCst);
                            if response.status() != 200
                                && let Ok(mut refused) = refused.lock()
                            {
                                refused.push(format!("port {port}: {}", response.status()));
                            }
                        }
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        Load {
            targets,
            stop,
            answered,
            refused,
            thread: Some(thread),
        }
    }

    fn add(&self, instance: &Instance) -> R<()> {
        let client = instance.client()?.clone();
        self.targets
            .lock()
            .map_err(|_| "poisoned")?
            .push((instance.port, client));
        Ok(())
    }

    fn remove(&self, instance: &Instance) -> R<()> {
        self.targets
            .lock()
            .map_err(|_| "poisoned")?
            .retain(|(port, _)| *port != instance.port);
        Ok(())
    }

    /// Stops the load; how many requests were answered, or what was refused.
    fn finish(mut self) -> R<u64> {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.join().map_err(|_| "the load thread panicked")?;
        }
        let refused = self.refused.lock().map_err(|_| "poisoned")?.clone();
        if !refused.is_empty() {
            return Err(format!("{} requests refused: {refused:?}", refused.len()).into());
        }
        Ok(self.answered.load(Ordering::SeqCst))
    }
}

/// Replaces `old` with an instance of `site` on the same data folder: the new one serves
/// before the old one stops.
fn replace(load: &Load, site: &Site, dir: &std::path::Path, old: Instance) -> R<Instance> {
    let new = Instance::start(site, dir)?;
    load.add(&new)?;
    load.remove(&old)?;
    old.stop()?;
    Ok(new)
}

fn keys_status(site: &Site, dir: &std::path::Path) -> R<Value> {
    site.cli(dir, &["keys", "status", "--json"])
}

fn key_entry<'a>(status: &'a Value, id: &str) -> R<&'a Value> {
    status["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|key| key["id"] == id))
        .ok_or_else(|| format!("no key {id} in {status}").into())
}

/// A token made with `TOLLGATE_REVEAL=never`: no sealed copy, so only a use moves it.
fn never_token(site: &Site, dir: &std::path::Path, account: &str) -> R<String> {
    let output = site
        .command(
            dir,
            &[
                "tokens",
                "create",
                "--account",
                account,
                "--name",
                "Never",
                "--modules",
                "billing",
                "--json",
            ],
        )
        .env("TOLLGATE_REVEAL", "never")
        .output()?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned().into());
    }
    let created: Value = serde_json::from_slice(&output.stdout)?;
    text(&created, "/token")
}

#[test]
fn a_rolling_rotation_on_postgresql_refuses_no_request() -> R<()> {
    let database = TestDatabase::create()?;
    let (old_id, new_id) = (key_id(SECRET_KEY)?, key_id(NEW_KEY)?);
    let old = Site {
        database_url: database.url().to_owned(),
        secret_key: Some(SECRET_KEY),
        previous_keys: None,
        env: Vec::new(),
    };
    let cli_dir = tempfile::tempdir()?;
    let (account, _, admin) = old.account_and_token(cli_dir.path(), "access-management,billing")?;
    let never = never_token(&old, cli_dir.path(), &account)?;
    let (dir_a, dir_b) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let a = Instance::start(&old, dir_a.path())?;
    let b = Instance::start(&old, dir_b.path())?;
    let load = Load::start(vec![admin.clone(), never.clone()]);
    load.add(&a)?;
    load.add(&b)?;

    // 1. The new key as a previous key everywhere.
    let staged = Site {
        previous_keys: Some(NEW_KEY),
        env: Vec::new(),
        ..old.clone()
    };
    let a = replace(&load, &staged, dir_a.path(), a)?;
    let b = replace(&load, &staged, dir_b.path(), b)?;

    // 2. The new key current everywhere. While B still runs the old key as current, a token
    //    made through A (under the new key) is accepted by B.
    let current = Site {
        secret_key: Some(NEW_KEY),
        previous_keys: Some(SECRET_KEY),
        env: Vec::new(),
        ..old.clone()
    };
    let a = replace(&load, &current, dir_a.path(), a)?;
    let created = a.expect(
        201,
        a.call(
            reqwest::Method::POST,
            &admin,
            TOKENS,
            Some(json!({"name": "Made under the new key", "modules": [{"id": "MOD-1104"}]})),
        )?,
    )?;
    let robot = text(&created, "/token")?;
    wait_until("B to accept a token hashed under the new key", || {
        Ok(b.authorize(&robot, BILLING_PATH)? == 200)
    })?;
    let b = replace(&load, &current, dir_b.path(), b)?;
    let status = keys_status(&current, cli_dir.path())?;
    assert!(
        key_entry(&status, &old_id)?["retiredAt"].is_string(),
        "{status}"
    );

    // 3. keys rotate, while both serve.
    let rotated = current.cli(cli_dir.path(), &["keys", "rotate", "--json"])?;
    assert_eq!(
        rotated["resealed"], 1,
        "the administrator's token: {rotated}"
    );
    assert!(
        rotated["waiting"].as_u64() <= Some(1),
        "at most the token without a copy (it may have moved already): {rotated}"
    );

    // 4. The token without a copy moves when it is used (the load uses it all the time).
    wait_until(
        "the write-behind to move the last token to the new key",
        || {
            let status = keys_status(&current, cli_dir.path())?;
            Ok(key_entry(&status, &old_id)?["tokens"] == 0)
        },
    )?;
    let status = keys_status(&current, cli_dir.path())?;
    let old_key = key_entry(&status, &old_id)?;
    assert_eq!(old_key["sealedCopies"], 0, "{status}");
    assert_eq!(old_key["rowMacs"], 0, "{status}");
    assert!(old_key["auditRecords"].as_u64() > Some(0), "{status}");
    assert_eq!(old_key["canBeDropped"], false, "{status}");
    assert_eq!(key_entry(&status, &new_id)?["role"], "current");

    // 5. Dropping the old key is refused while its audit records need it.
    let without_old = Site {
        previous_keys: None,
        env: Vec::new(),
        ..current.clone()
    };
    let output = without_old
        .command(cli_dir.path(), &["accounts", "list"])
        .output()?;
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("audit records"));
    let verified = current.cli(cli_dir.path(), &["audit", "verify", "--json"])?;
    assert_eq!(verified["intact"], true, "{verified}");

    for instance in [&a, &b] {
        for value in [&admin, &never, &robot] {
            assert_eq!(instance.authorize(value, BILLING_PATH)?, 200);
        }
        instance.expect(
            200,
            instance.call(reqwest::Method::GET, &admin, TOKENS, None)?,
        )?;
    }
    let answered = load.finish()?;
    assert!(answered > 20, "only {answered} requests answered");
    a.stop()?;
    b.stop()?;
    Ok(())
}

/// A client that keeps redirects for itself (to read the session cookie).
fn browser(instance: &Instance, dir: &std::path::Path) -> R<reqwest::blocking::Client> {
    let cert = std::fs::read(dir.join("tls/cert.pem"))?;
    Ok(reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&cert)?)
        .resolve("localhost", ([127, 0, 0, 1], instance.port).into())
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// Spends a ticket: the session cookie (`name=value`), or the status when refused.
fn sign_in(
    client: &reqwest::blocking::Client,
    instance: &Instance,
    ticket: &str,
) -> R<Result<String, u16>> {
    let response = client
        .post(instance.url("/sign-in"))
        .form(&[("ticket", ticket)])
        .send()?;
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned);
    Ok(match (response.status().as_u16(), cookie) {
        (303, Some(cookie)) => Ok(cookie),
        (status, _) => Err(status),
    })
}

fn page_status(
    client: &reqwest::blocking::Client,
    instance: &Instance,
    cookie: &str,
) -> R<(u16, String)> {
    let response = client
        .get(instance.url(ADMIN_PAGE))
        .header("cookie", cookie)
        .send()?;
    Ok((response.status().as_u16(), response.text()?))
}

fn csrf_of(html: &str) -> R<String> {
    let marker = "name=\"csrf-token\" content=\"";
    let start = html.find(marker).ok_or("no csrf-token")? + marker.len();
    let end = html[start..].find('"').ok_or("unterminated")? + start;
    Ok(html[start..end].to_owned())
}

#[test]
fn a_rotation_on_sqlite_keeps_tokens_sessions_and_tickets_until_they_expire() -> R<()> {
    let dir = tempfile::tempdir()?;
    let (old_id, new_id) = (key_id(SECRET_KEY)?, key_id(NEW_KEY)?);
    let old = Site {
        database_url: format!("sqlite://{}/tollgate.db", dir.path().display()),
        secret_key: Some(SECRET_KEY),
        previous_keys: None,
        env: Vec::new(),
    };
    let (account, _, admin) = old.account_and_token(dir.path(), "access-management,billing")?;
    let never = never_token(&old, dir.path(), &account)?;
    let user = old.cli(
        dir.path(),
        &[
            "users",
            "create",
            "--account",
            &account,
            "--name",
            "Jane",
            "--admin",
            "--json",
        ],
    )?;
    let user_id = text(&user, "/id")?;
    let login = |site: &Site| -> R<String> {
        let output = site
            .command(dir.path(), &["login-url", "--user", &user_id])
            .output()?;
        let link = String::from_utf8(output.stdout)?;
        Ok(link
            .trim()
            .rsplit("ticket=")
            .next()
            .ok_or("no ticket")?
            .to_owned())
    };

    let first = Instance::start(&old, dir.path())?;
    let client = browser(&first, dir.path())?;
    let session = sign_in(&client, &first, &login(&old)?)?.map_err(|s| format!("sign-in {s}"))?;
    let unspent = login(&old)?;
    first.stop()?;

    let staged = Site {
        previous_keys: Some(NEW_KEY),
        env: Vec::new(),
        ..old.clone()
    };
    let second = Instance::start(&staged, dir.path())?;
    assert_eq!(second.authorize(&admin, BILLING_PATH)?, 200);
    second.stop()?;

    let current = Site {
        secret_key: Some(NEW_KEY),
        previous_keys: Some(SECRET_KEY),
        env: Vec::new(),
        ..old.clone()
    };
    let third = Instance::start(&current, dir.path())?;
    let client = browser(&third, dir.path())?;
    for value in [&admin, &never] {
        assert_eq!(
            third.authorize(value, BILLING_PATH)?,
            200,
            "{}",
            third.log()
        );
    }
    // The session and the ticket of the old key live out their time.
    let (status, html) = page_status(&client, &third, &session)?;
    assert_eq!(status, 200, "{html}");
    let fresh = sign_in(&client, &third, &unspent)?.map_err(|s| format!("old ticket: {s}"))?;
    assert_eq!(page_status(&client, &third, &fresh)?.0, 200);
    // But the retired key makes no new ones.
    let status = keys_status(&current, dir.path())?;
    let retired = key_entry(&status, &old_id)?["retiredAt"]
        .as_str()
        .ok_or("not retired")?
        .to_owned();
    let retired = OffsetDateTime::parse(&retired, &Rfc3339)?;
    let old_keys = ServerKey::from_base64(SECRET_KEY)
        .map_err(|e| e.to_string())?
        .derive();
    let user = tollgate_domain::UserId::parse(&user_id)?;
    let after = retired + time::Duration::seconds(2);
    let forged_session = Session::issue(
        &old_keys.session,
        user,
        after,
        time::Duration::hours(8),
        &mut rand::rngs::OsRng,
    );
    let cookie = format!("__Host-tollgate-session={forged_session}");
    assert_ne!(
        page_status(&client, &third, &cookie)?.0,
        200,
        "a session made after the retirement"
    );
    let forged_ticket = Ticket::mint(
        &old_keys.ticket,
        user,
        after,
        time::Duration::minutes(10),
        &mut rand::rngs::OsRng,
    );
    assert!(
        sign_in(&client, &third, &forged_ticket)?.is_err(),
        "a ticket made after the retirement"
    );
    // A form of the old session carries a CSRF token of the old key: it is accepted.
    let (_, html) = page_status(&client, &third, &session)?;
    let csrf = csrf_of(&html)?;
    let signed_out = client
        .post(third.url("/sign-out"))
        .header("cookie", &session)
        .form(&[("csrf", csrf.as_str())])
        .send()?;
    assert_eq!(signed_out.status(), 200);

    // keys rotate while the server runs, then the token without a copy moves when used.
    let rotated = current.cli(dir.path(), &["keys", "rotate", "--json"])?;
    assert_eq!(rotated["resealed"], 1, "{rotated}");
    wait_until("the write-behind to move the token without a copy", || {
        assert_eq!(third.authorize(&never, BILLING_PATH)?, 200);
        let status = keys_status(&current, dir.path())?;
        Ok(key_entry(&status, &old_id)?["tokens"] == 0)
    })?;
    let status = keys_status(&current, dir.path())?;
    assert_eq!(key_entry(&status, &new_id)?["liveSessions"], 1, "{status}");
    assert_eq!(
        key_entry(&status, &old_id)?["liveSessions"],
        0,
        "signed out: {status}"
    );
    let verified = current.cli(dir.path(), &["audit", "verify", "--json"])?;
    assert_eq!(verified["intact"], true, "{verified}");
    third.expect(200, third.call(reqwest::Method::GET, &admin, TOKENS, None)?)?;
    third.stop()?;
    Ok(())
}
