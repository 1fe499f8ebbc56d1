//! `examples/protected.rs`'s routes on a database Tollgate wrote, with its key: a token holding
//! `billing` passes (the handler sees who called), one without it is refused with 403, a wrong
//! or missing value with 401, each with a problem body; the route outside the gate answers
//! without a token.

use actix_web::{App, test as web_test};
use rand::rngs::OsRng;
use time::OffsetDateTime;
use tollgate_domain::{
    AccountId, AccountType, DisplayName, ModuleId, ModuleSet, NewToken, ServerKey,
    TokenDescription, TokenName, TokenValue,
};
use tollgate_gate::{Gate, GateOptions};
use tollgate_store::{Context, NewSecret, PoolOptions, Store, StoreError};

type R<T> = Result<T, Box<dyn std::error::Error>>;

/// The example's code as it is: its routes, wrapped in `RequireModule`.
#[path = "../examples/protected.rs"]
#[expect(
    dead_code,
    reason = "the example's `main` reads the environment; its routes are tested"
)]
mod protected;

fn token(store: &Store, key: &ServerKey, account: AccountId, modules: &[u64]) -> R<TokenValue> {
    let keys = key.derive();
    let modules: ModuleSet = modules
        .iter()
        .map(|n| ModuleId::from_number(*n).ok_or("module id"))
        .collect::<Result<_, _>>()?;
    let mut value = None;
    let context = Context::system(OffsetDateTime::now_utc());
    store.create_token::<StoreError>(account, &context, |id| {
        let generated = TokenValue::generate(id, &mut OsRng);
        let secret = NewSecret {
            hash: keys.hash.hash(generated.expose_secret()),
            sealed: None,
        };
        value = Some(generated);
        Ok((
            NewToken {
                id,
                account_id: account,
                name: TokenName::parse("Example robot")
                    .map_err(|e| StoreError::Database(e.to_string()))?,
                description: TokenDescription::default(),
                modules: modules.clone(),
                expires_at: None,
                self_rotate: false,
            },
            secret,
        ))
    })?;
    Ok(value.ok_or("no value")?)
}

#[test]
fn the_example_app_is_guarded_by_the_middleware() -> R<()> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}/tollgate.db", dir.path().display());
    let (key, _) = ServerKey::generate(&mut OsRng);
    let store = Store::open(&url, key.derive(), PoolOptions::default())?;
    let catalog = store.catalog()?;
    let account = store.create_account(
        &DisplayName::parse("name", "Example Co")?,
        AccountType::Client,
        &catalog.allowed_for(AccountType::Client),
        OffsetDateTime::now_utc(),
    )?;
    let billing = token(&store, &key, account.id, &[1104])?;
    let marketplace = token(&store, &key, account.id, &[1102])?;

    let gate = Gate::start(store.clone(), store.keyring(), GateOptions::default())?;
    actix_web::rt::System::new().block_on(async {
        let app =
            web_test::init_service(App::new().configure(protected::routes(gate.clone()))).await;
        let get = |value: Option<&str>, path: &str| {
            let mut request = web_test::TestRequest::get().uri(path);
            if let Some(value) = value {
                request = request.insert_header(("authorization", format!("Bearer {value}")));
            }
            request.to_request()
        };
        let invoices = "/public/v1/billing/invoices";

        let allowed =
            web_test::call_service(&app, get(Some(billing.expose_secret()), invoices)).await;
        assert_eq!(allowed.status(), 200);
        let body: serde_json::Value = web_test::read_body_json(allowed).await;
        assert_eq!(body["account"], account.id.to_string());
        assert_eq!(body["token"], billing.token_id().to_string());

        let forbidden =
            web_test::call_service(&app, get(Some(marketplace.expose_secret()), invoices)).await;
        assert_eq!(forbidden.status(), 403);
        assert_eq!(
            forbidden
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json")
        );
        let problem: serde_json::Value = web_test::read_body_json(forbidden).await;
        assert_eq!(problem["type"], "urn:tollgate:error:forbidden");

        let missing = web_test::call_service(&app, get(None, invoices)).await;
        assert_eq!(missing.status(), 401);
        assert_eq!(
            missing
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok()),
            Some("Bearer")
        );
        let secret = billing.expose_secret();
        // The last character changed (to one it is not).
        let last = if secret.ends_with('x') { 'y' } else { 'x' };
        let wrong = format!("{}{last}", &secret[..secret.len() - 1]);
        let refused = web_test::call_service(&app, get(Some(&wrong), invoices)).await;
        assert_eq!(refused.status(), 401);

        // Outside the gate, no token is needed.
        let health = web_test::call_service(&app, get(None, "/healthz")).await;
        assert_eq!(health.status(), 200);
    });
    gate.shutdown()?;
    Ok(())
}
