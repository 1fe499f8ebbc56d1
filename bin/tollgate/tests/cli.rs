//! The operator CLI, run as a real process: `--help`, `--json` (exactly one JSON object on
//! stdout), configuration errors, `audit verify`, and `serve --demo` with a graceful stop.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

type TestResult = Result<(), Box<dyn std::error::Error>>;

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Result<Self, Box<dyn std::error::Error>> {
        Ok(Self {
            dir: tempfile::tempdir()?,
        })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tollgate"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("TOLLGATE_SECRET_KEY")
            .env_remove("TOLLGATE_DATA_DIR")
            .env(
                "TOLLGATE_DATABASE_URL",
                format!("sqlite://{}/tollgate.db", self.dir.path().display()),
            )
            .env("RUST_LOG", "warn");
        command
    }

    /// A folder with a new database (`tollgate migrate`): only `serve` and `migrate` create one.
    fn migrated() -> Result<Self, Box<dyn std::error::Error>> {
        let env = Self::new()?;
        let output = env.run(&["migrate"])?;
        if !output.status.success() {
            return Err(format!("migrate: {}", String::from_utf8_lossy(&output.stderr)).into());
        }
        Ok(env)
    }

    fn run(&self, args: &[&str]) -> Result<Output, Box<dyn std::error::Error>> {
        Ok(self.command(args).output()?)
    }

    /// Runs a `--json` command: it must succeed and print exactly one JSON object.
    fn json(&self, args: &[&str]) -> Result<Value, Box<dyn std::error::Error>> {
        let output = self.run(args)?;
        let stdout = String::from_utf8(output.stdout)?;
        assert!(
            output.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let mut stream = serde_json::Deserializer::from_str(&stdout).into_iter::<Value>();
        let first = stream.next().ok_or("no JSON on stdout")??;
        assert!(
            stream.next().is_none(),
            "{args:?} printed more than one JSON value: {stdout}"
        );
        assert!(first.is_object(), "{args:?} printed {first}");
        Ok(first)
    }
}

