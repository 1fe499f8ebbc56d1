//! Rotate on the details page (SPEC §9 "Rotation with a grace period"): a grace choice in a
//! confirming dialog (or its own page without the script), then the new value shown once, as
//! after Add. The rotation is the REST API's own (`handlers::rotation::rotate_token`), acting
//! as the signed-in person, with the revision the page was made from (a second post of the
//! same form cannot retire the value the first one showed).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use maud::{Markup, html};

use super::form::{first, read_pairs};
use super::pages::{own_token, who};
use super::session::signed_in;
use super::views::{self, Errors, Section, Who, when};
use super::{Page, TOKENS_PATH, html as page};
use crate::dto::{RotateBody, Shape, TokenDto};
use crate::error::ApiError;
use crate::handlers::rotation::rotate_token;

/// The grace periods offered: seconds, and what the option says.
pub const GRACES: [(u64, &str); 4] = [
    (0, "None: the current value stops working at once"),
    (3_600, "1 hour"),
    (86_400, "1 day"),
    (604_800, "7 days"),
];

/// The grace a form chose, if it is one of [`GRACES`].
fn grace_of(text: Option<&str>) -> Option<u64> {
    text.and_then(|text| text.parse().ok())
        .filter(|seconds| GRACES.iter().any(|(offered, _)| offered == seconds))
}

/// The rotate form: what rotating does, the grace choice, Rotate. For the dialog on the
/// details page and for the page of its own.
pub fn rotate_form(who: &Who, token: &TokenDto, errors: &Errors, in_dialog: bool) -> Markup {
    let prefix = if in_dialog { "rotate-" } else { "" };
    let grace_id = format!("{prefix}grace");
    let help_id = format!("{prefix}grace-help");
    let base = format!("{TOKENS_PATH}/{}", token.id);
    html! {
        form.rotate-form method="post" action=(format!("{base}/rotate")) {
            input type="hidden" name="csrf" value=(who.csrf);
            input type="hidden" name="revision" value=(token.revision);
            @if let Some(messages) = errors.get("form") {
                div.notice.failure role="alert" { @for message in messages { p { (message) } } }
            }
            p {
                "Rotate “" (token.name) "” (" (token.id) ")? It gets a new value, shown once; \
                 its id, modules and expiration stay as they are."
            }
            div.field {
                label for=(grace_id) { "Keep the current value working for" }
                select id=(grace_id) name="grace"
                    aria-invalid=[errors.contains_key("grace").then_some("true")]
                    aria-describedby=(views::described_by(errors, "grace", Some(&help_id)).unwrap_or_default()) {
                    @for (seconds, label) in GRACES {
                        option value=(seconds) { (label) }
                    }
                }
                p.muted id=(help_id) {
                    "Time to give the new value to everything that uses this token; until then both values work."
                }
                (views::field_errors(errors, "grace"))
            }
            div.actions {
                @if in_dialog {
                    button.button type="button" data-close { "Cancel" }
                } @else {
                    a.button href=(base) { "Cancel" }
                }
                button.button.primary type="submit" { "Rotate" }
            }
        }
    }
}

fn form_page(who: &Who, token: &TokenDto, errors: &Errors) -> Markup {
    let body = html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href=(TOKENS_PATH) { "API tokens" } " / "
            a href=(format!("{TOKENS_PATH}/{}", token.id)) { (token.name) } " / " span { "Rotate" }
        }
        div.card { h1 { "Rotate API token" } (rotate_form(who, token, errors, false)) }
    };
    views::layout("Rotate API token", who, Section::Tokens, body)
}

/// After Rotate: the new value (masked, show/hide, copy), once.
fn rotated_page(who: &Who, token: &TokenDto, value: &str) -> Markup {
    let body = html! {
        div.card {
            h1 { "API token rotated" }
            div.notice.success role="status" {
                "“" (token.name) "” (" (token.id) ") has a new value. Copy it now and keep it somewhere safe."
            }
            p #previous-value {
                @if let Some(at) = &token.previous_value_expires_at {
                    "The previous value works until " (when(at)) " UTC."
                } @else {
                    "The previous value no longer works."
                }
            }
            (views::secret_field("token-value", "New API token value", Some(value), None))
            div.actions {
                a.button.primary href=(format!("{TOKENS_PATH}/{}", token.id)) { "View details" }
                a.button href=(TOKENS_PATH) { "Close" }
            }
        }
    };
    views::layout("API token rotated", who, Section::Tokens, body)
}

/// `GET …/{id}/rotate`: the rotate form as a page (without the script).
pub async fn rotate_page(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<crate::state::AppState>,
) -> Page {
    async {
        let signed = signed_in(&req, &state).await?;
        let stored = own_token(&state, &signed, &path).await?;
        let dto = TokenDto::of(&stored, &signed.caller.catalog, Shape::default(), None);
        Ok(page(
            StatusCode::OK,
            form_page(&who(&signed), &dto, &Errors::new()),
        ))
    }
    .await
    .into()
}

/// `POST …/{id}/rotate` (CSRF-checked): the rotation, then the new value.
pub async fn rotate(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<crate::state::AppState>,
) -> Page {
    async {
        let signed = signed_in(&req, &state).await?;
        let pairs = read_pairs(&req, payload).await?;
        signed.check_csrf(&state, first(&pairs, "csrf"))?;
        let stored = own_token(&state, &signed, &path).await?;
        let who = who(&signed);
        let dto = TokenDto::of(&stored, &signed.caller.catalog, Shape::default(), None);
        let refuse = |field: &str, message: &str| {
            let errors = Errors::from([(field.to_owned(), vec![message.to_owned()])]);
            page(StatusCode::BAD_REQUEST, form_page(&who, &dto, &errors))
        };
        let Some(grace) = grace_of(first(&pairs, "grace")) else {
            return Ok(refuse("grace", "Choose one of the grace periods offered."));
        };
        let body = RotateBody {
            grace_period_seconds: Some(grace),
            revision: first(&pairs, "revision").and_then(|text| text.parse().ok()),
        };
        let (rotated, value) =
            match rotate_token(&state, &signed.caller, stored.token.id(), body).await {
                Ok(rotated) => rotated,
                Err(ApiError::Conflict(_)) => {
                    return Ok(refuse(
                        "form",
                        "Someone changed this API token meanwhile, so it was not rotated. Reload \
                         it and try again.",
                    ));
                }
                Err(other) => return Err(other.into()),
            };
        let dto = TokenDto::of(&rotated, &signed.caller.catalog, Shape::default(), None);
        Ok(page(
            StatusCode::OK,
            rotated_page(&who, &dto, value.expose_secret()),
        ))
    }
    .await
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_offered_graces() {
        assert_eq!(grace_of(Some("0")), Some(0));
        assert_eq!(grace_of(Some("604800")), Some(604_800));
        for other in [
            None,
            Some(""),
            Some("60"),
            Some("604801"),
            Some("-1"),
            Some("1h"),
        ] {
            assert_eq!(grace_of(other), None, "{other:?}");
        }
    }
}
