//! Test databases: a PostgreSQL server per test process and a fresh database
//! per test.
//!
//! [`postgres_server`] provides the server. When `TOLLGATE_TEST_DATABASE_URL`
//! is set it names an existing server (its database path is ignored; the role
//! must be allowed to `CREATE DATABASE`). Otherwise a throwaway cluster is
//! created with `initdb` in `/tmp/tollgate-pg-<pid>-<random>` and started with
//! `pg_ctl`, once per process. A detached watchdog stops the cluster and
//! deletes its directory as soon as the test process exits, however it exits.
//!
//! [`TestDatabase::create`] makes an empty database named
//! `tollgate_test_<pid>_<counter>_<random>` on that server, with `pg_trgm`
//! installed, and drops it again when the value is dropped. Databases left
//! behind by crashed test processes are dropped the first time a process uses
//! the server.
//!
//! Linux only: it relies on `/proc`, `runuser` and the Debian layout of the
//! PostgreSQL binaries.

use std::fmt;
use std::fs;
use std::io::ErrorKind;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use diesel::connection::Connection as _;
use diesel::pg::PgConnection;
use diesel::{QueryableByName, RunQueryDsl as _};

/// The environment variable naming an existing server to use instead of a
/// throwaway cluster.
const URL_VARIABLE: &str = "TOLLGATE_TEST_DATABASE_URL";

/// Prefix of every database this module creates.
const DATABASE_PREFIX: &str = "tollgate_test_";

/// How to get a PostgreSQL server, for error messages.
const INSTALL_HINT: &str = "install PostgreSQL (`apt-get install postgresql postgresql-contrib`) \
     or set TOLLGATE_TEST_DATABASE_URL to a server whose role may CREATE DATABASE";

/// How many ports to try when starting the throwaway cluster.
const START_ATTEMPTS: usize = 4;

/// How many log lines to quote when the throwaway cluster fails.
const LOG_TAIL_LINES: usize = 30;

/// Why a test database could not be provided.
#[derive(Debug, thiserror::Error)]
pub enum TestDbError {
    /// No `initdb`/`pg_ctl` was found and no server URL was given.
    #[error("no PostgreSQL server binaries (initdb, pg_ctl) found in {searched}; {INSTALL_HINT}")]
    PostgresNotFound {
        /// Where the binaries were looked for.
        searched: String,
    },

    /// `TOLLGATE_TEST_DATABASE_URL` cannot be used.
    #[error(
        "{URL_VARIABLE}={url} is not usable: {reason}; expected \
         postgres://USER[:PASSWORD]@HOST[:PORT][/DATABASE][?PARAMS]"
    )]
    InvalidUrl {
        /// The URL, password hidden.
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A file-system operation failed.
    #[error("could not {action}: {source}")]
    Io {
        /// What was being done.
        action: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A helper command (`initdb`, `chown`, …) failed.
    #[error("`{command}` failed ({status}); {hint}\n{output}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status, or why it could not be run.
        status: String,
        /// What it printed.
        output: String,
        /// What to do about it.
        hint: String,
    },

    /// The throwaway cluster did not start.
    #[error(
        "could not start a throwaway PostgreSQL cluster in {dir}: {reason}\n\
         --- last lines of {log} ---\n{log_tail}"
    )]
    ClusterStart {
        /// The cluster's directory.
        dir: String,
        /// What failed.
        reason: String,
        /// The server log file.
        log: String,
        /// Its last lines.
        log_tail: String,
    },

    /// The server refused a connection.
    #[error("could not connect to {url}: {source}; {hint}")]
    Connect {
        /// The URL, password hidden.
        url: String,
        /// What to check.
        hint: String,
        /// The underlying error.
        #[source]
        source: diesel::ConnectionError,
    },

    /// A statement failed.
    #[error("`{statement}` failed on {url}: {source}; {hint}")]
    Query {
        /// The SQL statement.
        statement: String,
        /// The URL, password hidden.
        url: String,
        /// What to check.
        hint: String,
        /// The underlying error.
        #[source]
        source: diesel::result::Error,
    },

    /// Setting up the process-wide server failed earlier in this process;
    /// the message is that first failure's.
    #[error("the test PostgreSQL server is unavailable: {0}")]
    ServerUnavailable(String),
}