fn text(value: &Value, pointer: &str) -> String {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn every_command_has_help() -> TestResult {
    let env = Env::new()?;
    let commands: &[&[&str]] = &[
        &[],
        &["serve"],
        &["migrate"],
        &["accounts"],
        &["accounts", "create"],
        &["accounts", "list"],
        &["accounts", "set-modules"],
        &["accounts", "set-status"],
        &["users"],
        &["users", "create"],
        &["users", "list"],
        &["tokens"],
        &["tokens", "create"],
        &["modules"],
        &["modules", "list"],
        &["modules", "upsert"],
        &["audit"],
        &["audit", "verify"],
        &["login-url"],
        &["ticket-key"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let output = env.run(&args)?;
        assert!(output.status.success(), "{args:?}");
        let stdout = String::from_utf8(output.stdout)?;
        assert!(stdout.contains("Usage: tollgate"), "{args:?}: {stdout}");
    }
    Ok(())
}

#[test]
fn json_commands_print_one_object_in_the_rest_shapes() -> TestResult {
    let env = Env::migrated()?;
    let account = env.json(&[
        "accounts", "create", "--name", "Acme", "--type", "client", "--json",
    ])?;
    let account_id = text(&account, "/id");
    assert!(account_id.starts_with("ACC-"));
    assert_eq!(text(&account, "/type"), "Client");
    assert_eq!(
        account["modules"].as_array().map(Vec::len),
        Some(9),
        "every module a Client may use"
    );
    let user = env.json(&[
        "users",
        "create",
        "--account",
        &account_id,
        "--name",
        "Jane Doe",
        "--admin",
        "--json",
    ])?;
    let user_id = text(&user, "/id");
    assert_eq!(user["admin"], Value::Bool(true));
    let token = env.json(&[
        "tokens",
        "create",
        "--account",
        &account_id,
        "--name",
        "CI robot",
        "--modules",
        "access-management,billing",
        "--created-by",
        &user_id,
        "--json",
    ])?;
    assert!(text(&token, "/token").starts_with(&format!("idt:{}:", text(&token, "/id"))));
    assert_eq!(token["modules"].as_array().map(Vec::len), Some(2));
    let accounts = env.json(&["accounts", "list", "--json"])?;
    assert_eq!(accounts["$meta"]["pagination"]["total"], 1);
    assert_eq!(text(&accounts, "/data/0/id"), account_id);
    let users = env.json(&["users", "list", "--account", &account_id, "--json"])?;
    assert_eq!(text(&users, "/data/0/name"), "Jane Doe");
    let modules = env.json(&["modules", "list", "--json"])?;
    assert_eq!(modules["data"].as_array().map(Vec::len), Some(12));
    let upserted = env.json(&[
        "modules",
        "upsert",
        "--id",
        "MOD-2001",
        "--code",
        "reports",
        "--name",
        "Reports",
        "--account-types",
        "Client,Vendor",
        "--paths",
        "reports/",
        "--json",
    ])?;
    assert_eq!(text(&upserted, "/code"), "reports");
    let modules = env.json(&["modules", "list", "--json"])?;
    assert_eq!(modules["data"].as_array().map(Vec::len), Some(13));

    // Removing billing from the account removes it from the token, with an audit record.
    let narrowed = env.json(&[
        "accounts",
        "set-modules",
        &account_id,
        "--modules",
        "access-management",
        "--json",
    ])?;
    assert_eq!(narrowed["modules"].as_array().map(Vec::len), Some(1));
    let disabled = env.json(&["accounts", "set-status", &account_id, "disabled", "--json"])?;
    assert_eq!(text(&disabled, "/status"), "Disabled");
    let verified = env.json(&["audit", "verify", "--json"])?;
    assert_eq!(verified["intact"], Value::Bool(true));
    assert_eq!(
        verified["accounts"][0]["records"], 2,
        "created + the cascade's update"
    );
    Ok(())
}

#[test]
fn bad_input_and_configuration_say_what_to_fix() -> TestResult {
    let env = Env::new()?;
    let output = env
        .command(&["accounts", "list"])
        .env("TOLLGATE_DATABASE_URL", "tollgate.db")
        .output()?;
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr)?;
    assert!(stderr.contains("TOLLGATE_DATABASE_URL"), "{stderr}");
    assert!(
        !env.dir.path().join("tollgate.db").exists(),
        "no database is created for a URL without a scheme"
    );

    let output = env
        .command(&["migrate"])
        .env(
            "TOLLGATE_DATABASE_URL",
            "postgres://nobody@127.0.0.1:1/none",
        )
        .env("TOLLGATE_LISTEN", "not an address")
        .env("TOLLGATE_REVEAL", "sometimes")
        .env("TOLLGATE_FORWARDED_HEADER", "x-real-ip")
        .env("TOLLGATE_BODY_TIMEOUT", "forever")
        .output()?;
    let stderr = String::from_utf8(output.stderr)?;
    assert!(!output.status.success());
    for expected in [
        "TOLLGATE_SECRET_KEY is required with PostgreSQL",
        "TOLLGATE_LISTEN",
        "TOLLGATE_REVEAL",
        "TOLLGATE_FORWARDED_HEADER",
        "TOLLGATE_BODY_TIMEOUT",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in {stderr}"
        );
    }

    assert!(env.run(&["migrate"])?.status.success());
    let output = env.run(&["accounts", "create", "--name", "X", "--type", "reseller"])?;
    assert!(!output.status.success());
    assert!(String::from_utf8(output.stderr)?.contains("client, vendor or operations"));
    Ok(())
}

#[test]
fn audit_verify_fails_on_a_tampered_chain() -> TestResult {
    use diesel::connection::SimpleConnection;
    let env = Env::migrated()?;
    let account = env.json(&[
        "accounts", "create", "--name", "Acme", "--type", "vendor", "--json",
    ])?;
    let account_id = text(&account, "/id");
    env.json(&[
        "tokens",
        "create",
        "--account",
        &account_id,
        "--name",
        "one",
        "--modules",
        "billing",
        "--json",
    ])?;
    env.json(&[
        "tokens",
        "create",
        "--account",
        &account_id,
        "--name",
        "two",
        "--modules",
        "billing",
        "--json",
    ])?;
    assert!(env.run(&["audit", "verify"])?.status.success());
    let mut conn = <diesel::SqliteConnection as diesel::Connection>::establish(
        &env.dir.path().join("tollgate.db").display().to_string(),
    )?;
    conn.batch_execute(
        "DROP TRIGGER audit_records_no_update; UPDATE audit_records SET record = replace(record, 'one', 'uno') WHERE chain_seq = 1;",
    )?;
    let output = env.run(&["audit", "verify"])?;
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8(output.stdout)?;
    assert!(
        stdout.contains("BROKEN") && stdout.contains("#1"),
        "{stdout}"
    );
    Ok(())
}

fn wait_for_line(
    reader: &mut impl BufRead,
    needle: &str,
    deadline: Duration,
) -> Result<String, Box<dyn std::error::Error>> {
    let started = Instant::now();
    let mut line = String::new();
    while started.elapsed() < deadline {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(format!("stdout closed before {needle:?}").into());
        }
        if line.contains(needle) {
            return Ok(line.trim().to_owned());
        }
    }
    Err(format!("no {needle:?} within {deadline:?}").into())
}

