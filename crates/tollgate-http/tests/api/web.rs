//! The web pages over HTTPS on both backends, as a browser without JavaScript would use them:
//! sign-in tickets (single use), the session cookie's attributes, CSRF on every change, the
//! wizard's validation shown next to fields, escaping of whatever users type, reveals and
//! changes recorded as the signed-in person, refusals, sign-out. (The same pages in a real
//! Chromium: `tests/browser`.)

use rand::rngs::OsRng;
use reqwest::Method;
use reqwest::blocking::Client;
use time::{Duration, OffsetDateTime};
use tollgate_domain::query::{AuditField, Comparison, Filter, ListQuery, Page, Value as Q};
use tollgate_domain::ticket::Ticket;
use tollgate_domain::{
    AccountType, DisplayName, FailureReason, TokenId, TokenPatch, TokenPolicy, TokenStatus, UserId,
    Visibility,
};
use tollgate_store::Context;

use crate::common::*;

const TOKENS: &str = "/administration/settings/api-tokens";

struct Browser<'a> {
    s: &'a Server,
    client: Client,
    cookie: Option<String>,
}

struct Reply_ {
    status: u16,
    body: String,
    location: Option<String>,
    set_cookie: Option<String>,
    csp: Option<String>,
}

impl<'a> Browser<'a> {
    fn new(s: &'a Server) -> R<Self> {
        Ok(Self {
            s,
            client: s.browser_client()?,
            cookie: None,
        })
    }

    fn send(&self, method: Method, path: &str, body: Option<(String, Vec<u8>)>) -> R<Reply_> {
        let mut request = self.client.request(method, self.s.url(path));
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        if let Some((content_type, bytes)) = body {
            request = request.header("content-type", content_type).body(bytes);
        }
        let response = request.send()?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (location, set_cookie, csp) = (
            header("location"),
            header("set-cookie"),
            header("content-security-policy"),
        );
        let status = response.status().as_u16();
        Ok(Reply_ {
            status,
            body: response.text()?,
            location,
            set_cookie,
            csp,
        })
    }

    fn get(&self, path: &str) -> R<Reply_> {
        self.send(Method::GET, path, None)
    }

    fn post_form(&self, path: &str, pairs: &[(&str, &str)]) -> R<Reply_> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.send(
            Method::POST,
            path,
            Some((
                "application/x-www-form-urlencoded".into(),
                body.into_bytes(),
            )),
        )
    }

    fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        logo: Option<&[u8]>,
    ) -> R<Reply_> {
        let boundary = "----tollgate-test-boundary";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        if let Some(bytes) = logo {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"logo\"; filename=\"logo.png\"\r\nContent-Type: image/png\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        self.send(
            Method::POST,
            path,
            Some((format!("multipart/form-data; boundary={boundary}"), body)),
        )
    }

    /// Signs in with a fresh ticket for `user`; returns the CSRF token of the session.
    fn sign_in(&mut self, user: UserId) -> R<String> {
        let ticket = mint(self.s, user)?;
        let page = self.post_form("/sign-in", &[("ticket", &ticket)])?;
        ensure_eq!(page.status, 303, "{}", page.body);
        let cookie = page.set_cookie.ok_or("no session cookie")?;
        self.cookie = Some(cookie.split(';').next().unwrap_or_default().to_owned());
        let list = self.get(TOKENS)?;
        ensure_eq!(list.status, 200, "{}", list.body);
        csrf_of(&list.body)
    }
}

fn mint(s: &Server, user: UserId) -> R<String> {
    Ok(Ticket::mint(
        &s.keys.ticket,
        user,
        OffsetDateTime::now_utc(),
        Duration::minutes(5),
        &mut OsRng,
    ))
}

fn csrf_of(html: &str) -> R<String> {
    let start = html
        .find("name=\"csrf-token\" content=\"")
        .ok_or("no csrf-token meta tag")?
        + "name=\"csrf-token\" content=\"".len();
    let end = html[start..].find('"').ok_or("unterminated meta tag")? + start;
    Ok(html[start..end].to_owned())
}

fn token_value_in(html: &str) -> R<String> {
    let start = html
        .find("value=\"idt:TKN-")
        .ok_or("no token value in the page")?
        + 7;
    let end = html[start..].find('"').ok_or("unterminated value")? + start;
    Ok(html[start..end].to_owned())
}

fn records_of(s: &Server, id: &str) -> R<Vec<tollgate_audit::AuditRecord>> {
    let query = ListQuery {
        filter: Some(Filter::Compare {
            field: AuditField::ObjectId,
            op: Comparison::Eq,
            value: Q::Text(id.to_owned()),
        }),
        order: Vec::new(),
        page: Page::new(0, 100),
    };
    Ok(s.store
        .list_audit_records(Visibility::AllAccounts, &query)?
        .items
        .into_iter()
        .map(|r| r.record)
        .collect())
}

