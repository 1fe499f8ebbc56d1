//! Tokens that end (SPEC §9): expiry and account policies, rotation with a grace period,
//! self-rotation, leaked-value reports — on both backends.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tollgate_domain::{AccountType, TokenPolicy};

use crate::common::*;

fn at(offset: time::Duration) -> R<String> {
    Ok((OffsetDateTime::now_utc() + offset).format(&Rfc3339)?)
}

fn authorize(s: &Server, value: &str) -> R<u16> {
    let reply = s.send(
        s.request(Method::GET, "/v1/authorize", None)
            .bearer_auth(value)
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-method", "GET")
            .header("x-forwarded-uri", "/public/v1/billing/invoices"),
    )?;
    Ok(reply.status)
}

/// The value of an unlabelled family in the public `/metrics`.
fn metric(s: &Server, name: &str) -> R<u64> {
    let text = s.call(Method::GET, "/metrics", None, Body::None)?.text();
    let line = text
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .ok_or_else(|| format!("no {name} in {text}"))?;
    Ok(line.trim().parse()?)
}

fn create_with(s: &Server, by: &Tok, body: Value) -> R<Reply> {
    s.post(by, TOKENS, body)
}

#[test]
fn expiry_is_decided_in_memory_and_recorded_once() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        let soon = at(time::Duration::seconds(3))?;
        let created = create_with(
            s,
            &admin,
            json!({"name": "Short", "modules": module_refs(&[BILLING]), "expiresAt": soon}),
        )?
        .expect(201)?;
        let id = created["id"].as_str().ok_or("no id")?.to_owned();
        let value = created["token"].as_str().ok_or("no value")?.to_owned();
        ensure_eq!(created["status"], "Active");
        ensure!(created["expiresAt"].is_string(), "{created}");
        ensure_eq!(authorize(s, &value)?, 200);
        // Once the change feed has seen the create (it polls every 500 ms), the entry stays.
        std::thread::sleep(Duration::from_millis(700));
        ensure_eq!(authorize(s, &value)?, 200);
        let lookups = s.store.token_lookups();
        wait_for("the token to expire", || {
            Ok((authorize(s, &value)? == 401).then_some(()))
        })?;
        ensure_eq!(s.store.token_lookups(), lookups, "decided in memory");
        let read = s.get(&admin, &token_path(&id))?.expect(200)?;
        ensure_eq!(read["status"], "Expired");
        let (total, ids) = s.list_ids(&admin, &format!("{TOKENS}?eq(status,Expired)"))?;
        ensure_eq!((total, ids), (1, vec![id.clone()]));
        let (_, active) = s.list_ids(&admin, &format!("{TOKENS}?eq(status,Active)"))?;
        ensure!(!active.contains(&id), "an expired token is not Active");
        let (_, sorted) = s.list_ids(&admin, &format!("{TOKENS}?order=expiresAt&limit=1"))?;
        ensure_eq!(sorted, vec![id.clone()]);
        // One `expired` record, written by the sweep.
        wait_for("the expired record", || {
            Ok((events_of(s, &admin, &id)?.contains(&"expired".to_owned())).then_some(()))
        })?;
        std::thread::sleep(Duration::from_millis(600));
        let events = events_of(s, &admin, &id)?;
        ensure_eq!(
            events.iter().filter(|event| *event == "expired").count(),
            1,
            "{events:?}"
        );
        ensure_eq!(
            s.get(&admin, &token_path(&id))?.expect(200)?["revision"],
            1,
            "no revision for an expiry"
        );
        // Disabled, it cannot be enabled while expired; given a later expiry (echoing the status
        // as read), it is Active again.
        s.switch(&admin, &id, "disable")?.expect(200)?;
        s.switch(&admin, &id, "enable")?.problem(409, "conflict")?;
        let echoed = s
            .put(
                &admin,
                &token_path(&id),
                json!({"status": "Disabled", "expiresAt": at(time::Duration::days(1))?}),
            )?
            .expect(200)?;
        ensure_eq!(echoed["status"], "Disabled");
        s.switch(&admin, &id, "enable")?.expect(200)?;
        ensure_eq!(authorize(s, &value)?, 200);
        // `null` clears it.
        let cleared = s
            .put(&admin, &token_path(&id), json!({"expiresAt": null}))?
            .expect(200)?;
        ensure!(cleared.get("expiresAt").is_none(), "{cleared}");
        Ok(())
    })
}

