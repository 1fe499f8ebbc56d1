//! `/public/v1/accounts/api-tokens`: create, list, read (with reveal), update, delete, enable,
//! disable.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use tollgate_app::CreateToken;
use tollgate_domain::HashVerifier as _;
use tollgate_domain::permission::{Target, authorize_collection, authorize_token};
use tollgate_domain::query::{Comparison, Filter, ListQuery, TokenField, Value};
use tollgate_domain::{
    Actor, FieldError, ModuleId, Operation, PresentedToken, TokenDescription, TokenHash, TokenName,
    TokenPatch, TokenValue, ValidationErrors, Visibility,
};
use tollgate_store::StoredToken;

use super::{json, token_id};
use crate::auth::Caller;
use crate::body::read_json;
use crate::dto::{
    CreateTokenBody, EmptyBody, IdRef, ListDto, Shape, TokenDto, UpdateTokenBody, icon_path,
};
use crate::error::{ApiError, change_error, create_error, reveal_error};
use crate::middleware::not_allowed;
use crate::rql::{ValueLookup, parse_list_query};
use crate::state::AppState;

/// Registers the routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/public/v1/accounts/api-tokens")
            .route(web::get().to(list))
            .route(web::post().to(create))
            .default_service(not_allowed("GET, POST")),
    )
    .service(
        web::resource("/public/v1/accounts/api-tokens/{id}")
            .route(web::get().to(read))
            .route(web::put().to(update))
            .route(web::delete().to(delete))
            .default_service(not_allowed("GET, PUT, DELETE")),
    )
    .service(
        web::resource("/public/v1/accounts/api-tokens/{id}/enable")
            .route(web::post().to(enable))
            .default_service(not_allowed("POST")),
    )
    .service(
        web::resource("/public/v1/accounts/api-tokens/{id}/disable")
            .route(web::post().to(disable))
            .default_service(not_allowed("POST")),
    );
}

const SELECTABLE: &[&str] = &["audit", "token", "modules"];

/// Parses module references: each a valid `MOD-dddd` id, errors named by position.
pub fn module_ids(refs: &[IdRef], errors: &mut ValidationErrors) -> Vec<ModuleId> {
    tollgate_app::create::module_ids(refs.iter().map(|module| module.id.as_str()), errors)
}

fn shape_of(select: &crate::rql::Selection) -> Shape {
    Shape {
        audit: select.includes("audit"),
        without_modules: select.excludes("modules"),
    }
}

/// Loads a token for a caller, applying the read permission (404 for what it cannot see).
pub async fn load_visible(
    state: &AppState,
    caller: &Caller,
    id: tollgate_domain::TokenId,
) -> Result<StoredToken, ApiError> {
    let store = state.store.clone();
    let stored = web::block(move || store.token(id))
        .await??
        .ok_or_else(|| ApiError::NotFound("API token not found".into()))?;
    let target = Target::unchanged(&stored.token);
    authorize_token(
        &caller.actor,
        Operation::ReadToken,
        &target,
        caller.catalog.well_known(),
    )?;
    Ok(stored)
}

async fn create(
    req: HttpRequest,
    payload: web::Payload,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    // Refused before the body is read: a caller that may not create learns nothing from it.
    authorize_collection(
        &caller.actor,
        Operation::CreateToken,
        caller.catalog.well_known(),
    )?;
    let body: CreateTokenBody = read_json(&req, payload, false).await?;
    let (stored, value) = create_token(&state, &caller, body).await?;
    let dto = TokenDto::of(
        &stored,
        &caller.catalog,
        Shape::default(),
        Some(value.expose_secret().to_owned()),
    );
    let mut response = json(StatusCode::CREATED, &dto)?;
    if let Ok(location) = actix_web::http::header::HeaderValue::from_str(&format!(
        "/public/v1/accounts/api-tokens/{}",
        dto.id
    )) {
        response
            .headers_mut()
            .insert(actix_web::http::header::LOCATION, location);
    }
    Ok(response)
}

