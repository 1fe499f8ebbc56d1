//! The token details page: its tabs, what it shows, and the stamps of its Details tab.

use maud::{Markup, html};
use tollgate_audit::AuditRecord;
use tollgate_domain::Module;

use super::audit::audit_table;
use super::components::{actions, avatar, badge, notice, secret_field, when};
use super::frame::layout;
use super::{Section, Who};
use crate::dto::TokenDto;
use crate::web::TOKENS_PATH;
use crate::web::lifetime;

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