#[test]
fn sign_in_is_single_use_and_the_session_cookie_is_locked_down() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let mut browser = Browser::new(s)?;
        // Not signed in: a page that says how to sign in, never a token list.
        let page = browser.get(TOKENS)?;
        ensure_eq!(page.status, 401);
        ensure!(page.body.contains("Sign in required"));
        ensure!(
            page.csp
                .as_deref()
                .is_some_and(|csp| csp.contains("script-src 'self'") && !csp.contains("unsafe")),
            "{:?}",
            page.csp
        );

        let ticket = mint(s, acme.admin.id)?;
        let confirm = browser.get(&format!("/sign-in?ticket={ticket}"))?;
        ensure_eq!(confirm.status, 200);
        ensure!(confirm.body.contains("Acme Admin"), "{}", confirm.body);
        // Looking at the link spends nothing: Continue still works, once.
        let first = browser.post_form("/sign-in", &[("ticket", &ticket)])?;
        ensure_eq!(first.status, 303, "{}", first.body);
        ensure_eq!(first.location.as_deref(), Some(TOKENS));
        let cookie = first.set_cookie.clone().ok_or("no cookie")?;
        for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
            ensure!(cookie.contains(attribute), "{attribute} missing: {cookie}");
        }
        ensure!(cookie.starts_with("__Host-tollgate-session="), "{cookie}");
        let again = browser.post_form("/sign-in", &[("ticket", &ticket)])?;
        ensure_eq!(again.status, 403);
        ensure!(again.body.contains("already been used"));
        ensure!(again.set_cookie.is_none());

        // Posted from another site (login CSRF): refused, and the ticket is not spent.
        let fresh = mint(s, acme.admin.id)?;
        let cross = browser
            .client
            .post(s.url("/sign-in"))
            .header("origin", "https://evil.example")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("ticket={fresh}"))
            .send()?;
        ensure_eq!(cross.status().as_u16(), 403);
        ensure!(cross.headers().get("set-cookie").is_none());
        let same = browser
            .client
            .post(s.url("/sign-in"))
            .header("origin", s.base.as_str())
            .header("sec-fetch-site", "same-origin")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("ticket={fresh}"))
            .send()?;
        ensure_eq!(same.status().as_u16(), 303);

        // Tampered and expired tickets.
        let forged = ticket.replacen(&acme.admin.id.to_string(), "USR-0000-0001", 1);
        ensure_eq!(
            browser
                .post_form("/sign-in", &[("ticket", &forged)])?
                .status,
            403
        );
        let expired = Ticket::mint(
            &s.keys.ticket,
            acme.admin.id,
            OffsetDateTime::now_utc() - Duration::minutes(20),
            Duration::minutes(5),
            &mut OsRng,
        );
        let page = browser.post_form("/sign-in", &[("ticket", &expired)])?;
        ensure!(page.status == 403 && page.body.contains("expired"));

        // Signed in, then out: the cookie stops working although it has not expired.
        browser.cookie = Some(cookie.split(';').next().unwrap_or_default().to_owned());
        let list = browser.get(TOKENS)?;
        ensure_eq!(list.status, 200);
        ensure!(list.body.contains("No API tokens yet"));
        let csrf = csrf_of(&list.body)?;
        ensure_eq!(browser.post_form("/sign-out", &[])?.status, 403);
        let out = browser.post_form("/sign-out", &[("csrf", &csrf)])?;
        ensure_eq!(out.status, 200);
        ensure!(out.set_cookie.is_some_and(|c| c.contains("Max-Age=0")));
        ensure_eq!(browser.get(TOKENS)?.status, 401);
        Ok(())
    })
}

#[test]
fn non_administrators_and_disabled_accounts_are_refused() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Vendor, "Acme")?;
        let clerk = s.store.create_user(
            acme.account.id,
            &DisplayName::parse("name", "Clerk")?,
            false,
            OffsetDateTime::now_utc(),
        )?;
        let browser = Browser::new(s)?;
        let page = browser.get(&format!("/sign-in?ticket={}", mint(s, clerk.id)?))?;
        ensure_eq!(page.status, 403);
        ensure!(page.body.contains("Only account administrators"));

        // A session that was fine stops working when its account is disabled.
        let mut admin = Browser::new(s)?;
        admin.sign_in(acme.admin.id)?;
        s.store
            .set_account_status(acme.account.id, tollgate_domain::AccountStatus::Disabled)?;
        let page = admin.get(TOKENS)?;
        ensure_eq!(page.status, 403);
        ensure!(page.body.contains("is disabled"), "{}", page.body);
        let page = browser.get(&format!("/sign-in?ticket={}", mint(s, acme.admin.id)?))?;
        ensure_eq!(page.status, 403);
        Ok(())
    })
}

