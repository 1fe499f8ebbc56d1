//! What the fuzz targets share: a server key, a known token and its stored view, the default
//! catalog, a fixed "now". Built once per process.
//!
//! `seeds.py` reads [`VALUE`] and the key texts below to write seeds that authenticate or verify.

use std::sync::OnceLock;

use time::OffsetDateTime;
use tollgate_domain::authz::TokenView;
use tollgate_domain::{
    AccountId, AccountStatus, AccountType, Catalog, Keys, MacKey, ModuleSet, ServerKey, TokenId,
    TokenStatus, TokenValue,
};

/// The known token's value (form and checksum valid; `seeds.py` reads it from here).
pub const VALUE: &str =
    "idt:TKN-1234-5678:FuzzFixture0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJK1JKPqx";

/// The raw bytes of the ticket key (`k_ticket`, as an identity provider holds it).
pub const TICKET_KEY: &[u8] = b"fuzz k_ticket";
/// The raw bytes of the session key (`k_session`).
pub const SESSION_KEY: &[u8] = b"fuzz k_session";
/// "Now" for tickets and sessions: 2026-11-28T10:00:00Z.
pub const NOW_UNIX: i64 = 1_795_860_000;

/// Everything fixed.
#[derive(Debug)]
pub struct Fixture {
    /// The purpose keys of a fixed server key.
    pub keys: Keys,
    /// The default catalog.
    pub catalog: Catalog,
    /// The known token's value.
    pub value: TokenValue,
    /// Its stored view: an Active token of an Active Operations account, holding every module
    /// of the catalog (so that every path a module grants is allowed).
    pub view: TokenView,
    /// `MacKey::new(TICKET_KEY)`.
    pub ticket_key: MacKey,
    /// `MacKey::new(SESSION_KEY)`.
    pub session_key: MacKey,
    /// [`NOW_UNIX`].
    pub now: OffsetDateTime,
}

impl Fixture {
    /// The view of `id`, when it is the known token's.
    pub fn lookup(&self, id: TokenId) -> Option<&TokenView> {
        (id == self.view.id).then_some(&self.view)
    }
}

/// The fixture, built on first use.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let Ok(server) = ServerKey::from_bytes(vec![42; 32]) else {
            unreachable!("32 bytes is a valid server key")
        };
        let keys = server.derive();
        let Ok(value) = TokenValue::parse(VALUE) else {
            unreachable!("VALUE is well formed")
        };
        let catalog = Catalog::default_catalog();
        let modules: ModuleSet = catalog.modules().iter().map(|module| module.id).collect();
        let view = TokenView {
            id: value.token_id(),
            name: "fuzz robot".into(),
            account_id: AccountId::from_number(4_200_000).unwrap_or_else(|| unreachable!()),
            account_type: AccountType::Operations,
            account_status: AccountStatus::Active,
            status: TokenStatus::Active,
            hash: keys.hash.hash(value.expose_secret()),
            modules,
            revision: 1,
            expires_at: None,
            previous: None,
        };
        let Ok(now) = OffsetDateTime::from_unix_timestamp(NOW_UNIX) else {
            unreachable!("a valid timestamp")
        };
        Fixture {
            keys,
            catalog,
            value,
            view,
            ticket_key: MacKey::new(TICKET_KEY),
            session_key: MacKey::new(SESSION_KEY),
            now,
        }
    })
}