/// Creates a token for `caller` from a create body: the use case
/// ([`tollgate_app::App::create_token`]) on the blocking pool, within the write timeout. The
/// REST API and the web pages both create through here.
pub async fn create_token(
    state: &AppState,
    caller: &Caller,
    body: CreateTokenBody,
) -> Result<(StoredToken, TokenValue), ApiError> {
    let input = CreateToken {
        name: body.name,
        description: body.description,
        modules: body
            .modules
            .map(|refs| refs.into_iter().map(|module| module.id).collect()),
        account: body.account.map(|account| account.id),
        icon: body.icon,
        expires_at: body.expires_at,
        self_rotate: body.self_rotate,
    };
    super::as_caller(state, caller, move |app, actor, catalog, ctx| {
        app.create_token(actor, catalog, ctx, input)
            .map_err(create_error)
    })
    .await
}

async fn list(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let request = parse_list_query::<TokenField>(req.query_string(), SELECTABLE)
        .map_err(|error| ApiError::BadRequest(error.to_string()))?;
    if request.select.includes("token") {
        return Err(ApiError::BadRequest(
            "select=+token is allowed only when reading one token".into(),
        ));
    }
    let shape = shape_of(&request.select);
    if let Some(value) = &request.token {
        return list_by_value(&state, &caller, request.query, value, shape).await;
    }
    let visibility = authorize_collection(
        &caller.actor,
        Operation::ListTokens,
        caller.catalog.well_known(),
    )?;
    let store = state.store.clone();
    let query = request.query;
    let page = web::block(move || store.list_tokens(visibility, &query)).await??;
    let catalog = caller.catalog.clone();
    json(
        StatusCode::OK,
        &ListDto::from_page(&page, |stored| TokenDto::of(stored, &catalog, shape, None)),
    )
}

/// `token=<value>`: whose value is this? The value's id is parsed, that one row read and the
/// value checked against its stored hash in constant time; the list is that token (with the
/// value echoed as `token`) when the value matches and the caller may see it, else empty. A
/// token may look up its own value without `access-management`. Every value costs the same:
/// one row read, one hash and one list query, whether it is malformed, wrong or right.
async fn list_by_value(
    state: &AppState,
    caller: &Caller,
    mut query: ListQuery<TokenField>,
    value: &ValueLookup,
    shape: Shape,
) -> Result<HttpResponse, ApiError> {
    let presented = PresentedToken::parse(value.expose_secret()).ok();
    // A malformed value is looked up under an id it does not name, so it costs what a wrong one
    // costs, and matches nothing.
    let well_formed = presented.is_some();
    let id = presented
        .as_ref()
        .map(PresentedToken::id)
        .or_else(|| tollgate_domain::TokenId::from_number(0))
        .ok_or_else(|| ApiError::Internal("no placeholder token id".into()))?;
    let visibility = match &caller.actor {
        Actor::Token {
            id: own, account, ..
        } if *own == id && well_formed => Visibility::Account(account.id),
        actor => authorize_collection(actor, Operation::ListTokens, caller.catalog.well_known())?,
    };
    let by_id = Filter::Compare {
        field: TokenField::Id,
        op: Comparison::Eq,
        value: Value::Text(id.to_string()),
    };
    query.filter = Some(match query.filter.take() {
        Some(rest) => Filter::And(vec![by_id, rest]),
        None => by_id,
    });
    let store = state.store.clone();
    let keys = state.keys.clone();
    let secret = value.clone();
    let (matched, page) = web::block(move || -> Result<_, ApiError> {
        let view = store.token_view(id)?;
        let placeholder = TokenHash {
            key_id: keys.current().hash.id(),
            digest: [0; 32],
        };
        let hash = view.as_ref().map_or(&placeholder, |view| &view.hash);
        let matched = keys.verify_hash(secret.expose_secret(), hash) && view.is_some();
        let page = store.list_tokens(visibility, &query)?;
        Ok((matched && well_formed, page))
    })
    .await??;
    let catalog = caller.catalog.clone();
    let echoed = Some(value.expose_secret().to_owned());
    let data = if matched {
        page.items
            .iter()
            .map(|stored| TokenDto::of(stored, &catalog, shape, echoed.clone()))
            .collect()
    } else {
        Vec::new()
    };
    let total = if matched { page.total } else { 0 };
    // `json` answers with `Cache-Control: no-store`, as every response with a value must.
    json(StatusCode::OK, &ListDto::new(data, page.page, total))
}

