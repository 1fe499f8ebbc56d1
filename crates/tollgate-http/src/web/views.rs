//! The page templates. maud escapes every interpolation, so nothing a user types can add markup;
//! no template carries inline script or style (the CSP forbids both).

use std::collections::{BTreeMap, BTreeSet};

use maud::{DOCTYPE, Markup, html};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tollgate_audit::AuditRecord;
use tollgate_domain::lifetime::TokenPolicy;
use tollgate_domain::{Account, Module, User};

use super::lifetime::{self, ExpiryForm};
use super::{AUDIT_PATH, TOKENS_PATH};
use crate::dto::TokenDto;

/// Field errors by form field (`name`, `description`, `modules`, `logo`, `form`).
pub type Errors = BTreeMap<String, Vec<String>>;

/// The signed-in person, for the page header. `Debug` leaves out the CSRF token.
#[derive(Clone)]
pub struct Who {
    /// Display name.
    pub name: String,
    /// `USR-…`.
    pub id: String,
    /// Account name.
    pub account: String,
    /// The session's CSRF token.
    pub csrf: String,
    /// The account's token lifetime policy (for the Expiration fields).
    pub token_policy: TokenPolicy,
    /// When the page is made (expiry warnings, the Expiration choices' dates).
    pub now: OffsetDateTime,
}

impl std::fmt::Debug for Who {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Who")
            .field("name", &self.name)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Which section the page belongs to (for the navigation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// API tokens.
    Tokens,
    /// Audit trail.
    Audit,
}

/// The `<head>` of every page; signed-in pages carry their CSRF token for the script.
fn head(title: &str, csrf: Option<&str>) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            @if let Some(csrf) = csrf { meta name="csrf-token" content=(csrf); }
            title { (title) " · Tollgate" }
            link rel="stylesheet" href="/assets/tollgate.css";
            script src="/assets/tollgate.js" defer {}
        }
    }
}

/// The frame of every signed-in page.
pub fn layout(title: &str, who: &Who, section: Section, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, Some(&who.csrf)))
            body {
                a.skip href="#main" { "Skip to content" }
                header.topbar {
                    a.brand href=(TOKENS_PATH) { "Tollgate" }
                    nav aria-label="Settings" {
                        a href=(TOKENS_PATH) aria-current=[(section == Section::Tokens).then_some("page")] { "API tokens" }
                        a href=(AUDIT_PATH) aria-current=[(section == Section::Audit).then_some("page")] { "Audit trail" }
                    }
                    div.who {
                        span title=(who.id) { (who.name) }
                        span.muted { (who.account) }
                        form method="post" action="/sign-out" {
                            input type="hidden" name="csrf" value=(who.csrf);
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                main #main tabindex="-1" { (body) }
                dialog #confirm-dialog aria-labelledby="confirm-title" aria-describedby="confirm-message" {
                    form method="post" {
                        input type="hidden" name="csrf" value=(who.csrf);
                        h2 #confirm-title { "Please confirm" }
                        p #confirm-message {}
                        div.actions {
                            button.button type="button" data-close { "Cancel" }
                            button.button.primary #confirm-submit type="submit" { "Confirm" }
                        }
                    }
                }
                div #toast role="status" aria-live="polite" {}
            }
        }
    }
}

/// A page for people who are not (or may not be) signed in: messages, refusals, sign-in.
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, None))
            body {
                header.topbar { span.brand { "Tollgate" } }
                main #main.narrow { (body) }
            }
        }
    }
}

/// A message page (errors, refusals, signed out).
pub fn message_page(title: &str, message: &str, signed_out: bool) -> Markup {
    bare(
        title,
        html! {
            div.card {
                h1 { (title) }
                p { (message) }
                @if !signed_out {
                    p { a.button href=(TOKENS_PATH) { "Back to API tokens" } }
                }
            }
        },
    )
}

/// The sign-in confirmation.
pub fn sign_in_page(ticket: &str, user: &User, account: &Account) -> Markup {
    bare(
        "Sign in",
        html! {
            div.card {
                h1 { "Sign in to Tollgate" }
                p { "You are signing in as " strong { (user.name) } " (" (user.id) "), administrator of "
                    strong { (account.name) } " (" (account.id) ")." }
                form method="post" action="/sign-in" {
                    input type="hidden" name="ticket" value=(ticket);
                    button.button.primary type="submit" { "Continue" }
                }
            }
        },
    )
}

