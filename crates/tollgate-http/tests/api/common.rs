//! The harness: a Tollgate server over real HTTPS on SQLite or PostgreSQL, clients, fixtures.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use ipnet::IpNet;
use rand::rngs::OsRng;
use reqwest::Method;
use reqwest::blocking::{Client, RequestBuilder};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use time::OffsetDateTime;
use tollgate_audit::{AccountRef, RequestInfo};
use tollgate_domain::query::{ListQuery, Page};
use tollgate_domain::{
    Account, AccountType, DisplayName, ForwardedHeader, Keys, ModuleId, ModuleSet, NewToken,
    Principal, ServerKey, TokenDescription, TokenId, TokenName, TokenValue, User, Visibility,
};
use tollgate_http::{AppState, Listeners, RevealPolicy, Settings};
use tollgate_store::testing::TestDatabase;
use tollgate_store::{Context, NewSecret, PoolOptions, Store};

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type R<T> = Result<T, Error>;
pub type TestResult = R<()>;

// The default catalog (SPEC §1).
pub const ACCESS_MANAGEMENT: u64 = 1756;
pub const ACCOUNT_MANAGEMENT: u64 = 1101;
pub const MARKETPLACE: u64 = 1102;
pub const CATALOG: u64 = 1103;
pub const BILLING: u64 = 1104;
pub const HELPDESK: u64 = 1105;
pub const PROGRAM: u64 = 1106;
pub const AUDIT: u64 = 1107;
pub const NOTIFICATIONS: u64 = 1108;
pub const SPOTLIGHT: u64 = 1109;
pub const COLLABORATION: u64 = 1110;
pub const PAM: u64 = 1111;

/// Every module of the default catalog.
pub const ALL_MODULES: [u64; 12] = [
    ACCESS_MANAGEMENT,
    ACCOUNT_MANAGEMENT,
    MARKETPLACE,
    CATALOG,
    BILLING,
    HELPDESK,
    PROGRAM,
    AUDIT,
    NOTIFICATIONS,
    SPOTLIGHT,
    COLLABORATION,
    PAM,
];

/// The 9 modules a Client account may use.
pub const CLIENT_MODULES: [u64; 9] = [
    ACCESS_MANAGEMENT,
    ACCOUNT_MANAGEMENT,
    MARKETPLACE,
    BILLING,
    HELPDESK,
    AUDIT,
    NOTIFICATIONS,
    SPOTLIGHT,
    COLLABORATION,
];

pub const TOKENS: &str = "/public/v1/accounts/api-tokens";
pub const AUDIT_RECORDS: &str = "/public/v1/audit/records";
pub const MODULES: &str = "/public/v1/accounts/modules";

/// `MOD-dddd`.
pub fn module_id(n: u64) -> String {
    format!("MOD-{n:04}")
}

/// `[{"id": "MOD-…"}, …]`.
pub fn module_refs(ns: &[u64]) -> Value {
    Value::Array(
        ns.iter()
            .map(|n| serde_json::json!({ "id": module_id(*n) }))
            .collect(),
    )
}

/// `…/api-tokens/{id}`.
pub fn token_path(id: &str) -> String {
    format!("{TOKENS}/{id}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// How to start a server.
#[derive(Debug, Clone)]
pub struct Options {
    /// Also listen for plain HTTP.
    pub plain: bool,
    /// `TOLLGATE_TRUSTED_PROXIES`.
    pub trusted_proxies: Vec<IpNet>,
    /// `TOLLGATE_REVEAL`.
    pub reveal: RevealPolicy,
    /// `TOLLGATE_FORWARDED_HEADER`.
    pub forwarded_header: ForwardedHeader,
    /// `TOLLGATE_BODY_TIMEOUT` (short, so a slow body is seen in a test).
    pub body_timeout: Duration,
    /// How long the pool waits for a connection before the database counts as unavailable.
    pub connection_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            plain: false,
            trusted_proxies: Vec::new(),
            reveal: RevealPolicy::Audited,
            forwarded_header: ForwardedHeader::XForwardedFor,
            body_timeout: Duration::from_secs(2),
            connection_timeout: Duration::from_secs(5),
        }
    }
}

/// An account made through the store, with its administrator.
#[derive(Debug, Clone)]
pub struct Acct {
    pub account: Account,
    pub admin: User,
}