/// A PostgreSQL server for tests.
pub struct PgServer {
    /// `postgres://…/postgres`.
    admin_url: String,
    /// Present when the server is a throwaway cluster of this process.
    cluster: Option<Cluster>,
}

impl PgServer {
    /// URL of the server's `postgres` maintenance database (superuser), e.g.
    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }
}

impl fmt::Debug for PgServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgServer")
            .field("admin_url", &redact_url(&self.admin_url))
            .field("cluster_dir", &self.cluster.as_ref().map(|c| &c.base))
            .finish()
    }
}

/// A cluster started by this process.
struct Cluster {
    /// Directory holding the data directory, the socket and the log.
    base: PathBuf,
    /// Writing end of the watchdog's stdin: closed by the kernel when this
    /// process exits, which tells the watchdog to stop the cluster. Never
    /// read; kept only so the pipe stays open for the life of the process.
    _watchdog: ChildStdin,
}

/// The process-wide server: the one named by `TOLLGATE_TEST_DATABASE_URL`
/// when that variable is set (any database path in it is replaced; the role
/// must be allowed to `CREATE DATABASE`), otherwise a throwaway cluster started
/// once for this process. Started lazily, once.
///
/// On first use, databases left behind by test processes that no longer run
/// are dropped.
pub fn postgres_server() -> Result<&'static PgServer, TestDbError> {
    static SERVER: OnceLock<Result<PgServer, String>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            let server = start_server().map_err(|e| e.to_string())?;
            sweep_leftovers(&server.admin_url);
            Ok(server)
        })
        .as_ref()
        .map_err(|e| TestDbError::ServerUnavailable(e.clone()))
}

fn start_server() -> Result<PgServer, TestDbError> {
    match std::env::var(URL_VARIABLE) {
        Ok(url) if !url.trim().is_empty() => {
            let admin_url = replace_database(url.trim(), "postgres").map_err(|reason| {
                TestDbError::InvalidUrl {
                    url: redact_url(&url),
                    reason,
                }
            })?;
            // Fail here, once, with a clear message rather than in every test.
            connect(
                &admin_url,
                &format!("check that the server named by {URL_VARIABLE} is running and reachable"),
            )?;
            Ok(PgServer {
                admin_url,
                cluster: None,
            })
        }
        _ => start_cluster(),
    }
}

/// A fresh, empty database on [`postgres_server`], unique to one test, with the
/// `pg_trgm` extension installed; dropped when this value is dropped.
pub struct TestDatabase {
    name: String,
    url: String,
    server: &'static PgServer,
}

impl TestDatabase {
    /// Creates the database (starting the server first if needed).
    pub fn create() -> Result<TestDatabase, TestDbError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);

        let server = postgres_server()?;
        let name = format!(
            "{DATABASE_PREFIX}{}_{}_{:08x}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        let url = replace_database(&server.admin_url, &name).map_err(|reason| {
            TestDbError::InvalidUrl {
                url: redact_url(&server.admin_url),
                reason,
            }
        })?;

        let mut admin = connect(&server.admin_url, "the test server stopped answering")?;
        execute(
            &mut admin,
            &server.admin_url,
            &format!("CREATE DATABASE \"{name}\""),
            "the role must be allowed to CREATE DATABASE (ALTER ROLE … CREATEDB)",
        )?;
        drop(admin);

        // From here on, dropping `database` removes it again.
        let database = TestDatabase { name, url, server };
        let mut conn = connect(&database.url, "the database was just created")?;
        execute(
            &mut conn,
            &database.url,
            "CREATE EXTENSION IF NOT EXISTS pg_trgm",
            "pg_trgm comes with postgresql-contrib (`apt-get install postgresql-contrib`)",
        )?;
        Ok(database)
    }

    /// `postgres://…/tollgate_test_<pid>_<counter>_<random>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestDatabase")
            .field("name", &self.name)
            .field("url", &redact_url(&self.url))
            .finish()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Err(e) = drop_database(&self.server.admin_url, &self.name) {
            log::warn!("could not drop test database {}: {e}", self.name);
        }
    }
}