/// A readable date with the exact time on hover.
pub fn when(iso: &str) -> Markup {
    match OffsetDateTime::parse(iso, &Rfc3339) {
        Ok(at) => {
            let readable = format!(
                "{} {} {}, {:02}:{:02}",
                at.day(),
                month(at.month()),
                at.year(),
                at.hour(),
                at.minute()
            );
            let exact = format!(
                "{} {:02}:{:02}:{:02}.{:03} UTC",
                at.date(),
                at.hour(),
                at.minute(),
                at.second(),
                at.millisecond()
            );
            html! { time datetime=(iso) title=(exact) { (readable) } }
        }
        Err(_) => html! { (iso) },
    }
}

fn month(month: time::Month) -> &'static str {
    use time::Month::*;
    match month {
        January => "Jan",
        February => "Feb",
        March => "Mar",
        April => "Apr",
        May => "May",
        June => "Jun",
        July => "Jul",
        August => "Aug",
        September => "Sep",
        October => "Oct",
        November => "Nov",
        December => "Dec",
    }
}

fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|word| word.chars().find(|c| c.is_alphanumeric()))
        .take(2)
        .flat_map(char::to_uppercase)
        .collect()
}

/// The token's icon, or its initials.
pub fn avatar(token: &TokenDto, large: bool) -> Markup {
    let class = if large { "avatar large" } else { "avatar" };
    html! {
        @if token.icon.is_some() {
            img class=(class) src=(format!("{TOKENS_PATH}/{}/icon", token.id)) alt="" width="40" height="40";
        } @else {
            span class=(class) aria-hidden="true" { (initials(&token.name)) }
        }
    }
}

/// A status badge.
pub fn badge(status: &str) -> Markup {
    let class = format!("badge {}", status.to_ascii_lowercase());
    html! { span class=(class) { (status) } }
}

fn modules_cell(token: &TokenDto) -> String {
    match token.modules.as_deref() {
        Some([one]) => one.name.clone(),
        Some(many) => format!("{} modules", many.len()),
        None => String::new(),
    }
}

pub(super) fn field_errors(errors: &Errors, field: &str) -> Markup {
    html! {
        @if let Some(messages) = errors.get(field) {
            @for message in messages {
                p.error id=(format!("{field}-error")) { (message) }
            }
        }
    }
}

pub(super) fn described_by(errors: &Errors, field: &str, help: Option<&str>) -> Option<String> {
    let mut ids: Vec<String> = help.map(str::to_owned).into_iter().collect();
    if errors.contains_key(field) {
        ids.push(format!("{field}-error"));
    }
    (!ids.is_empty()).then(|| ids.join(" "))
}

/// A success (or other) message at the top of a page.
pub fn notice(message: Option<&str>) -> Markup {
    html! {
        @if let Some(message) = message {
            div.notice.success role="status" { (message) }
        }
    }
}

/// The list's state, echoed in its links.
#[derive(Debug, Clone, Default)]
pub struct ListState {
    /// `Active`, `Disabled` or empty.
    pub status: String,
    /// Name filter.
    pub name: String,
    /// Sort key (`name`, `-created`, …).
    pub order: String,
    /// Page size.
    pub size: u32,
    /// 1-based page.
    pub page: u64,
}

impl ListState {
    /// The query string for this state with some parts changed.
    pub fn href(&self, order: Option<&str>, page: Option<u64>) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        if !self.status.is_empty() {
            query.append_pair("status", &self.status);
        }
        if !self.name.is_empty() {
            query.append_pair("name", &self.name);
        }
        query.append_pair("order", order.unwrap_or(&self.order));
        query.append_pair("size", &self.size.to_string());
        query.append_pair("page", &page.unwrap_or(self.page).to_string());
        format!("{TOKENS_PATH}?{}", query.finish())
    }
}

fn sort_header(state: &ListState, label: &str, key: &str) -> Markup {
    let (current, next, sort) = if state.order == key {
        (true, format!("-{key}"), "ascending")
    } else if state.order == format!("-{key}") {
        (true, key.to_owned(), "descending")
    } else {
        (false, key.to_owned(), "none")
    };
    html! {
        th scope="col" aria-sort=(sort) {
            a href=(state.href(Some(&next), Some(1))) {
                (label)
                @if current { span.sort aria-hidden="true" { @if sort == "ascending" { " ▲" } @else { " ▼" } } }
            }
        }
    }
}

