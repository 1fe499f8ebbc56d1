//! Tollgate instances as real processes (SPEC §4 "Speed"): two servers on one PostgreSQL
//! database hear each other's changes through `LISTEN/NOTIFY`; on SQLite a server notices the
//! CLI's changes, and a clean stop (SIGTERM) writes the pending `lastAccessAt`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tollgate_store::testing::TestDatabase;

type Error = Box<dyn std::error::Error + Send + Sync>;
type R<T> = Result<T, Error>;

/// Base64 of the 32 bytes 1..=32: the same server key for every instance.
const SECRET_KEY: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
/// How long anything that happens in another process may take.
const DEADLINE: Duration = Duration::from_secs(10);
const TOKENS: &str = "/public/v1/accounts/api-tokens";
const BILLING_PATH: &str = "/public/v1/billing/invoices";

/// Polls `probe` until it returns true, or fails after [`DEADLINE`].
fn wait_until(what: &str, mut probe: impl FnMut() -> R<bool>) -> R<()> {
    let started = Instant::now();
    loop {
        if probe()? {
            return Ok(());
        }
        if started.elapsed() > DEADLINE {
            return Err(format!("{what}: not within {DEADLINE:?}").into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn text(value: &Value, pointer: &str) -> R<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("no {pointer} in {value}").into())
}

/// Where the instances' database is and which key they share.
#[derive(Debug, Clone)]
struct Site {
    database_url: String,
    secret_key: Option<&'static str>,
}

impl Site {
    /// `tollgate <args>` with this site's configuration and `data_dir` as its data folder.
    fn command(&self, data_dir: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tollgate"));
        command
            .args(args)
            .current_dir(data_dir)
            .env_remove("TOLLGATE_SECRET_KEY")
            .env_remove("TOLLGATE_TLS_CERT")
            .env_remove("TOLLGATE_TLS_KEY")
            .env_remove("TOLLGATE_HTTP_LISTEN")
            .env_remove("TOLLGATE_REVEAL")
            .env_remove("TOLLGATE_TRUSTED_PROXIES")
            .env("TOLLGATE_DATABASE_URL", &self.database_url)
            .env("TOLLGATE_DATA_DIR", data_dir)
            .env("TOLLGATE_LISTEN", "127.0.0.1:0")
            .env("RUST_LOG", "warn");
        if let Some(key) = self.secret_key {
            command.env("TOLLGATE_SECRET_KEY", key);
        }
        command
    }

    /// Runs a `--json` CLI command; its one JSON object.
    fn cli(&self, data_dir: &Path, args: &[&str]) -> R<Value> {
        let output = self.command(data_dir, args).output()?;
        if !output.status.success() {
            return Err(format!(
                "{args:?} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
        Ok(serde_json::from_slice(&output.stdout)?)
    }

    /// An account and a token of it, made with the CLI (after `tollgate migrate`, which creates
    /// the database): (account id, token id, token value).
    fn account_and_token(&self, data_dir: &Path, modules: &str) -> R<(String, String, String)> {
        let output = self.command(data_dir, &["migrate"]).output()?;
        if !output.status.success() {
            return Err(format!(
                "migrate failed: {}",
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
        let account = self.cli(
            data_dir,
            &[
                "accounts", "create", "--name", "Acme", "--type", "client", "--json",
            ],
        )?;
        let account_id = text(&account, "/id")?;
        let token = self.cli(
            data_dir,
            &[
                "tokens",
                "create",
                "--account",
                &account_id,
                "--name",
                "Administrator",
                "--modules",
                modules,
                "--json",
            ],
        )?;
        Ok((account_id, text(&token, "/id")?, text(&token, "/token")?))
    }
}

/// A running `tollgate serve`.
struct Instance {
    child: Child,
    port: u16,
    client: Option<reqwest::blocking::Client>,
    stderr: PathBuf,
}

impl Instance {
    /// Starts `tollgate serve` with `data_dir` as its data folder and waits for its address.
    fn start(site: &Site, data_dir: &Path) -> R<Instance> {
        let stderr = data_dir.join("stderr.log");
        let mut child = site
            .command(data_dir, &["serve"])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr)?)
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (sender, receiver) = mpsc::channel();
        // Reads every line (so the pipe never fills), passing on the address.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(address) = line.split("Tollgate is listening on https://").nth(1) {
                    let _ = sender.send(address.trim().to_owned());
                }
            }
        });
        let mut instance = Instance {
            child,
            port: 0,
            client: None,
            stderr,
        };
        let address = receiver
            .recv_timeout(Duration::from_secs(60))
            .map_err(|_| format!("the server did not start: {}", instance.log()))?;
        let port: u16 = address.rsplit(':').next().ok_or("no port")?.parse()?;
        let cert = std::fs::read(data_dir.join("tls/cert.pem"))?;
        let client = reqwest::blocking::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&cert)?)
            .resolve("localhost", ([127, 0, 0, 1], port).into())
            .timeout(Duration::from_secs(30))
            .build()?;
        instance.port = port;
        instance.client = Some(client);
        Ok(instance)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn client(&self) -> R<&reqwest::blocking::Client> {
        self.client.as_ref().ok_or_else(|| "stopped".into())
    }

    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }

    /// The status of `/v1/authorize` for `value` and `path`, as a proxy asks.
    fn authorize(&self, value: &str, path: &str) -> R<u16> {
        let response = self
            .client()?
            .get(self.url("/v1/authorize"))
            .bearer_auth(value)
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-method", "GET")
            .header("x-forwarded-uri", path)
            .send()?;
        Ok(response.status().as_u16())
    }

    /// A REST call: status and JSON body (Null when empty).
    fn call(
        &self,
        method: reqwest::Method,
        value: &str,
        path: &str,
        body: Option<Value>,
    ) -> R<(u16, Value)> {
        let mut request = self
            .client()?
            .request(method, self.url(path))
            .bearer_auth(value);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send()?;
        let status = response.status().as_u16();
        let bytes = response.bytes()?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)?
        };
        Ok((status, body))
    }

    fn expect(&self, expected: u16, reply: (u16, Value)) -> R<Value> {
        let (status, body) = reply;
        if status != expected {
            return Err(format!("expected {expected}, got {status}: {body}").into());
        }
        Ok(body)
    }

    /// A clean stop: SIGTERM, then a successful exit.
    fn stop(mut self) -> R<()> {
        // No idle connection to wait for.
        self.client.take();
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        if !status.success() {
            return Err("kill -TERM failed".into());
        }
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    return Err(format!("exit status {status}: {}", self.log()).into());
                }
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err("the server did not stop on SIGTERM".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Two instances on one PostgreSQL database: a token created through A is accepted by B;
/// disabled through A, refused by B; enabled again, accepted again; deleted through B, refused
/// by A; its account disabled by the CLI, refused by both.
#[test]
fn two_instances_on_one_postgresql_database() -> R<()> {
    let database = TestDatabase::create()?;
    let site = Site {
        database_url: database.url().to_owned(),
        secret_key: Some(SECRET_KEY),
    };
    let cli_dir = tempfile::tempdir()?;
    let (account_id, _, admin) =
        site.account_and_token(cli_dir.path(), "access-management,billing")?;
    let (dir_a, dir_b) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let a = Instance::start(&site, dir_a.path())?;
    let b = Instance::start(&site, dir_b.path())?;
    for instance in [&a, &b] {
        if instance.authorize(&admin, BILLING_PATH)? != 200 {
            return Err(format!("the CLI's token is refused: {}", instance.log()).into());
        }
    }

    let created = a.expect(
        201,
        a.call(
            reqwest::Method::POST,
            &admin,
            TOKENS,
            Some(json!({"name": "Robot", "modules": [{"id": "MOD-1104"}]})),
        )?,
    )?;
    let id = text(&created, "/id")?;
    let robot = text(&created, "/token")?;
    assert_eq!(a.authorize(&robot, BILLING_PATH)?, 200, "A knows at once");
    wait_until("B to accept the token created through A", || {
        Ok(b.authorize(&robot, BILLING_PATH)? == 200)
    })?;
    assert_eq!(
        b.authorize(&robot, BILLING_PATH)?,
        200,
        "and keeps accepting it"
    );

    let switch = |instance: &Instance, action: &str| -> R<Value> {
        instance.expect(
            200,
            instance.call(
                reqwest::Method::POST,
                &admin,
                &format!("{TOKENS}/{id}/{action}"),
                None,
            )?,
        )
    };
    let disabled = switch(&a, "disable")?;
    assert_eq!(text(&disabled, "/status")?, "Disabled");
    assert_eq!(a.authorize(&robot, BILLING_PATH)?, 401, "A refuses at once");
    wait_until("B to refuse the token disabled through A", || {
        Ok(b.authorize(&robot, BILLING_PATH)? == 401)
    })?;

    switch(&a, "enable")?;
    assert_eq!(a.authorize(&robot, BILLING_PATH)?, 200, "A accepts at once");
    wait_until("B to accept the token enabled through A", || {
        Ok(b.authorize(&robot, BILLING_PATH)? == 200)
    })?;

    b.expect(
        204,
        b.call(
            reqwest::Method::DELETE,
            &admin,
            &format!("{TOKENS}/{id}"),
            None,
        )?,
    )?;
    assert_eq!(b.authorize(&robot, BILLING_PATH)?, 401, "B refuses at once");
    wait_until("A to refuse the token deleted through B", || {
        Ok(a.authorize(&robot, BILLING_PATH)? == 401)
    })?;

    // A third process (the CLI) disables the account.
    site.cli(
        cli_dir.path(),
        &["accounts", "set-status", &account_id, "disabled", "--json"],
    )?;
    wait_until(
        "both instances to refuse a token of a disabled account",
        || {
            Ok(a.authorize(&admin, BILLING_PATH)? == 401
                && b.authorize(&admin, BILLING_PATH)? == 401)
        },
    )?;

    a.stop()?;
    b.stop()?;
    Ok(())
}

fn last_access(body: &Value) -> R<Option<OffsetDateTime>> {
    body.get("lastAccessAt")
        .map(|at| -> R<OffsetDateTime> {
            let text = at.as_str().ok_or("lastAccessAt is not a string")?;
            Ok(OffsetDateTime::parse(text, &Rfc3339)?)
        })
        .transpose()
}

/// On SQLite: a use is written by the clean stop (SIGTERM) and shows after a restart; a token
/// created and an account disabled by the CLI while the server runs are noticed.
#[test]
fn last_access_survives_a_clean_restart_and_cli_changes_are_noticed_on_sqlite() -> R<()> {
    let dir = tempfile::tempdir()?;
    let site = Site {
        database_url: format!("sqlite://{}/tollgate.db", dir.path().display()),
        secret_key: None,
    };
    let (account_id, admin_id, admin) =
        site.account_and_token(dir.path(), "access-management,billing")?;
    let own = format!("{TOKENS}/{admin_id}");

    let first = Instance::start(&site, dir.path())?;
    let before = OffsetDateTime::now_utc() - time::Duration::seconds(1);
    let body = first.expect(200, first.call(reqwest::Method::GET, &admin, &own, None)?)?;
    assert_eq!(last_access(&body)?, None, "never used before");
    assert_eq!(first.authorize(&admin, BILLING_PATH)?, 200);
    first.stop()?;

    let second = Instance::start(&site, dir.path())?;
    let body = second.expect(200, second.call(reqwest::Method::GET, &admin, &own, None)?)?;
    let at =
        last_access(&body)?.ok_or_else(|| format!("no lastAccessAt after a restart: {body}"))?;
    let after = OffsetDateTime::now_utc() + time::Duration::seconds(1);
    assert!(before <= at && at <= after, "lastAccessAt {at}");

    // A token created by the CLI while the server runs.
    let created = site.cli(
        dir.path(),
        &[
            "tokens",
            "create",
            "--account",
            &account_id,
            "--name",
            "Robot",
            "--modules",
            "billing",
            "--json",
        ],
    )?;
    let robot = text(&created, "/token")?;
    wait_until("the server to accept a token the CLI created", || {
        Ok(second.authorize(&robot, BILLING_PATH)? == 200)
    })?;
    // Its account disabled by the CLI.
    site.cli(
        dir.path(),
        &["accounts", "set-status", &account_id, "disabled", "--json"],
    )?;
    wait_until(
        "the server to refuse the tokens of a disabled account",
        || {
            Ok(second.authorize(&robot, BILLING_PATH)? == 401
                && second.authorize(&admin, BILLING_PATH)? == 401)
        },
    )?;
    second.stop()?;
    Ok(())
}
