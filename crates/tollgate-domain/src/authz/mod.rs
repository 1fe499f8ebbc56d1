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
mod tests;
