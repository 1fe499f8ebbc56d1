//! The API tokens list page: its state (filters, order, page) echoed in links, sortable
//! headers and the table.

use maud::{Markup, html};

use super::components::{actions, avatar, badge, notice, when};
use super::frame::layout;
use super::{Section, Who};
use crate::dto::TokenDto;
use crate::web::TOKENS_PATH;
use crate::web::lifetime;

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

fn modules_cell(token: &TokenDto) -> String {
    match token.modules.as_deref() {
        Some([one]) => one.name.clone(),
        Some(many) => format!("{} modules", many.len()),
        None => String::new(),
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
