//! Configuration, from the environment, validated at start-up. Every problem is reported with
//! what to fix, all at once.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `TOLLGATE_DATABASE_URL` | `sqlite://./data/tollgate.db` | `sqlite://relative/path.db`, `sqlite:///abs/path.db` or `postgres://…`; a URL without a scheme is refused |
//! | `TOLLGATE_DATA_DIR` | the SQLite file's folder, else `./data` | where the generated key and certificate are kept |
//! | `TOLLGATE_LISTEN` | `127.0.0.1:8443` | the HTTPS listener |
//! | `TOLLGATE_TLS_CERT`, `TOLLGATE_TLS_KEY` | a self-signed pair generated into the data folder | PEM files (both or neither) |
//! | `TOLLGATE_HTTP_LISTEN` | none | an optional plain HTTP listener; it refuses everything except trusted proxies |
//! | `TOLLGATE_SECRET_KEY` | generated into the data folder (mode 0600) for a new embedded database only | base64 of at least 32 random bytes; required with PostgreSQL; the current key |
//! | `TOLLGATE_PREVIOUS_SECRET_KEYS` | none | comma-separated base64 keys, older ones still accepted for what was made under them (key rotation) |
//! | `TOLLGATE_REVEAL` | `audited` | `audited` or `never` |
//! | `TOLLGATE_TRUSTED_PROXIES` | none | comma-separated addresses or CIDR ranges of TLS-terminating proxies |
//! | `TOLLGATE_MAX_STALE` | `30s` | how long a cached token keeps deciding once the database is unreachable (`0` fails closed at once) |
//! | `TOLLGATE_HEARTBEAT_INTERVAL` | `500ms` | how often the change feed's heartbeat is sent and the change log polled (at most 500 ms) |
//! | `TOLLGATE_HEARTBEAT_DEADLINE` | `2s` | how long a heartbeat may take to come back before the listening connection is replaced (at most 2 s) |
//! | `TOLLGATE_WRITE_TIMEOUT` | `1s` | how long a change may take before it answers 503 "outcome unknown" |
//! | `TOLLGATE_EXPIRY_SWEEP` | `15s` | how often expired tokens get their `expired` audit record (at most 60 s) |
//! | `TOLLGATE_BODY_TIMEOUT` | `10` | seconds a client may take to send a request body (then 408) |
//! | `TOLLGATE_FORWARDED_HEADER` | `x-forwarded-for` | the header trusted proxies name the client in: `x-forwarded-for` or `forwarded` (RFC 7239) |
//! | `RUST_LOG` | `info` | log filter |
//! | `TOLLGATE_METRICS_LISTEN` | none | a plain HTTP listener for `/metrics` (with refusal reasons), `/healthz` and `/readyz`; when set, the public listeners serve no `/metrics` |
//! | `TOLLGATE_LOG_FORMAT` | `text` | `text`, or `json` for one JSON object per line |
//!
//! Durations are `250ms`, `2s`, or a number of seconds.
//!
//! Each secret variable (`TOLLGATE_SECRET_KEY`, `TOLLGATE_PREVIOUS_SECRET_KEYS`,
//! `TOLLGATE_DATABASE_URL`) may instead be given as a file with the same name and `_FILE`
//! (container secrets): the file's contents, surrounding whitespace trimmed. Setting both is
//! refused. No secret is ever printed: `Config`'s `Debug` hides the keys and the database
//! password.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use tollgate_domain::ForwardedHeader;
use tollgate_domain::ServerKey;
use tollgate_http::RevealPolicy;
use tollgate_store::DatabaseUrl;
use zeroize::Zeroizing;

use crate::logging::LogFormat;

/// The longest body timeout: beyond it a slow client holds a worker for too long.
const MAX_BODY_TIMEOUT: Duration = Duration::from_secs(600);

/// Where the TLS certificate comes from.
#[derive(Debug, Clone)]
pub enum TlsSource {
    /// Operator-provided PEM files.
    Files {
        /// Certificate chain.
        cert: PathBuf,
        /// Private key.
        key: PathBuf,
    },
    /// A self-signed certificate kept in the data folder.
    SelfSigned,
}

/// The validated configuration. It holds the server keys and the database URL (which may carry
/// a password): `Debug` shows neither.
pub struct Config {
    pub database_url: Zeroizing<String>,
    pub backend: tollgate_store::Backend,
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub http_listen: Option<SocketAddr>,
    pub tls: TlsSource,
    /// The current key, when given (`TOLLGATE_SECRET_KEY` or its file).
    pub secret_key: Option<ServerKey>,
    /// The previous keys (`TOLLGATE_PREVIOUS_SECRET_KEYS` or its file).
    pub previous_keys: Vec<ServerKey>,
    pub reveal: RevealPolicy,
    pub trusted_proxies: Vec<IpNet>,
    pub timings: Timings,
    pub forwarded_header: ForwardedHeader,
    pub body_timeout: Duration,
    pub operations: Operations,
}