/// Enable/Disable, Edit, (on the details page) Rotate, Delete for one token.
pub fn actions(token: &TokenDto, with_rotate: bool) -> Markup {
    let base = format!("{TOKENS_PATH}/{}", token.id);
    let name = &token.name;
    html! {
        div.row-actions {
            // An expired token may still be disabled (SPEC §9).
            @if token.status == "Active" || token.status == "Expired" {
                a.button.small href=(format!("{base}/disable"))
                    data-confirm=(format!("Disable API token “{name}” ({})? Requests with it will be refused until it is enabled again.", token.id))
                    data-confirm-label="Disable"
                    aria-label=(format!("Disable {name}")) { "Disable" }
            } @else if token.status == "Disabled" {
                a.button.small href=(format!("{base}/enable"))
                    data-confirm=(format!("Enable API token “{name}” ({})? Requests with it will be accepted again.", token.id))
                    data-confirm-label="Enable"
                    aria-label=(format!("Enable {name}")) { "Enable" }
            }
            a.button.small href=(format!("{base}/edit")) data-dialog="edit-dialog"
                aria-label=(format!("Edit {name}")) { "Edit" }
            @if with_rotate {
                a.button.small href=(format!("{base}/rotate")) data-dialog="rotate-dialog"
                    aria-label=(format!("Rotate {name}")) { "Rotate" }
            }
            a.button.small.danger href=(format!("{base}/delete"))
                data-confirm=(format!("Delete API token “{name}” ({})? It stops working at once and cannot be restored.", token.id))
                data-confirm-label="Delete" data-danger
                aria-label=(format!("Delete {name}")) { "Delete" }
        }
    }
}

/// The API tokens list.
pub fn list_page(
    who: &Who,
    state: &ListState,
    tokens: &[TokenDto],
    total: u64,
    notice_text: Option<&str>,
    trouble: &tollgate_store::Trouble,
) -> Markup {
    let filtered = !state.status.is_empty() || !state.name.is_empty();
    let first = (state.page - 1) * u64::from(state.size) + 1;
    let last = first + tokens.len() as u64 - 1;
    let body = html! {
        div.page-head {
            h1 { "API tokens" }
            a.button.primary href=(format!("{TOKENS_PATH}/new")) { "Add" }
        }
        (notice(notice_text))
        (lifetime::trouble_banner(trouble, who.now))
        form.filters method="get" action=(TOKENS_PATH) role="search" aria-label="Filter API tokens" {
            div.field {
                label for="filter-name" { "Name" }
                input #filter-name type="search" name="name" value=(state.name) placeholder="Search by name";
            }
            div.field {
                label for="filter-status" { "Status" }
                select #filter-status name="status" {
                    option value="" selected[state.status.is_empty()] { "All" }
                    option value="Active" selected[state.status == "Active"] { "Active" }
                    option value="Disabled" selected[state.status == "Disabled"] { "Disabled" }
                    option value="Expired" selected[state.status == "Expired"] { "Expired" }
                }
            }
            div.field {
                label for="filter-size" { "Rows per page" }
                select #filter-size name="size" {
                    @for size in [10u32, 25, 50] {
                        option value=(size) selected[state.size == size] { (size) }
                    }
                }
            }
            input type="hidden" name="order" value=(state.order);
            button.button type="submit" { "Apply" }
            @if filtered { a.button.link href=(TOKENS_PATH) { "Clear filters" } }
        }
        @if tokens.is_empty() {
            div.empty {
                @if filtered {
                    h2 { "No API tokens match these filters" }
                    p { a href=(TOKENS_PATH) { "Clear the filters" } " to see every API token." }
                } @else {
                    h2 { "No API tokens yet" }
                    p { "API tokens let programs call the platform's REST API on behalf of your account." }
                    a.button.primary href=(format!("{TOKENS_PATH}/new")) { "Add API token" }
                }
            }
        } @else {
            div.table-wrap {
                table.tokens {
                    caption.visually-hidden { "API tokens, " (total) " in all" }
                    thead { tr {
                        (sort_header(state, "API token", "name"))
                        th scope="col" { "Modules" }
                        th scope="col" { "Created by" }
                        (sort_header(state, "Date created", "created"))
                        (sort_header(state, "Last access", "lastAccess"))
                        (sort_header(state, "Expires", "expires"))
                        (sort_header(state, "Status", "status"))
                        th scope="col" { "Actions" }
                    } }
                    tbody {
                        @for token in tokens {
                            tr {
                                td data-label="API token" { div.token-cell {
                                    (avatar(token, false))
                                    div {
                                        a.name href=(format!("{TOKENS_PATH}/{}", token.id)) { (token.name) }
                                        div.muted.mono { (token.id) }
                                    }
                                } }
                                td data-label="Modules" { (modules_cell(token)) }
                                td data-label="Created by" {
                                    @if let Some(audit) = &token.audit {
                                        div { div { (audit.created.by.name) } div.muted.mono { (audit.created.by.id) } }
                                    }
                                }
                                td data-label="Date created" { @if let Some(audit) = &token.audit { (when(&audit.created.at)) } }
                                td data-label="Last access" {
                                    @if let Some(at) = &token.last_access_at { (when(at)) } @else { "—" }
                                }
                                td data-label="Expires" { (lifetime::expiry_text(token.expires_at.as_deref(), who.now)) }
                                td data-label="Status" { (badge(token.status)) }
                                td data-label="Actions" { (actions(token, false)) }
                            }
                        }
                    }
                }
            }
            nav.pager aria-label="Pagination" {
                span { (first) "–" (last) " of " (total) }
                @if state.page > 1 {
                    a.button.small href=(state.href(None, Some(state.page - 1))) rel="prev" { "Previous" }
                }
                @if last < total {
                    a.button.small href=(state.href(None, Some(state.page + 1))) rel="next" { "Next" }
                }
            }
        }
    };
    layout("API tokens", who, Section::Tokens, body)
}

