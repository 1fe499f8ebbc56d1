//! Bad and hostile input: each gets its documented 4xx and changes nothing (SPEC §5); plain HTTP
//! is refused before any credential is looked at (SPEC §4).

use reqwest::Method;
use serde_json::json;
use tollgate_domain::AccountType;

use crate::common::*;

/// Sends `body` to `method path` and expects `status` with problem `code`, and no change.
fn refused(
    s: &Server,
    token: &Tok,
    method: Method,
    path: &str,
    body: Body,
    status: u16,
    code: &str,
) -> R<()> {
    let before = s.snapshot()?;
    let reply = s.call(method.clone(), path, Some(token), body)?;
    reply
        .problem(status, code)
        .map_err(|error| format!("{method} {path}: {error}"))?;
    let after = s.snapshot()?;
    if after != before {
        return Err(format!("{method} {path} was refused but changed something").into());
    }
    Ok(())
}

fn json_body(text: &str) -> Body {
    Body::raw("application/json", text.as_bytes().to_vec())
}

fn nested(depth: usize) -> String {
    format!(
        "{{\"name\": {}\"x\"{}, \"modules\": [{{\"id\": \"MOD-1104\"}}]}}",
        "[".repeat(depth),
        "]".repeat(depth)
    )
}

#[test]
fn bad_bodies_change_nothing() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        let bot = s.create(&admin, "CRM bot", &[BILLING])?;
        let path = token_path(&bot.id);
        let enable = format!("{path}/enable");
        let disable = format!("{path}/disable");
        let valid = r#"{"name": "Valid", "modules": [{"id": "MOD-1104"}]}"#;
        let mut invalid_utf8 = br#"{"name": "Bad "#.to_vec();
        invalid_utf8.extend_from_slice(&[0xFF, 0xFE, 0xC3]);
        invalid_utf8.extend_from_slice(br#"", "modules": [{"id": "MOD-1104"}]}"#);
        let mut one_megabyte = br#"{"name": "Big", "description": ""#.to_vec();
        one_megabyte.resize(1024 * 1024, b'a');
        one_megabyte.extend_from_slice(br#"", "modules": [{"id": "MOD-1104"}]}"#);

        let create_cases: Vec<(&str, Body, u16, &str)> = vec![
            (
                "malformed",
                json_body(r#"{"name": "x","#),
                400,
                "bad-request",
            ),
            ("not an object", json_body("[]"), 400, "bad-request"),
            ("null", json_body("null"), 400, "bad-request"),
            ("empty", json_body(""), 400, "bad-request"),
            (
                "deeply nested",
                json_body(&nested(30_000)),
                400,
                "bad-request",
            ),
            (
                "very deeply nested",
                json_body(&nested(100_000)),
                413,
                "payload-too-large",
            ),
            (
                "unknown field",
                json_body(r#"{"name": "x", "modules": [{"id": "MOD-1104"}], "colour": "red"}"#),
                400,
                "bad-request",
            ),
            (
                "unknown module field",
                json_body(r#"{"name": "x", "modules": [{"id": "MOD-1104", "scope": "all"}]}"#),
                400,
                "bad-request",
            ),
            (
                "secret field",
                json_body(r#"{"name": "x", "modules": [{"id": "MOD-1104"}], "token": "idt:x"}"#),
                400,
                "bad-request",
            ),
            (
                "name is a number",
                json_body(r#"{"name": 5, "modules": [{"id": "MOD-1104"}]}"#),
                400,
                "bad-request",
            ),
            (
                "modules is a string",
                json_body(r#"{"name": "x", "modules": "x"}"#),
                400,
                "bad-request",
            ),
            (
                "duplicate key",
                json_body(r#"{"name": "x", "name": "y", "modules": [{"id": "MOD-1104"}]}"#),
                400,
                "bad-request",
            ),
            (
                "invalid UTF-8",
                Body::raw("application/json", invalid_utf8),
                400,
                "bad-request",
            ),
            (
                "1 MB",
                Body::raw("application/json", one_megabyte.clone()),
                413,
                "payload-too-large",
            ),
            (
                "text/plain",
                Body::raw("text/plain", valid.as_bytes().to_vec()),
                415,
                "unsupported-media-type",
            ),
            (
                "form",
                Body::raw(
                    "application/x-www-form-urlencoded",
                    b"name=x&modules=MOD-1104".to_vec(),
                ),
                415,
                "unsupported-media-type",
            ),
            (
                "no content type",
                Body::untyped(valid.as_bytes().to_vec()),
                415,
                "unsupported-media-type",
            ),
            (
                "empty name",
                json_body(r#"{"name": "", "modules": [{"id": "MOD-1104"}]}"#),
                400,
                "validation",
            ),
            (
                "markup in the name",
                json_body(
                    r#"{"name": "<script>alert(1)</script>", "modules": [{"id": "MOD-1104"}]}"#,
                ),
                400,
                "validation",
            ),
            (
                "201 characters",
                json_body(&format!(
                    r#"{{"name": "{}", "modules": [{{"id": "MOD-1104"}}]}}"#,
                    "a".repeat(201)
                )),
                400,
                "validation",
            ),
            (
                "2001-character description",
                json_body(&format!(
                    r#"{{"name": "x", "description": "{}", "modules": [{{"id": "MOD-1104"}}]}}"#,
                    "d".repeat(2001)
                )),
                400,
                "validation",
            ),
            (
                "an icon value",
                json_body(
                    r#"{"name": "x", "modules": [{"id": "MOD-1104"}], "icon": "http://evil/x.png"}"#,
                ),
                400,
                "validation",
            ),
        ];
        for (what, body, status, code) in create_cases {
            refused(s, &admin, Method::POST, TOKENS, body, status, code)
                .map_err(|error| format!("create, {what}: {error}"))?;
        }
        // Too large without a Content-Length (chunked): refused while reading.
        let before = s.snapshot()?;
        let chunked = reqwest::blocking::Body::new(std::io::Cursor::new(vec![b' '; 1024 * 1024]));
        s.send(
            s.request(Method::POST, TOKENS, Some(&admin))
                .header("content-type", "application/json")
                .body(chunked),
        )?
        .problem(413, "payload-too-large")?;
        ensure_eq!(s.snapshot()?, before);
        // A charset parameter is fine.
        s.call(
            Method::POST,
            TOKENS,
            Some(&admin),
            Body::raw("application/json; charset=utf-8", valid.as_bytes().to_vec()),
        )?
        .expect(201)?;

        // The field errors name the field.
        let problem = s
            .post(
                &admin,
                TOKENS,
                json!({"name": "a".repeat(201), "modules": module_refs(&[BILLING])}),
            )?
            .problem(400, "validation")?;
        ensure!(problem["errors"]["name"].is_array(), "{problem}");

        let update_cases: Vec<(&str, Body, u16, &str)> = vec![
            ("malformed", json_body("{"), 400, "bad-request"),
            (
                "unknown field",
                json_body(r#"{"colour": "red"}"#),
                400,
                "bad-request",
            ),
            (
                "revision is text",
                json_body(r#"{"revision": "x"}"#),
                400,
                "bad-request",
            ),
            (
                "negative revision",
                json_body(r#"{"revision": -1}"#),
                400,
                "bad-request",
            ),
            (
                "modules empty",
                json_body(r#"{"modules": []}"#),
                400,
                "validation",
            ),
            ("name null", json_body(r#"{"name": 7}"#), 400, "bad-request"),
            (
                "deeply nested",
                json_body(&nested(30_000)),
                400,
                "bad-request",
            ),
            (
                "1 MB",
                Body::raw("application/json", one_megabyte),
                413,
                "payload-too-large",
            ),
            (
                "text/plain",
                Body::raw("text/plain", br#"{"name": "x"}"#.to_vec()),
                415,
                "unsupported-media-type",
            ),
            (
                "no content type",
                Body::untyped(br#"{"name": "x"}"#.to_vec()),
                415,
                "unsupported-media-type",
            ),
        ];
        for (what, body, status, code) in update_cases {
            refused(s, &admin, Method::PUT, &path, body, status, code)
                .map_err(|error| format!("update, {what}: {error}"))?;
        }

        for action in [&disable, &enable] {
            for (what, body, status, code) in [
                (
                    "a field",
                    json_body(r#"{"status": "Disabled"}"#),
                    400,
                    "bad-request",
                ),
                ("malformed", json_body("{"), 400, "bad-request"),
                (
                    "text/plain",
                    Body::raw("text/plain", b"{}".to_vec()),
                    415,
                    "unsupported-media-type",
                ),
                (
                    "untyped body",
                    Body::untyped(b"{}".to_vec()),
                    415,
                    "unsupported-media-type",
                ),
            ] {
                refused(s, &admin, Method::POST, action, body, status, code)
                    .map_err(|error| format!("{action}, {what}: {error}"))?;
            }
        }
        // The token is as it was, and still usable.
        ensure_eq!(s.revision(&bot.id)?, 1);
        ensure_eq!(s.get(&bot, &path)?.status, 200);
        Ok(())
    })
}

fn shorten(text: &str) -> &str {
    text.get(..text.len().min(100)).unwrap_or(text)
}

/// A refusal (400 naming the problem) or an empty result: never a 5xx, never a match.
fn clean(s: &Server, token: &Tok, path_and_query: &str) -> R<u16> {
    let reply = s.get(token, path_and_query)?;
    clean_reply(path_and_query, &reply)
}

fn clean_reply(path_and_query: &str, reply: &Reply) -> R<u16> {
    let what = shorten(path_and_query);
    match reply.status {
        400 => {
            reply
                .problem(400, "bad-request")
                .map_err(|error| format!("{what}: {error}"))?;
        }
        200 => {
            let (total, _) = page_ids(&reply.json()?)?;
            if total != 0 {
                return Err(format!("{what} matched {total} rows").into());
            }
        }
        other => {
            return Err(format!(
                "{what}: status {other}, expected 400 or an empty 200: {}",
                shorten(&reply.text())
            )
            .into());
        }
    }
    Ok(reply.status)
}

#[test]
fn hostile_rql_is_refused_or_harmless() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        let bot = s.create(&admin, "CRM bot", &[BILLING])?;
        s.create(&admin, "X", &[BILLING])?;
        let before = s.snapshot()?;

        let deep = format!("{}eq(name,x){}", "not(".repeat(1000), ")".repeat(1000));
        let long_value = format!("eq(name,'{}')", "a".repeat(100 * 1024));
        let big_in = format!(
            "in(id,({}))",
            (0..1500)
                .map(|n| format!("TKN-0000-{n:04}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        // Too long for reqwest's URL type (64 KB): sent raw.
        let path = format!("{TOKENS}?{long_value}");
        let reply = s.raw_get(&admin, &path)?;
        ensure_eq!(reply.status, 400, "{}", shorten(&reply.text()));
        let must_refuse = [
            deep.as_str(),
            &long_value[..30 * 1024],
            big_in.as_str(),
            "and(eq(name,x)",
            "eq(name,x))",
            "eq(name,'x",
            "foo(name,x)",
            "eq(secret,x)",
            "not(eq(token,x))",
            "eq(status,Bogus)",
            "eq(lastAccessAt,yesterday)",
            "eq(name,%zz)",
            "eq(name,%FF)",
            "limit=-1",
            "limit=abc",
            "offset=-5",
            "order=+secret",
            "order=name,name",
            "select=+everything",
            "limit=1&limit=2",
            "and()",
            "not(eq(name,x),eq(name,y))",
            "any(modules,eq(name,x))",
        ];
        for query in must_refuse {
            let path = format!("{TOKENS}?{query}");
            let status = clean(s, &admin, &path)?;
            ensure_eq!(status, 400, "{}", shorten(query));
        }
        // Injection attempts: parameterised, so a clean refusal or nothing found.
        for query in [
            "eq(name,'x'' OR 1=1 --')",
            "eq(name,'x\\' OR 1=1 --')",
            "eq(name,');DROP TABLE tokens;--')",
            "eq(name,'%27);DROP%20TABLE%20tokens;--')",
            "or(eq(name,'x'),eq(name,'1=1'))",
            "eq(id,'TKN-0000-0000'' OR ''1''=''1')",
            "ilike(name,'%25')",
            "like(name,'_')",
            "ilike(name,'\\%')",
            "eq(name,'a%00b')",
            "eq(description,'\u{0}')",
            "eq(account.id,'ACC-0000-0000'' OR 1=1')",
            // Decoded once: %2527 is the text %27, not a quote (which would match "X").
            "eq(name,%2527X%2527)",
            "eq(name,X%2529)",
            "in(modules.id,('MOD-1104'') OR (''1''=''1'))",
        ] {
            clean(s, &admin, &format!("{TOKENS}?{query}"))?;
        }
        for query in [
            "eq(object.id,');DROP TABLE audit_records;--')",
            "eq(event,'x'' OR 1=1 --')",
            "eq(actor.id,'%00')",
        ] {
            clean(s, &admin, &format!("{AUDIT_RECORDS}?{query}"))?;
        }
        s.get(&admin, &format!("{AUDIT_RECORDS}?eq(name,x)"))?
            .problem(400, "bad-request")?;
        // Hostile ids in paths are simply not found.
        for id in [
            "a%00b",
            "AUD-0000-0000-0000-0000%00",
            "%27%20OR%201=1%20--",
            "%FF",
        ] {
            s.get(&admin, &format!("{AUDIT_RECORDS}/{id}"))?
                .problem(404, "not-found")?;
            s.get(&admin, &token_path(id))?.problem(404, "not-found")?;
        }

        // The tables are intact.
        ensure_eq!(s.snapshot()?, before);
        let (total, _) = s.list_ids(&admin, TOKENS)?;
        ensure_eq!(total, 3);
        s.get(&admin, &token_path(&bot.id))?.expect(200)?;
        let (records, _) = s.list_ids(&admin, AUDIT_RECORDS)?;
        ensure_eq!(records, 3);
        Ok(())
    })
}

#[test]
fn oversized_headers_get_431() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        let before = s.snapshot()?;
        // ~100 KB in 200 headers.
        // The server closes the connection after a 431: no connection is kept for reuse.
        let client = s.one_off_client()?;
        let mut builder = client.post(s.url(TOKENS)).bearer_auth(&admin.value);
        let filler = "v".repeat(500);
        for n in 0..200 {
            builder = builder.header(format!("x-filler-{n}"), filler.as_str());
        }
        let reply = s.send(
            builder
                .header("content-type", "application/json")
                .body(r#"{"name": "Sneaky", "modules": [{"id": "MOD-1104"}]}"#),
        )?;
        ensure_eq!(reply.status, 431);
        // One header of 140 KB.
        let reply = s.send(
            client
                .get(s.url(TOKENS))
                .bearer_auth(&admin.value)
                .header("x-filler", "v".repeat(140 * 1024)),
        )?;
        ensure_eq!(reply.status, 431);
        ensure_eq!(s.snapshot()?, before);
        // The server still answers.
        s.get(&admin, TOKENS)?.expect(200)?;
        Ok(())
    })
}

#[test]
fn plain_http_is_refused_before_credentials() -> TestResult {
    let options = Options {
        plain: true,
        ..Options::default()
    };
    each_backend_with(&options, |s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        let plain = s.plain_base.clone().ok_or("no plain listener")?;
        let client = reqwest::blocking::Client::new();
        let before = s.snapshot()?;
        let send = |builder: reqwest::blocking::RequestBuilder| s.send(builder);
        for reply in [
            send(
                client
                    .get(format!("{plain}{TOKENS}"))
                    .bearer_auth(&admin.value),
            )?,
            send(
                client
                    .get(format!("{plain}{TOKENS}"))
                    .bearer_auth(&admin.value)
                    .header("x-forwarded-proto", "https"),
            )?,
            send(
                client
                    .get(format!("{plain}{TOKENS}"))
                    .bearer_auth("nonsense"),
            )?,
            send(client.get(format!("{plain}{TOKENS}")))?,
            send(
                client
                    .post(format!("{plain}{TOKENS}"))
                    .bearer_auth(&admin.value)
                    .json(&json!({"name": "Plain", "modules": module_refs(&[BILLING])})),
            )?,
            send(client.get(format!("{plain}/public/v1/no/such/endpoint")))?,
        ] {
            reply.problem(403, "https-required")?;
            ensure!(reply.header("www-authenticate").is_none());
        }
        ensure_eq!(s.snapshot()?, before);
        // Over HTTPS the same token is served.
        s.get(&admin, TOKENS)?.expect(200)?;
        Ok(())
    })
}

#[test]
fn trusted_proxy_may_use_plain_http() -> TestResult {
    let options = Options {
        plain: true,
        trusted_proxies: vec!["127.0.0.1/32".parse()?, "10.0.0.0/8".parse()?],
        ..Options::default()
    };
    each_backend_with(&options, |s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        let plain = s.plain_base.clone().ok_or("no plain listener")?;
        let client = reqwest::blocking::Client::new();
        // Without X-Forwarded-Proto: https, still refused.
        for proto in [None, Some("http"), Some("ftp")] {
            let mut builder = client
                .get(format!("{plain}{TOKENS}"))
                .bearer_auth(&admin.value);
            if let Some(proto) = proto {
                builder = builder.header("x-forwarded-proto", proto);
            }
            s.send(builder)?.problem(403, "https-required")?;
        }
        // With it, served; the client's address is taken from X-Forwarded-For (the right-most
        // entry that is not a trusted proxy).
        let reply = s.send(
            client
                .get(format!("{plain}{TOKENS}"))
                .bearer_auth(&admin.value)
                .header("x-forwarded-proto", "https"),
        )?;
        reply.expect(200)?;
        let body = s
            .send(
                client
                    .post(format!("{plain}{TOKENS}"))
                    .bearer_auth(&admin.value)
                    .header("x-forwarded-proto", "https")
                    .header("x-forwarded-for", "203.0.113.9, 10.0.0.1")
                    .json(&json!({"name": "Proxied", "modules": module_refs(&[BILLING])})),
            )?
            .expect(201)?;
        let id = body["id"].as_str().ok_or("no id")?;
        let records = s
            .get(&admin, &format!("{AUDIT_RECORDS}?eq(object.id,{id})"))?
            .expect(200)?;
        ensure_eq!(records["data"][0]["request"]["api"]["ip"], "203.0.113.9");
        // Unauthenticated through the proxy: 401 like over HTTPS.
        let reply = s.send(
            client
                .get(format!("{plain}{TOKENS}"))
                .header("x-forwarded-proto", "https"),
        )?;
        reply.problem(401, "unauthenticated")?;
        Ok(())
    })
}

#[test]
fn forwarded_headers_from_untrusted_peers_are_ignored() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        let body = s
            .send(
                s.request(Method::POST, TOKENS, Some(&admin))
                    .header("x-forwarded-for", "203.0.113.9")
                    .json(&json!({"name": "Direct", "modules": module_refs(&[BILLING])})),
            )?
            .expect(201)?;
        let id = body["id"].as_str().ok_or("no id")?;
        let records = s
            .get(&admin, &format!("{AUDIT_RECORDS}?eq(object.id,{id})"))?
            .expect(200)?;
        ensure_eq!(records["data"][0]["request"]["api"]["ip"], "127.0.0.1");
        Ok(())
    })
}