#[test]
fn serve_demo_answers_over_https_and_stops_on_sigterm() -> TestResult {
    let env = Env::new()?;
    let mut child = env
        .command(&["serve", "--demo"])
        .env("TOLLGATE_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut reader = BufReader::new(stdout);
    let link = wait_for_line(&mut reader, "/sign-in?ticket=", Duration::from_secs(60))?;
    let line = wait_for_line(
        &mut reader,
        "listening on https://",
        Duration::from_secs(60),
    )?;
    let address = line
        .rsplit("https://")
        .next()
        .ok_or("no address")?
        .to_owned();
    // The sign-in link printed for the demo administrator points at the bound port.
    let port = address
        .rsplit(':')
        .next()
        .ok_or("no port")?
        .trim()
        .to_owned();
    assert!(
        link.trim()
            .starts_with(&format!("https://localhost:{port}/sign-in?ticket=v1.USR-")),
        "{link}"
    );
    let token = std::fs::read_to_string(env.dir.path().join("demo-token.txt"))?
        .trim()
        .to_owned();
    assert!(token.starts_with("idt:TKN-"));
    let cert = std::fs::read(env.dir.path().join("tls/cert.pem"))?;
    let client = reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&cert)?)
        .build()?;
    let port = address.rsplit(':').next().ok_or("no port")?;
    let response = client
        .get(format!(
            "https://localhost:{port}/public/v1/accounts/api-tokens"
        ))
        .bearer_auth(&token)
        .send()?;
    assert_eq!(response.status(), 200);
    let body: Value = response.json()?;
    assert_eq!(text(&body, "/data/0/name"), "Demo token");
    assert!(Path::new(&env.dir.path().join("secret.key")).exists());
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(env.dir.path().join("secret.key"))?.permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()?;
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            assert!(status.success(), "exit status {status}");
            break;
        }
        if started.elapsed() > Duration::from_secs(30) {
            child.kill()?;
            return Err("the server did not stop on SIGTERM".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

#[test]
fn login_url_mints_tickets_for_administrators_of_active_accounts_only() -> TestResult {
    use base64::Engine as _;
    use tollgate_domain::ticket::Ticket;

    let env = Env::migrated()?;
    let account = env.json(&[
        "accounts", "create", "--name", "Acme", "--type", "client", "--json",
    ])?;
    let account_id = text(&account, "/id");
    let admin = env.json(&[
        "users",
        "create",
        "--account",
        &account_id,
        "--name",
        "Jane",
        "--admin",
        "--json",
    ])?;
    let clerk = env.json(&[
        "users",
        "create",
        "--account",
        &account_id,
        "--name",
        "Joe",
        "--json",
    ])?;
    let admin_id = text(&admin, "/id");

    let output = env.run(&[
        "login-url",
        "--user",
        &admin_id,
        "--base-url",
        "https://tg.example.com/",
    ])?;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let link = String::from_utf8(output.stdout)?.trim().to_owned();
    let ticket = link
        .strip_prefix("https://tg.example.com/sign-in?ticket=")
        .ok_or_else(|| format!("unexpected link {link}"))?;
    // The exported k_ticket verifies it: what an identity provider would mint.
    let exported = env.run(&["ticket-key"])?;
    assert!(exported.status.success());
    let key = base64::engine::general_purpose::STANDARD
        .decode(String::from_utf8(exported.stdout)?.trim())?;
    let checked = Ticket::verify(
        &tollgate_domain::MacKey::new(&key),
        ticket,
        time::OffsetDateTime::now_utc(),
    )
    .map_err(|e| format!("{e}"))?;
    assert_eq!(checked.user.to_string(), admin_id);
    assert!(checked.expires <= time::OffsetDateTime::now_utc() + time::Duration::minutes(10));

    for (user, says) in [
        (text(&clerk, "/id"), "not an account administrator"),
        ("USR-0000-0001".to_owned(), "no user"),
        ("nobody".to_owned(), "nobody"),
    ] {
        let output = env.run(&["login-url", "--user", &user])?;
        assert!(!output.status.success(), "{user}");
        let stderr = String::from_utf8(output.stderr)?;
        assert!(stderr.contains(says), "{user}: {stderr}");
    }
    assert!(
        env.run(&["accounts", "set-status", &account_id, "disabled"])?
            .status
            .success()
    );
    let output = env.run(&["login-url", "--user", &admin_id])?;
    assert!(!output.status.success());
    assert!(String::from_utf8(output.stderr)?.contains("disabled"));
    Ok(())
}
