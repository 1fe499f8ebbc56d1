//! Request authorization for the platform's REST API (SPEC §4): is this request, with this
//! bearer value, allowed?
//!
//! The decision is a pure function of the transport, the presented value, the stored view of
//! the token it names, the normalised path and the catalog. The caller supplies the view (from
//! its cache); nothing here does I/O.

use std::borrow::Cow;

use time::OffsetDateTime;

use crate::account::{AccountStatus, AccountType};
use crate::id::{AccountId, TokenId};
use crate::keyring::HashVerifier;
use crate::module::{Catalog, Module, ModuleSet};
use crate::secret::{MalformedToken, PresentedToken, TokenHash};
use crate::token::{FailureReason, TokenStatus};

/// What the hot path needs to know about a stored token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenView {
    /// Id.
    pub id: TokenId,
    /// Name (for failure records).
    pub name: String,
    /// Owning account.
    pub account_id: AccountId,
    /// The account's type.
    pub account_type: AccountType,
    /// The account's status.
    pub account_status: AccountStatus,
    /// The token's status.
    pub status: TokenStatus,
    /// The verification hash.
    pub hash: TokenHash,
    /// Scope.
    pub modules: ModuleSet,
    /// Revision the view was read at.
    pub revision: u32,
    /// When it stops authenticating.
    pub expires_at: Option<OffsetDateTime>,
    /// The value before the latest rotation: accepted until its grace ends, then recognised as
    /// retired.
    pub previous: Option<PreviousValue>,
}

/// The value a rotation replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousValue {
    /// Its verification hash.
    pub hash: TokenHash,
    /// Until when it still works (`None`: retired at once).
    pub until: Option<OffsetDateTime>,
}

/// How the request reached Tollgate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TLS, directly or through a trusted TLS-terminating proxy.
    Https,
    /// Plain HTTP: refused before any credential is looked at.
    Http,
}

/// 401 or 403.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// 401 with `WWW-Authenticate: Bearer`; the body never says which reason.
    Unauthenticated,
    /// 403.
    Forbidden,
}

/// Why a request was refused: for logs and metrics, never for the response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalReason {
    /// Plain HTTP (or `X-Forwarded-Proto: http`).
    InsecureTransport,
    /// No `Authorization` header.
    MissingCredential,
    /// `Authorization` sent more than once: which one counts depends on who reads it.
    DuplicateCredential,
    /// Not a well-formed value (or not the Bearer scheme).
    Malformed(MalformedToken),
    /// No token has this id.
    UnknownToken,
    /// A known token (see [`FailureReason`]) failed to authenticate.
    Failed(FailureReason),
    /// The path (or a forwarded header naming it) is missing or not a valid path.
    BadPath,
    /// No module grants the path.
    PathNotGranted,
    /// The module granting the path is not in the token's scope.
    ModuleNotInScope,
    /// The module granting the path is not available to the account's type.
    AccountTypeNotAllowed,
    /// The cached entry is past its bound: the database has been unreachable for longer than
    /// the configured staleness (SPEC §4 "Faults", regime 3).
    Stale,
    /// Not cached, and the database is unreachable (the circuit breaker is open).
    Unreachable,
    /// The right value of a token whose `expiresAt` has passed (refused like an unknown one).
    Expired,
}

impl RefusalReason {
    /// 401 or 403.
    pub fn kind(self) -> RefusalKind {
        match self {
            Self::MissingCredential
            | Self::DuplicateCredential
            | Self::Malformed(_)
            | Self::UnknownToken
            | Self::Failed(_)
            | Self::Stale
            | Self::Unreachable
            | Self::Expired => RefusalKind::Unauthenticated,
            Self::InsecureTransport
            | Self::BadPath
            | Self::PathNotGranted
            | Self::ModuleNotInScope
            | Self::AccountTypeNotAllowed => RefusalKind::Forbidden,
        }
    }

    /// A stable label for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InsecureTransport => "insecure-transport",
            Self::MissingCredential => "missing-credential",
            Self::DuplicateCredential => "duplicate-credential",
            Self::Malformed(MalformedToken::Checksum) => "bad-checksum",
            Self::Malformed(_) => "malformed",
            Self::UnknownToken => "unknown-token",
            Self::Failed(reason) => reason.as_str(),
            Self::BadPath => "bad-path",
            Self::PathNotGranted => "path-not-granted",
            Self::ModuleNotInScope => "module-not-in-scope",
            Self::AccountTypeNotAllowed => "account-type-not-allowed",
            Self::Stale => "stale-entry",
            Self::Unreachable => "database-unreachable",
            Self::Expired => "expired",
        }
    }
}