fn drop_database(admin_url: &str, name: &str) -> Result<(), TestDbError> {
    let mut admin = connect(admin_url, "the test server stopped answering")?;
    execute(
        &mut admin,
        admin_url,
        &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        "the database may be dropped later by the leftover sweep",
    )
}

#[derive(QueryableByName)]
struct DatabaseName {
    #[diesel(sql_type = diesel::sql_types::Text)]
    datname: String,
}

/// Drops the databases of test processes that are no longer running.
/// Failures are logged: they do not stop the tests.
fn sweep_leftovers(admin_url: &str) {
    let result = connect(admin_url, "the test server stopped answering").and_then(|mut conn| {
        let statement = "SELECT datname::text AS datname FROM pg_database \
                         WHERE datname LIKE 'tollgate\\_test\\_%'";
        diesel::sql_query(statement)
            .load::<DatabaseName>(&mut conn)
            .map_err(|source| TestDbError::Query {
                statement: statement.to_owned(),
                url: redact_url(admin_url),
                hint: "the role must be able to read pg_database".to_owned(),
                source,
            })
    });
    let names = match result {
        Ok(names) => names,
        Err(e) => {
            log::warn!("could not look for leftover test databases: {e}");
            return;
        }
    };
    for DatabaseName { datname } in names {
        let Some(pid) = creator_pid(&datname) else {
            continue;
        };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        log::info!("dropping leftover test database {datname} (process {pid} is gone)");
        if let Err(e) = drop_database(admin_url, &datname) {
            log::warn!("could not drop leftover test database {datname}: {e}");
        }
    }
}

/// The pid in `tollgate_test_<pid>_<counter>_<hex>`, if `name` has exactly
/// that shape.
fn creator_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(DATABASE_PREFIX)?;
    let mut parts = rest.split('_');
    let pid = parts.next()?;
    let counter = parts.next()?;
    let random = parts.next()?;
    let well_formed = parts.next().is_none()
        && !counter.is_empty()
        && counter.bytes().all(|b| b.is_ascii_digit())
        && !random.is_empty()
        && random.bytes().all(|b| b.is_ascii_hexdigit());
    if !well_formed || pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

fn connect(url: &str, hint: &str) -> Result<PgConnection, TestDbError> {
    PgConnection::establish(url).map_err(|source| TestDbError::Connect {
        url: redact_url(url),
        hint: hint.to_owned(),
        source,
    })
}

fn execute(
    conn: &mut PgConnection,
    url: &str,
    statement: &str,
    hint: &str,
) -> Result<(), TestDbError> {
    diesel::sql_query(statement)
        .execute(conn)
        .map(drop)
        .map_err(|source| TestDbError::Query {
            statement: statement.to_owned(),
            url: redact_url(url),
            hint: hint.to_owned(),
            source,
        })
}

// ---------------------------------------------------------------------------
// URLs

/// Splits `scheme://authority/path?query#fragment` into
/// (`scheme://authority`, path, `?query#fragment` without a `dbname` parameter).
fn split_url(url: &str) -> Result<(&str, &str, String), String> {
    let Some(scheme_end) = url.find("://") else {
        return Err("it has no scheme (postgres://)".to_owned());
    };
    let scheme = &url[..scheme_end];
    if scheme != "postgres" && scheme != "postgresql" {
        return Err(format!("the scheme is {scheme:?}, not postgres"));
    }
    let after_scheme = scheme_end + 3;
    let authority_end = url[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after_scheme + i);
    let path_end = url[authority_end..]
        .find(['?', '#'])
        .map_or(url.len(), |i| authority_end + i);
    let tail = &url[path_end..];
    let (query, fragment) = match tail.find('#') {
        Some(i) => (&tail[..i], &tail[i..]),
        None => (tail, ""),
    };
    // A `dbname` parameter would override the path.
    let kept: Vec<&str> = query
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("dbname="))
        .collect();
    let mut rest = String::new();
    if !kept.is_empty() {
        rest.push('?');
        rest.push_str(&kept.join("&"));
    }
    rest.push_str(fragment);
    Ok((&url[..authority_end], &url[authority_end..path_end], rest))
}

