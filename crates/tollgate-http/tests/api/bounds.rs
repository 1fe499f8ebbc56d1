//! What a client cannot make unbounded: `/metrics` series (route patterns and standard methods
//! only, whatever is sent), and the time a worker waits for a request body (408 after the body
//! timeout, on every route that reads one: the REST API, introspection, sign-in, the pages).

use std::time::{Duration, Instant};

use rand::rngs::OsRng;
use reqwest::Method;
use serde_json::json;
use time::OffsetDateTime;
use tollgate_domain::AccountType;
use tollgate_domain::ticket::Session;

use crate::common::*;

/// The `tollgate_http_requests_total` series of the exposition.
fn request_series(s: &Server) -> R<Vec<String>> {
    let text = s.call(Method::GET, "/metrics", None, Body::None)?.text();
    Ok(text
        .lines()
        .filter(|line| line.starts_with("tollgate_http_requests_total{"))
        .filter_map(|line| line.rsplit_once(' ').map(|(series, _)| series.to_owned()))
        .collect())
}

/// Requests a client chooses freely: extension methods, unknown paths, ids in known routes.
fn junk(s: &Server, token: &Tok, round: u32) -> R<()> {
    let method = Method::from_bytes(format!("FOO{round}").as_bytes())?;
    s.call(method.clone(), TOKENS, Some(token), Body::None)?;
    s.call(method, &format!("/junk/{round}"), None, Body::None)?;
    s.call(
        Method::GET,
        &format!("/no/such/path-{round}?x={round}"),
        None,
        Body::None,
    )?
    .problem(404, "not-found")?;
    s.get(token, &token_path(&format!("TKN-0000-{round:04}")))?
        .problem(404, "not-found")?;
    s.call(
        Method::GET,
        &format!("/v1/authorize/public/v1/x{round}"),
        Some(token),
        Body::None,
    )?
    .status_is(403)?;
    Ok(())
}

#[test]
fn metric_series_stay_bounded_whatever_clients_send() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        for round in 0..5 {
            junk(s, &admin, round)?;
        }
        // (The first scrape adds the /metrics series itself.)
        request_series(s)?;
        let before = request_series(s)?;
        for round in 5..25 {
            junk(s, &admin, round)?;
        }
        let after = request_series(s)?;
        ensure_eq!(after, before, "new series for new junk");
        let labels = after.join("\n");
        for leak in ["FOO", "/junk", "/no/such", "TKN-0000", "/public/v1/x"] {
            ensure!(!labels.contains(leak), "{leak} is a label:\n{labels}");
        }
        for expected in [
            "method=\"other\",route=\"(unmatched)\"",
            "method=\"other\",route=\"/public/v1/accounts/api-tokens\"",
            "method=\"GET\",route=\"/v1/authorize/{path:.*}\"",
        ] {
            ensure!(labels.contains(expected), "no {expected}:\n{labels}");
        }
        Ok(())
    })
}

/// The body timeout of these servers.
const BODY_TIMEOUT: Duration = Duration::from_millis(400);

/// A request whose head promises a body of 1000 bytes and whose body stops after 10.
fn slow(method: &str, path: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("Content-Length: 1000\r\nConnection: close\r\n\r\n0123456789");
    request.into_bytes()
}

#[test]
fn a_slow_body_gets_408_on_every_route_that_reads_one() -> TestResult {
    let options = Options {
        body_timeout: BODY_TIMEOUT,
        ..Options::default()
    };
    each_backend_with(&options, |s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        let bot = s.token(&acme, "Bot", &[BILLING])?;
        let cookie = format!(
            "__Host-tollgate-session={}",
            Session::issue(
                &s.keys.session,
                acme.admin.id,
                OffsetDateTime::now_utc(),
                time::Duration::hours(1),
                &mut OsRng,
            )
        );
        let bearer = format!("Bearer {}", admin.value);
        let (bearer, cookie) = (bearer.as_str(), cookie.as_str());
        let json = ("Content-Type", "application/json");
        let form = ("Content-Type", "application/x-www-form-urlencoded");
        let pages = "/administration/settings/api-tokens";
        let bot_path = token_path(&bot.id);
        // (what, request, an HTML page rather than a problem)
        let cases: Vec<(&str, Vec<u8>, bool)> = vec![
            (
                "REST create",
                slow("POST", TOKENS, &[("Authorization", bearer), json]),
                false,
            ),
            (
                "REST update",
                slow("PUT", &bot_path, &[("Authorization", bearer), json]),
                false,
            ),
            (
                "REST disable",
                slow(
                    "POST",
                    &format!("{bot_path}/disable"),
                    &[("Authorization", bearer), json],
                ),
                false,
            ),
            (
                "REST icon",
                slow(
                    "PUT",
                    &format!("{bot_path}/icon"),
                    &[("Authorization", bearer), ("Content-Type", "image/png")],
                ),
                false,
            ),
            (
                "introspection",
                slow("POST", "/v1/introspect", &[("Authorization", bearer), json]),
                false,
            ),
            ("sign-in", slow("POST", "/sign-in", &[form]), true),
            (
                "sign-out",
                slow("POST", "/sign-out", &[("Cookie", cookie), form]),
                true,
            ),
            (
                "the wizard (multipart)",
                slow(
                    "POST",
                    &format!("{pages}/new"),
                    &[
                        ("Cookie", cookie),
                        ("Content-Type", "multipart/form-data; boundary=b"),
                    ],
                ),
                true,
            ),
            (
                "the edit form",
                slow(
                    "POST",
                    &format!("{pages}/{}/edit", bot.id),
                    &[("Cookie", cookie), form],
                ),
                true,
            ),
            (
                "a page action",
                slow(
                    "POST",
                    &format!("{pages}/{}/disable", bot.id),
                    &[("Cookie", cookie), form],
                ),
                true,
            ),
        ];
        let before = s.snapshot()?;
        // All at once: a slow client holds no worker, so they are answered together.
        let started = Instant::now();
        let replies: Vec<(&str, R<Reply>, bool)> = std::thread::scope(|scope| {
            let handles: Vec<_> = cases
                .iter()
                .map(|(what, request, html)| (*what, scope.spawn(|| s.raw(request)), *html))
                .collect();
            handles
                .into_iter()
                .map(|(what, handle, html)| {
                    let reply = handle
                        .join()
                        .unwrap_or_else(|_| Err("the client thread panicked".into()));
                    (what, reply, html)
                })
                .collect()
        });
        for (what, reply, html) in replies {
            let reply = reply.map_err(|error| format!("{what}: {error}"))?;
            if html {
                ensure_eq!(reply.status, 408, "{what}: {}", reply.text());
                ensure!(
                    reply
                        .header("content-type")
                        .is_some_and(|t| t.starts_with("text/html")),
                    "{what}: {:?}",
                    reply.header("content-type")
                );
            } else {
                reply
                    .problem(408, "request-timeout")
                    .map_err(|error| format!("{what}: {error}"))?;
            }
        }
        ensure!(
            started.elapsed() < Duration::from_secs(10),
            "answered after {:?}",
            started.elapsed()
        );
        ensure_eq!(
            s.snapshot()?,
            before,
            "a timed-out request changed something"
        );

        // A body that arrives in time is read as before.
        s.put(&admin, &bot_path, json!({"name": "In time"}))?
            .expect(200)?;
        Ok(())
    })
}