impl Acct {
    pub fn id(&self) -> String {
        self.account.id.to_string()
    }

    /// The audit context of a change made by the administrator.
    pub fn ctx(&self) -> Context {
        Context {
            actor: Principal::User {
                id: self.admin.id,
                name: self.admin.name.to_string(),
            },
            actor_account: Some(AccountRef::new(
                self.account.id,
                self.account.name.to_string(),
                self.account.account_type,
            )),
            request: RequestInfo {
                ip: Some("127.0.0.1".into()),
                user_agent: Some("api tests".into()),
                correlation_id: None,
            },
            now: OffsetDateTime::now_utc(),
        }
    }
}

/// A token and its value.
#[derive(Debug, Clone)]
pub struct Tok {
    pub id: String,
    pub value: String,
}

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> R<Value> {
        serde_json::from_slice(&self.body).map_err(|error| {
            format!(
                "status {}: the body is not JSON ({error}): {}",
                self.status,
                self.text()
            )
            .into()
        })
    }

    /// The JSON body, after checking the status.
    pub fn expect(&self, status: u16) -> R<Value> {
        self.status_is(status)?;
        if self.body.is_empty() {
            return Ok(Value::Null);
        }
        self.json()
    }

    /// Checks the status (the error quotes the body).
    pub fn status_is(&self, status: u16) -> R<()> {
        if self.status != status {
            return Err(format!(
                "expected status {status}, got {}: {}",
                self.status,
                self.text()
            )
            .into());
        }
        Ok(())
    }

    /// Checks this is a problem body of `status` with code `code`, carrying the response's
    /// trace id; returns it.
    pub fn problem(&self, status: u16, code: &str) -> R<Value> {
        let body = self.expect(status)?;
        let content_type = self.header("content-type").unwrap_or_default();
        if content_type != "application/problem+json" {
            return Err(format!("{status}: content type {content_type:?}, not a problem").into());
        }
        let kind = format!("urn:tollgate:error:{code}");
        if body["type"] != kind.as_str() || body["status"] != status {
            return Err(format!("expected a {kind} problem with status {status}: {body}").into());
        }
        if body["title"].as_str().is_none_or(str::is_empty)
            || body["detail"].as_str().is_none_or(str::is_empty)
        {
            return Err(format!("a problem without title or detail: {body}").into());
        }
        let trace = self.header("x-request-id").unwrap_or_default();
        if body["traceId"] != trace || trace.is_empty() {
            return Err(format!(
                "traceId {} differs from X-Request-Id {trace:?}",
                body["traceId"]
            )
            .into());
        }
        Ok(body)
    }
}

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    None,
    Json(Value),
    Raw {
        content_type: Option<String>,
        bytes: Vec<u8>,
    },
}

impl Body {
    pub fn raw(content_type: &str, bytes: impl Into<Vec<u8>>) -> Self {
        Self::Raw {
            content_type: Some(content_type.to_owned()),
            bytes: bytes.into(),
        }
    }

    pub fn untyped(bytes: impl Into<Vec<u8>>) -> Self {
        Self::Raw {
            content_type: None,
            bytes: bytes.into(),
        }
    }
}

/// What changes when something changes: every token (id, status, revision, name) and the number
/// of audit records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub tokens: Vec<(String, String, u32, String)>,
    pub records: u64,
}