/// `url` with its database path replaced by `/database`.
fn replace_database(url: &str, database: &str) -> Result<String, String> {
    let (base, _path, rest) = split_url(url)?;
    // Every test connection, like the store's own, goes without GSSAPI (see `backend`).
    Ok(crate::backend::without_gss_encryption(&format!(
        "{base}/{database}{rest}"
    )))
}

use crate::backend::redact_url;

// ---------------------------------------------------------------------------
// The throwaway cluster

/// Where the server binaries are.
struct Binaries {
    initdb: PathBuf,
    pg_ctl: PathBuf,
}

/// How to run the server binaries: directly, or as `postgres` when we are
/// root (initdb and postgres refuse to run as root).
#[derive(Clone, Copy)]
struct Runner {
    as_root: bool,
}

impl Runner {
    fn command(self, program: &Path) -> Command {
        let mut command = if self.as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        command.current_dir("/").stdin(Stdio::null());
        command
    }

    /// The argument vector of [`Runner::command`], for the watchdog script.
    fn argv(self, program: &Path) -> Vec<String> {
        let mut argv = Vec::new();
        if self.as_root {
            argv.extend(["runuser", "-u", "postgres", "--"].map(str::to_owned));
        }
        argv.push(program.display().to_string());
        argv
    }
}

fn start_cluster() -> Result<PgServer, TestDbError> {
    let binaries = find_binaries()?;
    let runner = Runner {
        as_root: effective_uid_is_root(),
    };

    let base = PathBuf::from(format!(
        "/tmp/tollgate-pg-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let data = base.join("data");
    let log_file = base.join("postgres.log");
    create_base_dir(&base, runner)?;

    // Started before anything runs in the cluster, so that the directory is
    // removed however this process ends, even half-way through setting up.
    let watchdog = spawn_watchdog(&base, &data, &binaries.pg_ctl, runner)?;

    let cluster_error = |reason: String| TestDbError::ClusterStart {
        dir: base.display().to_string(),
        reason,
        log: log_file.display().to_string(),
        log_tail: log_tail(&log_file),
    };

    run_initdb(&binaries.initdb, &data, runner).map_err(|e| cluster_error(e.to_string()))?;

    let mut failures = Vec::new();
    for _ in 0..START_ATTEMPTS {
        let port = free_port()?;
        match pg_ctl_start(&binaries.pg_ctl, runner, &base, &data, &log_file, port, 300) {
            Ok(()) => {
                let admin_url = crate::backend::without_gss_encryption(&format!(
                    "postgres://postgres@127.0.0.1:{port}/postgres"
                ));
                connect(
                    &admin_url,
                    "the throwaway cluster started but refuses connections",
                )
                .map_err(|e| cluster_error(e.to_string()))?;
                log::info!(
                    "started throwaway PostgreSQL cluster in {} on port {port}",
                    base.display()
                );
                return Ok(PgServer {
                    admin_url,
                    cluster: Some(Cluster {
                        base,
                        _watchdog: watchdog,
                    }),
                });
            }
            // Most likely the port was taken in the meantime: try another.
            Err(e) => failures.push(format!("port {port}: {e}")),
        }
    }
    Err(cluster_error(failures.join("\n")))
}

/// `initdb` and `pg_ctl` from the newest `/usr/lib/postgresql/<version>/bin`,
/// else from `pg_config --bindir`, else from `PATH`.
fn find_binaries() -> Result<Binaries, TestDbError> {
    let in_dir = |dir: &Path| -> Option<Binaries> {
        let initdb = dir.join("initdb");
        let pg_ctl = dir.join("pg_ctl");
        (initdb.is_file() && pg_ctl.is_file()).then_some(Binaries { initdb, pg_ctl })
    };

    let mut versions: Vec<(Vec<u32>, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let version = name
                .split('.')
                .map(str::parse::<u32>)
                .collect::<Result<Vec<_>, _>>()
                .ok()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    versions.sort();
    if let Some(found) = versions.iter().rev().find_map(|(_, dir)| in_dir(dir)) {
        return Ok(found);
    }

    let pg_config_bindir = Command::new("pg_config")
        .arg("--bindir")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|s| PathBuf::from(s.trim()));
    if let Some(found) = pg_config_bindir.as_deref().and_then(in_dir) {
        return Ok(found);
    }

    let path = std::env::var_os("PATH").unwrap_or_default();
    let from_path = |program: &str| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    };
    if let (Some(initdb), Some(pg_ctl)) = (from_path("initdb"), from_path("pg_ctl")) {
        return Ok(Binaries { initdb, pg_ctl });
    }

    Err(TestDbError::PostgresNotFound {
        searched: "/usr/lib/postgresql/*/bin, `pg_config --bindir` and PATH".to_owned(),
    })
}

/// Whether this process runs with effective uid 0.
fn effective_uid_is_root() -> bool {
    // "Uid:\treal\teffective\tsaved\tfs"
    let from_proc = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|euid| euid == "0"))
        });
    from_proc.unwrap_or_else(|| {
        Command::new("id")
            .arg("-u")
            .stdin(Stdio::null())
            .output()
            .is_ok_and(|out| out.status.success() && out.stdout.trim_ascii() == b"0")
    })
}

