//! JSON bodies of `POST` and `PUT /public/v1/accounts/api-tokens…`: the DTOs as `read_json`
//! reads them (`serde_json::from_slice`), then the checks `create_token` and `update_token` make
//! before anything is written, in their order — `TokenName::parse`, `TokenDescription::parse`,
//! the empty `icon`, `module_ids`, `AccountId::parse`, `Catalog::validate_scope` — for an
//! Operations account with every module enabled. (The handlers are async and reach the store;
//! these are the pure functions they call. `update_token`'s echo check of read-only fields is
//! private to the handler and not fuzzed here.)
//!
//! Invariants: what the validators accept is their own fixed point (a name or description
//! parsed again is unchanged); a create body rebuilt from the accepted values is accepted with
//! the same values; the token it makes, rendered as the server renders it (`TokenDto::of`) and
//! sent back unchanged as an update body (as clients do), is accepted and changes nothing; an
//! accepted update, applied, rendered and sent back, changes nothing more.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use tollgate_domain::{
    AccountId, AccountStatus, AccountType, FieldError, ModuleSet, NewToken, Principal, Token,
    TokenDescription, TokenId, TokenName, TokenPatch, ValidationErrors,
};
use tollgate_fuzz::fixture;
use tollgate_http::dto::{CreateTokenBody, Shape, TokenDto, UpdateTokenBody};
use tollgate_http::handlers::tokens::module_ids;
use tollgate_store::{AccountSummary, StoredToken};

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = serde_json::from_slice::<CreateTokenBody>(data) {
        if let Some(created) = validate_create(&body) {
            check_created(created);
        }
    }
    if let Ok(body) = serde_json::from_slice::<UpdateTokenBody>(data) {
        check_update(&body);
    }
});

/// The fixture's account: Operations, every module enabled.
fn account() -> AccountSummary {
    AccountSummary {
        id: fixture().view.account_id,
        name: "Fuzz Operations".into(),
        account_type: AccountType::Operations,
        status: AccountStatus::Active,
    }
}

fn enabled() -> ModuleSet {
    fixture().view.modules.clone()
}

/// What a create body asks for, once accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Created {
    name: TokenName,
    description: TokenDescription,
    account: Option<AccountId>,
    modules: ModuleSet,
}

/// `create_token`'s checks, in its order.
fn validate_create(body: &CreateTokenBody) -> Option<Created> {
    let catalog = &fixture().catalog;
    let mut errors = ValidationErrors::default();
    let name = match &body.name {
        Some(name) => errors.take(TokenName::parse(name)),
        None => {
            errors.push(FieldError::new("name", "is required"));
            None
        }
    };
    let description = match &body.description {
        Some(text) => errors.take(TokenDescription::parse(text)),
        None => Some(TokenDescription::default()),
    };
    if body.icon.as_deref().is_some_and(|icon| !icon.is_empty()) {
        errors.push(FieldError::new("icon", "must be empty"));
    }
    let requested = match &body.modules {
        Some(refs) => module_ids(refs, &mut errors),
        None => {
            errors.push(FieldError::new("modules", "is required"));
            Vec::new()
        }
    };
    let account = match &body.account {
        Some(account) => Some(errors.take(
            AccountId::parse(&account.id).map_err(|e| FieldError::new("account.id", e.to_string())),
        )?),
        None => None,
    };
    let scope = if body.modules.is_some() {
        errors.absorb(catalog.validate_scope(&requested, AccountType::Operations, &enabled()))
    } else {
        None
    };
    let _ = errors.to_string();
    match (name, description, scope) {
        (Some(name), Some(description), Some(modules)) if errors.is_empty() => Some(Created {
            name,
            description,
            account,
            modules,
        }),
        _ => None,
    }
}