async fn read(
    req: HttpRequest,
    path: web::Path<String>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = token_id(&path)?;
    let request = parse_list_query::<TokenField>(req.query_string(), SELECTABLE)
        .map_err(|error| ApiError::BadRequest(error.to_string()))?;
    let shape = shape_of(&request.select);
    let stored = load_visible(&state, &caller, id).await?;
    let self_read = matches!(&caller.actor, Actor::Token { id: own, .. } if *own == id);
    let value = if self_read {
        // A token reading itself gets the value it presented: nothing is decrypted (the
        // header is read again here only, not on every request).
        crate::auth::authorization_header(req.headers())
            .ok()
            .flatten()
            .and_then(|header| PresentedToken::from_authorization(header).ok())
            .map(|presented| presented.expose_secret().to_owned())
    } else if request.select.includes("token") {
        Some(reveal(&state, &caller, id).await?)
    } else {
        None
    };
    json(
        StatusCode::OK,
        &TokenDto::of(&stored, &caller.catalog, shape, value),
    )
}

/// An audited reveal by an account administrator.
pub async fn reveal(
    state: &AppState,
    caller: &Caller,
    id: tollgate_domain::TokenId,
) -> Result<String, ApiError> {
    let value = super::as_caller(state, caller, move |app, actor, catalog, ctx| {
        app.reveal_token(actor, catalog, ctx, id)
            .map_err(reveal_error)
    })
    .await?;
    Ok(value.expose_secret().to_owned())
}

use tollgate_app::create::parse_expiry;

fn echo_errors(body: &UpdateTokenBody, stored: &StoredToken, errors: &mut ValidationErrors) {
    let token = &stored.token;
    let id = token.id().to_string();
    if body.id.as_ref().is_some_and(|sent| *sent != id) {
        errors.push(FieldError::new("id", "cannot be changed"));
    }
    if body
        .account
        .as_ref()
        .is_some_and(|sent| sent.id != stored.account.id.to_string())
    {
        errors.push(FieldError::new("account", "cannot be changed"));
    }
    // Compared with the status as read: a client that read `Expired` echoes it.
    let shown = token.shown_status(time::OffsetDateTime::now_utc());
    if body
        .status
        .as_ref()
        .is_some_and(|sent| sent != shown.as_str())
    {
        errors.push(FieldError::new(
            "status",
            "cannot be changed here; use …/enable, …/disable or DELETE",
        ));
    }
    let icon = if token.parts().has_icon {
        icon_path(&id)
    } else {
        String::new()
    };
    if body.icon.as_ref().is_some_and(|sent| *sent != icon) {
        errors.push(FieldError::new(
            "icon",
            "cannot be changed here; use PUT or DELETE …/icon",
        ));
    }
}

async fn update(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = token_id(&path)?;
    load_visible(&state, &caller, id).await?;
    let body: UpdateTokenBody = read_json(&req, payload, false).await?;
    let stored = update_token(&state, &caller, id, body).await?;
    json(
        StatusCode::OK,
        &TokenDto::of(&stored, &caller.catalog, Shape::default(), None),
    )
}

