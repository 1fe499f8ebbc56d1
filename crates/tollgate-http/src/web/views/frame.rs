//! The frames pages are drawn in: the `<head>`, the signed-in layout with its navigation, the
//! bare frame for people not signed in, and the message and sign-in pages drawn in it.

use maud::{DOCTYPE, Markup, html};
use tollgate_domain::{Account, User};

use super::{Section, Who};
use crate::web::{AUDIT_PATH, TOKENS_PATH};

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