/// `update_token`'s checks (before the echo of read-only fields): the patch it would apply.
fn validate_update(body: &UpdateTokenBody) -> Option<TokenPatch> {
    let catalog = &fixture().catalog;
    let mut errors = ValidationErrors::default();
    let name = body
        .name
        .as_ref()
        .and_then(|name| errors.take(TokenName::parse(name)));
    let description = body
        .description
        .as_ref()
        .and_then(|text| errors.take(TokenDescription::parse(text)));
    let modules = match &body.modules {
        Some(refs) => {
            let ids = module_ids(refs, &mut errors);
            errors.absorb(catalog.validate_scope(&ids, AccountType::Operations, &enabled()))
        }
        None => None,
    };
    let _ = errors.to_string();
    errors.is_empty().then_some(TokenPatch {
        name,
        description,
        modules,
        expires_at: None,
        self_rotate: None,
    })
}

fn check_created(created: Created) {
    let fx = fixture();
    // Fixed points.
    let name = TokenName::parse(created.name.as_str());
    assert_eq!(name.as_ref(), Ok(&created.name));
    let description = TokenDescription::parse(created.description.as_str());
    assert_eq!(description.as_ref(), Ok(&created.description));
    // A create body rebuilt from the accepted values.
    let modules: Vec<_> = created
        .modules
        .iter()
        .map(|id| json!({ "id": id.to_string() }))
        .collect();
    let mut rebuilt = json!({
        "name": created.name.as_str(),
        "description": created.description.as_str(),
        "modules": modules,
    });
    if let Some(account) = created.account {
        rebuilt["account"] = json!({ "id": account.to_string() });
    }
    let body: CreateTokenBody = from_value(&rebuilt);
    assert_eq!(validate_create(&body).as_ref(), Some(&created), "{rebuilt}");
    // The token, rendered and echoed back.
    let token = Token::create(
        NewToken {
            id: fx.view.id,
            account_id: created.account.unwrap_or(fx.view.account_id),
            name: created.name,
            description: created.description,
            modules: created.modules,
            expires_at: None,
            self_rotate: false,
        },
        Principal::System,
        fx.now,
    )
    .0;
    echo_changes_nothing(token);
}

fn check_update(body: &UpdateTokenBody) {
    let Some(patch) = validate_update(body) else {
        return;
    };
    let fx = fixture();
    let Ok(name) = TokenName::parse("Fuzz robot") else {
        unreachable!("a valid name")
    };
    let mut token = Token::create(
        NewToken {
            id: TokenId::from_number(1).unwrap_or_else(|| unreachable!()),
            account_id: fx.view.account_id,
            name,
            description: TokenDescription::default(),
            modules: enabled(),
            expires_at: None,
            self_rotate: false,
        },
        Principal::System,
        fx.now,
    )
    .0;
    let revision = token.revision();
    match token.update(patch, body.revision, Principal::System, fx.now) {
        Ok(Some(_)) => assert_eq!(token.revision(), revision + 1),
        Ok(None) => assert_eq!(token.revision(), revision),
        Err(_) => return,
    }
    echo_changes_nothing(token);
}

/// The token as the server renders it, sent back as an update body: accepted, and a no-op.
fn echo_changes_nothing(mut token: Token) {
    let fx = fixture();
    let stored = StoredToken {
        token: token.clone(),
        account: account(),
    };
    let shape = Shape {
        audit: true,
        without_modules: false,
    };
    let dto = TokenDto::of(
        &stored,
        &fx.catalog,
        shape,
        Some(fx.value.expose_secret().into()),
    );
    let Ok(echoed) = serde_json::to_value(&dto) else {
        unreachable!("a token object serialises")
    };
    let body: UpdateTokenBody = from_value(&echoed);
    let Some(patch) = validate_update(&body) else {
        panic!("the server's own rendering is refused: {echoed}")
    };
    let before = token.clone();
    let outcome = token.update(patch, body.revision, Principal::System, fx.now);
    assert!(matches!(outcome, Ok(None)), "{outcome:?} for {echoed}");
    assert_eq!(token, before);
}

fn from_value<T: serde::de::DeserializeOwned>(value: &serde_json::Value) -> T {
    let Ok(bytes) = serde_json::to_vec(value) else {
        unreachable!("a JSON value serialises")
    };
    match serde_json::from_slice(&bytes) {
        Ok(body) => body,
        Err(error) => panic!("{value} does not read as a body: {error}"),
    }
}