#[test]
fn policies_and_the_no_longer_life_rule() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        s.store.set_account_policy(
            acme.account.id,
            TokenPolicy {
                max_lifetime_days: Some(30),
                require_expiry: true,
            },
        )?;
        for (expires, why) in [
            (None, "is required"),
            (Some(at(time::Duration::days(31))?), "within 30 days"),
            (Some(at(time::Duration::seconds(-5))?), "in the future"),
            (Some("tomorrow".to_owned()), "RFC 3339"),
        ] {
            let mut body = json!({"name": "Policed", "modules": module_refs(&[BILLING])});
            if let Some(expires) = expires {
                body["expiresAt"] = json!(expires);
            }
            let problem = create_with(s, &admin, body)?.problem(400, "validation")?;
            ensure!(
                problem["errors"]["expiresAt"].to_string().contains(why),
                "{problem}"
            );
        }
        let ok = create_with(
            s,
            &admin,
            json!({"name": "Policed", "modules": module_refs(&[BILLING]),
                   "expiresAt": at(time::Duration::days(10))?}),
        )?
        .expect(201)?;
        let id = ok["id"].as_str().ok_or("no id")?;
        s.put(&admin, &token_path(id), json!({"expiresAt": null}))?
            .problem(400, "validation")?;
        // A token that expires gives no longer life: not none, not later than its own.
        let short = Tok {
            id: ok["id"].as_str().ok_or("no id")?.to_owned(),
            value: ok["token"].as_str().ok_or("no value")?.to_owned(),
        };
        let limited = s
            .put(
                &admin,
                &token_path(&short.id),
                json!({"modules": module_refs(&[ACCESS_MANAGEMENT, BILLING])}),
            )?
            .expect(200)?;
        ensure_eq!(limited["modules"].as_array().map(Vec::len), Some(2));
        create_with(
            s,
            &short,
            json!({"name": "Longer", "modules": module_refs(&[BILLING]),
                   "expiresAt": at(time::Duration::days(20))?}),
        )?
        .problem(403, "forbidden")?;
        create_with(
            s,
            &short,
            json!({"name": "Shorter", "modules": module_refs(&[BILLING]),
                   "expiresAt": at(time::Duration::days(5))?}),
        )?
        .expect(201)?;
        Ok(())
    })
}

#[test]
fn rotation_keeps_the_old_value_for_the_grace_only() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        let robot = s.create(&admin, "Robot", &[BILLING])?;
        let expires = at(time::Duration::days(3))?;
        s.put(
            &admin,
            &token_path(&robot.id),
            json!({"expiresAt": expires}),
        )?
        .expect(200)?;
        let path = format!("{}/rotate", token_path(&robot.id));
        s.post(
            &admin,
            &path,
            json!({"gracePeriodSeconds": 2, "revision": 1}),
        )?
        .problem(409, "conflict")?;
        let rotated = s
            .post(
                &admin,
                &path,
                json!({"gracePeriodSeconds": 2, "revision": 2}),
            )?
            .expect(200)?;
        let new = rotated["token"].as_str().ok_or("no new value")?.to_owned();
        ensure!(
            new != robot.value && new.contains(&robot.id),
            "same id, new value"
        );
        ensure_eq!(rotated["revision"], 3);
        ensure_eq!(
            rotated["expiresAt"],
            s.get(&admin, &token_path(&robot.id))?.expect(200)?["expiresAt"]
        );
        ensure!(rotated["previousValueExpiresAt"].is_string(), "{rotated}");
        ensure_eq!(authorize(s, &new)?, 200);
        ensure_eq!(
            authorize(s, &robot.value)?,
            200,
            "the old value during the grace"
        );
        // The expiry sweep counts it among the tokens expiring within 7 days.
        s.gate.sweep_expired()?;
        ensure_eq!(metric(s, "tollgate_tokens_expiring_soon")?, 1);
        ensure_eq!(metric(s, "tollgate_retired_values_presented_total")?, 0);
        wait_for("the grace to end", || {
            Ok((authorize(s, &robot.value)? == 401).then_some(()))
        })?;
        ensure_eq!(authorize(s, &new)?, 200);
        ensure_eq!(metric(s, "tollgate_retired_values_presented_total")?, 1);
        // The reveal shows the new value; the use of the retired one is on record.
        let revealed = s
            .get(&admin, &format!("{}?select=+token", token_path(&robot.id)))
            .map(|reply| reply.status)?;
        ensure!(
            revealed == 200 || revealed == 403,
            "tokens cannot reveal: {revealed}"
        );
        s.gate.flush()?;
        let records = s
            .get(
                &admin,
                &format!(
                    "{AUDIT_RECORDS}?eq(object.id,{})&eq(event,platform.accounts.api-token.authentication-failed)",
                    robot.id
                ),
            )?
            .expect(200)?;
        ensure_eq!(
            records["data"][0]["details"]["reason"],
            "retired-value",
            "{records}"
        );
        // Rotating again with no body retires the current value at once.
        let again = s.post(&admin, &path, json!({}))?.expect(200)?;
        let newest = again["token"].as_str().ok_or("no value")?.to_owned();
        ensure!(again.get("previousValueExpiresAt").is_none(), "{again}");
        ensure_eq!(authorize(s, &new)?, 401);
        ensure_eq!(authorize(s, &newest)?, 200);
        let events = events_of(s, &admin, &robot.id)?;
        ensure_eq!(
            events.iter().filter(|e| *e == "rotated").count(),
            2,
            "{events:?}"
        );
        Ok(())
    })
}

