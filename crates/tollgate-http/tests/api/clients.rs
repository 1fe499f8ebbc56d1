//! What the platform's own clients send (`mpt-cli`, `mpt-curl`, the SDK `mpt-api-client`; see
//! docs/SDK.md), as exact requests: empty `select=`/`order=`, the `token=<value>` lookup,
//! modules by id and with RQL, audit `select` and `render()`, event types, the record shape.

use rand::rngs::OsRng;
use reqwest::Method;
use serde_json::{Value, json};
use tollgate_domain::{AccountType, TokenId, TokenValue};

use crate::common::*;

/// The ids of a list body, and its total.
fn found(body: &Value) -> R<(u64, Vec<String>)> {
    page_ids(body)
}

/// A value with a valid checksum for `id` whose secret is not the token's.
fn wrong_value(id: &str) -> R<String> {
    let id = TokenId::parse(id)?;
    Ok(TokenValue::generate(id, &mut OsRng)
        .expose_secret()
        .to_owned())
}

#[test]
fn empty_select_and_order_are_absent() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        // mpt-cli 6.0.0's first call: its own record with `select=` (empty).
        let me = s
            .get(&admin, &format!("{}?select=", token_path(&admin.id)))?
            .expect(200)?;
        ensure_eq!(me["id"], admin.id.as_str());
        ensure!(me.get("audit").is_none(), "{me}");
        let list = s
            .get(&admin, &format!("{TOKENS}?select=&order=&limit=5"))?
            .expect(200)?;
        ensure_eq!(list["$meta"]["pagination"]["limit"], 5);
        s.get(&admin, &format!("{AUDIT_RECORDS}?select=&order="))?
            .expect(200)?;
        s.get(&admin, &format!("{MODULES}?order=&select="))?
            .expect(200)?;
        Ok(())
    })
}

