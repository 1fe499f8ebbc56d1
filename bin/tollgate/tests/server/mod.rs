//! `tollgate serve` and the CLI as processes, for the tests that run instances: a [`Site`]
//! (database URL and keys), [`Instance`]s of `tollgate serve` on it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type R<T> = Result<T, Error>;

/// Base64 of the 32 bytes 1..=32: the same server key for every instance.
pub const SECRET_KEY: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
/// How long anything that happens in another process may take.
pub const DEADLINE: Duration = Duration::from_secs(10);
pub const TOKENS: &str = "/public/v1/accounts/api-tokens";
pub const BILLING_PATH: &str = "/public/v1/billing/invoices";

/// Polls `probe` until it returns true, or fails after [`DEADLINE`].
pub fn wait_until(what: &str, probe: impl FnMut() -> R<bool>) -> R<()> {
    wait_within(what, DEADLINE, probe)
}

/// Polls `probe` until it returns true, or fails after `deadline`.
pub fn wait_within(what: &str, deadline: Duration, mut probe: impl FnMut() -> R<bool>) -> R<()> {
    let started = Instant::now();
    loop {
        if probe()? {
            return Ok(());
        }
        if started.elapsed() > deadline {
            return Err(format!("{what}: not within {deadline:?}").into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn text(value: &Value, pointer: &str) -> R<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("no {pointer} in {value}").into())
}

/// Where the instances' database is and which key they share.
#[derive(Debug, Clone)]
pub struct Site {
    pub database_url: String,
    /// `TOLLGATE_SECRET_KEY` (none: the data folder's `secret.key`).
    pub secret_key: Option<&'static str>,
    /// `TOLLGATE_PREVIOUS_SECRET_KEYS`.
    pub previous_keys: Option<&'static str>,
    /// More variables for every command (timings, …).
    pub env: Vec<(&'static str, String)>,
}

impl Site {
    /// `tollgate <args>` with this site's configuration and `data_dir` as its data folder.
    pub fn command(&self, data_dir: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tollgate"));
        command
            .args(args)
            .current_dir(data_dir)
            .env_remove("TOLLGATE_SECRET_KEY")
            .env_remove("TOLLGATE_PREVIOUS_SECRET_KEYS")
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
        if let Some(keys) = self.previous_keys {
            command.env("TOLLGATE_PREVIOUS_SECRET_KEYS", keys);
        }
        command.envs(self.env.iter().map(|(name, value)| (name, value)));
        command
    }

    /// Runs a `--json` CLI command; its one JSON object.
    pub fn cli(&self, data_dir: &Path, args: &[&str]) -> R<Value> {
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
    pub fn account_and_token(&self, data_dir: &Path, modules: &str) -> R<(String, String, String)> {
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
pub struct Instance {
    child: Child,
    pub port: u16,
    client: Option<reqwest::blocking::Client>,
    stderr: PathBuf,
}

impl Instance {
    /// Starts `tollgate serve` with `data_dir` as its data folder and waits for its address.
    pub fn start(site: &Site, data_dir: &Path) -> R<Instance> {
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

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub fn client(&self) -> R<&reqwest::blocking::Client> {
        self.client.as_ref().ok_or_else(|| "stopped".into())
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }

    /// The status of `/v1/authorize` for `value` and `path`, as a proxy asks.
    pub fn authorize(&self, value: &str, path: &str) -> R<u16> {
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
    pub fn call(
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

    pub fn expect(&self, expected: u16, reply: (u16, Value)) -> R<Value> {
        let (status, body) = reply;
        if status != expected {
            return Err(format!("expected {expected}, got {status}: {body}").into());
        }
        Ok(body)
    }

    /// A clean stop: SIGTERM, then a successful exit.
    pub fn stop(mut self) -> R<()> {
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