#[test]
fn the_wizard_validates_escapes_and_creates_as_the_person() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let mut browser = Browser::new(s)?;
        let csrf = browser.sign_in(acme.admin.id)?;
        let before = s.snapshot()?;
        let new = format!("{TOKENS}/new");

        // Hostile input is shown back escaped, each error next to its field; nothing is written.
        let page = browser.post_multipart(
            &new,
            &[
                ("csrf", &csrf),
                ("name", "<script>alert(1)</script>"),
                ("description", "x"),
            ],
            None,
        )?;
        ensure_eq!(page.status, 400, "{}", page.body);
        ensure!(!page.body.contains("<script>alert(1)"), "unescaped markup");
        ensure!(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        ensure!(page.body.contains("id=\"name-error\""), "{}", page.body);
        ensure!(page.body.contains("id=\"modules-error\""), "{}", page.body);
        // Not an image.
        let page = browser.post_multipart(
            &new,
            &[("csrf", &csrf), ("name", "Robot"), ("modules", "MOD-1104")],
            Some(b"GIF89a not a png"),
        )?;
        ensure_eq!(page.status, 400);
        ensure!(page.body.contains("id=\"logo-error\""));
        // A logo over 5 MB is an error next to the field; a form far over that is refused whole.
        let mut big = vec![0u8; 5 * 1024 * 1024 + 1];
        big[..8].copy_from_slice(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        let page = browser.post_multipart(
            &new,
            &[("csrf", &csrf), ("name", "Robot"), ("modules", "MOD-1104")],
            Some(&big),
        )?;
        ensure_eq!(page.status, 400);
        ensure!(page.body.contains("5 MB or less"), "{}", page.body);
        big.resize(7 * 1024 * 1024, 0);
        let page = browser.post_multipart(
            &new,
            &[("csrf", &csrf), ("name", "Robot"), ("modules", "MOD-1104")],
            Some(&big),
        )?;
        ensure_eq!(page.status, 413);
        // Without the CSRF token.
        let page =
            browser.post_multipart(&new, &[("name", "Robot"), ("modules", "MOD-1104")], None)?;
        ensure_eq!(page.status, 403);
        ensure_eq!(s.snapshot()?.tokens, before.tokens, "nothing was written");

        let png = [
            0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D,
        ];
        let page = browser.post_multipart(
            &new,
            &[
                ("csrf", &csrf),
                ("name", "O'Brien \"sync\" - v1.0"),
                ("description", "<img src=x onerror=alert(1)>"),
                ("modules", "MOD-1104"),
                ("modules", "MOD-1105"),
            ],
            Some(&png),
        )?;
        ensure_eq!(page.status, 201, "{}", page.body);
        ensure_eq!(
            page.csp.as_deref().map(|_| ()),
            Some(()),
            "the value page has a CSP"
        );
        let value = token_value_in(&page.body)?;
        let id = value.split(':').nth(1).ok_or("no id")?.to_owned();
        ensure!(TokenId::parse(&id).is_ok());
        let stored = s.store.token(TokenId::parse(&id)?)?.ok_or("not stored")?;
        ensure!(stored.token.parts().has_icon);
        ensure_eq!(stored.token.modules().len(), 2);
        let records = records_of(s, &id)?;
        ensure!(!records.is_empty());
        for record in &records {
            ensure_eq!(record.actor.id, acme.admin.id.to_string());
            ensure_eq!(record.actor.name, "Acme Admin");
        }
        // The icon, for the pages: the signed-in account's only.
        let icon = browser.get(&format!("{TOKENS}/{id}/icon"))?;
        ensure_eq!(icon.status, 200);
        let other = s.account(AccountType::Client, "Other")?;
        let mut stranger = Browser::new(s)?;
        stranger.sign_in(other.admin.id)?;
        ensure_eq!(stranger.get(&format!("{TOKENS}/{id}/icon"))?.status, 404);
        ensure_eq!(stranger.get(&format!("{TOKENS}/{id}"))?.status, 404);
        // A page past the last shows the last one.
        let past = browser.get(&format!("{TOKENS}?page=99&size=10"))?;
        ensure_eq!(past.status, 200);
        ensure!(past.body.contains("1–1 of 1"), "{}", past.body);
        // The details page shows the description as text.
        let details = browser.get(&format!("{TOKENS}/{id}"))?;
        ensure_eq!(details.status, 200);
        ensure!(details.body.contains("&lt;img src=x onerror=alert(1)&gt;"));
        ensure!(!details.body.contains("<img src=x"));
        ensure!(
            !details.body.contains(&value),
            "the value is not in the details page"
        );
        Ok(())
    })
}

