//! The page handlers. Every change goes through the same functions as the REST API
//! (`handlers::tokens`, `handlers::icons`), acting as the signed-in user, so permissions,
//! validation and audit records are the REST API's own.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use time::OffsetDateTime;
use tollgate_audit::format_timestamp;
use tollgate_domain::query::{
    AuditField, Comparison, Direction, Filter, ListQuery, Page as PageSpec, SortKey, TokenField,
    Value,
};
use tollgate_domain::{Module, Operation, TokenId, TokenName, Visibility};
use tollgate_store::{StoredToken, TroubleQuery};

use super::form::{all, checked_logo, first, query_pairs, read_form, read_pairs};
use super::lifetime::{
    self, ExpiryChoice, ExpiryForm, expiry_of, lifetime_of, place_expiry_errors,
};
use super::session::{CSRF_HEADER, SignedIn, signed_in};
use super::views::{self, DetailsView, Errors, ListState, Tab, TokenForm, Who};
use super::{Page, TOKENS_PATH, WebError, html, see_other};
use crate::dto::{CreateTokenBody, IdRef, Shape, TokenDto, UpdateTokenBody};
use crate::error::ApiError;
use crate::handlers::icons;
use crate::handlers::tokens::{self, Lifecycle, load_visible};
use crate::handlers::{json, token_id};
use crate::state::{AppState, RevealPolicy};

pub(super) fn who(signed: &SignedIn) -> Who {
    Who {
        name: signed.user.name.to_string(),
        id: signed.user.id.to_string(),
        account: signed.account.name.to_string(),
        csrf: signed.csrf.clone(),
        token_policy: signed.account.token_policy,
        now: OffsetDateTime::now_utc(),
    }
}

/// The modules an administrator may choose: enabled for the account and allowed for its type.
fn choosable(signed: &SignedIn) -> Vec<Module> {
    let catalog = &signed.caller.catalog;
    catalog
        .modules()
        .iter()
        .filter(|module| {
            signed.account.modules.contains(module.id)
                && module.account_types.contains(signed.account.account_type)
        })
        .cloned()
        .collect()
}

/// REST field errors keyed by form field (`modules[0].id` → `modules`).
fn form_errors(errors: &tollgate_domain::ValidationErrors) -> Errors {
    let mut out = Errors::new();
    for (field, messages) in &errors.0 {
        let key = if field.starts_with("modules") {
            "modules"
        } else {
            field.as_str()
        };
        let key = match key {
            "expiresAt" => "expiry",
            "selfRotate" => "self_rotate",
            other => other,
        };
        let label = match key {
            "name" => "Name",
            "description" => "Description",
            "modules" => "Modules",
            "expiry" => "Expiration",
            "self_rotate" => "Self-rotation",
            _ => "This field",
        };
        for message in messages {
            out.entry(key.to_owned())
                .or_default()
                .push(format!("{label} {message}."));
        }
    }
    out
}

fn module_refs(ids: &BTreeSet<String>) -> Vec<IdRef> {
    ids.iter()
        .map(|id| IdRef {
            id: id.clone(),
            code: None,
            name: None,
            kind: None,
            status: None,
        })
        .collect()
}

/// `GET /`: the list.
pub async fn home() -> HttpResponse {
    see_other(TOKENS_PATH)
}

/// 10, 25 or 50 rows per page; anything else is the default.
fn page_size(text: Option<&str>, default: u32) -> u32 {
    text.and_then(|text| text.parse().ok())
        .filter(|size| [10, 25, 50].contains(size))
        .unwrap_or(default)
}

/// A 1-based page number; anything else is the first page.
fn page_number(text: Option<&str>) -> u64 {
    text.and_then(|text| text.parse().ok())
        .filter(|page| (1..=1_000_000).contains(page))
        .unwrap_or(1)
}

