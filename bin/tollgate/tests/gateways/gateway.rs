//! The gateways, configured from `docs/GATEWAY.md`: each configuration is the documented one,
//! with only its addresses and file paths replaced (a replacement that no longer applies fails
//! the tests, so the documentation cannot drift from what is tested), wrapped in what a
//! process started by a test needs (its own folder, no system paths, no admin endpoint).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::client::{self, Reply};
use crate::harness::Harness;
use crate::process::Process;
use crate::{R, tools};

const GATEWAY_MD: &str = include_str!("../../../../docs/GATEWAY.md");

/// How long a gateway may take to start answering.
const START_DEADLINE: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Nginx,
    Caddy,
    Traefik,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Nginx => "nginx",
            Kind::Caddy => "caddy",
            Kind::Traefik => "traefik",
        }
    }
}

/// A running gateway on `https://localhost:<port>` (the harness's certificate) in front of the
/// stand-in upstream, asking Tollgate.
#[derive(Debug)]
pub struct Gateway {
    pub port: u16,
    pub version: String,
    tls: Arc<rustls::ClientConfig>,
    log: PathBuf,
    process: Process,
}

impl Gateway {
    /// Starts the gateway on a free port (another one if that was taken meanwhile) and waits
    /// until it answers a request without a token with Tollgate's 401.
    pub fn start(kind: Kind, harness: &Harness) -> R<Gateway> {
        let dir = harness.dir.join(kind.name());
        std::fs::create_dir_all(&dir)?;
        let program = match kind {
            Kind::Nginx => tools::nginx()?,
            Kind::Caddy => tools::caddy()?,
            Kind::Traefik => tools::traefik()?,
        };
        let version = tools::version(
            &program,
            match kind {
                Kind::Nginx => &["-v"],
                Kind::Caddy | Kind::Traefik => &["version"],
            },
        )?
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
        let mut failures = Vec::new();
        for _ in 0..3 {
            let port = free_port()?;
            let mut command = configure(kind, &program, &dir, port, harness)?;
            let log = dir.join("output.log");
            let output = std::fs::File::create(&log)?;
            let process = Process::spawn(
                command
                    .current_dir(&dir)
                    .stdin(Stdio::null())
                    .stdout(output.try_clone()?)
                    .stderr(output),
                &harness.watchdog,
            )?;
            let mut gateway = Gateway {
                port,
                version: version.clone(),
                tls: harness.client_tls.clone(),
                log,
                process,
            };
            match gateway.wait_until_ready(harness) {
                Ok(()) => return Ok(gateway),
                Err(error) => failures.push(format!("port {port}: {error}")),
            }
        }
        Err(format!("{} did not start:\n{}", kind.name(), failures.join("\n")).into())
    }

    fn wait_until_ready(&mut self, harness: &Harness) -> R<()> {
        let started = Instant::now();
        let mut last = String::from("no answer");
        while started.elapsed() < START_DEADLINE {
            if let Some(status) = self.process.exited() {
                return Err(format!("exited ({status}):\n{}", self.log_tail()).into());
            }
            match self.get(
                "/public/v1/commerce/orders",
                &[(crate::upstream::CASE_HEADER, "start")],
            ) {
                Ok(reply) if reply.status == 401 => return Ok(()),
                // Traefik answers 404 until its file provider has loaded the routes.
                Ok(reply) => last = format!("{} {}", reply.status, reply.body),
                Err(error) => last = error.to_string(),
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "not answering 401 within {START_DEADLINE:?} (last: {last}); Tollgate's log:\n{}\n{}:\n{}",
            harness.tollgate.log(),
            self.log.display(),
            self.log_tail()
        )
        .into())
    }

    /// `GET target` through the gateway, byte for byte.
    pub fn get(&self, target: &str, headers: &[(&str, &str)]) -> R<Reply> {
        client::get(&self.tls, self.port, target, headers)
    }