/// How the server is watched: the metrics listener (and `TOLLGATE_LOG_FORMAT`, only checked
/// here: `logging::init` reads it before the configuration).
#[derive(Debug, Clone, Copy)]
pub struct Operations {
    /// `TOLLGATE_METRICS_LISTEN`.
    pub metrics_listen: Option<SocketAddr>,
}

impl Operations {
    fn from_env(problems: &mut Vec<String>) -> Self {
        let metrics_listen = var("TOLLGATE_METRICS_LISTEN").and_then(|text| match text.parse() {
            Ok(address) => Some(address),
            Err(_) => {
                problems.push(format!(
                    "TOLLGATE_METRICS_LISTEN: {text:?} is not an address:port such as 0.0.0.0:9090"
                ));
                None
            }
        });
        if let Some(text) = var("TOLLGATE_LOG_FORMAT")
            && LogFormat::parse(&text).is_none()
        {
            problems.push(format!(
                "TOLLGATE_LOG_FORMAT: {text:?} must be text or json"
            ));
        }
        Self { metrics_listen }
    }
}

/// The fault-handling timings (SPEC §4 "Faults").
#[derive(Debug, Clone, Copy)]
pub struct Timings {
    pub max_stale: Duration,
    pub heartbeat_interval: Duration,
    pub heartbeat_deadline: Duration,
    pub write_timeout: Duration,
    pub expiry_sweep: Duration,
}