/// Creates `base`, traversable by everyone and owned by `postgres` when we
/// are root.
fn create_base_dir(base: &Path, runner: Runner) -> Result<(), TestDbError> {
    let io_error = |action: &str| {
        let action = format!("{action} {}", base.display());
        move |source| TestDbError::Io { action, source }
    };
    match fs::remove_dir_all(base) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(io_error("remove stale")(e)),
    }
    fs::create_dir_all(base).map_err(io_error("create"))?;
    fs::set_permissions(base, fs::Permissions::from_mode(0o755))
        .map_err(io_error("set permissions of"))?;
    if runner.as_root {
        let mut chown = Command::new("chown");
        chown
            .args(["-R", "postgres:postgres"])
            .arg(base)
            .current_dir("/")
            .stdin(Stdio::null());
        run(
            &mut chown,
            "initdb and postgres run as the `postgres` user when tests run as root: \
             create that user (it comes with the postgresql package)",
        )?;
    }
    Ok(())
}

/// Spawns a detached shell that waits for this process to end (its stdin, a
/// pipe from us, reaches end-of-file), then stops the cluster and removes
/// `base`. It runs as us, so it can remove `base` even when the cluster is
/// owned by `postgres`; only `pg_ctl` runs through [`Runner`].
fn spawn_watchdog(
    base: &Path,
    data: &Path,
    pg_ctl: &Path,
    runner: Runner,
) -> Result<ChildStdin, TestDbError> {
    const SCRIPT: &str = r#"base=$1; shift
while read -r _; do :; done
"$@" >/dev/null 2>&1
rm -rf "$base"
"#;
    let mut stop = runner.argv(pg_ctl);
    stop.extend([
        "-D".to_owned(),
        data.display().to_string(),
        "stop".to_owned(),
        "-m".to_owned(),
        "immediate".to_owned(),
        "-w".to_owned(),
    ]);
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(SCRIPT)
        .arg("tollgate-pg-watchdog")
        .arg(base)
        .args(&stop)
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group: a Ctrl-C aimed at the tests does not kill it
        // before it has cleaned up.
        .process_group(0)
        .spawn()
        .map_err(|source| TestDbError::Io {
            action: "start the cluster watchdog (`sh`)".to_owned(),
            source,
        })?;
    child.stdin.take().ok_or_else(|| TestDbError::Io {
        action: "open the cluster watchdog's stdin".to_owned(),
        source: std::io::Error::other("no pipe"),
    })
    // `child` is dropped without waiting: the watchdog outlives this process
    // by design.
}