/// The credential of a request, from the raw lines of its `Authorization` header: none, or
/// exactly one that is text. Two lines are refused (401) wherever a credential is read: a
/// proxy and the upstream could each take a different one.
pub fn credential_header<'h>(lines: &[&'h [u8]]) -> Result<Option<&'h str>, RefusalReason> {
    match lines {
        [] => Ok(None),
        [line] => std::str::from_utf8(line)
            .map(Some)
            .map_err(|_| RefusalReason::Malformed(MalformedToken::Prefix)),
        _ => Err(RefusalReason::DuplicateCredential),
    }
}

/// Why a path was refused before any matching: each is a way the service behind the gateway
/// (or a proxy on the way) could read the path differently from Tollgate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// Not an absolute path (`/…`).
    #[error("not an absolute path")]
    NotAbsolute,
    /// `%` not followed by two hex digits.
    #[error("an invalid percent escape")]
    BadEscape,
    /// An encoded `/` (`%2F`): one server splits there, another does not.
    #[error("an encoded slash")]
    EncodedSlash,
    /// `\`, literal or encoded: a separator on Windows servers and some frameworks.
    #[error("a backslash")]
    Backslash,
    /// `;`, literal or encoded: path parameters (Tomcat, Jetty and Spring read `..;` as `..`
    /// and drop `;jsessionid=…`).
    #[error("a path parameter (;)")]
    PathParameter,
    /// An encoded `%`, `?` or `#`: a server that decodes twice, or re-parses the decoded path,
    /// reads another path.
    #[error("an encoded %, ? or #")]
    EncodedDelimiter,
    /// A `#` before the query: no request target holds one, and a server that takes it as a
    /// character reads what follows it (`/commerce#/../billing` is `/billing` there).
    #[error("a # in the path")]
    Fragment,
    /// A control character (C0, DEL or C1), literal or encoded.
    #[error("a control character")]
    Control,
    /// Bytes that are not UTF-8, overlong encodings (`%C0%AE`) included.
    #[error("not UTF-8")]
    NotUtf8,
    /// Punctuation that Windows best-fit or Unicode compatibility mappings turn into `.`, `/`,
    /// `\`, `;`, `%`, `?` or `#` (fullwidth `．`, `／`, `＼`, the two-dot leader `‥`, `¥`…).
    #[error("a look-alike of a path delimiter")]
    LookAlike,
    /// `.` or `..` only after decoding (`%2e%2e`, `.%2e`): a server that does not decode
    /// before resolving dot segments reads a name.
    #[error("an encoded dot segment")]
    EncodedDotSegment,
    /// A segment ending in `.` or a space (`billing.`, `...`): Windows servers drop them.
    #[error("a segment ending in a dot or a space")]
    TrailingDot,
    /// A `.` or `..` segment: nginx and Caddy pass the path on as the client sent it, and a
    /// service that routes on the raw path (or merges slashes before resolving, or not at all)
    /// reads another path than the resolved one.
    #[error("a dot segment (. or ..)")]
    DotSegment,
}

/// Characters that a Windows "best-fit" conversion or Unicode compatibility normalisation
/// (NFKC) turns into a path delimiter: every character whose NFKC form holds `.`, `/`, `\`,
/// `;`, `%`, `?` or `#` (Unicode 14; `fuzz/seeds.py` lists them), and the best-fit ones.
const LOOK_ALIKES: [char; 36] = [
    '\u{2024}',  // one dot leader → .
    '\u{2025}',  // two dot leader → ..
    '\u{2026}',  // ellipsis → ...
    '\u{FE30}',  // vertical two dot leader → ..
    '\u{FE19}',  // vertical ellipsis → ...
    '\u{FE52}',  // small full stop → .
    '\u{FF0E}',  // fullwidth full stop → .
    '\u{1F100}', // digit zero full stop → 0. (and U+2488–U+249B, see `is_look_alike`)
    '\u{33C2}',  // square am → a.m.
    '\u{33C7}',  // square co → Co.
    '\u{33D8}',  // square pm → p.m.
    '\u{FF0F}',  // fullwidth solidus → /
    '\u{2215}',  // division slash → /
    '\u{2044}',  // fraction slash → /
    '\u{2100}',  // account of → a/c
    '\u{2101}',  // addressed to the subject → a/s
    '\u{2105}',  // care of → c/o
    '\u{2106}',  // cada una → c/u
    '\u{FF3C}',  // fullwidth reverse solidus → \
    '\u{FE68}',  // small reverse solidus → \
    '\u{00A5}',  // yen sign → \ (Japanese code pages)
    '\u{20A9}',  // won sign → \ (Korean code pages)
    '\u{FF1B}',  // fullwidth semicolon → ;
    '\u{FE54}',  // small semicolon → ;
    '\u{FE14}',  // vertical semicolon → ;
    '\u{037E}',  // Greek question mark → ;
    '\u{FF05}',  // fullwidth percent → %
    '\u{FE6A}',  // small percent → %
    '\u{FF1F}',  // fullwidth question mark → ?
    '\u{FE56}',  // small question mark → ?
    '\u{FE16}',  // vertical question mark → ?
    '\u{2047}',  // double question mark → ??
    '\u{2048}',  // question exclamation mark → ?!
    '\u{2049}',  // exclamation question mark → !?
    '\u{FF03}',  // fullwidth number sign → #
    '\u{FE5F}',  // small number sign → #
];

