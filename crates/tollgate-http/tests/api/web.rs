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
use tollgate_domain::{AccountType, DisplayName, TokenId, TokenStatus, UserId, Visibility};

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