#[test]
fn changes_and_reveals_need_the_csrf_token_and_are_audited() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let other = s.account(AccountType::Client, "Other")?;
        let token = s.token(&acme, "CRM robot", &[1104])?;
        let theirs = s.token(&other, "Theirs", &[1104])?;
        let mut browser = Browser::new(s)?;
        let csrf = browser.sign_in(acme.admin.id)?;
        let base = format!("{TOKENS}/{}", token.id);

        // Without (or with a wrong) CSRF token nothing changes.
        for pairs in [vec![], vec![("csrf", "forged")]] {
            let page = browser.post_form(&format!("{base}/disable"), &pairs)?;
            ensure_eq!(page.status, 403);
        }
        ensure_eq!(
            s.store
                .token(TokenId::parse(&token.id)?)?
                .ok_or("gone")?
                .token
                .status(),
            TokenStatus::Active
        );
        // The confirmation page, then the change.
        let confirm = browser.get(&format!("{base}/disable"))?;
        ensure!(confirm.status == 200 && confirm.body.contains("Disable “CRM robot”"));
        let done = browser.post_form(&format!("{base}/disable"), &[("csrf", &csrf)])?;
        ensure_eq!(done.status, 303);
        ensure_eq!(
            done.location.as_deref(),
            Some(format!("{base}?notice=disabled").as_str())
        );
        let stored = s.store.token(TokenId::parse(&token.id)?)?.ok_or("gone")?;
        ensure_eq!(stored.token.status(), TokenStatus::Disabled);
        let page = browser.get(&format!("{base}?notice=disabled"))?;
        ensure!(page.body.contains("was disabled"));

        // A refused transition is a page that says so (and changes nothing).
        let again = browser.post_form(&format!("{base}/disable"), &[("csrf", &csrf)])?;
        ensure_eq!(again.status, 409);
        ensure!(again.body.contains("Conflict"), "{}", again.body);
        ensure_eq!(s.revision(&token.id)?, stored.token.revision());

        // Reveal: only from the page's script (CSRF header), each time recorded.
        let reveal = format!("{base}/reveal");
        let refused = browser.send(Method::POST, &reveal, None)?;
        ensure_eq!(refused.status, 403);
        let anonymous = Browser::new(s)?.send(Method::POST, &reveal, None)?;
        ensure_eq!(anonymous.status, 401);
        ensure!(anonymous.body.contains("\"error\""), "{}", anonymous.body);
        let request = browser
            .client
            .post(s.url(&reveal))
            .header("cookie", browser.cookie.clone().unwrap_or_default())
            .header("x-csrf-token", &csrf);
        let response = request.send()?;
        ensure_eq!(response.status().as_u16(), 200);
        ensure_eq!(
            response
                .headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
            Some("no-store")
        );
        let body: serde_json::Value = response.json()?;
        ensure_eq!(body["token"].as_str(), Some(token.value.as_str()));
        let revealed: Vec<_> = records_of(s, &token.id)?
            .into_iter()
            .filter(|r| r.event.ends_with(".revealed"))
            .collect();
        ensure_eq!(revealed.len(), 1);
        ensure_eq!(revealed[0].actor.id, acme.admin.id.to_string());

        // Edit through the form; a stale revision is a message, not a lost update.
        let stale = stored.token.revision() - 1;
        let page = browser.post_form(
            &format!("{base}/edit"),
            &[
                ("csrf", &csrf),
                ("name", "CRM robot v2"),
                ("description", ""),
                ("modules", "MOD-1104"),
                ("revision", &stale.to_string()),
            ],
        )?;
        ensure_eq!(page.status, 400);
        ensure!(page.body.contains("changed this API token meanwhile"));
        let page = browser.post_form(
            &format!("{base}/edit"),
            &[
                ("csrf", &csrf),
                ("name", "CRM robot v2"),
                ("description", ""),
                ("modules", "MOD-1104"),
                ("revision", &stored.token.revision().to_string()),
            ],
        )?;
        ensure_eq!(page.status, 303, "{}", page.body);
        let stored = s.store.token(TokenId::parse(&token.id)?)?.ok_or("gone")?;
        ensure_eq!(stored.token.name().as_str(), "CRM robot v2");

        // The edit form also takes a new logo (checked by content) or removes the current one.
        let edit = format!("{base}/edit");
        let fields = |revision: u32| {
            vec![
                ("csrf".to_owned(), csrf.clone()),
                ("name".to_owned(), "CRM robot v2".to_owned()),
                ("modules".to_owned(), "MOD-1104".to_owned()),
                ("revision".to_owned(), revision.to_string()),
            ]
        };
        let as_refs = |pairs: &[(String, String)]| -> Vec<(String, String)> { pairs.to_vec() };
        let pairs = as_refs(&fields(stored.token.revision()));
        let borrowed: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let page = browser.post_multipart(&edit, &borrowed, Some(b"<svg onload=alert(1)>"))?;
        ensure_eq!(page.status, 400);
        ensure!(page.body.contains("id=\"logo-error\""));
        let png = [
            0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D,
        ];
        let page = browser.post_multipart(&edit, &borrowed, Some(&png))?;
        ensure_eq!(page.status, 303, "{}", page.body);
        let stored = s.store.token(TokenId::parse(&token.id)?)?.ok_or("gone")?;
        ensure!(stored.token.parts().has_icon);
        let pairs = as_refs(&fields(stored.token.revision()));
        let mut borrowed: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        borrowed.push(("remove_logo", "1"));
        let page = browser.post_multipart(&edit, &borrowed, None)?;
        ensure_eq!(page.status, 303, "{}", page.body);
        let stored = s.store.token(TokenId::parse(&token.id)?)?.ok_or("gone")?;
        ensure!(!stored.token.parts().has_icon);

        // Another account's token does not exist here; deleting makes ours vanish.
        ensure_eq!(browser.get(&format!("{TOKENS}/{}", theirs.id))?.status, 404);
        ensure_eq!(
            browser
                .post_form(
                    &format!("{TOKENS}/{}/delete", theirs.id),
                    &[("csrf", &csrf)]
                )?
                .status,
            404
        );
        let done = browser.post_form(&format!("{base}/delete"), &[("csrf", &csrf)])?;
        ensure_eq!(done.status, 303);
        ensure_eq!(browser.get(&base)?.status, 404);
        let list = browser.get(TOKENS)?;
        ensure!(list.body.contains("No API tokens yet"));
        // The audit trail page lists the account's records, the deleted token's included.
        let trail = browser.get("/administration/settings/audit-trail")?;
        ensure_eq!(trail.status, 200);
        for verb in ["disabled", "revealed the value of", "updated", "deleted"] {
            ensure!(
                trail.body.contains(&format!("Acme Admin {verb} API token")),
                "{verb} missing"
            );
        }
        Ok(())
    })
}

