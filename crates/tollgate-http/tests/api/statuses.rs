//! Every status code of SPEC §5 that exists now, each with its problem body (431: bare), and 503
//! when the database goes away.

use reqwest::Method;
use serde_json::json;
use tollgate_domain::AccountType;

use crate::common::*;

/// The value with its last character changed (the checksum no longer matches).
pub fn mistyped(value: &str) -> String {
    let last = if value.ends_with('x') { 'y' } else { 'x' };
    format!("{}{last}", &value[..value.len() - 1])
}

#[test]
fn every_status_code() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        let billing = s.token(&acme, "Billing robot", &[BILLING])?;
        let path = token_path(&billing.id);

        // 200, 201, 204.
        s.get(&admin, TOKENS)?.expect(200)?;
        let bot = s.create(&admin, "CRM bot", &[BILLING])?;
        s.delete(&admin, &token_path(&bot.id))?.status_is(204)?;

        // 400.
        s.get(&admin, &format!("{TOKENS}?eq(name"))?
            .problem(400, "bad-request")?;
        let problem = s
            .post(
                &admin,
                TOKENS,
                json!({"name": "", "modules": module_refs(&[BILLING])}),
            )?
            .problem(400, "validation")?;
        ensure!(problem["errors"]["name"].is_array(), "{problem}");
        // 401: missing, malformed, unknown.
        for reply in [
            s.call(Method::GET, TOKENS, None, Body::None)?,
            s.send(s.request(Method::GET, TOKENS, None).bearer_auth("nonsense"))?,
            s.send(
                s.request(Method::GET, TOKENS, None)
                    .header("authorization", format!("Basic {}", admin.value)),
            )?,
            s.send(
                s.request(Method::GET, TOKENS, None)
                    .bearer_auth(mistyped(&admin.value)),
            )?,
        ] {
            reply.problem(401, "unauthenticated")?;
            ensure_eq!(reply.header("www-authenticate"), Some("Bearer"));
        }
        // 403.
        s.get(&billing, TOKENS)?.problem(403, "forbidden")?;
        // 404: unknown token, malformed id, unknown endpoint.
        s.get(&admin, &token_path("TKN-0000-0000"))?
            .problem(404, "not-found")?;
        s.get(&admin, &token_path("nope"))?
            .problem(404, "not-found")?;
        s.get(&admin, "/public/v1/accounts/api-tokens/x/y")?
            .problem(404, "not-found")?;
        s.get(&admin, "/public/v2/anything")?
            .problem(404, "not-found")?;
        // 405.
        for (method, path) in [
            (Method::PATCH, TOKENS.to_owned()),
            (Method::DELETE, TOKENS.to_owned()),
            (Method::POST, path.clone()),
            (Method::GET, format!("{path}/enable")),
            (Method::PUT, format!("{path}/disable")),
            (Method::POST, MODULES.to_owned()),
            (Method::DELETE, AUDIT_RECORDS.to_owned()),
        ] {
            s.call(method.clone(), &path, Some(&admin), Body::None)?
                .problem(405, "method-not-allowed")
                .map_err(|error| format!("{method} {path}: {error}"))?;
        }
        // 409.
        s.switch(&admin, &billing.id, "enable")?
            .problem(409, "conflict")?;
        // 413.
        s.call(
            Method::POST,
            TOKENS,
            Some(&admin),
            Body::raw("application/json", vec![b' '; 64 * 1024 + 1]),
        )?
        .problem(413, "payload-too-large")?;
        // 415.
        s.call(
            Method::POST,
            TOKENS,
            Some(&admin),
            Body::raw("text/plain", b"{}".to_vec()),
        )?
        .problem(415, "unsupported-media-type")?;
        // 431: raised by the HTTP codec before routing; the status is all there is.
        // (The server closes the connection after it: no connection is kept for reuse.)
        let client = s.one_off_client()?;
        let mut builder = client.get(s.url(TOKENS)).bearer_auth(&admin.value);
        for n in 0..200 {
            builder = builder.header(format!("x-filler-{n}"), "v".repeat(500));
        }
        ensure_eq!(s.send(builder)?.status, 431);
        // Health.
        ensure_eq!(
            s.call(Method::GET, "/healthz", None, Body::None)?.status,
            200
        );
        ensure_eq!(
            s.call(Method::GET, "/readyz", None, Body::None)?.status,
            200
        );
        Ok(())
    })
}

#[test]
fn database_unavailable_is_503() -> TestResult {
    let options = Options {
        connection_timeout: std::time::Duration::from_millis(500),
        ..Options::default()
    };
    let s = Server::start(Backend::Postgres, options)?;
    let acme = s.account(AccountType::Client, "Acme")?;
    let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
    s.get(&admin, TOKENS)?.expect(200)?;
    s.drop_database()?;

    // The cached token still authenticates (regime 3, within TOLLGATE_MAX_STALE), and what needs
    // no database still works: the module list comes from the cached catalog.
    s.get(&admin, MODULES)?.expect(200)?;
    for path in [TOKENS.to_owned(), token_path(&admin.id)] {
        let reply = s.get(&admin, &path)?;
        let problem = reply.problem(503, "unavailable")?;
        let text = reply.text().to_lowercase();
        for secret in [
            "tollgate_test",
            "postgres",
            "database \"",
            "does not exist",
            "connection",
            "127.0.0.1",
            "r2d2",
            "diesel",
        ] {
            ensure!(
                !text.contains(secret),
                "the 503 body says something internal ({secret}): {problem}"
            );
        }
    }
    let reply = s.call(
        Method::POST,
        TOKENS,
        Some(&admin),
        Body::Json(json!({"name": "New", "modules": module_refs(&[BILLING])})),
    )?;
    reply.problem(503, "unavailable")?;
    // Ready (a blip must not make a load balancer drop every instance), but not strictly, and
    // the body names the regime.
    wait_for("regime 3", || {
        let ready = s.call(Method::GET, "/readyz", None, Body::None)?;
        Ok((ready.status == 200 && ready.json()?["regime"] == 3).then_some(()))
    })?;
    let strict = s.call(Method::GET, "/readyz?strict", None, Body::None)?;
    ensure_eq!(strict.status, 503);
    ensure_eq!(strict.json()?["regimeName"], "database-unreachable");
    ensure_eq!(
        s.call(Method::GET, "/healthz", None, Body::None)?.status,
        200
    );
    // Requests that need no database still work.
    ensure_eq!(
        s.call(Method::GET, "/public/v1/openapi.json", None, Body::None)?
            .status,
        200
    );
    Ok(())
}