/// Updates a token from an update body (validation, then the change with its audit record and
/// the permission check inside the transaction). Shared by the REST API and the web pages.
pub async fn update_token(
    state: &AppState,
    caller: &Caller,
    id: tollgate_domain::TokenId,
    body: UpdateTokenBody,
) -> Result<StoredToken, ApiError> {
    let stored = load_visible(state, caller, id).await?;
    let mut errors = ValidationErrors::default();
    echo_errors(&body, &stored, &mut errors);
    let name = body
        .name
        .as_ref()
        .and_then(|name| errors.take(TokenName::parse(name)));
    let description = body
        .description
        .as_ref()
        .and_then(|text| errors.take(TokenDescription::parse(text)));
    let account = if body.modules.is_some() || body.expires_at.is_some() {
        let store = state.store.clone();
        let account_id = stored.account.id;
        Some(
            web::block(move || store.account(account_id))
                .await??
                .ok_or_else(|| ApiError::NotFound("account not found".into()))?,
        )
    } else {
        None
    };
    let modules = match (&body.modules, &account) {
        (Some(refs), Some(account)) => {
            let ids = module_ids(refs, &mut errors);
            errors.absorb(caller.catalog.validate_scope(
                &ids,
                account.account_type,
                &account.modules,
            ))
        }
        _ => None,
    };
    // `null` clears the expiry; either way the account's policy applies to what is set.
    let expires_at = match (&body.expires_at, &account) {
        (Some(sent), Some(account)) => match sent.as_deref().map(parse_expiry).transpose() {
            Ok(at) => errors
                .take(
                    account
                        .token_policy
                        .check(at, time::OffsetDateTime::now_utc())
                        .map(|()| Some(at)),
                )
                .flatten(),
            Err(error) => {
                errors.push(error);
                None
            }
        },
        _ => None,
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let patch = TokenPatch {
        name,
        description,
        modules,
        expires_at,
        self_rotate: body.self_rotate,
    };
    let revision = body.revision;
    change_token(
        state,
        caller,
        id,
        Operation::UpdateToken,
        Box::new(move |token, by, now| token.update(patch, revision, by, now)),
    )
    .await
}

pub use tollgate_app::change::{Apply, Lifecycle};

/// Applies a change through the use case ([`tollgate_app::App::change_token`]) on the
/// blocking pool, within the write timeout, and returns the token as stored.
pub async fn change_token(
    state: &AppState,
    caller: &Caller,
    id: tollgate_domain::TokenId,
    operation: Operation,
    apply: Box<Apply>,
) -> Result<StoredToken, ApiError> {
    super::as_caller(state, caller, move |app, actor, catalog, ctx| {
        app.change_token(actor, catalog, ctx, id, operation, apply)
            .map_err(change_error)
    })
    .await
}

/// Enables, disables or deletes `id` for `caller` (the REST API's routes and the pages' buttons).
pub async fn run_lifecycle(
    state: &AppState,
    caller: &Caller,
    lifecycle: Lifecycle,
    id: tollgate_domain::TokenId,
) -> Result<StoredToken, ApiError> {
    change_token(state, caller, id, lifecycle.operation(), lifecycle.apply()).await
}

async fn delete(
    path: web::Path<String>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = token_id(&path)?;
    run_lifecycle(&state, &caller, Lifecycle::Delete, id).await?;
    Ok(HttpResponse::NoContent()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .finish())
}

async fn enable(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    switch(req, path, payload, caller, state, Lifecycle::Enable).await
}

async fn disable(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    switch(req, path, payload, caller, state, Lifecycle::Disable).await
}

async fn switch(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    caller: Caller,
    state: web::Data<AppState>,
    lifecycle: Lifecycle,
) -> Result<HttpResponse, ApiError> {
    let id = token_id(&path)?;
    let _: EmptyBody = read_json(&req, payload, true).await?;
    let stored = run_lifecycle(&state, &caller, lifecycle, id).await?;
    json(
        StatusCode::OK,
        &TokenDto::of(&stored, &caller.catalog, Shape::default(), None),
    )
}
