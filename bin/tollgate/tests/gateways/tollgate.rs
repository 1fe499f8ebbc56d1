//! `tollgate serve` as a process on SQLite in the harness's folder, the operator CLI, and the
//! REST calls the tests make straight to Tollgate (not through a gateway).

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::R;
use crate::process::{Process, Watchdog};

/// `tollgate <args>` on the database in `dir`, with no `TOLLGATE_*` variable of the caller's.
fn command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tollgate"));
    command.args(args).current_dir(dir);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TOLLGATE_") {
            command.env_remove(name);
        }
    }
    command
        .env(
            "TOLLGATE_DATABASE_URL",
            format!("sqlite://{}/tollgate.db", dir.display()),
        )
        .env("TOLLGATE_DATA_DIR", dir)
        .env("RUST_LOG", "warn");
    command
}

/// Creates the database (`tollgate migrate`: the other commands create none).
pub fn migrate(dir: &Path) -> R<()> {
    let output = command(dir, &["migrate"]).output()?;
    if !output.status.success() {
        return Err(format!(
            "tollgate migrate failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(())
}

/// Runs a `--json` CLI command; its one JSON object.
pub fn cli(dir: &Path, args: &[&str]) -> R<Value> {
    let output = command(dir, args).output()?;
    if !output.status.success() {
        return Err(format!(
            "tollgate {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// A running `tollgate serve`.
#[derive(Debug)]
pub struct Tollgate {
    pub port: u16,
    /// Its self-signed certificate (`<data>/tls/cert.pem`), which the gateways trust.
    pub cert: PathBuf,
    client: reqwest::blocking::Client,
    stderr: PathBuf,
    _process: Process,
}

impl Tollgate {
    /// Starts the server on a free port, trusting `trusted_proxies` (`TOLLGATE_TRUSTED_PROXIES`).
    pub fn start(dir: &Path, trusted_proxies: &str, watchdog: &Watchdog) -> R<Tollgate> {
        let stderr = dir.join("stderr.log");
        let mut process = Process::spawn(
            command(dir, &["serve"])
                .env("TOLLGATE_LISTEN", "127.0.0.1:0")
                .env("TOLLGATE_TRUSTED_PROXIES", trusted_proxies)
                .stdout(Stdio::piped())
                .stderr(std::fs::File::create(&stderr)?),
            watchdog,
        )?;
        let stdout = process.child().stdout.take().ok_or("no stdout")?;
        let (sender, receiver) = mpsc::channel();
        // Reads every line (so the pipe never fills), passing on the address.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(address) = line.split("Tollgate is listening on https://").nth(1) {
                    let _ = sender.send(address.trim().to_owned());
                }
            }
        });
        let address = receiver
            .recv_timeout(Duration::from_secs(30))
            .map_err(|_| {
                format!(
                    "tollgate serve did not start: {}",
                    std::fs::read_to_string(&stderr).unwrap_or_default()
                )
            })?;
        let port: u16 = address.rsplit(':').next().ok_or("no port")?.parse()?;
        let cert = dir.join("tls/cert.pem");
        let client = reqwest::blocking::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(&cert)?)?)
            .resolve("localhost", ([127, 0, 0, 1], port).into())
            .timeout(Duration::from_secs(20))
            .build()?;
        Ok(Tollgate {
            port,
            cert,
            client,
            stderr,
            _process: process,
        })
    }

    /// A REST call straight to Tollgate: status and JSON body (Null when empty).
    pub fn call(&self, method: reqwest::Method, token: &str, path: &str) -> R<(u16, Value)> {
        let response = self
            .client
            .request(method, format!("https://localhost:{}{path}", self.port))
            .bearer_auth(token)
            .send()?;
        let status = response.status().as_u16();
        let bytes = response.bytes()?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)?
        };
        Ok((status, body))
    }

    /// What the server has logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}
