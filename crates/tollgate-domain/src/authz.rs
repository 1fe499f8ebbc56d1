//! Request authorization for the platform's REST API (SPEC §4): is this request, with this
//! bearer value, allowed?
//!
//! The decision is a pure function of the transport, the presented value, the stored view of
//! the token it names, the normalised path and the catalog. The caller supplies the view (from
//! its cache); nothing here does I/O.

use std::borrow::Cow;

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
}

impl RefusalReason {
    /// 401 or 403.
    pub fn kind(self) -> RefusalKind {
        match self {
            Self::MissingCredential | Self::Malformed(_) | Self::UnknownToken | Self::Failed(_) => {
                RefusalKind::Unauthenticated
            }
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
            Self::Malformed(MalformedToken::Checksum) => "bad-checksum",
            Self::Malformed(_) => "malformed",
            Self::UnknownToken => "unknown-token",
            Self::Failed(reason) => reason.as_str(),
            Self::BadPath => "bad-path",
            Self::PathNotGranted => "path-not-granted",
            Self::ModuleNotInScope => "module-not-in-scope",
            Self::AccountTypeNotAllowed => "account-type-not-allowed",
        }
    }
}

/// A path split into normalised segments: percent-decoded once, dot segments resolved,
/// repeated slashes collapsed, query and fragment dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestPath<'a> {
    segments: Vec<Cow<'a, str>>,
}

impl<'a> RequestPath<'a> {
    /// Normalises an absolute request path (a URI's path and query).
    ///
    /// Refuses what could be read two ways by the service behind the gateway: invalid percent
    /// escapes, an encoded `/` or `\`, control characters, and bytes that are not UTF-8.
    pub fn parse(raw: &'a str) -> Option<Self> {
        let path = raw.split(['?', '#']).next().unwrap_or("");
        let rest = path.strip_prefix('/')?;
        let mut segments: Vec<Cow<'a, str>> = Vec::new();
        for raw_segment in rest.split('/') {
            let segment = decode_segment(raw_segment)?;
            match segment.as_ref() {
                "" | "." => {}
                ".." => {
                    segments.pop();
                }
                _ => segments.push(segment),
            }
        }
        Some(Self { segments })
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

fn decode_segment(raw: &str) -> Option<Cow<'_, str>> {
    if raw.bytes().any(|b| b.is_ascii_control() || b == b'\\') {
        return None;
    }
    if !raw.contains('%') {
        return Some(Cow::Borrowed(raw));
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let high = hex(*bytes.get(at + 1)?)?;
            let low = hex(*bytes.get(at + 2)?)?;
            out.push(high << 4 | low);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    if out
        .iter()
        .any(|b| b.is_ascii_control() || *b == b'/' || *b == b'\\')
    {
        return None;
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

/// An allowed request: the token that authenticated it and the module that granted the path.
#[derive(Debug, Clone, Copy)]
pub struct Grant<'v> {
    /// The token.
    pub token: &'v TokenView,
    /// The module that grants the path (none when only authentication was asked for).
    pub module: Option<&'v Module>,
}

/// Checks a presented value against the stored view of the token it names. The secret is
/// compared first (in constant time, under the key the stored hash names: one key, or a
/// [`Keyring`](crate::Keyring) during a key rotation), so a wrong secret is reported as such
/// whatever the token's state.
pub fn authenticate<'v>(
    presented: &PresentedToken<'_>,
    view: Option<&'v TokenView>,
    key: &impl HashVerifier,
) -> Result<&'v TokenView, RefusalReason> {
    let view = view
        .filter(|view| view.id == presented.id())
        .ok_or(RefusalReason::UnknownToken)?;
    if !key.verify_hash(presented.expose_secret(), &view.hash) {
        return Err(RefusalReason::Failed(FailureReason::WrongSecret));
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

/// The whole decision for one request to the platform: transport, then credential, then path.
///
/// `lookup` returns the stored view of a token id (from the caller's cache); it is called only
/// for well-formed values. `path` is `None` when the request did not say which path it is for
/// (a missing forwarded header), which is refused with 403 after authentication.
pub fn authorize<'v>(
    transport: Transport,
    authorization: Option<&str>,
    path: Option<&str>,
    lookup: impl FnOnce(TokenId) -> Option<&'v TokenView>,
    key: &impl HashVerifier,
    catalog: &'v Catalog,
) -> Result<Grant<'v>, RefusalReason> {
    if transport == Transport::Http {
        return Err(RefusalReason::InsecureTransport);
    }
    let header = authorization.ok_or(RefusalReason::MissingCredential)?;
    let presented = PresentedToken::from_authorization(header).map_err(RefusalReason::Malformed)?;
    let token = authenticate(&presented, lookup(presented.id()), key)?;
    let path = path
        .and_then(RequestPath::parse)
        .ok_or(RefusalReason::BadPath)?;
    authorize_path(token, &path, catalog)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;
    use crate::id::ModuleId;
    use crate::secret::{Keys, ServerKey, TokenValue};

    fn check_path(raw: &str, expect: Option<&str>) {
        let got = RequestPath::parse(raw).map(|p| p.to_path_string());
        assert_eq!(got.as_deref(), expect, "{raw:?}");
    }

    #[test]
    fn path_normalisation() {
        check_path(
            "/public/v1/commerce/orders",
            Some("/public/v1/commerce/orders"),
        );
        check_path(
            "/public/v1/commerce/orders?limit=10",
            Some("/public/v1/commerce/orders"),
        );
        check_path("/public//v1///commerce/", Some("/public/v1/commerce"));
        check_path(
            "/public/v1/./commerce/../billing",
            Some("/public/v1/billing"),
        );
        check_path("/public/v1/%63ommerce", Some("/public/v1/commerce"));
        check_path(
            "/public/v1/commerce/%2e%2e/billing",
            Some("/public/v1/billing"),
        );
        check_path("/../../public/v1/billing", Some("/public/v1/billing"));
        check_path("/public/v1/caf%C3%A9", Some("/public/v1/café"));
        check_path("/public/v1/commerce%2F..%2Fbilling", None);
        check_path("/public/v1/a%5Cb", None);
        check_path("/public/v1/a\\b", None);
        check_path("/public/v1/a%00", None);
        check_path("/public/v1/a%0A", None);
        check_path("/public/v1/a%zz", None);
        check_path("/public/v1/a%2", None);
        check_path("/public/v1/%FF", None);
        check_path("public/v1/billing", None);
        check_path("", None);
        check_path("/", Some("/"));
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
        authorize(
            transport,
            header,
            path,
            |id| (id == view.id).then_some(view),
            &fixture.keys.hash,
            &fixture.catalog,
        )
        .map(|grant| grant.module.map(|m| m.code.to_string()))
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
    }
}