fn order_key(text: &str) -> Option<SortKey<TokenField>> {
    let (direction, key) = match text.strip_prefix('-') {
        Some(key) => (Direction::Descending, key),
        None => (Direction::Ascending, text),
    };
    let field = match key {
        "name" => TokenField::Name,
        "created" => TokenField::CreatedAt,
        "lastAccess" => TokenField::LastAccessAt,
        "status" => TokenField::Status,
        "expires" => TokenField::ExpiresAt,
        _ => return None,
    };
    Some(SortKey { field, direction })
}

fn list_notice(key: Option<&str>) -> Option<&'static str> {
    match key {
        Some("deleted") => Some("The API token was deleted."),
        _ => None,
    }
}

/// `GET /administration/settings/api-tokens`: filters, sort, pages of 10/25/50.
pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> Page {
    async {
        let signed = signed_in(&req, &state).await?;
        let pairs = query_pairs(req.query_string());
        let size = page_size(first(&pairs, "size"), 10);
        let mut list_state = ListState {
            status: match first(&pairs, "status") {
                Some(status @ ("Active" | "Disabled" | "Expired")) => status.to_owned(),
                _ => String::new(),
            },
            name: first(&pairs, "name")
                .unwrap_or_default()
                .trim()
                .chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect(),
            order: first(&pairs, "order")
                .filter(|order| order_key(order).is_some())
                .unwrap_or("-created")
                .to_owned(),
            size,
            page: page_number(first(&pairs, "page")),
        };
        signed.authorize(Operation::ListTokens)?;
        let mut filters = Vec::new();
        if !list_state.status.is_empty() {
            filters.push(Filter::Compare {
                field: TokenField::Status,
                op: Comparison::Eq,
                value: Value::Text(list_state.status.clone()),
            });
        }
        if !list_state.name.is_empty() {
            filters.push(Filter::Like {
                field: TokenField::Name,
                pattern: format!("*{}*", list_state.name),
                case_insensitive: true,
            });
        }
        let mut query = ListQuery {
            filter: (!filters.is_empty()).then_some(Filter::And(filters)),
            order: order_key(&list_state.order).into_iter().collect(),
            page: PageSpec::new((list_state.page - 1) * u64::from(size), u64::from(size)),
        };
        let visibility = Visibility::Account(signed.account.id);
        let store = state.store.clone();
        let mut page = {
            let query = query.clone();
            web::block(move || store.list_tokens(visibility, &query)).await??
        };
        // Past the last page (after a delete, say): show the last one.
        if page.items.is_empty() && page.total > 0 && list_state.page > 1 {
            list_state.page = page.total.div_ceil(u64::from(size));
            query.page = PageSpec::new((list_state.page - 1) * u64::from(size), u64::from(size));
            let store = state.store.clone();
            page = web::block(move || store.list_tokens(visibility, &query)).await??;
        }
        let shape = Shape {
            audit: true,
            without_modules: false,
        };
        let rows: Vec<TokenDto> = page
            .items
            .iter()
            .map(|stored| TokenDto::of(stored, &signed.caller.catalog, shape, None))
            .collect();
        let who = who(&signed);
        let trouble = {
            let store = state.store.clone();
            let query = TroubleQuery {
                account: signed.account.id,
                now: who.now,
                expiring_by: who.now + lifetime::SOON,
                retired_since: who.now - lifetime::RETIRED_WINDOW,
                limit: lifetime::BANNER_NAMES,
            };
            web::block(move || store.token_trouble(&query)).await??
        };
        Ok(html(
            StatusCode::OK,
            views::list_page(
                &who,
                &list_state,
                &rows,
                page.total,
                list_notice(first(&pairs, "notice")),
                &trouble,
            ),
        ))
    }
    .await
    .into()
}

