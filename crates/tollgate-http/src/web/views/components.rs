//! Small pieces shared by the pages: dates, avatars, status badges, field errors, notices, a
//! token's actions and the masked secret field.

use maud::{Markup, html};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Errors;
use crate::dto::TokenDto;
use crate::web::TOKENS_PATH;

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

pub(in crate::web) fn field_errors(errors: &Errors, field: &str) -> Markup {
    html! {
        @if let Some(messages) = errors.get(field) {
            @for message in messages {
                p.error id=(format!("{field}-error")) { (message) }
            }
        }
    }
}

pub(in crate::web) fn described_by(
    errors: &Errors,
    field: &str,
    help: Option<&str>,
) -> Option<String> {
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

pub(in crate::web) fn secret_field(
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