fn run_initdb(initdb: &Path, data: &Path, runner: Runner) -> Result<(), TestDbError> {
    let attempt = |locale: &[&str]| {
        let mut command = runner.command(initdb);
        command
            .arg("-D")
            .arg(data)
            .args(["-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"])
            .args(locale);
        run(&mut command, "see initdb's output below")
    };
    match attempt(&["--locale=C.UTF-8"]) {
        Ok(_) => Ok(()),
        Err(first) => {
            // Older servers or systems without a C.UTF-8 locale.
            log::info!("initdb with C.UTF-8 failed, retrying with --no-locale: {first}");
            match fs::remove_dir_all(data) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(TestDbError::Io {
                        action: format!("remove {}", data.display()),
                        source,
                    });
                }
            }
            attempt(&["--no-locale"]).map(drop)
        }
    }
}

/// Runs `command` to completion; its output, or an error quoting it.
fn run(command: &mut Command, hint: &str) -> Result<Output, TestDbError> {
    let described = format!("{command:?}");
    match command.output() {
        Ok(output) if output.status.success() => Ok(output),
        Ok(output) => Err(TestDbError::Command {
            command: described,
            status: output.status.to_string(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
            .trim_end()
            .to_owned(),
            hint: hint.to_owned(),
        }),
        Err(e) => Err(TestDbError::Command {
            command: described,
            status: format!("could not run it: {e}"),
            output: String::new(),
            hint: format!("{hint}; or {INSTALL_HINT}"),
        }),
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
fn free_port() -> Result<u16, TestDbError> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|source| TestDbError::Io {
            action: "find a free TCP port on 127.0.0.1".to_owned(),
            source,
        })
}

/// The last lines of the server log, or why it cannot be read.
fn log_tail(log_file: &Path) -> String {
    match fs::read(log_file) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
        }
        Err(e) => format!("(no log: {e})"),
    }
}

/// A throwaway PostgreSQL cluster of its own, for fault tests: it can be stopped and started
/// again under a running server, and its backends frozen, without touching any shared server.
/// Removed (stopped, its folder deleted) when dropped, or by its watchdog if the test process
/// dies.
pub struct OwnCluster {
    base: PathBuf,
    data: PathBuf,
    log_file: PathBuf,
    port: u16,
    binaries: Binaries,
    runner: Runner,
    _watchdog: ChildStdin,
}

impl fmt::Debug for OwnCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnCluster")
            .field("base", &self.base)
            .field("port", &self.port)
            .finish()
    }
}