/// A token's expiry, set straight through the store (the domain's update; no policy check), as
/// time passing would leave it.
fn set_expiry(s: &Server, acct: &Acct, id: &str, at: OffsetDateTime) -> R<()> {
    s.store.change_token::<tollgate_store::StoreError>(
        TokenId::parse(id)?,
        &acct.ctx(),
        |token, _| {
            let patch = TokenPatch {
                expires_at: Some(Some(at)),
                ..TokenPatch::default()
            };
            token
                .update(patch, None, acct.ctx().actor, OffsetDateTime::now_utc())
                .map_err(|error| tollgate_store::StoreError::Database(error.to_string()))
        },
    )?;
    Ok(())
}

fn delete_in_store(s: &Server, acct: &Acct, id: &str) -> R<()> {
    s.store.change_token::<tollgate_store::StoreError>(
        TokenId::parse(id)?,
        &acct.ctx(),
        |token, _| {
            token
                .delete(acct.ctx().actor, OffsetDateTime::now_utc())
                .map(Some)
                .map_err(|error| tollgate_store::StoreError::Database(error.to_string()))
        },
    )?;
    Ok(())
}

/// What a processed leak report does to a token's current value.
fn report_leaked(s: &Server, id: &str) -> R<()> {
    let now = OffsetDateTime::now_utc();
    s.store.change_token::<tollgate_store::StoreError>(
        TokenId::parse(id)?,
        &Context::system(now),
        |token, _| Ok(token.leak_reported(false, now)),
    )?;
    Ok(())
}

/// The list item of the banner for one kind of trouble, if the page has it.
fn banner_item<'a>(html: &'a str, kind: &str) -> Option<&'a str> {
    let start = html.find(&format!("data-trouble=\"{kind}\""))?;
    let end = html[start..].find("</li>")? + start;
    Some(&html[start..end])
}

fn stored_expiry(s: &Server, id: &str) -> R<Option<OffsetDateTime>> {
    Ok(s.store
        .token(TokenId::parse(id)?)?
        .ok_or("not stored")?
        .token
        .expires_at())
}

