//! The token forms: what they hold, their fields (general, lifetime, modules), the Add wizard
//! and its result page, the edit form and page, and the confirmation page.

use std::collections::BTreeSet;

use maud::{Markup, html};
use tollgate_domain::Module;

use super::components::{described_by, field_errors, secret_field, when};
use super::frame::layout;
use super::{Errors, Section, Who};
use crate::dto::TokenDto;
use crate::web::TOKENS_PATH;
use crate::web::lifetime::{self, ExpiryForm};

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
