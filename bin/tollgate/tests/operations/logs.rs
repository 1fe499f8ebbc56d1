//! `TOLLGATE_LOG_FORMAT=json`: every line a server writes to stderr is one JSON object, and a
//! request's line carries its trace id, method, route pattern, status and duration.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::server::{R, Server, Tokens};

#[test]
fn every_log_line_is_one_json_object_and_request_lines_carry_their_fields() -> R<()> {
    let env = [
        ("TOLLGATE_LOG_FORMAT", "json".to_owned()),
        ("RUST_LOG", "info".to_owned()),
    ];
    let mut tokens = Tokens::default();
    let server = Server::start(&env, |dir, env| {
        tokens = Tokens::create(dir, env)?;
        Ok(())
    })?;
    let client = server.client()?;
    let mut requests = Vec::new();
    for (path, token, status) in [
        ("/healthz".to_owned(), None, 200),
        (
            format!("/public/v1/accounts/api-tokens/{}", tokens.victim_id),
            Some(&tokens.admin),
            200,
        ),
        ("/no/such/page?token=secret".to_owned(), None, 404),
    ] {
        let mut request = client.get(server.url(&path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let reply = request.send()?;
        assert_eq!(reply.status().as_u16(), status, "{path}");
        let id = reply
            .headers()
            .get("x-request-id")
            .and_then(|id| id.to_str().ok())
            .ok_or("no X-Request-Id")?
            .to_owned();
        requests.push((id, status));
    }
    let log = server.stop()?;

    let mut objects = Vec::new();
    for line in log.lines() {
        let value: Value = serde_json::from_str(line)
            .map_err(|error| format!("not a JSON line ({error}): {line:?}"))?;
        for field in ["time", "level", "target", "message"] {
            if !value[field].is_string() {
                return Err(format!("no {field} in {line}").into());
            }
        }
        OffsetDateTime::parse(value["time"].as_str().unwrap_or_default(), &Rfc3339)?;
        assert!(
            ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"]
                .contains(&value["level"].as_str().unwrap_or_default()),
            "{line}"
        );
        objects.push(value);
    }
    assert!(
        objects.iter().any(|line| line["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("listening on https://"))),
        "no start-up line: {log}"
    );
    let routes = [
        "/healthz",
        "/public/v1/accounts/api-tokens/{id}",
        "(unmatched)",
    ];
    for ((id, status), route) in requests.iter().zip(routes) {
        let line = objects
            .iter()
            .find(|line| line["trace_id"] == id.as_str())
            .ok_or_else(|| format!("no line for request {id}: {log}"))?;
        assert_eq!(line["route"], route, "{line}");
        assert_eq!(line["status"], *status, "{line}");
        assert_eq!(line["method"], "GET", "{line}");
        assert_eq!(line["target"], "tollgate_http::middleware", "{line}");
        assert!(
            line["duration_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
            "{line}"
        );
    }
    assert!(!log.contains("token=secret"), "a query string was logged");
    assert!(!log.contains(&tokens.admin), "a token value was logged");
    Ok(())
}