/// A look-alike of a delimiter: [`LOOK_ALIKES`], or a digit or number full stop (`⒈` → `1.`).
fn is_look_alike(c: char) -> bool {
    LOOK_ALIKES.contains(&c) || ('\u{2488}'..='\u{249B}').contains(&c)
}

/// A path split into normalised segments: percent-decoded once, repeated slashes collapsed,
/// the query dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestPath<'a> {
    segments: Vec<Cow<'a, str>>,
}

impl<'a> RequestPath<'a> {
    /// Normalises an absolute request path (a URI's path and query).
    ///
    /// Refuses (see [`PathError`]) what the service behind the gateway could read another
    /// way, before anything is matched: invalid escapes, an encoded `/`, a `\`, a `;`, an
    /// encoded `%`, `?` or `#`, a `#` before the query, control characters, bytes that are not
    /// UTF-8, look-alikes of delimiters, dot segments (literal, or only after decoding), and
    /// segments ending in a dot or a space. Repeated slashes are collapsed, as every server
    /// does.
    pub fn parse(raw: &'a str) -> Result<Self, PathError> {
        let path = raw.split('?').next().unwrap_or("");
        let rest = path.strip_prefix('/').ok_or(PathError::NotAbsolute)?;
        if rest.contains('#') {
            return Err(PathError::Fragment);
        }
        let mut segments: Vec<Cow<'a, str>> = Vec::new();
        for raw_segment in rest.split('/') {
            let segment = decode_segment(raw_segment)?;
            match (raw_segment, segment.as_ref()) {
                (_, "") => {}
                ("." | "..", _) => return Err(PathError::DotSegment),
                (_, "." | "..") => return Err(PathError::EncodedDotSegment),
                (_, name) if name.ends_with(['.', ' ']) => return Err(PathError::TrailingDot),
                _ => segments.push(segment),
            }
        }
        Ok(Self { segments })
    }

    /// Every segment.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().map(AsRef::as_ref)
    }

    /// The segments after `/public/v1/`, when the path is under it.
    pub fn under_public_v1(&self) -> Option<Vec<&str>> {
        match self.segments.as_slice() {
            [public, v1, rest @ ..] if public == "public" && v1 == "v1" => {
                Some(rest.iter().map(AsRef::as_ref).collect())
            }
            _ => None,
        }
    }

    /// The normalised path, `/`-joined with a leading `/`.
    pub fn to_path_string(&self) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            out.push('/');
            out.push_str(segment);
        }
        if out.is_empty() {
            out.push('/');
        }
        out
    }
}

fn hex(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// A byte no segment may hold, literal or decoded. (A literal `/`, `?` or `#` never reaches a
/// segment, and a literal `%` starts an escape, so those are refused only when decoded.)
fn refused_byte(byte: u8) -> Option<PathError> {
    match byte {
        b'/' => Some(PathError::EncodedSlash),
        b'\\' => Some(PathError::Backslash),
        b';' => Some(PathError::PathParameter),
        b'%' | b'?' | b'#' => Some(PathError::EncodedDelimiter),
        byte if byte.is_ascii_control() => Some(PathError::Control),
        _ => None,
    }
}

fn check_text(text: &str) -> Result<(), PathError> {
    if text.is_ascii() {
        return Ok(());
    }
    for c in text.chars() {
        if c.is_control() {
            return Err(PathError::Control);
        }
        if is_look_alike(c) {
            return Err(PathError::LookAlike);
        }
    }
    Ok(())
}

fn decode_segment(raw: &str) -> Result<Cow<'_, str>, PathError> {
    if !raw.contains('%') {
        if let Some(error) = raw.bytes().find_map(refused_byte) {
            return Err(error);
        }
        check_text(raw)?;
        return Ok(Cow::Borrowed(raw));
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let digit = |offset: usize| bytes.get(at + offset).copied().and_then(hex);
            let (Some(high), Some(low)) = (digit(1), digit(2)) else {
                return Err(PathError::BadEscape);
            };
            out.push(high << 4 | low);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    if let Some(error) = out.iter().copied().find_map(refused_byte) {
        return Err(error);
    }
    let text = String::from_utf8(out).map_err(|_| PathError::NotUtf8)?;
    check_text(&text)?;
    Ok(Cow::Owned(text))
}

/// An allowed request: the token that authenticated it and the module that granted the path.
#[derive(Debug, Clone, Copy)]
pub struct Grant<'v> {
    /// The token.
    pub token: &'v TokenView,
    /// The module that grants the path (none when only authentication was asked for).
    pub module: Option<&'v Module>,
}