/// A running server.
pub struct Server {
    pub backend: Backend,
    pub store: Store,
    pub keys: Keys,
    /// The server's gate (token cache, id set, write-behind).
    pub gate: Arc<tollgate_gate::Gate>,
    /// `https://localhost:<port>`.
    pub base: String,
    /// `http://127.0.0.1:<port>` when a plain listener was asked for.
    pub plain_base: Option<String>,
    /// Trusts the server's certificate.
    pub client: Client,
    addr: SocketAddr,
    cert_pem: String,
    tls: Arc<rustls::ClientConfig>,
    handle: Option<ServerHandle>,
    thread: Option<JoinHandle<std::io::Result<()>>>,
    database: Mutex<Option<TestDatabase>>,
    _dir: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("backend", &self.backend)
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

pub fn keys() -> R<Keys> {
    Ok(ServerKey::from_bytes(vec![7; 32])
        .map_err(|error| format!("{error:?}"))?
        .derive())
}

impl Server {
    pub fn start(backend: Backend, options: Options) -> R<Server> {
        let keys = keys()?;
        let pool = PoolOptions {
            connection_timeout: options.connection_timeout,
            ..PoolOptions::default()
        };
        let (store, database, dir) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir()?;
                let url = format!("sqlite://{}/tollgate.db", dir.path().display());
                (Store::open(&url, keys.clone(), pool)?, None, Some(dir))
            }
            Backend::Postgres => {
                let database = TestDatabase::create()?;
                let store = Store::open(database.url(), keys.clone(), pool)?;
                (store, Some(database), None)
            }
        };

        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])?;
        let cert_pem = certified.cert.pem();
        let key_pem = certified.key_pair.serialize_pem();
        let server_tls = tollgate_http::tls_config(cert_pem.as_bytes(), key_pem.as_bytes())?;

        let https = TcpListener::bind("127.0.0.1:0")?;
        let addr = https.local_addr()?;
        let http = if options.plain {
            Some(TcpListener::bind("127.0.0.1:0")?)
        } else {
            None
        };
        let plain_base = match &http {
            Some(listener) => Some(format!("http://{}", listener.local_addr()?)),
            None => None,
        };

        let state = AppState::with_gate_options(
            store.clone(),
            keys.clone(),
            Settings {
                reveal: options.reveal,
                trusted_proxies: options.trusted_proxies.clone(),
                // Longer than the pool's wait, so a write that never began is "unavailable".
                write_timeout: options.connection_timeout + Duration::from_secs(2),
                forwarded_header: options.forwarded_header,
                body_timeout: options.body_timeout,
            },
            tollgate_gate::GateOptions {
                // Expired records within a fraction of a second.
                expiry_sweep: Duration::from_millis(200),
                ..Default::default()
            },
        )?;
        let gate = Arc::clone(&state.gate);
        let (sender, receiver) = mpsc::channel::<Result<ServerHandle, String>>();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                match tollgate_http::serve(state, server_tls, Listeners { https, http }, 1) {
                    Ok(server) => {
                        let _ = sender.send(Ok(server.handle()));
                        server.await
                    }
                    Err(error) => {
                        let _ = sender.send(Err(error.to_string()));
                        Ok(())
                    }
                }
            })
        });
        let handle = receiver
            .recv()
            .map_err(|_| "the server thread ended before starting")??;

        let client = https_client(&cert_pem, addr, true)?;

        let tls = {
            use rustls::pki_types::CertificateDer;
            use rustls::pki_types::pem::PemObject;
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(cert_pem.as_bytes()) {
                roots.add(cert?)?;
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            Arc::new(
                rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()?
                    .with_root_certificates(roots)
                    .with_no_client_auth(),
            )
        };

        Ok(Server {
            backend,
            store,
            keys,
            gate,
            base: format!("https://localhost:{}", addr.port()),
            plain_base,
            client,
            addr,
            cert_pem,
            tls,
            handle: Some(handle),
            thread: Some(thread),
            database: Mutex::new(database),
            _dir: dir,
        })
    }

    /// Drops the PostgreSQL database under the running server (`DROP DATABASE … WITH (FORCE)`).
    pub fn drop_database(&self) -> R<()> {
        let database = self
            .database
            .lock()
            .map_err(|_| "poisoned")?
            .take()
            .ok_or("no PostgreSQL database to drop")?;
        drop(database);
        if self.store.ping().is_ok() {
            return Err("the database still answers after DROP DATABASE".into());
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Fixtures, made through the store.

    /// An Active account of `kind` with every module its type allows, and an administrator.
    pub fn account(&self, kind: AccountType, name: &str) -> R<Acct> {
        let catalog = self.store.catalog()?;
        self.account_with(kind, name, &catalog.allowed_for(kind))
    }

    /// An Active account with these modules enabled, and an administrator.
    pub fn account_with(&self, kind: AccountType, name: &str, modules: &ModuleSet) -> R<Acct> {
        let now = OffsetDateTime::now_utc();
        let account =
            self.store
                .create_account(&DisplayName::parse("name", name)?, kind, modules, now)?;
        let admin = self.store.create_user(
            account.id,
            &DisplayName::parse("name", &format!("{name} Admin"))?,
            true,
            now,
        )?;
        Ok(Acct { account, admin })
    }

    /// A token of `acct` with these modules, created by its administrator.
    pub fn token(&self, acct: &Acct, name: &str, scope: &[u64]) -> R<Tok> {
        let mut value = None;
        let name = TokenName::parse(name)?;
        let modules = module_set(scope)?;
        let account_id = acct.account.id;
        let stored = self.store.create_token::<tollgate_store::StoreError>(
            account_id,
            &acct.ctx(),
            |id| {
                let generated = TokenValue::generate(id, &mut OsRng);
                let secret = NewSecret {
                    hash: self.keys.hash.hash(generated.expose_secret()),
                    sealed: Some(self.keys.seal.seal(&generated, &mut OsRng)),
                };
                value = Some(generated);
                Ok((
                    NewToken {
                        id,
                        account_id,
                        name: name.clone(),
                        description: TokenDescription::default(),
                        modules: modules.clone(),
                        expires_at: None,
                        self_rotate: false,
                    },
                    secret,
                ))
            },
        )?;
        let value = value.ok_or("no value was generated")?;
        // As the REST API does for tokens it creates (tokens created by another process reach
        // the gate through the change feed instead).
        self.gate.created(stored.token.id());
        Ok(Tok {
            id: stored.token.id().to_string(),
            value: value.expose_secret().to_owned(),
        })
    }

    /// After a change made straight through the store (as another process would make it), does
    /// what the change feed does when it hears of it: forgets what the gate cached. (The feed
    /// itself is tested in `gate.rs`.)
    pub fn changed_elsewhere(&self) {
        self.gate.flush_cache();
    }

    /// Every token and the number of audit records, straight from the store.
    pub fn snapshot(&self) -> R<Snapshot> {
        let mut tokens = Vec::new();
        let mut offset = 0;
        loop {
            let page = self.store.list_tokens(
                Visibility::AllAccounts,
                &ListQuery {
                    page: Page::new(offset, 100),
                    ..ListQuery::default()
                },
            )?;
            let count = page.items.len() as u64;
            for stored in page.items {
                let parts = stored.token.parts();
                tokens.push((
                    parts.id.to_string(),
                    parts.status.as_str().to_owned(),
                    parts.revision,
                    parts.name.to_string(),
                ));
            }
            offset += count;
            if count == 0 || offset >= page.total {
                break;
            }
        }
        tokens.sort();
        let records = self
            .store
            .list_audit_records(
                Visibility::AllAccounts,
                &ListQuery {
                    page: Page::new(0, 0),
                    ..ListQuery::default()
                },
            )?
            .total;
        Ok(Snapshot { tokens, records })
    }

    /// A stored token's revision.
    pub fn revision(&self, id: &str) -> R<u32> {
        let id = TokenId::parse(id)?;
        let stored = self.store.token(id)?.ok_or("no such token")?;
        Ok(stored.token.revision())
    }

    // -----------------------------------------------------------------------------------------
    // HTTP.

    /// A client that keeps no connection for reuse (for requests after which the server closes
    /// the connection, like a 431).
    /// A client that does not follow redirects (to see a 303 and its `Set-Cookie`).
    pub fn browser_client(&self) -> R<Client> {
        Ok(Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(self.cert_pem.as_bytes())?)
            .resolve("localhost", self.addr)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()?)
    }

    pub fn one_off_client(&self) -> R<Client> {
        https_client(&self.cert_pem, self.addr, false)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request over HTTPS, with the token as bearer when given.
    pub fn request(&self, method: Method, path: &str, token: Option<&Tok>) -> RequestBuilder {
        let builder = self.client.request(method, self.url(path));
        match token {
            Some(token) => builder.bearer_auth(&token.value),
            None => builder,
        }
    }

    /// Sends a request and reads the whole response.
    pub fn send(&self, builder: RequestBuilder) -> R<Reply> {
        let response = builder.send()?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes()?.to_vec();
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    pub fn call(&self, method: Method, path: &str, token: Option<&Tok>, body: Body) -> R<Reply> {
        let builder = self.request(method, path, token);
        let builder = match body {
            Body::None => builder,
            Body::Json(value) => builder
                .header("content-type", "application/json")
                .body(serde_json::to_vec(&value)?),
            Body::Raw {
                content_type,
                bytes,
            } => {
                let builder = match content_type {
                    Some(content_type) => builder.header("content-type", content_type),
                    None => builder,
                };
                builder.body(bytes)
            }
        };
        self.send(builder)
    }

    pub fn get(&self, token: &Tok, path: &str) -> R<Reply> {
        self.call(Method::GET, path, Some(token), Body::None)
    }

    pub fn post(&self, token: &Tok, path: &str, body: Value) -> R<Reply> {
        self.call(Method::POST, path, Some(token), Body::Json(body))
    }

    pub fn put(&self, token: &Tok, path: &str, body: Value) -> R<Reply> {
        self.call(Method::PUT, path, Some(token), Body::Json(body))
    }

    pub fn delete(&self, token: &Tok, path: &str) -> R<Reply> {
        self.call(Method::DELETE, path, Some(token), Body::None)
    }

    /// `POST …/{id}/enable` or `…/disable` with no body and no Content-Type.
    pub fn switch(&self, token: &Tok, id: &str, action: &str) -> R<Reply> {
        self.call(
            Method::POST,
            &format!("{}/{action}", token_path(id)),
            Some(token),
            Body::None,
        )
    }

    /// Creates a token over the API (201 expected); returns it with its value.
    pub fn create(&self, token: &Tok, name: &str, scope: &[u64]) -> R<Tok> {
        let body = self
            .post(
                token,
                TOKENS,
                serde_json::json!({ "name": name, "modules": module_refs(scope) }),
            )?
            .expect(201)?;
        Ok(Tok {
            id: body["id"].as_str().ok_or("no id")?.to_owned(),
            value: body["token"].as_str().ok_or("no token value")?.to_owned(),
        })
    }

    /// A list (200 expected): the total and the ids of this page.
    pub fn list_ids(&self, token: &Tok, path_and_query: &str) -> R<(u64, Vec<String>)> {
        let body = self.get(token, path_and_query)?.expect(200)?;
        page_ids(&body)
    }

    /// Sends exact bytes over a fresh TLS connection (`Connection: close` expected in them) and
    /// reads the response until the server closes.
    pub fn raw(&self, request: &[u8]) -> R<Reply> {
        let tcp = TcpStream::connect(self.addr)?;
        tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
        let connection = rustls::ClientConnection::new(
            self.tls.clone(),
            rustls::pki_types::ServerName::try_from("localhost")?,
        )?;
        let mut stream = rustls::StreamOwned::new(connection, tcp);
        stream.write_all(request)?;
        stream.flush()?;
        let mut bytes = Vec::new();
        match stream.read_to_end(&mut bytes) {
            Ok(_) => {}
            Err(error)
                if error.kind() == std::io::ErrorKind::UnexpectedEof && !bytes.is_empty() => {}
            Err(error) => return Err(error.into()),
        }
        parse_response(&bytes)
    }

    /// `GET <path_and_query>` sent byte for byte (no client-side normalisation of the query).
    pub fn raw_get(&self, token: &Tok, path_and_query: &str) -> R<Reply> {
        let request = format!(
            "GET {path_and_query} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            token.value
        );
        self.raw(request.as_bytes())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            actix_web::rt::System::new().block_on(handle.stop(false));
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn https_client(cert_pem: &str, addr: SocketAddr, pool: bool) -> R<Client> {
    let mut builder = Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes())?)
        .resolve("localhost", addr)
        .timeout(Duration::from_secs(30));
    if !pool {
        builder = builder.pool_max_idle_per_host(0);
    }
    Ok(builder.build()?)
}

fn module_set(ns: &[u64]) -> R<ModuleSet> {
    ns.iter()
        .map(|n| ModuleId::from_number(*n).ok_or_else(|| format!("no module id {n}").into()))
        .collect()
}

/// The total and the ids of a list body.
pub fn page_ids(body: &Value) -> R<(u64, Vec<String>)> {
    let total = body["$meta"]["pagination"]["total"]
        .as_u64()
        .ok_or_else(|| format!("no total in {body}"))?;
    let ids = match body.get("data") {
        None => Vec::new(),
        Some(data) => data
            .as_array()
            .ok_or_else(|| format!("data is not an array: {body}"))?
            .iter()
            .map(|item| {
                item["id"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("an item without id: {item}").into())
            })
            .collect::<R<Vec<String>>>()?,
    };
    Ok((total, ids))
}

/// Parses an HTTP/1.1 response (Content-Length, chunked, or until the end).
pub fn parse_response(bytes: &[u8]) -> R<Reply> {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no response head in {:?}", String::from_utf8_lossy(bytes)))?;
    let head = std::str::from_utf8(&bytes[..end])?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or("no status line")?;
    let status: u16 = status_line.split(' ').nth(1).ok_or("no status")?.parse()?;
    let mut headers = HeaderMap::new();
    for line in lines {
        let (name, value) = line.split_once(':').ok_or("a malformed header")?;
        headers.append(
            HeaderName::from_bytes(name.trim().as_bytes())?,
            HeaderValue::from_str(value.trim())?,
        );
    }
    let rest = &bytes[end + 4..];
    let chunked = headers
        .get("transfer-encoding")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        let mut body = Vec::new();
        let mut rest = rest;
        loop {
            let line_end = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or("a truncated chunk")?;
            let size = usize::from_str_radix(std::str::from_utf8(&rest[..line_end])?.trim(), 16)?;
            rest = &rest[line_end + 2..];
            if size == 0 {
                break;
            }
            body.extend_from_slice(rest.get(..size).ok_or("a truncated chunk")?);
            rest = rest.get(size + 2..).ok_or("a truncated chunk")?;
        }
        body
    } else if let Some(length) = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
    {
        rest.get(..length).ok_or("a truncated body")?.to_vec()
    } else {
        rest.to_vec()
    };
    Ok(Reply {
        status,
        headers,
        body,
    })
}

/// Runs `test` on a fresh server over SQLite, then over PostgreSQL; a failure names the backend.
pub fn each_backend(test: impl Fn(&Server) -> TestResult) -> TestResult {
    each_backend_with(&Options::default(), test)
}

/// [`each_backend`] with these server options.
pub fn each_backend_with(options: &Options, test: impl Fn(&Server) -> TestResult) -> TestResult {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        // Printed (and shown) only when the test fails, e.g. by a panic.
        println!("--- backend: {}", backend.name());
        let server = Server::start(backend, options.clone())
            .map_err(|error| format!("[{}] the server did not start: {error}", backend.name()))?;
        test(&server).map_err(|error| format!("[{}] {error}", backend.name()))?;
    }
    Ok(())
}