#[test]
fn the_forms_set_expiry_and_self_rotation_and_show_the_policy_next_to_the_field() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let mut browser = Browser::new(s)?;
        let csrf = browser.sign_in(acme.admin.id)?;
        let new = format!("{TOKENS}/new");
        let create = |fields: &[(&str, &str)]| -> R<Reply_> {
            let mut all = vec![
                ("csrf", csrf.as_str()),
                ("name", "Robot"),
                ("modules", "MOD-1104"),
            ];
            all.extend_from_slice(fields);
            browser.post_multipart(&new, &all, None)
        };
        let created_id = |page: &Reply_| -> R<String> {
            ensure_eq!(page.status, 201, "{}", page.body);
            let value = token_value_in(&page.body)?;
            Ok(value.split(':').nth(1).ok_or("no id")?.to_owned())
        };

        // 30 days from now, and the switch on.
        let before = OffsetDateTime::now_utc();
        let page = create(&[("expiry", "30"), ("self_rotate", "1")])?;
        let thirty = created_id(&page)?;
        ensure!(page.body.contains("It expires"), "{}", page.body);
        let at = stored_expiry(s, &thirty)?.ok_or("no expiry")?;
        ensure!(
            at >= before + Duration::days(30) - Duration::seconds(1)
                && at <= OffsetDateTime::now_utc() + Duration::days(30),
            "{at}"
        );
        let stored = s.store.token(TokenId::parse(&thirty)?)?.ok_or("gone")?;
        ensure!(stored.token.parts().self_rotate);
        // A date: 00:00 UTC on that day.
        let day = (OffsetDateTime::now_utc() + Duration::days(12)).date();
        let page = create(&[("expiry", "date"), ("expiry_date", &day.to_string())])?;
        let dated = created_id(&page)?;
        ensure_eq!(
            stored_expiry(s, &dated)?,
            Some(day.with_time(time::Time::MIDNIGHT).assume_utc())
        );
        // None, and no switch: never expires, may not rotate itself.
        let page = create(&[("expiry", "never")])?;
        let never = created_id(&page)?;
        ensure_eq!(stored_expiry(s, &never)?, None);
        let stored = s.store.token(TokenId::parse(&never)?)?.ok_or("gone")?;
        ensure!(!stored.token.parts().self_rotate);

        // A date that is not one, or in the past: next to the date field, nothing written.
        let tokens = s.snapshot()?.tokens;
        for (date, message) in [
            ("2027-02-30", "YYYY-MM-DD"),
            ("", "Choose the date"),
            ("2020-01-01", "must lie in the future"),
        ] {
            let page = create(&[("expiry", "date"), ("expiry_date", date)])?;
            ensure_eq!(page.status, 400, "{date}: {}", page.body);
            ensure!(
                page.body.contains("id=\"expiry_date-error\""),
                "{}",
                page.body
            );
            ensure!(page.body.contains(message), "{date}: {}", page.body);
        }
        ensure_eq!(s.snapshot()?.tokens, tokens, "nothing was written");

        // The account's policy: refused next to the Expiration field, in its own words.
        s.store.set_account_policy(
            acme.account.id,
            TokenPolicy {
                max_lifetime_days: Some(30),
                require_expiry: true,
            },
        )?;
        let page = create(&[("expiry", "60")])?;
        ensure_eq!(page.status, 400);
        ensure!(
            page.body.contains(
                "<p class=\"error\" id=\"expiry-error\">Expiration must be within 30 days"
            ),
            "{}",
            page.body
        );
        ensure!(page.body.contains("aria-invalid=\"true\""));
        let page = create(&[("expiry", "never")])?;
        ensure_eq!(page.status, 400);
        ensure!(
            page.body.contains("Expiration is required"),
            "{}",
            page.body
        );
        ensure_eq!(s.snapshot()?.tokens, tokens, "nothing was written");
        // The wizard starts with a choice the policy allows, and says what it asks.
        let wizard = browser.get(&new)?;
        ensure!(
            wizard.body.contains("<option value=\"30\" selected>"),
            "{}",
            wizard.body
        );
        ensure!(
            wizard
                .body
                .contains("every token must expire, within 30 days")
        );

        // Edit: an unrelated change keeps the expiry (a policy that came later refuses nothing).
        let edit = format!("{TOKENS}/{never}/edit");
        let revision = s.revision(&never)?.to_string();
        let form = |extra: &[(&'static str, String)]| -> R<Reply_> {
            let mut pairs: Vec<(&str, String)> = vec![
                ("csrf", csrf.clone()),
                ("name", "Robot renamed".into()),
                ("modules", "MOD-1104".into()),
                ("revision", s.revision(&never)?.to_string()),
            ];
            pairs.extend_from_slice(extra);
            let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            browser.post_form(&edit, &borrowed)
        };
        let page = browser.get(&edit)?;
        ensure!(
            page.body.contains("<option value=\"never\" selected>"),
            "{}",
            page.body
        );
        let page = form(&[("expiry", "never".into()), ("self_rotate", "1".into())])?;
        ensure_eq!(page.status, 303, "{}", page.body);
        ensure_eq!(stored_expiry(s, &never)?, None);
        ensure!(s.revision(&never)?.to_string() != revision);
        let stored = s.store.token(TokenId::parse(&never)?)?.ok_or("gone")?;
        ensure!(stored.token.parts().self_rotate, "the switch turned on");
        // Keep, then 7 days, then the switch off.
        let page = form(&[("expiry", "7".into()), ("self_rotate", "1".into())])?;
        ensure_eq!(page.status, 303, "{}", page.body);
        let seven = stored_expiry(s, &never)?.ok_or("no expiry")?;
        ensure!(seven <= OffsetDateTime::now_utc() + Duration::days(7));
        let page = browser.get(&edit)?;
        ensure!(
            page.body.contains("<option value=\"keep\" selected>Keep: "),
            "{}",
            page.body
        );
        let page = form(&[("expiry", "keep".into())])?;
        ensure_eq!(page.status, 303, "{}", page.body);
        ensure_eq!(stored_expiry(s, &never)?, Some(seven));
        let stored = s.store.token(TokenId::parse(&never)?)?.ok_or("gone")?;
        ensure!(!stored.token.parts().self_rotate, "the switch turned off");
        // Clearing it now breaks the policy: said next to the field, nothing changes.
        let page = form(&[("expiry", "never".into())])?;
        ensure_eq!(page.status, 400);
        ensure!(page.body.contains("id=\"expiry-error\""), "{}", page.body);
        ensure_eq!(stored_expiry(s, &never)?, Some(seven));
        // Without the CSRF token nothing changes.
        let page = browser.post_form(
            &edit,
            &[("name", "x"), ("modules", "MOD-1104"), ("expiry", "90")],
        )?;
        ensure_eq!(page.status, 403);
        ensure_eq!(stored_expiry(s, &never)?, Some(seven));
        Ok(())
    })
}