/// `GET …/new`: the Add wizard.
pub async fn wizard(req: HttpRequest, state: web::Data<AppState>) -> Page {
    async {
        let signed = signed_in(&req, &state).await?;
        signed.authorize(Operation::CreateToken)?;
        let form = TokenForm {
            expiry: ExpiryForm {
                choice: ExpiryChoice::default_for(&signed.account.token_policy),
                ..ExpiryForm::default()
            },
            ..TokenForm::default()
        };
        Ok(html(
            StatusCode::OK,
            views::wizard_page(&who(&signed), &choosable(&signed), &form, &Errors::new()),
        ))
    }
    .await
    .into()
}

/// `POST …/new`: creates the token (and its icon), then shows its value once.
pub async fn create(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> Page {
    async {
        let signed = signed_in(&req, &state).await?;
        let input = read_form(&req, payload).await?;
        signed.check_csrf(&state, first(&input.fields, "csrf"))?;
        let (expiry, self_rotate) = lifetime_of(&input.fields, None);
        let form = TokenForm {
            name: first(&input.fields, "name").unwrap_or_default().to_owned(),
            description: first(&input.fields, "description")
                .unwrap_or_default()
                .to_owned(),
            modules: all(&input.fields, "modules").into_iter().collect(),
            revision: None,
            has_icon: false,
            expiry,
            self_rotate,
        };
        let mut errors = Errors::new();
        let logo = checked_logo(&input, &mut errors);
        let expires_at = expiry_of(&form, OffsetDateTime::now_utc(), &mut errors).flatten();
        let redisplay = |errors: &Errors| {
            html(
                StatusCode::BAD_REQUEST,
                views::wizard_page(&who(&signed), &choosable(&signed), &form, errors),
            )
        };
        if !errors.is_empty() {
            if let Err(error) = TokenName::parse(&form.name) {
                errors.insert("name".into(), vec![format!("Name {}.", error.message)]);
            }
            return Ok(redisplay(&errors));
        }
        let body = CreateTokenBody {
            name: Some(form.name.clone()),
            description: Some(form.description.clone()),
            modules: Some(module_refs(&form.modules)),
            expires_at,
            self_rotate: Some(form.self_rotate),
            ..CreateTokenBody::default()
        };
        let (stored, value) = match tokens::create_token(&state, &signed.caller, body).await {
            Ok(created) => created,
            Err(ApiError::Validation(invalid)) => {
                return Ok(redisplay(&place_expiry_errors(
                    &form,
                    form_errors(&invalid),
                )));
            }
            Err(other) => return Err(other.into()),
        };
        let mut note = None;
        let mut stored = stored;
        if let Some((kind, bytes)) = logo {
            match icons::set_icon(&state, &signed.caller, stored.token.id(), kind, bytes).await {
                Ok(with_icon) => stored = with_icon,
                Err(error) => {
                    log::warn!("icon of {} not saved: {error}", stored.token.id());
                    note = Some(
                        "The token was added, but its logo could not be saved; upload it again \
                         with Edit.",
                    );
                }
            }
        }
        let dto = TokenDto::of(&stored, &signed.caller.catalog, Shape::default(), None);
        Ok(html(
            StatusCode::CREATED,
            views::created_page(&who(&signed), &dto, value.expose_secret(), note),
        ))
    }
    .await
    .into()
}

/// Loads a token of the signed-in account (others, and deleted ones, are not found).
pub(super) async fn own_token(
    state: &AppState,
    signed: &SignedIn,
    path: &str,
) -> Result<StoredToken, WebError> {
    let id = token_id(path)?;
    let stored = load_visible(state, &signed.caller, id).await?;
    if stored.account.id != signed.account.id
        || stored.token.status() == tollgate_domain::TokenStatus::Deleted
    {
        return Err(ApiError::NotFound("API token not found".into()).into());
    }
    Ok(stored)
}

fn current_expiry(stored: &StoredToken) -> Option<String> {
    stored.token.expires_at().map(format_timestamp)
}

fn form_of(stored: &StoredToken) -> TokenForm {
    let parts = stored.token.parts();
    TokenForm {
        name: parts.name.as_str().to_owned(),
        description: parts.description.as_str().to_owned(),
        modules: parts.modules.iter().map(|id| id.to_string()).collect(),
        revision: Some(parts.revision),
        has_icon: parts.has_icon,
        expiry: ExpiryForm::posted(None, None, current_expiry(stored)),
        self_rotate: parts.self_rotate,
    }
}

fn details_notice(key: Option<&str>, name: &str) -> Option<String> {
    match key {
        Some("updated") => Some(format!("Changes to “{name}” were saved.")),
        Some("enabled") => Some(format!("“{name}” was enabled.")),
        Some("disabled") => Some(format!("“{name}” was disabled.")),
        _ => None,
    }
}

/// `GET …/{id}`: header, actions, summary and the four tabs.
pub async fn details(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Page {
    async {
        let signed = signed_in(&req, &state).await?;
        let stored = own_token(&state, &signed, &path).await?;
        let pairs = query_pairs(req.query_string());
        let tab = Tab::parse(first(&pairs, "tab"));
        let id = stored.token.id();
        let records = if tab == Tab::Audit {
            let query = ListQuery {
                filter: Some(Filter::Compare {
                    field: AuditField::ObjectId,
                    op: Comparison::Eq,
                    value: Value::Text(id.to_string()),
                }),
                order: Vec::new(),
                page: PageSpec::new(0, 100),
            };
            let store = state.store.clone();
            let visibility = Visibility::Account(signed.account.id);
            web::block(move || store.list_audit_records(visibility, &query))
                .await??
                .items
                .into_iter()
                .map(|stored| stored.record)
                .collect()
        } else {
            Vec::new()
        };
        let catalog = signed.caller.catalog.clone();
        let dto = TokenDto::of(
            &stored,
            &catalog,
            Shape {
                audit: true,
                without_modules: false,
            },
            None,
        );
        let modules = stored
            .token
            .modules()
            .iter()
            .filter_map(|id| catalog.get(id).cloned())
            .collect();
        let who = who(&signed);
        let edit = views::edit_form(
            &who,
            &dto.id,
            &choosable(&signed),
            &form_of(&stored),
            &Errors::new(),
            true,
        );
        let rotate = super::rotate::rotate_form(&who, &dto, &Errors::new(), true);
        let view = DetailsView {
            token: &dto,
            tab,
            modules,
            records: &records,
            endpoint: format!("https://{}/public/v1", req.connection_info().host()),
            revealable: state.settings.reveal == RevealPolicy::Audited,
            notice: details_notice(first(&pairs, "notice"), &dto.name),
            edit,
            rotate,
        };
        Ok(html(StatusCode::OK, views::details_page(&who, &view)))
    }
    .await
    .into()
}

/// `GET …/{id}/edit`: the edit form as a page.
pub async fn edit_page(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Page {
    async {
        let signed = signed_in(&req, &state).await?;
        let stored = own_token(&state, &signed, &path).await?;
        let dto = TokenDto::of(&stored, &signed.caller.catalog, Shape::default(), None);
        let who = who(&signed);
        let form = views::edit_form(
            &who,
            &dto.id,
            &choosable(&signed),
            &form_of(&stored),
            &Errors::new(),
            false,
        );
        Ok(html(StatusCode::OK, views::edit_page(&who, &dto, form)))
    }
    .await
    .into()
}

/// `POST …/{id}/edit`: name, description and modules (from the dialog or the page).
pub async fn edit(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Page {
    async {
        let signed = signed_in(&req, &state).await?;
        let input = read_form(&req, payload).await?;
        let pairs = &input.fields;
        signed.check_csrf(&state, first(pairs, "csrf"))?;
        let stored = own_token(&state, &signed, &path).await?;
        let id = stored.token.id();
        let (expiry, self_rotate) = lifetime_of(pairs, current_expiry(&stored));
        let form = TokenForm {
            name: first(pairs, "name").unwrap_or_default().to_owned(),
            description: first(pairs, "description").unwrap_or_default().to_owned(),
            modules: all(pairs, "modules").into_iter().collect(),
            revision: first(pairs, "revision").and_then(|r| r.parse().ok()),
            has_icon: stored.token.parts().has_icon,
            expiry,
            self_rotate,
        };
        let mut local_errors = Errors::new();
        let logo = checked_logo(&input, &mut local_errors);
        let expires_at = expiry_of(&form, OffsetDateTime::now_utc(), &mut local_errors);
        let remove_logo = first(pairs, "remove_logo").is_some();
        let update = UpdateTokenBody {
            name: Some(form.name.clone()),
            description: Some(form.description.clone()),
            modules: Some(module_refs(&form.modules)),
            expires_at,
            self_rotate: Some(form.self_rotate),
            revision: form.revision,
            ..UpdateTokenBody::default()
        };
        let outcome = if local_errors.is_empty() {
            tokens::update_token(&state, &signed.caller, id, update).await
        } else {
            Err(ApiError::Validation(Default::default()))
        };
        let mut errors = match outcome {
            Ok(_) => {
                // The logo is its own change (and audit record), as with the REST API.
                if let Some((kind, bytes)) = logo {
                    icons::set_icon(&state, &signed.caller, id, kind, bytes).await?;
                } else if remove_logo && stored.token.parts().has_icon {
                    icons::clear_icon(&state, &signed.caller, id).await?;
                }
                return Ok(see_other(&format!("{TOKENS_PATH}/{id}?notice=updated")));
            }
            Err(ApiError::Validation(invalid)) => place_expiry_errors(&form, form_errors(&invalid)),
            Err(ApiError::Conflict(_)) => Errors::from([(
                "form".to_owned(),
                vec![
                    "Someone changed this API token meanwhile. Reload it and make your changes \
                     again."
                        .to_owned(),
                ],
            )]),
            Err(other) => return Err(other.into()),
        };
        errors.extend(local_errors);
        let dto = TokenDto::of(&stored, &signed.caller.catalog, Shape::default(), None);
        let who = who(&signed);
        let markup = views::edit_form(&who, &dto.id, &choosable(&signed), &form, &errors, false);
        Ok(html(
            StatusCode::BAD_REQUEST,
            views::edit_page(&who, &dto, markup),
        ))
    }
    .await
    .into()
}

/// `GET …/{id}/icon`: the token's icon, for the pages.
pub async fn icon(req: HttpRequest, path: web::Path<String>, state: web::Data<AppState>) -> Page {
    async {
        let signed = signed_in(&req, &state).await?;
        let stored = own_token(&state, &signed, &path).await?;
        let id = stored.token.id();
        let store = state.store.clone();
        let icon = web::block(move || store.icon(id))
            .await??
            .ok_or_else(|| ApiError::NotFound("this API token has no icon".into()))?;
        let content_type = HeaderValue::from_str(&icon.content_type)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, content_type))
            .insert_header((header::CACHE_CONTROL, "private, no-cache"))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .body(icon.data))
    }
    .await
    .into()
}

/// `POST …/{id}/reveal` (from the page's script, CSRF token in `X-CSRF-Token`): the value as
/// JSON, with its audit record.
pub async fn reveal(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let result = async {
        let signed = signed_in(&req, &state).await?;
        let csrf = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|value| value.to_str().ok());
        signed.check_csrf(&state, csrf)?;
        let stored = own_token(&state, &signed, &path).await?;
        let value = tokens::reveal(&state, &signed.caller, stored.token.id()).await?;
        Ok::<_, WebError>(json(
            StatusCode::OK,
            &serde_json::json!({ "token": value }),
        )?)
    }
    .await;
    result.unwrap_or_else(|error| {
        let (status, message) = match &error {
            WebError::NotSignedIn => (StatusCode::UNAUTHORIZED, "Sign in again.".to_owned()),
            WebError::Refused(message) => (StatusCode::FORBIDDEN, message.clone()),
            WebError::Csrf => (
                StatusCode::FORBIDDEN,
                "Reload the page and try again.".to_owned(),
            ),
            WebError::Api(error) if crate::middleware::is_server_error(error) => {
                log::error!("reveal failed: {error:?}");
                (
                    error.status_code(),
                    "The value could not be shown.".to_owned(),
                )
            }
            WebError::Api(error) => (error.status_code(), error.to_string()),
        };
        json(status, &serde_json::json!({ "error": message }))
            .unwrap_or_else(|_| HttpResponse::InternalServerError().finish())
    })
}

