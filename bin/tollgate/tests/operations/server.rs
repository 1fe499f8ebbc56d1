//! `tollgate serve` as a process of its own: SQLite in a temporary folder, loopback ports
//! chosen by the system, stderr kept in a file, stopped with SIGTERM.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type R<T> = Result<T, Error>;

/// How long anything that happens in another process may take.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Polls `probe` until it returns true, or fails after [`DEADLINE`].
pub fn wait_until(what: &str, mut probe: impl FnMut() -> R<bool>) -> R<()> {
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

/// The repository's root.
pub fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `tollgate <args>` on the database in `dir`, with `env` on top.
pub fn command(dir: &Path, env: &[(&str, String)], args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tollgate"));
    command.args(args).current_dir(dir);
    for (name, _) in std::env::vars() {
        if name.starts_with("TOLLGATE_") {
            command.env_remove(name);
        }
    }
    command
        .env(
            "TOLLGATE_DATABASE_URL",
            format!("sqlite://{}/tollgate.db", dir.display()),
        )
        .env("TOLLGATE_DATA_DIR", dir)
        .env("TOLLGATE_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .envs(env.iter().map(|(name, value)| (name, value)));
    command
}

/// A running `tollgate serve`.
pub struct Server {
    child: Child,
    dir: tempfile::TempDir,
    /// The HTTPS listener.
    pub https: SocketAddr,
    /// The metrics listener, when `TOLLGATE_METRICS_LISTEN` was given.
    pub metrics: Option<SocketAddr>,
    stderr: PathBuf,
}

fn address(line: &str, prefix: &str) -> Option<R<SocketAddr>> {
    let rest = line.split(prefix).nth(1)?;
    Some(rest.trim().parse().map_err(Error::from))
}

impl Server {
    /// Starts a server with `env` (`TOLLGATE_METRICS_LISTEN=127.0.0.1:0` asks for a metrics
    /// listener); `before` runs CLI commands on its database first.
    pub fn start(
        env: &[(&'static str, String)],
        before: impl FnOnce(&Path, &[(&'static str, String)]) -> R<()>,
    ) -> R<Server> {
        let dir = tempfile::tempdir()?;
        before(dir.path(), env)?;
        let stderr = dir.path().join("stderr.log");
        let mut child = command(dir.path(), env, &["serve"])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr)?)
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (sender, receiver) = mpsc::channel();
        // Reads every line (so the pipe never fills), passing on the addresses.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(address) = address(&line, "Metrics and probes on http://") {
                    let _ = sender.send((false, address));
                } else if let Some(address) = address(&line, "Tollgate is listening on https://") {
                    let _ = sender.send((true, address));
                }
            }
        });
        let mut https = None;
        let mut metrics = None;
        while https.is_none() {
            let log = || std::fs::read_to_string(&stderr).unwrap_or_default();
            let (public, address) = receiver
                .recv_timeout(Duration::from_secs(60))
                .map_err(|_| format!("the server did not start: {}", log()))?;
            if public {
                https = Some(address?);
            } else {
                metrics = Some(address?);
            }
        }
        Ok(Server {
            child,
            dir,
            https: https.ok_or("no address")?,
            metrics,
            stderr,
        })
    }

    /// Where the data (the generated certificate among it) is.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `https://localhost:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.https.port())
    }

    /// `http://<metrics listener><path>`.
    pub fn metrics_url(&self, path: &str) -> R<String> {
        let address = self.metrics.ok_or("no metrics listener")?;
        Ok(format!("http://{address}{path}"))
    }

    /// A client trusting `roots` (PEM) for `localhost` at the HTTPS listener; each request on
    /// a new connection, so each makes a TLS handshake.
    pub fn client_trusting(&self, roots: &[&[u8]]) -> R<reqwest::blocking::Client> {
        let mut builder = reqwest::blocking::Client::builder()
            .resolve("localhost", self.https)
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(30));
        for root in roots {
            builder = builder.add_root_certificate(reqwest::Certificate::from_pem(root)?);
        }
        Ok(builder.build()?)
    }

    /// A client trusting the generated self-signed certificate.
    pub fn client(&self) -> R<reqwest::blocking::Client> {
        let cert = std::fs::read(self.dir().join("tls/cert.pem"))?;
        self.client_trusting(&[&cert])
    }

    /// What the server wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Sends `signal` (`HUP`, `TERM`, …).
    pub fn signal(&self, signal: &str) -> R<()> {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()?;
        if !status.success() {
            return Err(format!("kill -{signal} failed").into());
        }
        Ok(())
    }

    /// A clean stop (SIGTERM, a successful exit); what the server wrote to stderr.
    pub fn stop(mut self) -> R<String> {
        self.signal("TERM")?;
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    return Err(format!("exit status {status}: {}", self.log()).into());
                }
                return Ok(self.log());
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err("the server did not stop on SIGTERM".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs a `--json` CLI command on the database in `dir`; its one JSON object.
pub fn cli_json(dir: &Path, env: &[(&str, String)], args: &[&str]) -> R<Value> {
    let output = command(dir, env, args).output()?;
    if !output.status.success() {
        return Err(format!(
            "{args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// `value[pointer]` as text.
pub fn text(value: &Value, pointer: &str) -> R<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("no {pointer} in {value}").into())
}

/// An account, an administrator token and a second token (ids and values), made with the CLI.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    pub admin: String,
    pub victim_id: String,
    pub victim: String,
}

impl Tokens {
    pub fn create(dir: &Path, env: &[(&str, String)]) -> R<Tokens> {
        // Only `serve` and `migrate` create a database; the other commands refuse without one.
        let migrated = command(dir, env, &["migrate"]).output()?;
        if !migrated.status.success() {
            return Err(format!(
                "tollgate migrate failed: {}",
                String::from_utf8_lossy(&migrated.stderr)
            )
            .into());
        }
        let account = cli_json(
            dir,
            env,
            &[
                "accounts", "create", "--name", "Acme", "--type", "client", "--json",
            ],
        )?;
        let account = text(&account, "/id")?;
        let token = |name: &str, modules: &str| {
            cli_json(
                dir,
                env,
                &[
                    "tokens",
                    "create",
                    "--account",
                    &account,
                    "--name",
                    name,
                    "--modules",
                    modules,
                    "--json",
                ],
            )
        };
        let admin = token("Administrator", "access-management,billing")?;
        let victim = token("Robot", "billing")?;
        Ok(Tokens {
            admin: text(&admin, "/token")?,
            victim_id: text(&victim, "/id")?,
            victim: text(&victim, "/token")?,
        })
    }
}