#[test]
fn a_token_value_finds_its_token_for_whoever_may_see_it() -> TestResult {
    each_backend(|s| {
        let w = world(s)?;
        let admin = s.token(&w.client, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        let billing = s.token(&w.client, "Billing robot", &[BILLING])?;
        let vendor = s.token(&w.vendor, "Vendor admin", &[ACCESS_MANAGEMENT])?;
        let ops = s.token(&w.ops, "Ops", &[ACCESS_MANAGEMENT, PAM])?;
        let lookup = |caller: &Tok, value: &str| -> R<Reply> {
            // mpt-cli 5.3.0 sends the value raw; the SDK quotes and encodes it.
            s.get(caller, &format!("{TOKENS}?limit=2&token={value}"))
        };

        // A billing-only token asks "whose value is this?" of its own value: itself, echoed.
        let reply = lookup(&billing, &billing.value)?;
        ensure_eq!(reply.header("cache-control"), Some("no-store"));
        let body = reply.expect(200)?;
        ensure_eq!(found(&body)?, (1, vec![billing.id.clone()]));
        ensure_eq!(body["data"][0]["token"], billing.value.as_str());
        ensure_eq!(body["$meta"]["pagination"]["limit"], 2);
        // Quoted and percent-encoded, as `eq(token,'…')`.
        let body = s
            .get(
                &billing,
                &format!(
                    "{TOKENS}?eq(token,%27{}%27)",
                    billing.value.replace(':', "%3A")
                ),
            )?
            .expect(200)?;
        ensure_eq!(found(&body)?, (1, vec![billing.id.clone()]));

        // An administrator finds any token of its account by value.
        let body = lookup(&admin, &billing.value)?.expect(200)?;
        ensure_eq!(found(&body)?, (1, vec![billing.id.clone()]));
        ensure_eq!(body["data"][0]["token"], billing.value.as_str());
        // The other filters still apply.
        let body = s
            .get(
                &admin,
                &format!("{TOKENS}?token={}&eq(status,Disabled)", billing.value),
            )?
            .expect(200)?;
        ensure_eq!(found(&body)?, (0, vec![]));

        // Wrong secret, malformed, unknown id: nothing found, the same 200.
        let (body, last) = billing.value.split_at(billing.value.len() - 1);
        let no_checksum = format!("{body}{}", if last == "x" { "y" } else { "x" });
        for value in [
            wrong_value(&billing.id)?,
            no_checksum,
            "idt:TKN-0000-0000:nothing".to_owned(),
            "garbage".to_owned(),
            String::new(),
        ] {
            let body = lookup(&admin, &value)?.expect(200)?;
            ensure_eq!(found(&body)?, (0, vec![]), "{value}");
            ensure!(!body.to_string().contains("idt:TKN"), "{body}");
        }
        // Its own id with a wrong secret: still nothing for the token itself.
        let body = lookup(&billing, &wrong_value(&billing.id)?)?.expect(200)?;
        ensure_eq!(found(&body)?, (0, vec![]));

        // Never another account's token: not for the vendor's administrator…
        let body = lookup(&vendor, &billing.value)?.expect(200)?;
        ensure_eq!(found(&body)?, (0, vec![]));
        // …and a token without access-management may look up only its own value.
        lookup(&billing, &admin.value)?.problem(403, "forbidden")?;
        // Operations with PAM see every account.
        let body = lookup(&ops, &billing.value)?.expect(200)?;
        ensure_eq!(found(&body)?, (1, vec![billing.id.clone()]));

        // Only at the top level, never quoted back.
        for query in [
            format!("not(eq(token,{}))", billing.value),
            format!("or(eq(token,{}),eq(id,{}))", billing.value, billing.id),
            format!("token={}&token={}", billing.value, billing.value),
        ] {
            let reply = s.get(&admin, &format!("{TOKENS}?{query}"))?;
            reply.problem(400, "bad-request")?;
            ensure!(
                !reply.text().contains(&billing.value[20..]),
                "{}",
                reply.text()
            );
        }
        // Only tokens take it.
        s.get(&admin, &format!("{AUDIT_RECORDS}?token={}", billing.value))?
            .problem(400, "bad-request")?;

        // A deleted token's value finds nothing for its account, but Operations still see it.
        s.delete(&admin, &token_path(&billing.id))?.status_is(204)?;
        let body = lookup(&admin, &billing.value)?.expect(200)?;
        ensure_eq!(found(&body)?, (0, vec![]));
        let body = lookup(&ops, &billing.value)?.expect(200)?;
        ensure_eq!(found(&body)?, (1, vec![billing.id.clone()]));
        ensure_eq!(body["data"][0]["status"], "Deleted");
        Ok(())
    })
}

#[test]
fn modules_by_id_and_with_rql() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        let billing = s.get(&admin, &format!("{MODULES}/MOD-1104"))?.expect(200)?;
        ensure_eq!(billing["code"], "billing");
        ensure_eq!(billing["name"], "Billing");
        // Catalog (Vendor and Operations only) is not enabled for a Client account; malformed
        // and unknown ids are simply not found.
        for id in ["MOD-1103", "MOD-9999", "1104", "MOD-1104x"] {
            s.get(&admin, &format!("{MODULES}/{id}"))?
                .problem(404, "not-found")?;
        }
        // The SDK's filters: quoted values, `ilike`, `in`, `order`, paging.
        let codes = |query: &str| -> R<(u64, Vec<String>)> {
            let body = s.get(&admin, &format!("{MODULES}?{query}"))?.expect(200)?;
            let codes = body["data"]
                .as_array()
                .ok_or("no data")?
                .iter()
                .filter_map(|module| module["code"].as_str().map(str::to_owned))
                .collect();
            Ok((
                body["$meta"]["pagination"]["total"].as_u64().unwrap_or(0),
                codes,
            ))
        };
        ensure_eq!(
            codes("eq(code,'billing')")?,
            (1, vec!["billing".to_owned()])
        );
        ensure_eq!(codes("code=billing")?, (1, vec!["billing".to_owned()]));
        ensure_eq!(
            codes("eq(id,MOD-1756)")?.1,
            vec!["access-management".to_owned()]
        );
        ensure_eq!(
            codes("ilike(name,'*MANAGEMENT*')&order=name")?.1,
            vec![
                "access-management".to_owned(),
                "account-management".to_owned()
            ]
        );
        ensure_eq!(
            codes("in(code,(billing,audit))&order=-code")?.1,
            vec!["billing".to_owned(), "audit".to_owned()]
        );
        ensure_eq!(
            codes("eq(code,catalog)")?,
            (0, vec![]),
            "not enabled for a Client"
        );
        let (total, first) = codes("order=code&limit=2")?;
        let (_, second) = codes("order=code&limit=2&offset=2")?;
        ensure_eq!(total, 9);
        ensure!(
            first.iter().all(|code| !second.contains(code)),
            "{first:?} {second:?}"
        );
        for query in [
            "eq(paths,x)",
            "order=paths",
            "offset=9223372036854775808",
            "limit=x",
        ] {
            s.get(&admin, &format!("{MODULES}?{query}"))?
                .problem(400, "bad-request")?;
        }
        Ok(())
    })
}