/// What a token form holds (Add wizard and Edit).
#[derive(Debug, Clone, Default)]
pub struct TokenForm {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Chosen module ids.
    pub modules: BTreeSet<String>,
    /// The revision being edited (Edit only).
    pub revision: Option<u32>,
    /// Whether the token has an icon now (Edit only).
    pub has_icon: bool,
    /// The Expiration choice.
    pub expiry: ExpiryForm,
    /// May the token rotate itself.
    pub self_rotate: bool,
}

/// Expiration and self-rotation (after name and description, in the wizard and in Edit).
fn lifetime_fields(prefix: &str, who: &Who, form: &TokenForm, errors: &Errors) -> Markup {
    html! {
        (lifetime::expiry_fields(prefix, &form.expiry, &who.token_policy, errors, who.now))
        (lifetime::self_rotate_field(prefix, form.self_rotate))
    }
}

fn module_checklist(
    prefix: &str,
    available: &[Module],
    form: &TokenForm,
    errors: &Errors,
) -> Markup {
    let list_id = format!("{prefix}module-list");
    html! {
        fieldset.modules aria-describedby=[described_by(errors, "modules", None)] {
            legend { "Modules" }
            div.field {
                label for=(format!("{prefix}module-search")) { "Search modules" }
                input id=(format!("{prefix}module-search")) type="search" data-filter-list=(list_id) placeholder="Type to filter";
            }
            ul.checklist id=(list_id) {
                @for module in available {
                    @let id = format!("{prefix}module-{}", module.id);
                    li {
                        input type="checkbox" id=(id) name="modules" value=(module.id.to_string())
                            checked[form.modules.contains(&module.id.to_string())]
                            data-module-name=(module.name);
                        label for=(id) {
                            strong { (module.name) }
                            span.muted { (module.description) }
                        }
                    }
                }
            }
            p.muted.no-match hidden { "No module matches your search." }
            @if available.is_empty() {
                p.notice.failure { "No modules are enabled for this account, so no API token can be given a scope. An operator enables them with tollgate accounts set-modules." }
            }
            (field_errors(errors, "modules"))
        }
    }
}