/// Three accounts (SPEC §1 types), each with an administrator.
#[derive(Debug, Clone)]
pub struct World {
    pub client: Acct,
    pub vendor: Acct,
    pub ops: Acct,
}

pub fn world(s: &Server) -> R<World> {
    Ok(World {
        client: s.account(AccountType::Client, "Acme Client")?,
        vendor: s.account(AccountType::Vendor, "Vendo")?,
        ops: s.account(AccountType::Operations, "Platform Ops")?,
    })
}

/// True when `text` is `00-<32 hex>-<16 hex>-<2 hex>`.
pub fn is_trace_id(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    parts.len() == 4
        && hex(parts[0], 2)
        && hex(parts[1], 32)
        && hex(parts[2], 16)
        && hex(parts[3], 2)
}

/// The events (last segment of the key) of the audit records of one object, oldest first.
pub fn events_of(s: &Server, token: &Tok, object: &str) -> R<Vec<String>> {
    let body = s
        .get(
            token,
            &format!("{AUDIT_RECORDS}?eq(object.id,{object})&limit=100"),
        )?
        .expect(200)?;
    let mut events: Vec<(u64, String)> = body["data"]
        .as_array()
        .ok_or("no data")?
        .iter()
        .map(|record| {
            let event = record["event"].as_str().unwrap_or_default();
            (
                record["revision"].as_u64().unwrap_or_default(),
                event.rsplit('.').next().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    // Newest first by default: turn around, then order by the token's revision (stable).
    events.reverse();
    events.sort_by_key(|(revision, _)| *revision);
    Ok(events.into_iter().map(|(_, event)| event).collect())
}

/// How long anything the server does in the background may take in a test.
pub const WAIT: Duration = Duration::from_secs(10);

/// Polls `probe` until it returns a value, or fails after [`WAIT`].
pub fn wait_for<T>(what: &str, mut probe: impl FnMut() -> R<Option<T>>) -> R<T> {
    let started = std::time::Instant::now();
    loop {
        if let Some(value) = probe()? {
            return Ok(value);
        }
        if started.elapsed() > WAIT {
            return Err(format!("{what}: not within {WAIT:?}").into());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