/// Checks a presented value against the stored view of the token it names, at `now`. The
/// secret is compared first (in constant time, under the key the stored hash names: one key, or
/// a [`Keyring`](crate::Keyring) during a key rotation; the previous value's hash only when the
/// current one does not match), so a wrong secret is reported as such whatever the token's
/// state; a retired value is told apart from a wrong one. Then expiry (refused like an unknown
/// token), then the state.
pub fn authenticate<'v>(
    presented: &PresentedToken<'_>,
    view: Option<&'v TokenView>,
    key: &impl HashVerifier,
    now: OffsetDateTime,
) -> Result<&'v TokenView, RefusalReason> {
    let view = view
        .filter(|view| view.id == presented.id())
        .ok_or(RefusalReason::UnknownToken)?;
    if !key.verify_hash(presented.expose_secret(), &view.hash) {
        let previous = view
            .previous
            .as_ref()
            .filter(|previous| key.verify_hash(presented.expose_secret(), &previous.hash));
        match previous {
            Some(previous) if previous.until.is_some_and(|until| now < until) => {}
            Some(_) => return Err(RefusalReason::Failed(FailureReason::RetiredValue)),
            None => return Err(RefusalReason::Failed(FailureReason::WrongSecret)),
        }
    }
    if view.expires_at.is_some_and(|at| now >= at) {
        return Err(RefusalReason::Expired);
    }
    match (view.status, view.account_status) {
        (TokenStatus::Disabled, _) => Err(RefusalReason::Failed(FailureReason::Disabled)),
        (TokenStatus::Deleted, _) => Err(RefusalReason::Failed(FailureReason::Deleted)),
        (TokenStatus::Active, AccountStatus::Disabled) => {
            Err(RefusalReason::Failed(FailureReason::AccountDisabled))
        }
        (TokenStatus::Active, AccountStatus::Active) => Ok(view),
    }
}

/// Does an authenticated token's scope grant this path?
pub fn authorize_path<'v>(
    token: &'v TokenView,
    path: &RequestPath<'_>,
    catalog: &'v Catalog,
) -> Result<Grant<'v>, RefusalReason> {
    let segments = path
        .under_public_v1()
        .ok_or(RefusalReason::PathNotGranted)?;
    let module = catalog
        .resolve(&segments)
        .ok_or(RefusalReason::PathNotGranted)?;
    if !module.account_types.contains(token.account_type) {
        return Err(RefusalReason::AccountTypeNotAllowed);
    }
    if !token.modules.contains(module.id) {
        return Err(RefusalReason::ModuleNotInScope);
    }
    Ok(Grant {
        token,
        module: Some(module),
    })
}

/// Does an authenticated token hold the module with this code (available to its account's
/// type)? What a service that guards its own routes asks (the gate's middleware).
pub fn authorize_module<'v>(
    token: &'v TokenView,
    code: &str,
    catalog: &'v Catalog,
) -> Result<Grant<'v>, RefusalReason> {
    let module = catalog
        .by_code(code)
        .ok_or(RefusalReason::ModuleNotInScope)?;
    if !module.account_types.contains(token.account_type) {
        return Err(RefusalReason::AccountTypeNotAllowed);
    }
    if !token.modules.contains(module.id) {
        return Err(RefusalReason::ModuleNotInScope);
    }
    Ok(Grant {
        token,
        module: Some(module),
    })
}