    /// The last lines the gateway printed.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

fn free_port() -> R<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The fenced block of `docs/GATEWAY.md` with info string `info` whose first line contains
/// `first_line` (any first line when empty).
fn documented(info: &str, first_line: &str) -> R<String> {
    GATEWAY_MD
        .split(&format!("```{info}\n"))
        .skip(1)
        .filter_map(|rest| rest.split("\n```").next())
        .find(|block| {
            block
                .lines()
                .next()
                .unwrap_or_default()
                .contains(first_line)
        })
        .map(str::to_owned)
        .ok_or_else(|| {
            format!("docs/GATEWAY.md has no ```{info} block starting with {first_line:?}").into()
        })
}

/// `text` with every `(from, to)` replaced; each `from` must occur.
fn replace(kind: Kind, mut text: String, replacements: &[(&str, String)]) -> R<String> {
    for (from, to) in replacements {
        if !text.contains(from) {
            return Err(format!(
                "docs/GATEWAY.md's {} configuration no longer contains {from:?}; update \
                 bin/tollgate/tests/gateways/gateway.rs with it",
                kind.name()
            )
            .into());
        }
        text = text.replace(from, to);
    }
    Ok(text)
}

fn path(path: &Path) -> String {
    path.display().to_string()
}

/// Writes the gateway's configuration into `dir`; the command that runs it.
fn configure(kind: Kind, program: &Path, dir: &Path, port: u16, harness: &Harness) -> R<Command> {
    let upstream = format!("127.0.0.1:{}", harness.upstream.port);
    let tollgate = format!("127.0.0.1:{}", harness.tollgate.port);
    let (api_cert, api_key) = (path(&harness.api_cert), path(&harness.api_key));
    let tollgate_ca = path(&harness.tollgate.cert);
    let mut command = Command::new(program);
    match kind {
        Kind::Nginx => {
            let server = replace(
                kind,
                documented("nginx", "")?,
                &[
                    ("server 127.0.0.1:9000;", format!("server {upstream};")),
                    ("server 127.0.0.1:8443;", format!("server {tollgate};")),
                    ("listen 443 ssl;", format!("listen 127.0.0.1:{port} ssl;")),
                    (
                        "server_name api.example.com;",
                        "server_name localhost;".into(),
                    ),
                    ("/etc/nginx/tls/api.pem", api_cert),
                    ("/etc/nginx/tls/api.key", api_key),
                    ("/etc/nginx/tls/tollgate-ca.pem", tollgate_ca),
                ],
            )?;
            let d = path(dir);
            let config = format!(
                "daemon off;\n\
                 worker_processes 1;\n\
                 pid {d}/nginx.pid;\n\
                 error_log {d}/error.log warn;\n\
                 events {{ worker_connections 256; }}\n\
                 http {{\n\
                 access_log {d}/access.log;\n\
                 client_body_temp_path {d}/client_body_temp;\n\
                 proxy_temp_path {d}/proxy_temp;\n\
                 fastcgi_temp_path {d}/fastcgi_temp;\n\
                 uwsgi_temp_path {d}/uwsgi_temp;\n\
                 scgi_temp_path {d}/scgi_temp;\n\
                 # The test's client and nginx share a host: nginx speaks from 127.0.0.2 (the\n\
                 # address in Tollgate's TOLLGATE_TRUSTED_PROXIES), the client from 127.0.0.1.\n\
                 proxy_bind 127.0.0.2;\n\
                 {server}\n\
                 }}\n"
            );
            std::fs::write(dir.join("nginx.conf"), config)?;
            command
                .arg("-p")
                .arg(format!("{d}/"))
                .arg("-e")
                .arg(format!("{d}/error.log"))
                .arg("-c")
                .arg(format!("{d}/nginx.conf"));
        }
        Kind::Caddy => {
            let site = replace(
                kind,
                documented("caddy", "")?,
                &[
                    ("api.example.com {", format!("https://localhost:{port} {{")),
                    ("https://127.0.0.1:8443", format!("https://{tollgate}")),
                    ("127.0.0.1:9000", upstream),
                    ("/etc/caddy/tls/api.pem", api_cert),
                    ("/etc/caddy/tls/api.key", api_key),
                    ("/etc/caddy/tls/tollgate-ca.pem", tollgate_ca),
                ],
            )?;
            let d = path(dir);
            let config = format!(
                "{{\n\
                 \tadmin off\n\
                 \tauto_https disable_redirects\n\
                 \tskip_install_trust\n\
                 \tstorage file_system {d}/storage\n\
                 }}\n\n\
                 {site}\n"
            );
            std::fs::write(dir.join("Caddyfile"), config)?;
            command
                .args(["run", "--adapter", "caddyfile", "--config"])
                .arg(dir.join("Caddyfile"))
                .env("HOME", dir)
                .env("XDG_DATA_HOME", dir.join("data"))
                .env("XDG_CONFIG_HOME", dir.join("config"));
        }
        Kind::Traefik => {
            let dynamic = dir.join("dynamic.yml");
            let static_config = replace(
                kind,
                documented("yaml", "# /etc/traefik/traefik.yml")?,
                &[
                    ("\":443\"", format!("\"127.0.0.1:{port}\"")),
                    ("/etc/traefik/dynamic/tollgate.yml", path(&dynamic)),
                ],
            )?;
            let dynamic_config = replace(
                kind,
                documented("yaml", "# /etc/traefik/dynamic/tollgate.yml")?,
                &[
                    ("api.example.com", "localhost".into()),
                    ("https://127.0.0.1:8443", format!("https://{tollgate}")),
                    ("http://127.0.0.1:9000", format!("http://{upstream}")),
                    ("/etc/traefik/tls/api.pem", api_cert),
                    ("/etc/traefik/tls/api.key", api_key),
                    ("/etc/traefik/tls/tollgate-ca.pem", tollgate_ca),
                ],
            )?;
            std::fs::write(&dynamic, dynamic_config)?;
            std::fs::write(dir.join("traefik.yml"), static_config)?;
            command
                .arg(format!("--configFile={}", path(&dir.join("traefik.yml"))))
                .env("HOME", dir);
        }
    }
    Ok(command)
}