#[test]
fn the_list_and_details_show_expiry_expired_and_the_warning() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let soon = s.token(&acme, "Soon robot", &[1104])?;
        let later = s.token(&acme, "Later robot", &[1104])?;
        let gone = s.token(&acme, "Gone robot", &[1104])?;
        let now = OffsetDateTime::now_utc();
        set_expiry(
            s,
            &acme,
            &soon.id,
            now + Duration::days(3) + Duration::hours(1),
        )?;
        set_expiry(s, &acme, &later.id, now + Duration::days(8))?;
        set_expiry(s, &acme, &gone.id, now - Duration::minutes(1))?;
        let mut browser = Browser::new(s)?;
        browser.sign_in(acme.admin.id)?;

        let list = browser.get(TOKENS)?;
        ensure_eq!(list.status, 200);
        let table = &list.body[list.body.find("<tbody>").ok_or("no table")?..];
        let row = |name: &str| -> R<String> {
            let start = table.find(&format!(">{name}</a>")).ok_or("no row")?;
            let end = table[start..].find("</tr>").ok_or("no row end")? + start;
            Ok(table[start..end].to_owned())
        };
        ensure!(
            row("Soon robot")?.contains("expires in 3 days"),
            "{}",
            row("Soon robot")?
        );
        ensure!(!row("Later robot")?.contains("expires in"));
        ensure!(row("Gone robot")?.contains("<span class=\"badge expired\">Expired</span>"));
        ensure!(!row("Gone robot")?.contains("expires in"));
        // An expired token can still be disabled.
        ensure!(
            row("Gone robot")?.contains(">Disable</a>"),
            "{}",
            row("Gone robot")?
        );
        let expiring = banner_item(&list.body, "expiring").ok_or("no expiry warning")?;
        ensure!(expiring.contains("Soon robot") && expiring.contains("expires in 3 days"));
        ensure!(!expiring.contains("Later robot") && !expiring.contains("Gone robot"));
        // The Expired filter, and sorting by expiry.
        let expired = browser.get(&format!("{TOKENS}?status=Expired"))?;
        let table = &expired.body[expired.body.find("<tbody>").ok_or("no table")?..];
        ensure!(table.contains("Gone robot") && !table.contains("Soon robot"));
        ensure!(expired.body.contains("<option value=\"Expired\" selected>"));
        let sorted = browser.get(&format!("{TOKENS}?order=expires"))?;
        let table = &sorted.body[sorted.body.find("<tbody>").ok_or("no table")?..];
        let at = |name: &str| table.find(&format!(">{name}</a>")).unwrap_or(usize::MAX);
        ensure!(at("Gone robot") < at("Soon robot") && at("Soon robot") < at("Later robot"));

        let details = browser.get(&format!("{TOKENS}/{}", soon.id))?;
        ensure!(
            details.body.contains("expires in 3 days"),
            "{}",
            details.body
        );
        let details = browser.get(&format!("{TOKENS}/{}", gone.id))?;
        ensure!(
            details
                .body
                .contains("<span class=\"badge expired\">Expired</span>")
        );
        Ok(())
    })
}

#[test]
fn rotate_from_the_details_page_shows_the_new_value_once() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let token = s.token(&acme, "CRM robot", &[1104])?;
        let mut browser = Browser::new(s)?;
        let csrf = browser.sign_in(acme.admin.id)?;
        let base = format!("{TOKENS}/{}", token.id);
        let rotate = format!("{base}/rotate");
        let works = |value: &str| -> R<u16> {
            let tok = Tok {
                id: token.id.clone(),
                value: value.to_owned(),
            };
            Ok(s.get(&tok, &token_path(&token.id))?.status)
        };
        ensure_eq!(works(&token.value)?, 200);

        let details = browser.get(&base)?;
        ensure!(details.body.contains("id=\"rotate-dialog\""));
        ensure!(details.body.contains(&format!("action=\"{rotate}\"")));
        let page = browser.get(&rotate)?;
        ensure_eq!(page.status, 200);
        ensure!(page.body.contains("Keep the current value working for"));
        let revision = s.revision(&token.id)?.to_string();

        // Without the CSRF token, or with a grace not offered: nothing changes.
        let page = browser.post_form(&rotate, &[("grace", "0"), ("revision", &revision)])?;
        ensure_eq!(page.status, 403);
        let page = browser.post_form(
            &rotate,
            &[("csrf", &csrf), ("grace", "60"), ("revision", &revision)],
        )?;
        ensure_eq!(page.status, 400);
        ensure!(page.body.contains("id=\"grace-error\""), "{}", page.body);
        ensure_eq!(s.revision(&token.id)?.to_string(), revision);
        ensure_eq!(works(&token.value)?, 200);

        // A day's grace: the new value once, both values work.
        let page = browser.post_form(
            &rotate,
            &[("csrf", &csrf), ("grace", "86400"), ("revision", &revision)],
        )?;
        ensure_eq!(page.status, 200, "{}", page.body);
        ensure!(page.body.contains("API token rotated"));
        ensure!(page.body.contains("The previous value works until"));
        let first = token_value_in(&page.body)?;
        ensure!(first != token.value && first.contains(&token.id));
        ensure_eq!(works(&first)?, 200);
        ensure_eq!(works(&token.value)?, 200);
        let rotated: Vec<_> = records_of(s, &token.id)?
            .into_iter()
            .filter(|r| r.event.ends_with(".rotated"))
            .collect();
        ensure_eq!(rotated.len(), 1);
        ensure_eq!(rotated[0].actor.id, acme.admin.id.to_string());
        ensure!(
            !page.body.contains(&token.value),
            "the old value is not on the page"
        );
        let details = browser.get(&base)?;
        ensure!(
            !details.body.contains(&first),
            "the new value is not on the details page"
        );
        ensure!(details.body.contains("id=\"previous-value\""));

        // The same form again (a double submit): refused, so the value just shown stays.
        let page = browser.post_form(
            &rotate,
            &[("csrf", &csrf), ("grace", "0"), ("revision", &revision)],
        )?;
        ensure_eq!(page.status, 400);
        ensure!(page.body.contains("was not rotated"), "{}", page.body);
        ensure_eq!(works(&first)?, 200);

        // No grace: the first new value is retired at once, the older grace ends.
        let revision = s.revision(&token.id)?.to_string();
        let page = browser.post_form(
            &rotate,
            &[("csrf", &csrf), ("grace", "0"), ("revision", &revision)],
        )?;
        ensure_eq!(page.status, 200, "{}", page.body);
        ensure!(page.body.contains("The previous value no longer works."));
        let second = token_value_in(&page.body)?;
        ensure_eq!(works(&second)?, 200);
        ensure_eq!(works(&first)?, 401);
        ensure_eq!(works(&token.value)?, 401);

        // Another account's token is not found here.
        let other = s.account(AccountType::Client, "Other")?;
        let theirs = s.token(&other, "Theirs", &[1104])?;
        let page = browser.post_form(
            &format!("{TOKENS}/{}/rotate", theirs.id),
            &[("csrf", &csrf), ("grace", "0")],
        )?;
        ensure_eq!(page.status, 404);
        ensure_eq!(works_for(s, &theirs)?, 200);
        Ok(())
    })
}