fn general_fields(prefix: &str, form: &TokenForm, errors: &Errors) -> Markup {
    let name_id = format!("{prefix}name");
    let description_id = format!("{prefix}description");
    html! {
        div.field {
            label for=(name_id) { "Name" }
            input id=(name_id) name="name" required maxlength="200" value=(form.name)
                aria-invalid=[errors.contains_key("name").then_some("true")]
                aria-describedby=[described_by(errors, "name", None)];
            (field_errors(errors, "name"))
        }
        div.field {
            label for=(description_id) { "Description" }
            textarea id=(description_id) name="description" maxlength="2000" rows="3"
                aria-invalid=[errors.contains_key("description").then_some("true")]
                aria-describedby=[described_by(errors, "description", None)] { (form.description) }
            (field_errors(errors, "description"))
        }
    }
}

/// The Add wizard: General → Modules → Overview → Add.
pub fn wizard_page(who: &Who, available: &[Module], form: &TokenForm, errors: &Errors) -> Markup {
    let body = html! {
        div.page-head { h1 { "Add API token" } }
        ol.steps aria-label="Steps" {
            li data-step-label="1" { "General" }
            li data-step-label="2" { "Modules" }
            li data-step-label="3" { "Overview" }
        }
        @if let Some(messages) = errors.get("form") {
            div.notice.failure role="alert" { @for message in messages { p { (message) } } }
        }
        form.wizard method="post" action=(format!("{TOKENS_PATH}/new")) enctype="multipart/form-data" data-wizard {
            input type="hidden" name="csrf" value=(who.csrf);
            fieldset.step data-step="1" {
                legend { "General" }
                div.field {
                    label for="logo" { "Logo" }
                    input #logo type="file" name="logo" accept=".jpg,.jpeg,.png,image/png,image/jpeg"
                        aria-describedby=(described_by(errors, "logo", Some("logo-help")).unwrap_or_default());
                    p #logo-help.muted { "Optional. A .jpg or .png image of at most 5 MB." }
                    (field_errors(errors, "logo"))
                }
                (general_fields("", form, errors))
                (lifetime_fields("", who, form, errors))
                div.wizard-nav.js-only {
                    a.button href=(TOKENS_PATH) { "Cancel" }
                    button.button.primary type="button" data-next { "Next" }
                }
            }
            div.step data-step="2" {
                (module_checklist("", available, form, errors))
                div.wizard-nav.js-only {
                    button.button type="button" data-back { "Back" }
                    button.button.primary type="button" data-next { "Next" }
                }
            }
            fieldset.step data-step="3" {
                legend { "Overview" }
                dl.overview.js-only {
                    dt { "Name" } dd data-summary="name" {}
                    dt { "Description" } dd data-summary="description" {}
                    dt { "Modules" } dd data-summary="modules" {}
                    dt { "Expiration" } dd data-summary="expiry" {}
                    dt { "Self-rotation" } dd data-summary="self-rotate" {}
                    dt { "Logo" } dd data-summary="logo" {}
                }
                div.wizard-nav {
                    button.button.js-only type="button" data-back { "Back" }
                    button.button.primary type="submit" { "Add" }
                }
            }
        }
    };
    layout("Add API token", who, Section::Tokens, body)
}

pub(super) fn secret_field(
    id: &str,
    label: &str,
    value: Option<&str>,
    reveal_url: Option<&str>,
) -> Markup {
    html! {
        div.field {
            label for=(id) { (label) }
            div.secret {
                input id=(id) type="password" readonly value=(value.unwrap_or("••••••••••••••••"))
                    data-reveal-url=[reveal_url] autocomplete="off" spellcheck="false";
                button.button.small type="button" data-toggle-secret=(id) aria-controls=(id) aria-pressed="false" { "Show" }
                button.button.small type="button" data-copy-secret=(id) { "Copy" }
            }
        }
    }
}

/// After Add: the value (masked, show/hide, copy), View details / Close.
pub fn created_page(who: &Who, token: &TokenDto, value: &str, icon_note: Option<&str>) -> Markup {
    let body = html! {
        div.card {
            h1 { "API token added" }
            div.notice.success role="status" {
                "“" (token.name) "” (" (token.id) ") was added. Copy its value now and keep it somewhere safe."
            }
            p {
                @if let Some(at) = &token.expires_at { "It expires " (when(at)) " UTC." } @else { "It does not expire." }
            }
            @if let Some(note) = icon_note { div.notice.failure role="alert" { (note) } }
            (secret_field("token-value", "API token", Some(value), None))
            div.actions {
                a.button.primary href=(format!("{TOKENS_PATH}/{}", token.id)) { "View details" }
                a.button href=(TOKENS_PATH) { "Close" }
            }
        }
    };
    layout("API token added", who, Section::Tokens, body)
}

