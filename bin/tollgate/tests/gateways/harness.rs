//! What every test of the binary shares, started once: a folder, the watchdog, Tollgate with
//! its demo data, the stand-in upstream, and each gateway (started when a test first needs it).

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use serde_json::Value;

use crate::R;
use crate::client;
use crate::gateway::{Gateway, Kind};
use crate::process::Watchdog;
use crate::tollgate::{self, Tollgate};
use crate::upstream::Upstream;

/// The address nginx speaks to Tollgate from (`proxy_bind`), and the one Tollgate trusts.
pub const PROXY_ADDRESS: &str = "127.0.0.2";

/// How many disabled tokens there are for the client-address cases (one failure record per
/// token per minute, so each case needs its own).
pub const FAILING_TOKENS: usize = 4;

#[derive(Debug, Clone)]
pub struct Token {
    pub id: String,
    pub value: String,
}

#[derive(Debug)]
pub struct Tokens {
    pub account_id: String,
    /// `access-management` and `audit`: reads audit records, disables tokens.
    pub admin: Token,
    /// Only `marketplace` (paths under `/public/v1/commerce/`).
    pub shop: Token,
    /// Only `billing`.
    pub billing: Token,
    /// Disabled; used once each, so each gets one `authentication-failed` record.
    pub failing: Vec<Token>,
}

#[derive(Debug)]
pub struct Harness {
    pub dir: PathBuf,
    pub watchdog: Watchdog,
    pub tollgate: Tollgate,
    pub upstream: Upstream,
    pub tokens: Tokens,
    /// The gateways' certificate (they serve `https://localhost:<port>` with it).
    pub api_cert: PathBuf,
    pub api_key: PathBuf,
    /// Trusts `api_cert`.
    pub client_tls: Arc<rustls::ClientConfig>,
}

/// The harness, started by the first test that asks.
pub fn harness() -> R<&'static Harness> {
    static HARNESS: OnceLock<Result<Harness, String>> = OnceLock::new();
    HARNESS
        .get_or_init(|| Harness::start().map_err(|error| error.to_string()))
        .as_ref()
        .map_err(|error| format!("the gateway tests' harness did not start: {error}").into())
}

/// The gateway of `kind`, started by the first test that asks.
pub fn gateway(kind: Kind) -> R<&'static Gateway> {
    static GATEWAYS: [OnceLock<Result<Gateway, String>>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let harness = harness()?;
    GATEWAYS[kind as usize]
        .get_or_init(|| {
            let started = Instant::now();
            let gateway = Gateway::start(kind, harness).map_err(|error| error.to_string())?;
            crate::phase(format_args!(
                "{} ({}) started in {:.2?} on port {}",
                kind.name(),
                gateway.version,
                started.elapsed(),
                gateway.port
            ));
            Ok(gateway)
        })
        .as_ref()
        .map_err(|error| error.clone().into())
}

fn text(value: &Value, pointer: &str) -> R<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("no {pointer} in {value}").into())
}

impl Harness {
    fn start() -> R<Harness> {
        let started = Instant::now();
        let dir = tempfile::Builder::new()
            .prefix("tollgate-gateways-")
            .tempdir()?
            .keep();
        // nginx's workers run as `nobody` when the tests run as root.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
        let watchdog = Watchdog::start(&dir)?;

        let certified = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
        ])?;
        let api_cert = dir.join("api.pem");
        let api_key = dir.join("api.key");
        std::fs::write(&api_cert, certified.cert.pem())?;
        std::fs::write(&api_key, certified.key_pair.serialize_pem())?;
        let client_tls = client::trusting(certified.cert.pem().as_bytes())?;

        let data = dir.join("tollgate");
        std::fs::create_dir_all(&data)?;
        let tokens = create_tokens(&data)?;
        crate::phase(format_args!(
            "accounts and tokens made by the CLI in {:.2?}",
            started.elapsed()
        ));
        let phase = Instant::now();
        let tollgate = Tollgate::start(&data, PROXY_ADDRESS, &watchdog)?;
        for token in &tokens.failing {
            let (status, body) = tollgate.call(
                reqwest::Method::POST,
                &tokens.admin.value,
                &format!("/public/v1/accounts/api-tokens/{}/disable", token.id),
            )?;
            if status != 200 {
                return Err(format!("disabling {}: {status} {body}", token.id).into());
            }
        }
        let upstream = Upstream::start()?;
        crate::phase(format_args!(
            "tollgate serve started in {:.2?} on port {}",
            phase.elapsed(),
            tollgate.port
        ));
        Ok(Harness {
            dir,
            watchdog,
            tollgate,
            upstream,
            tokens,
            api_cert,
            api_key,
            client_tls,
        })
    }
}

fn create_tokens(data: &Path) -> R<Tokens> {
    tollgate::migrate(data)?;
    let account = tollgate::cli(
        data,
        &[
            "accounts", "create", "--name", "Acme", "--type", "client", "--json",
        ],
    )?;
    let account_id = text(&account, "/id")?;
    let token = |name: &str, modules: &str| -> R<Token> {
        let created = tollgate::cli(
            data,
            &[
                "tokens",
                "create",
                "--account",
                &account_id,
                "--name",
                name,
                "--modules",
                modules,
                "--json",
            ],
        )?;
        Ok(Token {
            id: text(&created, "/id")?,
            value: text(&created, "/token")?,
        })
    };
    Ok(Tokens {
        admin: token("Administrator", "access-management,audit")?,
        shop: token("Shop robot", "marketplace")?,
        billing: token("Billing robot", "billing")?,
        failing: (0..FAILING_TOKENS)
            .map(|n| token(&format!("Failing robot {n}"), "audit"))
            .collect::<R<_>>()?,
        account_id,
    })
}