fn works_for(s: &Server, token: &Tok) -> R<u16> {
    Ok(s.get(token, &token_path(&token.id))?.status)
}

#[test]
fn the_banner_names_leaked_retired_value_and_expiring_tokens_of_the_account_only() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let other = s.account(AccountType::Client, "Other")?;
        let mut browser = Browser::new(s)?;
        browser.sign_in(acme.admin.id)?;
        // Nothing to say: no banner.
        let calm = s.token(&acme, "Calm robot", &[1104])?;
        ensure!(!browser.get(TOKENS)?.body.contains("id=\"trouble\""));

        let leaky = s.token(&acme, "Leaky robot", &[1104])?;
        report_leaked(s, &leaky.id)?;
        let deleted = s.token(&acme, "Deleted leaky", &[1104])?;
        report_leaked(s, &deleted.id)?;
        delete_in_store(s, &acme, &deleted.id)?;
        let now = OffsetDateTime::now_utc();
        let retired = s.token(&acme, "Retired robot", &[1104])?;
        s.store.record_authentication_failure(
            TokenId::parse(&retired.id)?,
            FailureReason::RetiredValue,
            &Context::system(now),
        )?;
        let long_ago = s.token(&acme, "Long ago robot", &[1104])?;
        s.store.record_authentication_failure(
            TokenId::parse(&long_ago.id)?,
            FailureReason::RetiredValue,
            &Context::system(now - Duration::days(8)),
        )?;
        let wrong = s.token(&acme, "Wrong secret robot", &[1104])?;
        s.store.record_authentication_failure(
            TokenId::parse(&wrong.id)?,
            FailureReason::WrongSecret,
            &Context::system(now),
        )?;
        let soon = s.token(&acme, "Soon robot", &[1104])?;
        set_expiry(
            s,
            &acme,
            &soon.id,
            now + Duration::days(2) + Duration::hours(1),
        )?;
        let theirs = s.token(&other, "Their leaky robot", &[1104])?;
        report_leaked(s, &theirs.id)?;

        let list = browser.get(TOKENS)?;
        ensure!(
            list.body.contains("API tokens that need attention"),
            "{}",
            list.body
        );
        let leaked = banner_item(&list.body, "compromised").ok_or("no leak warning")?;
        ensure!(
            leaked.contains("Leaky robot") && leaked.contains(&leaky.id),
            "{leaked}"
        );
        ensure!(!leaked.contains("Deleted leaky") && !leaked.contains("Their leaky robot"));
        let used = banner_item(&list.body, "retired-value").ok_or("no retired-value warning")?;
        ensure!(used.contains("Retired robot"), "{used}");
        ensure!(
            !used.contains("Long ago robot") && !used.contains("Wrong secret robot"),
            "{used}"
        );
        let expiring = banner_item(&list.body, "expiring").ok_or("no expiry warning")?;
        ensure!(expiring.contains("Soon robot") && expiring.contains("expires in 2 days"));
        ensure!(!list.body[..list.body.find("</section>").unwrap_or(0)].contains(&calm.id));
        // The leaked token's page says what to do.
        let details = browser.get(&format!("{TOKENS}/{}", leaky.id))?;
        ensure!(details.body.contains("reported leaked, so it was disabled"));

        // At most five names a kind, then how many more.
        for n in 0..6 {
            let token = s.token(&other, &format!("Leaky {n}"), &[1104])?;
            report_leaked(s, &token.id)?;
        }
        let mut theirs_browser = Browser::new(s)?;
        theirs_browser.sign_in(other.admin.id)?;
        let list = theirs_browser.get(TOKENS)?;
        let leaked = banner_item(&list.body, "compromised").ok_or("no leak warning")?;
        ensure_eq!(leaked.matches("<a href=").count(), 5, "{leaked}");
        ensure!(leaked.contains(" and 2 more"), "{leaked}");
        ensure!(banner_item(&list.body, "expiring").is_none());
        Ok(())
    })
}
