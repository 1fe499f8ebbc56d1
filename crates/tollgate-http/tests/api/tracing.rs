//! Request ids (`X-Request-Id`, `traceId`, W3C `traceparent`) and `/metrics`.

use reqwest::Method;
use serde_json::json;
use tollgate_domain::AccountType;

use crate::common::*;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[test]
fn every_response_has_a_request_id() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        let bot = s.create(&admin, "CRM bot", &[BILLING])?;
        let replies = [
            s.get(&admin, TOKENS)?,
            s.get(&admin, &token_path(&bot.id))?,
            s.post(
                &admin,
                TOKENS,
                json!({"name": "Second", "modules": module_refs(&[BILLING])}),
            )?,
            s.delete(&admin, &token_path(&bot.id))?,
            s.call(Method::GET, TOKENS, None, Body::None)?,
            s.get(&admin, "/public/v1/nowhere")?,
            s.call(Method::PATCH, TOKENS, Some(&admin), Body::None)?,
            s.get(&admin, &format!("{TOKENS}?eq(name"))?,
            s.call(Method::GET, "/healthz", None, Body::None)?,
            s.call(Method::GET, "/readyz", None, Body::None)?,
            s.call(Method::GET, "/metrics", None, Body::None)?,
            s.call(Method::GET, "/public/v1/openapi.json", None, Body::None)?,
            s.raw_get(&admin, TOKENS)?,
        ];
        let mut ids = Vec::new();
        for reply in &replies {
            let id = reply
                .header("x-request-id")
                .ok_or_else(|| format!("status {}: no X-Request-Id", reply.status))?;
            ensure!(is_trace_id(id), "a malformed request id {id:?}");
            ids.push(id.to_owned());
            if reply.status >= 400 {
                // `problem` checks the body's traceId is the header's.
                let code = match reply.status {
                    400 => "bad-request",
                    401 => "unauthenticated",
                    404 => "not-found",
                    405 => "method-not-allowed",
                    other => return Err(format!("unexpected status {other}").into()),
                };
                reply.problem(reply.status, code)?;
            }
        }
        let count = ids.len();
        ids.sort();
        ids.dedup();
        ensure_eq!(ids.len(), count, "request ids repeat");
        Ok(())
    })
}

#[test]
fn traceparent_is_honoured() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        // On success, on a problem, and in the audit record of a change.
        let reply = s.send(
            s.request(Method::GET, TOKENS, Some(&admin))
                .header("traceparent", TRACEPARENT),
        )?;
        reply.expect(200)?;
        ensure!(
            reply
                .header("x-request-id")
                .is_some_and(|id| id.contains(TRACE)),
            "{:?}",
            reply.header("x-request-id")
        );
        let reply = s.send(
            s.request(Method::GET, TOKENS, None)
                .header("traceparent", TRACEPARENT),
        )?;
        let problem = reply.problem(401, "unauthenticated")?;
        ensure!(
            problem["traceId"]
                .as_str()
                .is_some_and(|id| id.contains(TRACE)),
            "{problem}"
        );
        let body = s
            .send(
                s.request(Method::POST, TOKENS, Some(&admin))
                    .header("traceparent", TRACEPARENT)
                    .json(&json!({"name": "Traced", "modules": module_refs(&[BILLING])})),
            )?
            .expect(201)?;
        let id = body["id"].as_str().ok_or("no id")?;
        let records = s
            .get(&admin, &format!("{AUDIT_RECORDS}?eq(object.id,{id})"))?
            .expect(200)?;
        ensure!(
            records["data"][0]["request"]["log"]["correlationId"]
                .as_str()
                .is_some_and(|id| id.contains(TRACE)),
            "{records}"
        );

        // Invalid traceparents are replaced by a fresh id.
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-01",
            "garbage",
        ] {
            let reply = s.send(
                s.request(Method::GET, TOKENS, Some(&admin))
                    .header("traceparent", bad),
            )?;
            let id = reply.header("x-request-id").ok_or("no X-Request-Id")?;
            ensure!(is_trace_id(id), "{id}");
            ensure!(
                !id.to_lowercase().contains(TRACE)
                    && !id.contains("00000000000000000000000000000000"),
                "{bad} was kept as {id}"
            );
        }
        Ok(())
    })
}

fn metric(text: &str, line_start: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(line_start))
        .and_then(|rest| rest.trim().parse().ok())
}

#[test]
fn metrics_count_requests_by_route_and_status() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        for _ in 0..3 {
            s.get(&admin, TOKENS)?.expect(200)?;
        }
        for _ in 0..2 {
            s.call(Method::GET, TOKENS, None, Body::None)?
                .status_is(401)?;
        }
        s.get(&admin, &token_path(&admin.id))?.expect(200)?;
        s.get(&admin, &token_path("TKN-9999-0001"))?
            .status_is(404)?;
        s.get(&admin, "/public/v1/secret-probe-12345")?
            .status_is(404)?;

        let reply = s.call(Method::GET, "/metrics", None, Body::None)?;
        reply.status_is(200)?;
        ensure!(
            reply
                .header("content-type")
                .is_some_and(|t| t.starts_with("text/plain")),
            "{:?}",
            reply.header("content-type")
        );
        let text = reply.text();
        let requests = |route: &str, status: u16| {
            metric(
                &text,
                &format!(
                    "tollgate_http_requests_total{{method=\"GET\",route=\"{route}\",status=\"{status}\"}}"
                ),
            )
        };
        ensure_eq!(requests(TOKENS, 200), Some(3), "{text}");
        ensure_eq!(requests(TOKENS, 401), Some(2), "{text}");
        ensure_eq!(
            requests("/public/v1/accounts/api-tokens/{id}", 200),
            Some(1),
            "{text}"
        );
        ensure_eq!(
            requests("/public/v1/accounts/api-tokens/{id}", 404),
            Some(1),
            "{text}"
        );
        ensure_eq!(
            metric(
                &text,
                &format!("tollgate_http_request_duration_seconds_count{{route=\"{TOKENS}\"}}")
            ),
            Some(5),
            "{text}"
        );
        // Labels are route patterns, never concrete paths.
        ensure!(!text.contains(&admin.id), "a token id is a label");
        ensure!(!text.contains("TKN-9999-0001"), "a token id is a label");
        ensure!(!text.contains("secret-probe"), "an unknown path is a label");
        Ok(())
    })
}