#[test]
fn self_rotation_needs_self_rotate_and_weak_tokens_rotate_nothing_stronger() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        let ci = s.create(&admin, "CI", &[BILLING])?;
        let own = format!("{}/rotate", token_path(&ci.id));
        s.post(&ci, &own, json!({}))?.problem(403, "forbidden")?;
        let set = s
            .put(&admin, &token_path(&ci.id), json!({"selfRotate": true}))?
            .expect(200)?;
        ensure_eq!(set["selfRotate"], true);
        let rotated = s
            .post(&ci, &own, json!({"gracePeriodSeconds": 60}))?
            .expect(200)?;
        let next = rotated["token"].as_str().ok_or("no value")?.to_owned();
        ensure_eq!(authorize(s, &next)?, 200);
        // selfRotate grants nothing else.
        let next_tok = Tok {
            id: ci.id.clone(),
            value: next,
        };
        s.switch(&next_tok, &ci.id, "disable")?
            .problem(403, "forbidden")?;
        // A weak token cannot rotate a stronger one.
        let weak = s.create(&admin, "Weak", &[ACCESS_MANAGEMENT])?;
        s.post(
            &weak,
            &format!("{}/rotate", token_path(&admin.id)),
            json!({}),
        )?
        .problem(403, "forbidden")?;
        s.post(&admin, &own, json!({"gracePeriodSeconds": 604_801}))?
            .problem(400, "validation")?;
        Ok(())
    })
}

#[test]
fn leaked_values_disable_their_tokens() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        let leaked = s.create(&admin, "Leaked", &[BILLING])?;
        let rotated = s.create(&admin, "Rotated", &[BILLING])?;
        let bystander = s.create(&admin, "Bystander", &[BILLING])?;
        let grace = s
            .post(
                &admin,
                &format!("{}/rotate", token_path(&rotated.id)),
                json!({"gracePeriodSeconds": 3600}),
            )?
            .expect(200)?;
        let rotated_new = grace["token"].as_str().ok_or("no value")?.to_owned();
        let wrong = tollgate_domain::TokenValue::generate(
            tollgate_domain::TokenId::parse(&bystander.id)?,
            &mut rand::rngs::OsRng,
        );
        let report = |credentials: Value| -> R<Reply> {
            s.send(
                s.request(Method::POST, "/v1/credentials/revoke", None)
                    .header("user-agent", "secret-scanner/1.0")
                    .json(&json!({ "credentials": credentials })),
            )
        };
        let reply = report(json!([
            leaked.value,
            rotated.value,
            wrong.expose_secret(),
            "idt:TKN-0000-0000:garbage",
            "not a token at all"
        ]))?;
        ensure_eq!(reply.status, 202, "{}", reply.text());
        ensure!(
            !reply.text().contains("TKN"),
            "it says nothing of the values"
        );
        wait_for("the leaked token to be disabled", || {
            Ok((authorize(s, &leaked.value)? == 401).then_some(()))
        })?;
        let read = s.get(&admin, &token_path(&leaked.id))?.expect(200)?;
        ensure_eq!(
            (&read["status"], &read["compromised"]),
            (&json!("Disabled"), &json!(true))
        );
        s.switch(&admin, &leaked.id, "enable")?
            .problem(409, "conflict")?;
        // A reported grace value only ends the grace.
        wait_for("the grace to end", || {
            Ok((authorize(s, &rotated.value)? == 401).then_some(()))
        })?;
        ensure_eq!(authorize(s, &rotated_new)?, 200);
        ensure_eq!(metric(s, "tollgate_tokens_reported_leaked_total")?, 2);
        // The wrong secret changed nothing.
        ensure_eq!(authorize(s, &bystander.value)?, 200);
        let records = s
            .get(
                &admin,
                &format!(
                    "{AUDIT_RECORDS}?eq(object.id,{})&eq(event,platform.accounts.api-token.leak-reported)",
                    leaked.id
                ),
            )?
            .expect(200)?;
        let record = &records["data"][0];
        ensure_eq!(record["actor"]["type"], "System");
        ensure_eq!(record["request"]["api"]["userAgent"], "secret-scanner/1.0");
        ensure_eq!(record["request"]["api"]["ip"], "127.0.0.1");
        // Rotated, it may be enabled again.
        s.post(
            &admin,
            &format!("{}/rotate", token_path(&leaked.id)),
            json!({}),
        )?
        .expect(200)?;
        s.switch(&admin, &leaked.id, "enable")?.expect(200)?;
        // Limits: values per report, body size.
        let many: Vec<String> = (0..1001).map(|n| format!("x{n}")).collect();
        ensure_eq!(report(json!(many))?.status, 400);
        let huge = "x".repeat(130 * 1024);
        ensure_eq!(report(json!([huge]))?.status, 413);
        Ok(())
    })
}

#[test]
fn leak_reports_are_limited_per_address() -> TestResult {
    each_backend(|s| {
        let mut statuses = Vec::new();
        for _ in 0..25 {
            let reply = s.send(
                s.request(Method::POST, "/v1/credentials/revoke", None)
                    .json(&json!({"credentials": []})),
            )?;
            statuses.push(reply.status);
        }
        ensure!(
            statuses.iter().take(20).all(|status| *status == 202),
            "{statuses:?}"
        );
        ensure!(statuses.contains(&429), "{statuses:?}");
        Ok(())
    })
}