impl OwnCluster {
    /// Starts a new cluster (initdb, then pg_ctl start) on a free port.
    pub fn start() -> Result<OwnCluster, TestDbError> {
        let binaries = find_binaries()?;
        let runner = Runner {
            as_root: effective_uid_is_root(),
        };
        let base = PathBuf::from(format!(
            "/tmp/tollgate-own-pg-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        let data = base.join("data");
        let log_file = base.join("postgres.log");
        create_base_dir(&base, runner)?;
        let watchdog = spawn_watchdog(&base, &data, &binaries.pg_ctl, runner)?;
        run_initdb(&binaries.initdb, &data, runner)?;
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let port = free_port()?;
            match pg_ctl_start(&binaries.pg_ctl, runner, &base, &data, &log_file, port, 200) {
                Ok(()) => {
                    return Ok(OwnCluster {
                        base,
                        data,
                        log_file,
                        port,
                        binaries,
                        runner,
                        _watchdog: watchdog,
                    });
                }
                Err(error) => failures.push(format!("port {port}: {error}")),
            }
        }
        Err(TestDbError::ClusterStart {
            dir: base.display().to_string(),
            reason: failures.join("\n"),
            log: log_file.display().to_string(),
            log_tail: log_tail(&log_file),
        })
    }

    /// `pg_ctl start` on the cluster's port, waiting until it accepts connections.
    pub fn start_again(&self) -> Result<(), TestDbError> {
        pg_ctl_start(
            &self.binaries.pg_ctl,
            self.runner,
            &self.base,
            &self.data,
            &self.log_file,
            self.port,
            200,
        )
    }

    /// `pg_ctl stop -m fast`: every connection is closed, new ones are refused.
    pub fn stop(&self) -> Result<(), TestDbError> {
        let mut pg_ctl = self.runner.command(&self.binaries.pg_ctl);
        pg_ctl
            .arg("-D")
            .arg(&self.data)
            .args(["-w", "-t", "60", "-m", "fast", "stop"]);
        run(&mut pg_ctl, "see the cluster's log").map(|_| ())
    }

    /// The URL of database `name` on this cluster.
    pub fn url(&self, name: &str) -> String {
        crate::backend::without_gss_encryption(&format!(
            "postgres://postgres@127.0.0.1:{}/{name}",
            self.port
        ))
    }

    /// Creates database `name`; its URL.
    pub fn create_database(&self, name: &str) -> Result<String, TestDbError> {
        let admin = self.url("postgres");
        let mut conn = connect(&admin, "the own cluster refuses connections")?;
        execute(
            &mut conn,
            &admin,
            &format!("CREATE DATABASE \"{name}\""),
            "creating a database on the own cluster",
        )?;
        Ok(self.url(name))
    }

    /// The last lines of the cluster's log (for failure messages).
    pub fn log_tail(&self) -> String {
        log_tail(&self.log_file)
    }
}

/// `pg_ctl start` of the cluster in `data` on `port` (sockets in `base`, durability off),
/// waiting until it accepts connections.
fn pg_ctl_start(
    pg_ctl: &Path,
    runner: Runner,
    base: &Path,
    data: &Path,
    log_file: &Path,
    port: u16,
    max_connections: u32,
) -> Result<(), TestDbError> {
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
         -c synchronous_commit=off -c full_page_writes=off -c max_connections={max_connections}",
        base.display()
    );
    let mut command = runner.command(pg_ctl);
    command
        .arg("-D")
        .arg(data)
        .arg("-l")
        .arg(log_file)
        .args(["-w", "-t", "60", "-o"])
        .arg(&options)
        .arg("start");
    run(&mut command, "see the cluster's log").map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database_and_keeps_the_rest() {
        assert_eq!(
            replace_database("postgres://u:p@h:5/db?sslmode=disable", "x").unwrap(),
            "postgres://u:p@h:5/x?sslmode=disable&gssencmode=disable"
        );
        assert_eq!(
            replace_database("postgresql://h", "x").unwrap(),
            "postgresql://h/x?gssencmode=disable"
        );
        assert_eq!(
            replace_database("postgres://h/?dbname=a&application_name=t", "x").unwrap(),
            "postgres://h/x?application_name=t&gssencmode=disable"
        );
        assert!(replace_database("mysql://h/db", "x").is_err());
        assert!(replace_database("h/db", "x").is_err());
    }

    #[test]
    fn hides_passwords() {
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("postgres://h/db"), "postgres://h/db");
    }

    #[test]
    fn recognises_only_our_database_names() {
        assert_eq!(creator_pid("tollgate_test_123_4_00ff00ff"), Some(123));
        assert_eq!(creator_pid("tollgate_test_123_4"), None);
        assert_eq!(creator_pid("tollgate_test_abc_4_00ff00ff"), None);
        assert_eq!(creator_pid("tollgate_test_123_4_00ff00ff_x"), None);
        assert_eq!(creator_pid("tollgate"), None);
    }
}