fn action_label(action: &str) -> Option<(&'static str, Lifecycle)> {
    match action {
        "enable" => Some(("Enable", Lifecycle::Enable)),
        "disable" => Some(("Disable", Lifecycle::Disable)),
        "delete" => Some(("Delete", Lifecycle::Delete)),
        _ => None,
    }
}

/// `GET …/{id}/{enable|disable|delete}`: the confirmation as a page.
pub async fn confirm_page(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Page {
    async {
        let (id, action) = path.into_inner();
        let (label, _) =
            action_label(&action).ok_or_else(|| ApiError::NotFound("no such page".into()))?;
        let signed = signed_in(&req, &state).await?;
        let stored = own_token(&state, &signed, &id).await?;
        let dto = TokenDto::of(&stored, &signed.caller.catalog, Shape::default(), None);
        Ok(html(
            StatusCode::OK,
            views::confirm_page(&who(&signed), &dto, &action, label),
        ))
    }
    .await
    .into()
}

/// `POST …/{id}/{enable|disable|delete}` (CSRF-checked): the change, then a success message.
pub async fn act(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Page {
    async {
        let (id, action) = path.into_inner();
        let (_, lifecycle) =
            action_label(&action).ok_or_else(|| ApiError::NotFound("no such page".into()))?;
        let signed = signed_in(&req, &state).await?;
        let pairs = read_pairs(&req, payload).await?;
        signed.check_csrf(&state, first(&pairs, "csrf"))?;
        let stored = own_token(&state, &signed, &id).await?;
        let id: TokenId = stored.token.id();
        tokens::run_lifecycle(&state, &signed.caller, lifecycle, id).await?;
        Ok(match lifecycle {
            Lifecycle::Delete => see_other(&format!("{TOKENS_PATH}?notice=deleted")),
            Lifecycle::Enable => see_other(&format!("{TOKENS_PATH}/{id}?notice=enabled")),
            Lifecycle::Disable => see_other(&format!("{TOKENS_PATH}/{id}?notice=disabled")),
        })
    }
    .await
    .into()
}

/// `GET /administration/settings/audit-trail`: the account's records, newest first.
pub async fn audit_trail(req: HttpRequest, state: web::Data<AppState>) -> Page {
    async {
        let signed = signed_in(&req, &state).await?;
        signed.authorize(Operation::ReadAudit)?;
        let pairs = query_pairs(req.query_string());
        let size = page_size(first(&pairs, "size"), 25);
        let page = page_number(first(&pairs, "page"));
        let query = ListQuery::<AuditField> {
            filter: None,
            order: Vec::new(),
            page: PageSpec::new((page - 1) * u64::from(size), u64::from(size)),
        };
        let store = state.store.clone();
        let visibility = Visibility::Account(signed.account.id);
        let listed = web::block(move || store.list_audit_records(visibility, &query)).await??;
        let records: Vec<_> = listed.items.into_iter().map(|s| s.record).collect();
        Ok(html(
            StatusCode::OK,
            views::audit_page(&who(&signed), &records, listed.total, page, size),
        ))
    }
    .await
    .into()
}