/// What a request asks of a decision, besides a valid credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// Nothing more: who is calling (the REST API; introspection's `active`).
    Caller,
    /// A module, by code (a service guarding its own routes).
    Module(&'a str),
    /// A request to the platform, by its path (`None`: the gateway sent no usable path, which
    /// is refused with 403 after authentication).
    Path(Option<&'a str>),
}

/// The decision for one parsed credential: [`authenticate`] it against the stored view of the
/// token it names (`view`: from the caller's cache), then grant the [`Target`]. The gate runs
/// this for every request it decides, whichever the route.
///
/// ```
/// use tollgate_domain::authz::{self, RefusalReason, Target};
/// use tollgate_domain::{Catalog, PresentedToken, ServerKey, TokenId, TokenValue};
///
/// let keys = ServerKey::from_bytes(vec![7; 32]).map_err(|_| "key")?.derive();
/// let id = TokenId::from_number(1).ok_or("id")?;
/// let value = TokenValue::generate(id, &mut rand::thread_rng());
/// let presented = PresentedToken::parse(value.expose_secret()).map_err(|_| "value")?;
/// let catalog = Catalog::default_catalog();
/// // No stored view for the id: refused like any unknown token.
/// let refused = authz::decide(
///     &presented,
///     None,
///     Target::Path(Some("/public/v1/billing/invoices")),
///     &keys.hash,
///     &catalog,
///     time::OffsetDateTime::now_utc(),
/// );
/// assert_eq!(refused.err(), Some(RefusalReason::UnknownToken));
/// # Ok::<(), &'static str>(())
/// ```
pub fn decide<'v>(
    presented: &PresentedToken<'_>,
    view: Option<&'v TokenView>,
    target: Target<'_>,
    key: &impl HashVerifier,
    catalog: &'v Catalog,
    now: OffsetDateTime,
) -> Result<Grant<'v>, RefusalReason> {
    let token = authenticate(presented, view, key, now)?;
    match target {
        Target::Caller => Ok(Grant {
            token,
            module: None,
        }),
        Target::Module(code) => authorize_module(token, code, catalog),
        Target::Path(path) => {
            let path = path
                .and_then(|path| RequestPath::parse(path).ok())
                .ok_or(RefusalReason::BadPath)?;
            authorize_path(token, &path, catalog)
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;
    use crate::id::ModuleId;
    use crate::secret::{Keys, ServerKey, TokenValue};

    fn check_path(raw: &str, expect: Result<&str, PathError>) {
        let got = RequestPath::parse(raw).map(|p| p.to_path_string());
        assert_eq!(got.as_deref().map_err(|e| *e), expect, "{raw:?}");
    }

    #[test]
    fn path_normalisation() {
        let ok = |raw: &str, normalised: &str| check_path(raw, Ok(normalised));
        ok("/public/v1/commerce/orders", "/public/v1/commerce/orders");
        ok(
            "/public/v1/commerce/orders?limit=10",
            "/public/v1/commerce/orders",
        );
        ok("/public//v1///commerce/", "/public/v1/commerce");
        // Dot segments: the service behind nginx or Caddy gets the path as sent.
        let refused = |raw: &str| check_path(raw, Err(PathError::DotSegment));
        refused("/public/v1/./commerce/../billing");
        refused("/public/v1/billing/..//x");
        refused("/../../public/v1/billing");
        refused("/public/v1/billing/../commerce/orders");
        refused("/public/v1/billing/.");
        ok("/public/v1/%63ommerce", "/public/v1/commerce");
        ok("/public/v1/caf%C3%A9", "/public/v1/café");
        ok("/public/v1/café", "/public/v1/café");
        ok("/public/v1/v1.2/x", "/public/v1/v1.2/x");
        ok("/public/v1/a%20b", "/public/v1/a b");
        ok("/public/v1/.well-known", "/public/v1/.well-known");
        ok("/public/v1/a=b,c+d@e", "/public/v1/a=b,c+d@e");
        ok("/", "/");
    }

    /// Hostile paths: refused before matching, each with the reason.
    #[test]
    fn path_refusals() {
        use PathError::*;
        let refused = |raw: &str, why: PathError| check_path(raw, Err(why));
        // Not a path.
        refused("public/v1/billing", NotAbsolute);
        refused("", NotAbsolute);
        refused("*", NotAbsolute);
        // Escapes.
        refused("/public/v1/a%zz", BadEscape);
        refused("/public/v1/a%2", BadEscape);
        refused("/public/v1/a%", BadEscape);
        // Separators another server splits on.
        refused("/public/v1/commerce%2F..%2Fbilling", EncodedSlash);
        refused("/public/v1/billing/a%2fb", EncodedSlash);
        refused("/public/v1/a%5Cb", Backslash);
        refused("/public/v1/a%5cb", Backslash);
        refused("/public/v1/a\\b", Backslash);
        refused("/public/v1/billing\\..\\helpdesk", Backslash);
        // Path parameters: Tomcat, Jetty and Spring read `..;` as `..`.
        refused("/public/v1/billing/..;/helpdesk", PathParameter);
        refused("/public/v1/billing/%2e%2e;/helpdesk", PathParameter);
        refused("/public/v1/billing;jsessionid=x/y", PathParameter);
        refused("/public/v1/billing/;jsessionid=x", PathParameter);
        refused("/public/v1/billing/..%3B/helpdesk", PathParameter);
        refused("/public/v1/billing;/x", PathParameter);
        // Read again by a server that decodes twice or re-parses the decoded path.
        refused("/public/v1/billing/%252e%252e/helpdesk", EncodedDelimiter);
        refused("/public/v1/helpdesk%3F/../billing", EncodedDelimiter);
        refused("/public/v1/helpdesk%23/../billing", EncodedDelimiter);
        // A `#` that a server takes as a character (found by the `request_path` fuzz target:
        // `/public/v1/billing#/esk` was allowed as `/public/v1/billing`).
        refused("/public/v1/commerce#/../billing", Fragment);
        refused("/public/v1/billing#/esk", Fragment);
        refused("/public/v1/commerce/#x", Fragment);
        refused("/public/v1/commerce#", Fragment);
        check_path("/public/v1/commerce?x=#y", Ok("/public/v1/commerce"));
        // Control characters, literal or encoded, C0, DEL and C1.
        refused("/public/v1/a%00", Control);
        refused("/public/v1/a%0A", Control);
        refused("/public/v1/a%0d%0aX-Injected:%201", Control);
        refused("/public/v1/a%7F", Control);
        refused("/public/v1/a\u{7}b", Control);
        refused("/public/v1/a%C2%85", Control);
        refused("/public/v1/a\u{85}", Control);
        // Not UTF-8, overlong UTF-8 included (`%C0%AE` is an overlong `.`, `%C0%AF` a `/`).
        refused("/public/v1/%FF", NotUtf8);
        refused("/public/v1/billing/%C0%AE%C0%AE/helpdesk", NotUtf8);
        refused("/public/v1/billing/%C0%AF", NotUtf8);
        refused("/public/v1/billing/%E0%80%AE", NotUtf8);
        refused("/public/v1/billing/%C1%9C", NotUtf8);
        refused("/public/v1/billing/%ED%A0%80", NotUtf8);
        refused("/public/v1/caf%C3", NotUtf8);
        // Look-alikes of delimiters.
        refused("/public/v1/billing/%EF%BC%8E%EF%BC%8E/helpdesk", LookAlike);
        refused("/public/v1/billing/\u{2025}/helpdesk", LookAlike);
        refused("/public/v1/billing\u{FF0F}x", LookAlike);
        refused("/public/v1/billing%EF%BC%BC..", LookAlike);
        refused("/public/v1/billing\u{A5}..\u{A5}helpdesk", LookAlike);
        refused("/public/v1/billing\u{FF1B}x", LookAlike);
        // Found by the `request_path` fuzz target (its NFKC reading): `︰` is `..` in NFKC.
        refused("/public/v1/helpdesk/%EF%B8%B0/billing", LookAlike);
        refused("/public/v1/helpdesk/\u{FE30}/billing", LookAlike);
        refused("/public/v1/helpdesk/\u{FE19}/billing", LookAlike);
        refused("/public/v1/helpdesk/..\u{FE14}/billing", LookAlike);
        refused("/public/v1/helpdesk/x\u{2100}", LookAlike);
        refused("/public/v1/helpdesk/\u{2488}", LookAlike);
        refused("/public/v1/helpdesk/\u{249B}", LookAlike);
        refused("/public/v1/helpdesk/\u{33D8}", LookAlike);
        refused("/public/v1/helpdesk/\u{2047}", LookAlike);
        check_path(
            "/public/v1/helpdesk/\u{2487}",
            Ok("/public/v1/helpdesk/\u{2487}"),
        );
        // Dot segments that are dot segments only after decoding.
        refused("/public/v1/commerce/%2e%2e/billing", EncodedDotSegment);
        refused("/public/v1/helpdesk/%2E%2E/billing", EncodedDotSegment);
        refused("/public/v1/billing/.%2e/helpdesk", EncodedDotSegment);
        refused("/public/v1/billing/%2e./helpdesk", EncodedDotSegment);
        refused("/public/v1/%2e/billing", EncodedDotSegment);
        // Trailing dots and spaces (Windows servers drop them; `...` may be read as `..`).
        refused("/public/v1/billing./x", TrailingDot);
        refused("/public/v1/billing/.../helpdesk", TrailingDot);
        refused("/public/v1/billing/x%20", TrailingDot);
        refused("/public/v1/billing/x%2e", TrailingDot);
        // A repeated slash before `..`: RFC 3986 and merge-slashes-first servers disagree.
        refused("/public/v1/helpdesk//../billing/x", DotSegment);
        refused("//../public/v1/billing", DotSegment);
        refused("/public/v1/billing/x//y/../../z", DotSegment);
    }

    struct Fixture {
        keys: Keys,
        catalog: Catalog,
        value: TokenValue,
        view: TokenView,
    }

    fn module(n: u64) -> ModuleId {
        ModuleId::from_number(n).unwrap_or_else(|| unreachable!())
    }

    fn fixture() -> Fixture {
        let keys = ServerKey::from_bytes(vec![3; 32])
            .map(|k| k.derive())
            .unwrap_or_else(|_| unreachable!());
        let mut rng = StdRng::seed_from_u64(9);
        let id = TokenId::from_number(1234_5678).unwrap_or_else(|| unreachable!());
        let value = TokenValue::generate(id, &mut rng);
        let view = TokenView {
            id,
            name: "CRM robot".into(),
            account_id: AccountId::from_number(1).unwrap_or_else(|| unreachable!()),
            account_type: AccountType::Client,
            account_status: AccountStatus::Active,
            status: TokenStatus::Active,
            hash: keys.hash.hash(value.expose_secret()),
            modules: [module(1102), module(1104)].into_iter().collect(),
            revision: 1,
            expires_at: None,
            previous: None,
        };
        Fixture {
            keys,
            catalog: Catalog::default_catalog(),
            value,
            view,
        }
    }

    fn decide(
        fixture: &Fixture,
        view: &TokenView,
        transport: Transport,
        header: Option<&str>,
        path: Option<&str>,
    ) -> Result<Option<String>, RefusalReason> {
        // As the gate does: the transport, the credential header, then the decision.
        if transport == Transport::Http {
            return Err(RefusalReason::InsecureTransport);
        }
        let header = header.ok_or(RefusalReason::MissingCredential)?;
        let presented =
            PresentedToken::from_authorization(header).map_err(RefusalReason::Malformed)?;
        super::decide(
            &presented,
            (presented.id() == view.id).then_some(view),
            Target::Path(path),
            &fixture.keys.hash,
            &fixture.catalog,
            NOW,
        )
        .map(|grant| grant.module.map(|m| m.code.to_string()))
    }

    const NOW: OffsetDateTime = time::macros::datetime!(2026-12-01 12:00 UTC);

    /// Expiry at its boundary, and a rotation's previous value during and after its grace.
    #[test]
    fn expiry_and_grace_at_their_boundaries() {
        let f = fixture();
        let milli = time::Duration::milliseconds(1);
        let check = |view: &TokenView, value: &str, now: OffsetDateTime| {
            let presented = PresentedToken::parse(value).unwrap_or_else(|_| unreachable!());
            authenticate(&presented, Some(view), &f.keys.hash, now).map(|_| ())
        };
        let current = f.value.expose_secret();
        let mut view = f.view.clone();
        view.expires_at = Some(NOW);
        assert_eq!(check(&view, current, NOW - milli), Ok(()));
        assert_eq!(check(&view, current, NOW), Err(RefusalReason::Expired));
        assert_eq!(
            RefusalReason::Expired.kind(),
            RefusalKind::Unauthenticated,
            "refused like an unknown token"
        );
        // Rotated: the old value works until the grace ends, then is retired.
        let mut rng = StdRng::seed_from_u64(10);
        let new = TokenValue::generate(view.id, &mut rng);
        let mut rotated = f.view.clone();
        rotated.hash = f.keys.hash.hash(new.expose_secret());
        rotated.previous = Some(PreviousValue {
            hash: f.view.hash.clone(),
            until: Some(NOW),
        });
        assert_eq!(check(&rotated, new.expose_secret(), NOW), Ok(()));
        assert_eq!(check(&rotated, current, NOW - milli), Ok(()));
        assert_eq!(
            check(&rotated, current, NOW),
            Err(RefusalReason::Failed(FailureReason::RetiredValue))
        );
        rotated.previous = Some(PreviousValue {
            hash: f.view.hash.clone(),
            until: None,
        });
        assert_eq!(
            check(&rotated, current, NOW - milli),
            Err(RefusalReason::Failed(FailureReason::RetiredValue))
        );
        let other = TokenValue::generate(view.id, &mut rng);
        assert_eq!(
            check(&rotated, other.expose_secret(), NOW),
            Err(RefusalReason::Failed(FailureReason::WrongSecret))
        );
    }

    type Case<'a> = (
        TokenView,
        Transport,
        Option<&'a str>,
        Option<&'a str>,
        Result<Option<String>, RefusalReason>,
    );

    #[test]
    fn decision_table() {
        let f = fixture();
        let good = format!("Bearer {}", f.value.expose_secret());
        let v = &f.view;
        let https = Transport::Https;
        let cases: Vec<Case<'_>> = vec![
            (
                v.clone(),
                https,
                Some(&good),
                Some("/public/v1/commerce/orders"),
                Ok(Some("marketplace".into())),
            ),
            (
                v.clone(),
                https,
                Some(&good),
                Some("/public/v1/billing"),
                Ok(Some("billing".into())),
            ),
            (
                v.clone(),
                Transport::Http,
                Some(&good),
                Some("/public/v1/billing"),
                Err(RefusalReason::InsecureTransport),
            ),
            (
                v.clone(),
                https,
                None,
                Some("/public/v1/billing"),
                Err(RefusalReason::MissingCredential),
            ),
            (
                v.clone(),
                https,
                Some("Bearer nope"),
                Some("/public/v1/billing"),
                Err(RefusalReason::Malformed(MalformedToken::Length)),
            ),
            (
                v.clone(),
                https,
                Some(&good),
                Some("/public/v1/helpdesk/cases"),
                Err(RefusalReason::ModuleNotInScope),
            ),
            (
                v.clone(),
                https,
                Some(&good),
                Some("/public/v1/catalog/products"),
                Err(RefusalReason::AccountTypeNotAllowed),
            ),
            (
                v.clone(),
                https,
                Some(&good),
                Some("/public/v1/commerce-x"),
                Err(RefusalReason::PathNotGranted),
            ),
            (
                v.clone(),
                https,
                Some(&good),
                Some("/other/commerce"),
                Err(RefusalReason::PathNotGranted),
            ),
            (
                v.clone(),
                https,
                Some(&good),
                None,
                Err(RefusalReason::BadPath),
            ),
            (
                v.clone(),
                https,
                Some(&good),
                Some("/public/v1/commerce%2Fx"),
                Err(RefusalReason::BadPath),
            ),
            (
                TokenView {
                    status: TokenStatus::Disabled,
                    ..v.clone()
                },
                https,
                Some(&good),
                Some("/public/v1/billing"),
                Err(RefusalReason::Failed(FailureReason::Disabled)),
            ),
            (
                TokenView {
                    status: TokenStatus::Deleted,
                    ..v.clone()
                },
                https,
                Some(&good),
                Some("/public/v1/billing"),
                Err(RefusalReason::Failed(FailureReason::Deleted)),
            ),
            (
                TokenView {
                    account_status: AccountStatus::Disabled,
                    ..v.clone()
                },
                https,
                Some(&good),
                Some("/public/v1/billing"),
                Err(RefusalReason::Failed(FailureReason::AccountDisabled)),
            ),
            (
                TokenView {
                    hash: f.keys.hash.hash("something else"),
                    ..v.clone()
                },
                https,
                Some(&good),
                Some("/public/v1/billing"),
                Err(RefusalReason::Failed(FailureReason::WrongSecret)),
            ),
            (
                TokenView {
                    id: TokenId::from_number(1).unwrap_or_else(|| unreachable!()),
                    ..v.clone()
                },
                https,
                Some(&good),
                Some("/public/v1/billing"),
                Err(RefusalReason::UnknownToken),
            ),
        ];
        for (index, (view, transport, header, path, expect)) in cases.into_iter().enumerate() {
            assert_eq!(
                decide(&f, &view, transport, header, path),
                expect,
                "case {index}"
            );
        }
    }

    #[test]
    fn refusal_kinds() {
        assert_eq!(
            RefusalReason::UnknownToken.kind(),
            RefusalKind::Unauthenticated
        );
        assert_eq!(
            RefusalReason::Failed(FailureReason::Deleted).kind(),
            RefusalKind::Unauthenticated
        );
        assert_eq!(
            RefusalReason::Malformed(MalformedToken::Checksum).kind(),
            RefusalKind::Unauthenticated
        );
        assert_eq!(
            RefusalReason::InsecureTransport.kind(),
            RefusalKind::Forbidden
        );
        assert_eq!(
            RefusalReason::ModuleNotInScope.kind(),
            RefusalKind::Forbidden
        );
        assert_eq!(RefusalReason::BadPath.kind(), RefusalKind::Forbidden);
        assert_eq!(
            RefusalReason::DuplicateCredential.kind(),
            RefusalKind::Unauthenticated
        );
    }

    #[test]
    fn one_authorization_header_at_most() {
        let value: &[u8] = b"Bearer idt:x";
        assert_eq!(credential_header(&[]), Ok(None));
        assert_eq!(credential_header(&[value]), Ok(Some("Bearer idt:x")));
        assert_eq!(
            credential_header(&[value, value]),
            Err(RefusalReason::DuplicateCredential)
        );
        assert_eq!(
            credential_header(&[value, b""]),
            Err(RefusalReason::DuplicateCredential)
        );
        assert_eq!(
            credential_header(&[b"Bearer \xff"]),
            Err(RefusalReason::Malformed(MalformedToken::Prefix))
        );
    }
}