#[test]
fn audit_records_take_select_render_and_show_the_platform_shape() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        let created = s
            .send(
                s.request(Method::POST, TOKENS, Some(&admin))
                    .header("user-agent", "mpt-cli/6.0.0")
                    .json(&json!({"name": "Robot", "modules": module_refs(&[BILLING])})),
            )?
            .expect(201)?;
        let robot = created["id"].as_str().ok_or("no id")?;
        let path = format!("{AUDIT_RECORDS}?eq(object.id,{robot})");
        let plain = s.get(&admin, &path)?.expect(200)?;
        let record = &plain["data"][0];
        ensure_eq!(record["type"], "Public");
        ensure_eq!(record["request"]["api"]["ip"], "127.0.0.1");
        ensure_eq!(record["request"]["api"]["userAgent"], "mpt-cli/6.0.0");
        ensure!(
            record["request"]["log"]["correlationId"]
                .as_str()
                .is_some_and(is_trace_id),
            "{record}"
        );
        ensure!(
            record["request"].get("ip").is_none(),
            "flat request: {record}"
        );

        // mpt-cli's audit plugin.
        let body = s
            .get(
                &admin,
                &format!(
                    "{path}&select=object,actor,details,documents,request.api.geolocation&render()"
                ),
            )?
            .expect(200)?;
        let selected = &body["data"][0];
        ensure!(selected["documents"]["token"].is_object(), "{selected}");
        ensure!(
            selected["request"]["api"].get("geolocation").is_none(),
            "{selected}"
        );
        ensure_eq!(selected["id"], record["id"]);

        // The SDK's `records.select("-documents")`, on a list and on one record.
        let body = s
            .get(
                &admin,
                &format!("{path}&select=-documents,-request.api.userAgent"),
            )?
            .expect(200)?;
        let trimmed = &body["data"][0];
        ensure!(trimmed.get("documents").is_none(), "{trimmed}");
        ensure!(
            trimmed["request"]["api"].get("userAgent").is_none(),
            "{trimmed}"
        );
        ensure!(trimmed["request"]["api"]["ip"].is_string(), "{trimmed}");
        let id = record["id"].as_str().ok_or("no id")?;
        let one = s
            .get(&admin, &format!("{AUDIT_RECORDS}/{id}?select=-documents"))?
            .expect(200)?;
        ensure!(one.get("documents").is_none() && one["id"] == id, "{one}");

        for query in [
            "select=secret",
            "select=+documents,-documents",
            "select=request.api.x",
        ] {
            s.get(&admin, &format!("{path}&{query}"))?
                .problem(400, "bad-request")?;
        }
        Ok(())
    })
}

#[test]
fn event_types_list_the_keys_written() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        let auditor = s.token(&acme, "Auditor", &[AUDIT])?;
        let billing = s.token(&acme, "Billing", &[BILLING])?;
        let body = s
            .get(&admin, "/public/v1/audit/event-types?limit=100")?
            .expect(200)?;
        let keys: Vec<&str> = body["data"]
            .as_array()
            .ok_or("no data")?
            .iter()
            .filter_map(|t| t["key"].as_str())
            .collect();
        let mut written = tollgate_audit::keys_written();
        written.sort();
        ensure_eq!(keys, written);
        let disabled = s
            .get(
                &auditor,
                "/public/v1/audit/event-types?eq(key,'platform.accounts.api-token.disabled')",
            )?
            .expect(200)?;
        let first = &disabled["data"][0];
        ensure_eq!(disabled["$meta"]["pagination"]["total"], 1);
        ensure_eq!(first["id"], "AET-4127-8843");
        let id = first["id"].as_str().ok_or("no id")?;
        let one = s
            .get(&admin, &format!("/public/v1/audit/event-types/{id}"))?
            .expect(200)?;
        ensure_eq!(&one, first);
        ensure_eq!(
            one.as_object()
                .map(|o| o.keys().cloned().collect::<Vec<_>>()),
            Some(vec![
                "description".to_owned(),
                "id".to_owned(),
                "key".to_owned(),
                "name".to_owned()
            ])
        );
        s.get(&admin, "/public/v1/audit/event-types/AET-0000-0000")?
            .problem(404, "not-found")?;
        s.get(&billing, "/public/v1/audit/event-types")?
            .problem(403, "forbidden")?;
        s.get(&admin, "/public/v1/audit/event-types?eq(description,x)")?
            .problem(400, "bad-request")?;
        Ok(())
    })
}

#[test]
fn introspection_refuses_null_method_and_path() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let gateway = s.token(&acme, "Gateway", &[BILLING])?;
        for field in ["method", "path"] {
            s.post(
                &gateway,
                "/v1/introspect",
                json!({"token": gateway.value, field: null}),
            )?
            .problem(400, "bad-request")?;
        }
        let body = s
            .post(&gateway, "/v1/introspect", json!({"token": gateway.value}))?
            .expect(200)?;
        ensure_eq!(body["active"], true);
        Ok(())
    })
}