/// The tabs of the details page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// Description, endpoint, value.
    General,
    /// Scope.
    Modules,
    /// Who did what when.
    Details,
    /// The token's audit records.
    Audit,
}

impl Tab {
    /// From `?tab=`.
    pub fn parse(text: Option<&str>) -> Self {
        match text {
            Some("modules") => Self::Modules,
            Some("details") => Self::Details,
            Some("audit") => Self::Audit,
            _ => Self::General,
        }
    }

    fn key(self) -> &'static str {
        match self {
            Self::General => "general",
            Self::Modules => "modules",
            Self::Details => "details",
            Self::Audit => "audit",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::General => "General",
            Self::Modules => "Modules",
            Self::Details => "Details",
            Self::Audit => "Audit trail",
        }
    }
}

/// Everything the details page shows.
#[derive(Debug)]
pub struct DetailsView<'a> {
    /// The token (with its `audit` object).
    pub token: &'a TokenDto,
    /// The open tab.
    pub tab: Tab,
    /// The token's modules, from the catalog.
    pub modules: Vec<Module>,
    /// Audit records (Audit trail tab).
    pub records: &'a [AuditRecord],
    /// The REST API's base URL.
    pub endpoint: String,
    /// Whether the value can be shown again.
    pub revealable: bool,
    /// A success message.
    pub notice: Option<String>,
    /// The edit form, for the dialog.
    pub edit: Markup,
    /// The rotate form, for the dialog.
    pub rotate: Markup,
}