/// `250ms`, `2s`, `1.5s` or a bare number of seconds.
fn parse_duration(text: &str) -> Option<Duration> {
    let (number, scale) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 0.001)
    } else if let Some(s) = text.strip_suffix('s') {
        (s, 1.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number.trim().parse().ok()?;
    (value.is_finite() && value >= 0.0).then(|| Duration::from_secs_f64(value * scale))
}

fn duration_var(
    name: &str,
    default: Duration,
    most: Option<Duration>,
    problems: &mut Vec<String>,
) -> Duration {
    let Some(text) = var(name) else {
        return default;
    };
    match parse_duration(&text) {
        Some(value) if most.is_none_or(|most| value <= most) => value,
        Some(_) => {
            problems.push(format!(
                "{name}: {text:?} is longer than the most allowed, {:?}",
                most.unwrap_or_default()
            ));
            default
        }
        None => {
            problems.push(format!(
                "{name}: {text:?} is not a duration such as 500ms, 2s or 30"
            ));
            default
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = DatabaseUrl::parse(&self.database_url)
            .map(|url| url.redacted())
            .unwrap_or_else(|_| "(invalid)".to_owned());
        f.debug_struct("Config")
            .field("database_url", &url)
            .field("backend", &self.backend)
            .field("data_dir", &self.data_dir)
            .field("listen", &self.listen)
            .field("http_listen", &self.http_listen)
            .field("tls", &self.tls)
            .field("secret_key", &self.secret_key)
            .field("previous_keys", &self.previous_keys)
            .field("reveal", &self.reveal)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("timings", &self.timings)
            .field("forwarded_header", &self.forwarded_header)
            .field("body_timeout", &self.body_timeout)
            .field("operations", &self.operations)
            .finish()
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// A secret variable: `name`, or the contents of the file `name_FILE` names (trimmed). Both at
/// once is a problem; so is a file that cannot be read. The value is never put in a message.
fn secret_var(name: &str, problems: &mut Vec<String>) -> Option<Zeroizing<String>> {
    let file_name = format!("{name}_FILE");
    match (var(name), var(&file_name)) {
        (Some(_), Some(_)) => {
            problems.push(format!(
                "{name} and {file_name} are both set: set one of them"
            ));
            None
        }
        (Some(value), None) => Some(Zeroizing::new(value)),
        (None, Some(path)) => match std::fs::read_to_string(&path) {
            Ok(text) => {
                let text = Zeroizing::new(text);
                Some(Zeroizing::new(text.trim().to_owned())).filter(|v| !v.is_empty())
            }
            Err(error) => {
                problems.push(format!("{file_name}: cannot read {path}: {error}"));
                None
            }
        },
        (None, None) => None,
    }
}

impl Config {
    /// Reads and validates the environment.
    pub fn from_env() -> Result<Self, String> {
        let mut problems = Vec::new();
        let database_url = secret_var("TOLLGATE_DATABASE_URL", &mut problems)
            .unwrap_or_else(|| Zeroizing::new("sqlite://./data/tollgate.db".to_owned()));
        let parsed = DatabaseUrl::parse(&database_url);
        let backend = match &parsed {
            Ok(url) => url.backend(),
            Err(error) => {
                problems.push(format!(
                    "TOLLGATE_DATABASE_URL: {error} (for example sqlite://./data/tollgate.db or postgres://user@host/db)"
                ));
                tollgate_store::Backend::Sqlite
            }
        };
        let data_dir = var("TOLLGATE_DATA_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                parsed
                    .as_ref()
                    .ok()
                    .and_then(|url| url.sqlite_path())
                    .and_then(|path| std::path::Path::new(path).parent().map(PathBuf::from))
                    .filter(|dir| !dir.as_os_str().is_empty())
                    .unwrap_or_else(|| PathBuf::from("./data"))
            });
        let address =
            |name: &str, default: Option<&str>, problems: &mut Vec<String>| -> Option<SocketAddr> {
                let text = var(name).or(default.map(str::to_owned))?;
                match text.parse() {
                    Ok(address) => Some(address),
                    Err(_) => {
                        problems.push(format!(
                            "{name}: {text:?} is not an address:port such as 127.0.0.1:8443"
                        ));
                        None
                    }
                }
            };
        let listen = address("TOLLGATE_LISTEN", Some("127.0.0.1:8443"), &mut problems);
        let http_listen = address("TOLLGATE_HTTP_LISTEN", None, &mut problems);
        let tls = match (var("TOLLGATE_TLS_CERT"), var("TOLLGATE_TLS_KEY")) {
            (Some(cert), Some(key)) => {
                for (name, path) in [("TOLLGATE_TLS_CERT", &cert), ("TOLLGATE_TLS_KEY", &key)] {
                    if !std::path::Path::new(path).is_file() {
                        problems.push(format!("{name}: {path} is not a readable file"));
                    }
                }
                TlsSource::Files {
                    cert: cert.into(),
                    key: key.into(),
                }
            }
            (None, None) => TlsSource::SelfSigned,
            _ => {
                problems.push("TOLLGATE_TLS_CERT and TOLLGATE_TLS_KEY go together: set both, or neither for a self-signed certificate".into());
                TlsSource::SelfSigned
            }
        };
        let secret_key = match secret_var("TOLLGATE_SECRET_KEY", &mut problems) {
            Some(text) => match ServerKey::from_base64(&text) {
                Ok(key) => Some(key),
                Err(error) => {
                    problems.push(format!("TOLLGATE_SECRET_KEY {error}; generate one with: head -c 32 /dev/urandom | base64"));
                    None
                }
            },
            None => {
                if backend == tollgate_store::Backend::Postgres {
                    problems.push(
                        "TOLLGATE_SECRET_KEY is required with PostgreSQL (every instance needs the same key); generate one with: head -c 32 /dev/urandom | base64".into(),
                    );
                }
                None
            }
        };
        let mut previous_keys = Vec::new();
        if let Some(text) = secret_var("TOLLGATE_PREVIOUS_SECRET_KEYS", &mut problems) {
            for (index, part) in text
                .split(',')
                .map(str::trim)
                .filter(|part| !part.is_empty())
                .enumerate()
            {
                match ServerKey::from_base64(part) {
                    Ok(key) => previous_keys.push(key),
                    Err(error) => problems.push(format!(
                        "TOLLGATE_PREVIOUS_SECRET_KEYS: key {} (counting from 1) {error}",
                        index + 1
                    )),
                }
            }
            if secret_key.is_none() && !previous_keys.is_empty() {
                problems.push(
                    "TOLLGATE_PREVIOUS_SECRET_KEYS needs TOLLGATE_SECRET_KEY: previous keys are accepted beside a current key".into(),
                );
            }
        }
        let reveal = match var("TOLLGATE_REVEAL") {
            None => RevealPolicy::Audited,
            Some(text) => RevealPolicy::parse(&text).unwrap_or_else(|| {
                problems.push(format!(
                    "TOLLGATE_REVEAL: {text:?} must be audited or never"
                ));
                RevealPolicy::Audited
            }),
        };
        let mut trusted_proxies = Vec::new();
        for part in var("TOLLGATE_TRUSTED_PROXIES")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let parsed = part
                .parse::<IpNet>()
                .or_else(|_| part.parse::<std::net::IpAddr>().map(IpNet::from));
            match parsed {
                Ok(net) => trusted_proxies.push(net),
                Err(_) => problems.push(format!(
                    "TOLLGATE_TRUSTED_PROXIES: {part:?} is not an address or CIDR range such as 10.0.0.5 or 10.0.0.0/24"
                )),
            }
        }
        let timings = Timings {
            max_stale: duration_var(
                "TOLLGATE_MAX_STALE",
                Duration::from_secs(30),
                None,
                &mut problems,
            ),
            heartbeat_interval: duration_var(
                "TOLLGATE_HEARTBEAT_INTERVAL",
                Duration::from_millis(500),
                Some(Duration::from_millis(500)),
                &mut problems,
            ),
            heartbeat_deadline: duration_var(
                "TOLLGATE_HEARTBEAT_DEADLINE",
                Duration::from_secs(2),
                Some(Duration::from_secs(2)),
                &mut problems,
            ),
            write_timeout: duration_var(
                "TOLLGATE_WRITE_TIMEOUT",
                Duration::from_secs(1),
                None,
                &mut problems,
            ),
            expiry_sweep: duration_var(
                "TOLLGATE_EXPIRY_SWEEP",
                Duration::from_secs(15),
                Some(Duration::from_secs(60)),
                &mut problems,
            ),
        };
        if timings.heartbeat_interval.is_zero()
            || timings.heartbeat_deadline <= timings.heartbeat_interval
        {
            problems.push(
                "TOLLGATE_HEARTBEAT_DEADLINE must be longer than TOLLGATE_HEARTBEAT_INTERVAL, \
                 which must not be zero"
                    .into(),
            );
        }
        let forwarded_header = match var("TOLLGATE_FORWARDED_HEADER") {
            None => ForwardedHeader::default(),
            Some(text) => ForwardedHeader::parse(&text).unwrap_or_else(|| {
                problems.push(format!(
                    "TOLLGATE_FORWARDED_HEADER: {text:?} must be x-forwarded-for or forwarded (the header your proxies put the client's address in)"
                ));
                ForwardedHeader::default()
            }),
        };
        let body_timeout = match var("TOLLGATE_BODY_TIMEOUT") {
            None => tollgate_http::body::DEFAULT_BODY_TIMEOUT,
            Some(text) => match parse_duration(&text)
                .filter(|timeout| !timeout.is_zero() && *timeout <= MAX_BODY_TIMEOUT)
            {
                Some(timeout) => timeout,
                None => {
                    problems.push(format!(
                        "TOLLGATE_BODY_TIMEOUT: {text:?} must be a duration above 0 and at most {} s, such as 10, 2.5s or 500ms",
                        MAX_BODY_TIMEOUT.as_secs()
                    ));
                    tollgate_http::body::DEFAULT_BODY_TIMEOUT
                }
            },
        };
        let operations = Operations::from_env(&mut problems);
        match (listen, problems.is_empty()) {
            (Some(listen), true) => Ok(Self {
                database_url,
                backend,
                data_dir,
                listen,
                http_listen,
                tls,
                secret_key,
                previous_keys,
                reveal,
                trusted_proxies,
                timings,
                forwarded_header,
                body_timeout,
                operations,
            }),
            _ => Err(format!(
                "the configuration needs fixing:\n  - {}",
                problems.join("\n  - ")
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Debug` of the configuration never shows a key or the database password.
    #[test]
    fn debug_hides_the_keys_and_the_database_password() -> Result<(), String> {
        let key_text = "c2VjcmV0LWtleS1ieXRlcy0wMTIzNDU2Nzg5YWJjZGVm";
        let key = ServerKey::from_base64(key_text).map_err(|e| e.to_string())?;
        let previous = ServerKey::from_base64("b2xkLXNlY3JldC1rZXktYnl0ZXMtMDEyMzQ1Njc4OWFi")
            .map_err(|e| e.to_string())?;
        let config = Config {
            database_url: Zeroizing::new("postgres://tollgate:pa55w0rd-x@db/tollgate".into()),
            backend: tollgate_store::Backend::Postgres,
            data_dir: PathBuf::from("/var/lib/tollgate"),
            listen: "127.0.0.1:8443".parse().map_err(|_| "address")?,
            http_listen: None,
            tls: TlsSource::SelfSigned,
            secret_key: Some(key),
            previous_keys: vec![previous],
            reveal: RevealPolicy::Audited,
            trusted_proxies: Vec::new(),
            timings: Timings {
                max_stale: Duration::from_secs(30),
                heartbeat_interval: Duration::from_millis(500),
                heartbeat_deadline: Duration::from_secs(2),
                write_timeout: Duration::from_secs(1),
                expiry_sweep: Duration::from_secs(15),
            },
            forwarded_header: ForwardedHeader::default(),
            body_timeout: Duration::from_secs(10),
            operations: Operations {
                metrics_listen: None,
            },
        };
        let printed = format!("{config:?}");
        for secret in [key_text, "b2xkLXNlY3JldC", "pa55w0rd-x", "c2VjcmV0"] {
            assert!(!printed.contains(secret), "{printed}");
        }
        assert!(
            printed.contains("postgres://tollgate:***@db/tollgate"),
            "{printed}"
        );
        Ok(())
    }
}
