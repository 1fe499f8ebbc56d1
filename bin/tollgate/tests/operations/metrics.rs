//! The two expositions on live servers, through `promtool check metrics`: the public
//! `/metrics` (no metrics listener) names no refusal reason; the metrics listener
//! (`TOLLGATE_METRICS_LISTEN`) serves them with reasons, and the probes, and the public
//! listener then has no `/metrics`.

use std::process::Command;

use crate::server::{R, Server, Tokens, wait_until};
use crate::tools::promtool_check;

/// Every family of the gate that `/metrics` must carry, as before the exposition moved to the
/// prometheus crate.
const GATE_FAMILIES: &[&str] = &[
    "tollgate_gate_regime",
    "tollgate_gate_unconfirmed_decisions_total",
    "tollgate_gate_stale_refusals_total",
    "tollgate_gate_breaker_refusals_total",
    "tollgate_gate_fill_failures_total",
    "tollgate_feed_listener_replacements_total",
    "tollgate_feed_poll_failures_total",
    "tollgate_gate_cache_hits_total",
    "tollgate_gate_cache_fills_total",
    "tollgate_gate_unknown_ids_total",
    "tollgate_gate_stale_fills_total",
    "tollgate_gate_cached_tokens",
    "tollgate_gate_ready",
    "tollgate_gate_pending_writes",
    "tollgate_tokens_expiring_soon",
    "tollgate_retired_values_presented_total",
    "tollgate_tokens_reported_leaked_total",
];

/// What a refused token's reason is called in the operators' exposition.
const REASONS: &[&str] = &[
    "token-deleted",
    "token-disabled",
    "wrong-secret",
    "unknown-token",
    "malformed",
    "missing-credential",
];

fn start(metrics_listener: bool) -> R<(Server, Tokens)> {
    let mut env = vec![("RUST_LOG", "warn".to_owned())];
    if metrics_listener {
        env.push(("TOLLGATE_METRICS_LISTEN", "127.0.0.1:0".to_owned()));
    }
    let mut tokens = Tokens::default();
    let server = Server::start(&env, |dir, env| {
        tokens = Tokens::create(dir, env)?;
        Ok(())
    })?;
    Ok((server, tokens))
}

/// Refusals of several reasons, on `/v1/authorize` and on the REST API: a deleted token, a
/// malformed one, none at all.
fn refusals(server: &Server, tokens: &Tokens) -> R<()> {
    let client = server.client()?;
    let authorize = |value: Option<&str>| -> R<u16> {
        let mut request = client
            .get(server.url("/v1/authorize"))
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-method", "GET")
            .header("x-forwarded-uri", "/public/v1/billing/invoices");
        if let Some(value) = value {
            request = request.bearer_auth(value);
        }
        Ok(request.send()?.status().as_u16())
    };
    assert_eq!(authorize(Some(&tokens.victim))?, 200);
    let deleted = client
        .delete(server.url(&format!(
            "/public/v1/accounts/api-tokens/{}",
            tokens.victim_id
        )))
        .bearer_auth(&tokens.admin)
        .send()?
        .status()
        .as_u16();
    assert_eq!(deleted, 204, "deleting the second token");
    assert_eq!(authorize(Some(&tokens.victim))?, 401);
    assert_eq!(authorize(Some("not-a-token"))?, 401);
    assert_eq!(authorize(None)?, 401);
    let rest = client
        .get(server.url("/public/v1/accounts/api-tokens"))
        .bearer_auth(&tokens.victim)
        .send()?
        .status()
        .as_u16();
    assert_eq!(rest, 401);
    Ok(())
}

fn families_present(text: &str) -> R<()> {
    for family in GATE_FAMILIES.iter().chain(&[
        "tollgate_http_requests_total",
        "tollgate_authorize_refusals_total",
    ]) {
        if !text.contains(&format!("# HELP {family} "))
            || !text.contains(&format!("# TYPE {family} "))
        {
            return Err(format!("{family} is missing:\n{text}").into());
        }
    }
    if !text.contains(
        "tollgate_http_request_duration_seconds_bucket{route=\"/v1/authorize\",le=\"0.005\"}",
    ) {
        return Err(format!("no latency histogram for /v1/authorize:\n{text}").into());
    }
    Ok(())
}

#[test]
fn without_a_metrics_listener_the_public_metrics_pass_promtool_and_name_no_reason() -> R<()> {
    let (server, tokens) = start(false)?;
    refusals(&server, &tokens)?;
    let reply = server.client()?.get(server.url("/metrics")).send()?;
    assert_eq!(reply.status().as_u16(), 200);
    let text = reply.text()?;
    promtool_check(&text)?;
    families_present(&text)?;
    // The refusals are counted, but not why: that is what the 401 body does not say either.
    assert!(
        text.contains("\ntollgate_authorize_refusals_total 3\n"),
        "{text}"
    );
    assert!(
        text.contains("\ntollgate_authentication_failures_total 1\n"),
        "{text}"
    );
    assert!(!text.contains("reason="), "a reason label:\n{text}");
    for reason in REASONS {
        assert!(
            !text.contains(reason),
            "{reason} in the public metrics:\n{text}"
        );
    }
    server.stop()?;
    Ok(())
}

#[test]
fn the_metrics_listener_serves_the_reasons_and_the_probes_and_takes_metrics_off_https() -> R<()> {
    let (server, tokens) = start(true)?;
    refusals(&server, &tokens)?;
    let client = server.client()?;
    let public = client.get(server.url("/metrics")).send()?.status().as_u16();
    assert_eq!(public, 404, "the public listener still serves /metrics");

    let plain = reqwest::blocking::Client::builder().build()?;
    let reply = plain.get(server.metrics_url("/metrics")?).send()?;
    assert_eq!(reply.status().as_u16(), 200);
    let text = reply.text()?;
    promtool_check(&text)?;
    families_present(&text)?;
    for series in [
        "tollgate_authorize_refusals_total{reason=\"token-deleted\"} 1",
        "tollgate_authorize_refusals_total{reason=\"malformed\"} 1",
        "tollgate_authorize_refusals_total{reason=\"missing-credential\"} 1",
        "tollgate_authentication_failures_total{reason=\"token-deleted\"} 1",
    ] {
        assert!(text.contains(series), "no {series}:\n{text}");
    }

    for (path, status) in [
        ("/healthz", 200),
        ("/readyz", 200),
        ("/readyz?strict", 200),
        ("/public/v1/accounts/api-tokens", 404),
        ("/v1/authorize", 404),
        ("/public/v1/openapi.json", 404),
    ] {
        let got = plain
            .get(server.metrics_url(path)?)
            .send()?
            .status()
            .as_u16();
        assert_eq!(got, status, "{path} on the metrics listener");
    }
    let post = plain
        .post(server.metrics_url("/metrics")?)
        .send()?
        .status()
        .as_u16();
    assert_eq!(post, 405);
    let ready: serde_json::Value = plain.get(server.metrics_url("/readyz")?).send()?.json()?;
    assert_eq!(ready["regime"], 1, "{ready}");

    // The container's health check.
    let address = server.metrics.ok_or("no metrics listener")?.to_string();
    let probe = |address: &str| -> R<bool> {
        Ok(Command::new(env!("CARGO_BIN_EXE_tollgate"))
            .args(["probe", "--address", address])
            .output()?
            .status
            .success())
    };
    assert!(probe(&address)?, "tollgate probe against a running server");
    server.stop()?;
    wait_until("the probe to fail once the server has stopped", || {
        Ok(!probe(&address)?)
    })?;
    Ok(())
}