/// An audit trail table with a details dialog per record.
pub fn audit_table(records: &[AuditRecord], with_object: bool) -> Markup {
    html! {
        @if records.is_empty() {
            div.empty { h2 { "No audit records yet" } }
        } @else {
            div.table-wrap {
                table.audit {
                    thead { tr {
                        th scope="col" { "Date" }
                        th scope="col" { "Actor" }
                        @if with_object { th scope="col" { "API token" } }
                        th scope="col" { "Summary" }
                        th scope="col" { "Request" }
                        th scope="col" { span.visually-hidden { "Details" } }
                    } }
                    tbody {
                        @for record in records {
                            @let dialog = format!("record-{}", record.id);
                            tr {
                                td data-label="Date" { (when(&record.timestamp)) }
                                td data-label="Actor" {
                                    div { div { (record.actor.name) } div.muted.mono { (record.actor.id) } }
                                }
                                @if with_object {
                                    td data-label="API token" { div {
                                        a href=(format!("{TOKENS_PATH}/{}", record.object.id)) { (record.object.name) }
                                        div.muted.mono { (record.object.id) }
                                    } }
                                }
                                td data-label="Summary" { (record.summary) }
                                td data-label="Request" { div {
                                    div.mono { (record.request.api_ip().unwrap_or("—")) }
                                    @if let Some(agent) = record.request.user_agent() {
                                        div.muted.truncate title=(agent) { (agent) }
                                    }
                                } }
                                td {
                                    button.button.small type="button" data-dialog=(dialog)
                                        aria-label=(format!("Details of record {}", record.id)) { "Details" }
                                    dialog.record id=(dialog) aria-labelledby=(format!("{dialog}-title")) {
                                        h2 id=(format!("{dialog}-title")) { "Audit record " span.mono { (record.id) } }
                                        dl.overview {
                                            dt { "Event" } dd.mono { (record.event) }
                                            dt { "Date" } dd { (when(&record.timestamp)) }
                                            dt { "Actor" } dd { (record.actor.name) " (" (record.actor.id) ")" }
                                            dt { "Summary" } dd { (record.summary) }
                                            dt { "Correlation id" } dd.mono { (record.request.correlation_id().unwrap_or("—")) }
                                            dt { "Revision" } dd { (record.revision) }
                                        }
                                        h3 { "Record" }
                                        pre.json { (serde_json::to_string_pretty(record).unwrap_or_default()) }
                                        div.actions { button.button type="button" data-close { "Close" } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn stamp_row(label: &str, stamp: Option<&crate::dto::StampDto>) -> Markup {
    html! {
        dt { (label) }
        dd {
            @if let Some(stamp) = stamp {
                (when(&stamp.at)) " by " (stamp.by.name) " " span.muted.mono { "(" (stamp.by.id) ")" }
            } @else { "—" }
        }
    }
}

/// The details page.
pub fn details_page(who: &Who, view: &DetailsView<'_>) -> Markup {
    let token = view.token;
    let base = format!("{TOKENS_PATH}/{}", token.id);
    let body = html! {
        nav.crumbs aria-label="Breadcrumb" { a href=(TOKENS_PATH) { "API tokens" } " / " span { (token.name) } }
        @if let Some(message) = &view.notice { (notice(Some(message))) }
        div.details-head {
            (avatar(token, true))
            div.title {
                h1 { (token.name) }
                div { span.mono { (token.id) } " " (badge(token.status)) }
            }
            (actions(token, true))
        }
        @if token.compromised {
            div.notice.failure role="alert" {
                p { "A value of this API token was reported leaked, so it was disabled. Rotate it to give it a new value; then it can be enabled again." }
            }
        }
        dl.summary {
            div { dt { "Account" } dd { (token.account.name) " " span.muted.mono { "(" (token.account.id) ")" } } }
            div { dt { "Last access" } dd { @if let Some(at) = &token.last_access_at { (when(at)) } @else { "—" } } }
            div { dt { "Expires" } dd #expires { (lifetime::expiry_text(token.expires_at.as_deref(), who.now)) } }
            @if let Some(at) = &token.previous_value_expires_at {
                div { dt { "Previous value" } dd #previous-value { "works until " (when(at)) } }
            }
        }
        nav.tabs aria-label="Sections" {
            @for tab in [Tab::General, Tab::Modules, Tab::Details, Tab::Audit] {
                a href=(format!("{base}?tab={}", tab.key())) aria-current=[(tab == view.tab).then_some("page")] { (tab.label()) }
            }
        }
        section.tab-panel aria-label=(view.tab.label()) {
            @match view.tab {
                Tab::General => {
                    dl.overview {
                        dt { "Description" }
                        dd { @if let Some(text) = &token.description { (text) } @else { span.muted { "No description" } } }
                    }
                    div.field {
                        label for="endpoint" { "API endpoint" }
                        div.secret {
                            input #endpoint type="text" readonly value=(view.endpoint);
                            button.button.small type="button" data-copy-text="endpoint" { "Copy" }
                        }
                    }
                    @if view.revealable {
                        (secret_field("token-value", "API token", None, Some(&format!("{base}/reveal"))))
                        p.muted { "Each show or copy of the value is recorded in the audit trail." }
                    } @else {
                        p.muted { "This token's value was shown once, when it was created; it cannot be shown again." }
                    }
                }
                Tab::Modules => {
                    @if view.modules.is_empty() {
                        div.empty { h2 { "No modules" } }
                    } @else {
                        ul.module-cards {
                            @for module in &view.modules {
                                li { strong { (module.name) } " " span.muted.mono { (module.code) } p { (module.description) } }
                            }
                        }
                    }
                }
                Tab::Details => {
                    @if let Some(audit) = &token.audit {
                        dl.overview {
                            (stamp_row("Created", Some(&audit.created)))
                            (stamp_row("Updated", audit.updated.as_ref()))
                            (stamp_row("Enabled", audit.enabled.as_ref()))
                            (stamp_row("Disabled", audit.disabled.as_ref()))
                            dt { "Last access" }
                            dd { @if let Some(at) = &token.last_access_at { (when(at)) } @else { "—" } }
                            dt { "Expires" }
                            dd { (lifetime::expiry_text(token.expires_at.as_deref(), who.now)) }
                            dt { "Self-rotation" }
                            dd { @if token.self_rotate { "Allowed: the token may rotate itself" } @else { "Not allowed" } }
                            dt { "Revision" } dd { (token.revision) }
                        }
                    }
                }
                Tab::Audit => { (audit_table(view.records, false)) }
            }
        }
        dialog #edit-dialog aria-labelledby="edit-dialog-title" {
            h2 #edit-dialog-title { "Edit API token" }
            (view.edit)
        }
        dialog #rotate-dialog aria-labelledby="rotate-dialog-title" {
            h2 #rotate-dialog-title { "Rotate API token" }
            (view.rotate)
        }
    };
    layout(&token.name, who, Section::Tokens, body)
}

/// The edit form (General, then Modules, Save), for the dialog and the standalone page.
pub fn edit_form(
    who: &Who,
    token_id: &str,
    available: &[Module],
    form: &TokenForm,
    errors: &Errors,
    in_dialog: bool,
) -> Markup {
    let prefix = if in_dialog { "edit-" } else { "" };
    let logo_id = format!("{prefix}logo");
    let remove_id = format!("{prefix}remove-logo");
    let logo_help = format!("{prefix}logo-help");
    html! {
        form.edit-form method="post" action=(format!("{TOKENS_PATH}/{token_id}/edit")) enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(who.csrf);
            @if let Some(revision) = form.revision { input type="hidden" name="revision" value=(revision); }
            @if let Some(messages) = errors.get("form") {
                div.notice.failure role="alert" { @for message in messages { p { (message) } } }
            }
            fieldset {
                legend { "General" }
                div.field {
                    label for=(logo_id) { "New logo" }
                    input id=(logo_id) type="file" name="logo" accept=".jpg,.jpeg,.png,image/png,image/jpeg"
                        aria-describedby=(described_by(errors, "logo", Some(&logo_help)).unwrap_or_default());
                    p.muted id=(logo_help) { "Optional. A .jpg or .png image of at most 5 MB; leave empty to keep the current one." }
                    (field_errors(errors, "logo"))
                }
                @if form.has_icon {
                    div.field.inline {
                        input id=(remove_id) type="checkbox" name="remove_logo" value="1";
                        label for=(remove_id) { "Remove the current logo" }
                    }
                }
                (general_fields(prefix, form, errors))
                (lifetime_fields(prefix, who, form, errors))
            }
            (module_checklist(prefix, available, form, errors))
            div.actions {
                @if in_dialog {
                    button.button type="button" data-close { "Cancel" }
                } @else {
                    a.button href=(format!("{TOKENS_PATH}/{token_id}")) { "Cancel" }
                }
                button.button.primary type="submit" { "Save" }
            }
        }
    }
}

/// The standalone edit page (without JavaScript, and to show errors).
pub fn edit_page(who: &Who, token: &TokenDto, form: Markup) -> Markup {
    let body = html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href=(TOKENS_PATH) { "API tokens" } " / "
            a href=(format!("{TOKENS_PATH}/{}", token.id)) { (token.name) } " / " span { "Edit" }
        }
        div.card { h1 { "Edit API token" } (form) }
    };
    layout("Edit API token", who, Section::Tokens, body)
}

/// A confirmation page (enable, disable, delete without JavaScript).
pub fn confirm_page(who: &Who, token: &TokenDto, action: &str, label: &str) -> Markup {
    let body = html! {
        div.card {
            h1 { (label) " API token" }
            p { (label) " “" (token.name) "” (" (token.id) ")?" }
            form method="post" action=(format!("{TOKENS_PATH}/{}/{action}", token.id)) {
                input type="hidden" name="csrf" value=(who.csrf);
                div.actions {
                    a.button href=(format!("{TOKENS_PATH}/{}", token.id)) { "Cancel" }
                    button.button.primary.danger[action == "delete"] type="submit" { (label) }
                }
            }
        }
    };
    layout(label, who, Section::Tokens, body)
}

/// The account's audit trail page.
pub fn audit_page(who: &Who, records: &[AuditRecord], total: u64, page: u64, size: u32) -> Markup {
    let first = (page - 1) * u64::from(size) + 1;
    let last = first + records.len() as u64 - 1;
    let href = |page: u64| format!("{AUDIT_PATH}?size={size}&page={page}");
    let body = html! {
        div.page-head { h1 { "Audit trail" } }
        p.muted { "Every change to your account's API tokens, newest first." }
        (audit_table(records, true))
        @if !records.is_empty() {
            nav.pager aria-label="Pagination" {
                span { (first) "–" (last) " of " (total) }
                @if page > 1 { a.button.small href=(href(page - 1)) rel="prev" { "Previous" } }
                @if last < total { a.button.small href=(href(page + 1)) rel="next" { "Next" } }
            }
        }
    };
    layout("Audit trail", who, Section::Audit, body)
}
