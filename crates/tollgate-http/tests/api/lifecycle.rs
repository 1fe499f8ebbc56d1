//! The whole lifecycle of a token over HTTPS (SPEC §2, §3, §5): create, read, list, update,
//! disable, enable, reveal, self-read, delete, the audit trail, icons, modules.

use reqwest::Method;
use serde_json::{Value, json};
use tollgate_domain::{AccountType, TokenValue};

use crate::common::*;

/// A 1×1 PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

/// The start of a JPEG (JFIF).
pub const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00, 0xFF, 0xD9,
];

fn well_formed_value(value: &str, id: &str) -> bool {
    let Some(tail) = value.strip_prefix(&format!("idt:{id}:")) else {
        return false;
    };
    tail.len() == 64 && tail.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn no_reveal_records(s: &Server, admin: &Tok, id: &str) -> R<()> {
    let events = events_of(s, admin, id)?;
    if events.iter().any(|event| event == "revealed") {
        return Err(format!("a reveal was recorded for {id}: {events:?}").into());
    }
    Ok(())
}

#[test]
fn create_read_update_disable_enable_delete() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING, AUDIT])?;

        // --- Create.
        let created = s.post(
            &admin,
            TOKENS,
            json!({
                "name": "CRM bot",
                "description": "Syncs orders",
                "modules": [{"id": module_id(BILLING)}],
                "account": {"id": acme.id()},
                "icon": ""
            }),
        )?;
        let body = created.expect(201)?;
        let id = body["id"].as_str().ok_or("no id")?.to_owned();
        let value = body["token"].as_str().ok_or("no token value")?.to_owned();
        ensure!(well_formed_value(&value, &id), "value {value:?} for {id}");
        ensure!(
            TokenValue::parse(&value).is_ok(),
            "the value's checksum is wrong"
        );
        ensure_eq!(created.header("cache-control"), Some("no-store"));
        ensure_eq!(created.header("location"), Some(token_path(&id).as_str()));
        ensure_eq!(body["name"], "CRM bot");
        ensure_eq!(body["description"], "Syncs orders");
        ensure_eq!(body["status"], "Active");
        ensure_eq!(body["revision"], 1);
        ensure_eq!(body["account"]["id"], acme.id().as_str());
        ensure_eq!(
            body["account"],
            json!({"id": acme.id(), "name": "Acme", "type": "Client", "status": "Active"})
        );
        ensure_eq!(
            body["modules"],
            json!([{"id": module_id(BILLING), "code": "billing", "name": "Billing"}])
        );
        ensure!(body.get("icon").is_none(), "no icon yet: {body}");
        ensure!(body.get("lastAccessAt").is_none(), "never used: {body}");
        let bot = Tok {
            id: id.clone(),
            value: value.clone(),
        };
        let path = token_path(&id);

        // --- Read.
        let read = s.get(&admin, &path)?;
        let body = read.expect(200)?;
        ensure_eq!(body["id"], id.as_str());
        ensure!(body.get("token").is_none(), "a plain read shows no value");
        ensure!(body.get("audit").is_none(), "audit is omitted: {body}");
        ensure!(
            body["$meta"]["omitted"]
                .as_array()
                .is_some_and(|omitted| omitted.contains(&json!("audit"))),
            "$meta.omitted names audit: {body}"
        );
        ensure_eq!(read.header("cache-control"), Some("no-store"));
        let body = s
            .get(&admin, &format!("{path}?select=+audit"))?
            .expect(200)?;
        ensure_eq!(body["audit"]["created"]["by"]["id"], admin.id.as_str());
        ensure_eq!(body["audit"]["created"]["by"]["name"], "Administrator");
        ensure!(
            body["audit"]["created"]["at"]
                .as_str()
                .is_some_and(|at| at.len() == 24 && at.ends_with('Z') && at.as_bytes()[19] == b'.'),
            "a millisecond UTC timestamp: {body}"
        );
        ensure!(
            !body["$meta"]["omitted"]
                .as_array()
                .is_some_and(|omitted| omitted.contains(&json!("audit"))),
            "audit is no longer omitted: {body}"
        );
        // The bare name means +audit too.
        let body = s
            .get(&admin, &format!("{path}?select=audit"))?
            .expect(200)?;
        ensure!(body["audit"]["created"].is_object(), "{body}");
        let body = s
            .get(&admin, &format!("{path}?select=-modules"))?
            .expect(200)?;
        ensure!(body.get("modules").is_none(), "{body}");

        // --- The new token authenticates and reads itself ("who am I").
        let me = s.get(&bot, &path)?;
        let body = me.expect(200)?;
        ensure_eq!(body["token"], value.as_str());
        ensure_eq!(me.header("cache-control"), Some("no-store"));

        // --- Update: partial.
        let body = s
            .put(&admin, &path, json!({"name": "CRM bot v2"}))?
            .expect(200)?;
        ensure_eq!(body["name"], "CRM bot v2");
        ensure_eq!(body["description"], "Syncs orders");
        ensure_eq!(body["revision"], 2);
        // A PUT that changes nothing: 200, no new revision.
        let body = s
            .put(&admin, &path, json!({"name": "CRM bot v2"}))?
            .expect(200)?;
        ensure_eq!(body["revision"], 2);
        // Echoing what was read (id, account, status, modules, revision, $meta…) is accepted.
        let mut echoed = s.get(&admin, &path)?.expect(200)?;
        echoed["description"] = json!("Syncs orders nightly");
        let body = s.put(&admin, &path, echoed.clone())?.expect(200)?;
        ensure_eq!(body["description"], "Syncs orders nightly");
        ensure_eq!(body["revision"], 3);
        // A different id, account, status or icon is refused and changes nothing.
        for (field, value) in [
            ("id", json!("TKN-0000-0001")),
            ("account", json!({"id": "ACC-0000-0001"})),
            ("status", json!("Disabled")),
            ("icon", json!("/somewhere/else.png")),
        ] {
            let reply = s.put(&admin, &path, json!({ "name": "Renamed", field: value }))?;
            let problem = reply.problem(400, "validation")?;
            ensure!(
                problem["errors"].get(field).is_some(),
                "the error names {field}: {problem}"
            );
        }
        ensure_eq!(s.revision(&id)?, 3);
        // A stale revision: 409, nothing changes.
        s.put(&admin, &path, json!({"name": "Stale", "revision": 2}))?
            .problem(409, "conflict")?;
        let body = s
            .put(&admin, &path, json!({"name": "CRM bot", "revision": 3}))?
            .expect(200)?;
        ensure_eq!(body["name"], "CRM bot");
        ensure_eq!(body["revision"], 4);

        // --- Disable: the token itself is refused, like an unknown one.
        let body = s.switch(&admin, &id, "disable")?.expect(200)?;
        ensure_eq!(body["status"], "Disabled");
        ensure_eq!(body["revision"], 5);
        let refused = s.get(&bot, &path)?;
        let problem = refused.problem(401, "unauthenticated")?;
        ensure_eq!(refused.header("www-authenticate"), Some("Bearer"));
        let text = refused.text().to_lowercase();
        ensure!(
            !text.contains("disabled") && !text.contains(&id.to_lowercase()),
            "the 401 says why: {text}"
        );
        let unknown = Tok {
            id: "TKN-0000-0000".into(),
            value:
                "idt:TKN-0000-0000:0000000000000000000000000000000000000000000000000000000000000000"
                    .into(),
        };
        let other = s.get(&unknown, &path)?.problem(401, "unauthenticated")?;
        ensure_eq!(problem["detail"], other["detail"]);
        ensure_eq!(problem["title"], other["title"]);
        // Disable again: 409.
        s.switch(&admin, &id, "disable")?.problem(409, "conflict")?;
        ensure_eq!(s.revision(&id)?, 5);

        // --- Enable with no body and no Content-Type.
        let body = s.switch(&admin, &id, "enable")?.expect(200)?;
        ensure_eq!(body["status"], "Active");
        ensure_eq!(s.get(&bot, &path)?.status, 200);
        // Enable an Active token: 409.
        s.switch(&admin, &id, "enable")?.problem(409, "conflict")?;
        // Enable with `{}`.
        s.switch(&admin, &id, "disable")?.expect(200)?;
        let body = s
            .post(&admin, &format!("{path}/enable"), json!({}))?
            .expect(200)?;
        ensure_eq!(body["status"], "Active");
        ensure_eq!(body["revision"], 8);
        // The latest lifecycle events, with who.
        let body = s
            .get(&admin, &format!("{path}?select=+audit"))?
            .expect(200)?;
        for milestone in ["created", "updated", "enabled", "disabled"] {
            ensure_eq!(
                body["audit"][milestone]["by"]["id"],
                admin.id.as_str(),
                "{milestone}: {body}"
            );
        }
        ensure!(body["audit"].get("deleted").is_none(), "{body}");

        // --- Reveal: tokens never reveal.
        s.get(&admin, &format!("{path}?select=+token"))?
            .problem(403, "forbidden")?;
        // A token reading itself gets the value it presented, with no reveal record.
        let body = s.get(&bot, &format!("{path}?select=+token"))?.expect(200)?;
        ensure_eq!(body["token"], value.as_str());
        no_reveal_records(s, &admin, &id)?;
        // select=+token on a list is refused.
        s.get(&admin, &format!("{TOKENS}?select=+token"))?
            .problem(400, "bad-request")?;

        // --- Delete.
        let deleted = s.delete(&admin, &path)?;
        deleted.status_is(204)?;
        ensure!(deleted.body.is_empty(), "204 has no body");
        s.get(&admin, &path)?.problem(404, "not-found")?;
        let (total, _) = s.list_ids(&admin, &format!("{TOKENS}?eq(id,{id})"))?;
        ensure_eq!(total, 0);
        let (_, ids) = s.list_ids(&admin, &format!("{TOKENS}?limit=100"))?;
        ensure!(!ids.contains(&id), "a deleted token is listed");
        s.get(&bot, &path)?.problem(401, "unauthenticated")?;
        s.delete(&admin, &path)?.problem(404, "not-found")?;

        // --- Its audit trail stays.
        let events = events_of(s, &admin, &id)?;
        ensure_eq!(
            events,
            vec![
                "created", "updated", "updated", "updated", "disabled", "enabled", "disabled",
                "enabled", "deleted"
            ]
        );
        let records = s
            .get(&admin, &format!("{AUDIT_RECORDS}?eq(object.id,{id})"))?
            .expect(200)?;
        let first = &records["data"][0];
        ensure_eq!(first["object"]["id"], id.as_str());
        ensure_eq!(first["object"]["objectType"], "ApiToken");
        ensure_eq!(first["actor"]["id"], admin.id.as_str());
        ensure_eq!(first["actor"]["type"], "ApiToken");
        ensure!(
            !records.to_string().contains(&value[value.len() - 64..]),
            "an audit record holds the value"
        );
        ensure!(
            first["summary"]
                .as_str()
                .is_some_and(|summary| summary.contains("Administrator") && summary.contains(&id)),
            "a summary names the actor and the token: {first}"
        );
        ensure_eq!(first["event"], "platform.accounts.api-token.deleted");
        let record_id = first["id"].as_str().ok_or("no record id")?;
        let record = s
            .get(&admin, &format!("{AUDIT_RECORDS}/{record_id}"))?
            .expect(200)?;
        ensure_eq!(record["id"], record_id);
        ensure_eq!(&record, first);
        s.get(&admin, &format!("{AUDIT_RECORDS}/AUD-0000-0000-0000-0000"))?
            .problem(404, "not-found")?;
        s.get(&admin, &format!("{AUDIT_RECORDS}/not-an-id"))?
            .problem(404, "not-found")?;
        Ok(())
    })
}

fn names(body: &Value) -> R<Vec<String>> {
    body["data"]
        .as_array()
        .ok_or_else(|| format!("no data: {body}"))?
        .iter()
        .map(|item| {
            item["name"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("no name: {item}").into())
        })
        .collect()
}

#[test]
fn lists_with_rql_pages_and_order() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        let crm = s.create(&admin, "CRM bot", &[BILLING])?;
        let deploy = s.create(&admin, "Deploy BOT", &[BILLING])?;
        let old = s.create(&admin, "Old bot", &[BILLING])?;
        s.switch(&admin, &old.id, "disable")?.expect(200)?;
        s.create(&admin, "Reporting", &[BILLING])?;
        for name in ["zo cherry", "ZO Banana", "zo apple"] {
            s.create(&admin, name, &[BILLING])?;
        }
        // Another account's tokens are never listed.
        let other = s.account(AccountType::Client, "Other")?;
        s.token(&other, "Other bot", &[BILLING])?;

        // The filter exactly as the platform SDK sends it, raw and percent-encoded.
        let mut expected = vec![crm.id.clone(), deploy.id.clone()];
        expected.sort();
        for query in [
            "and(eq(status,'Active'),ilike(name,'*bot*'))",
            "and(eq(status,%27Active%27),ilike(name,%27*bot*%27))",
            "and(eq(status,\"Active\"),ilike(name,\"*bot*\"))",
            "and(eq(status,Active),ilike(name,*bot*))",
            "status=Active&ilike(name,*bot*)",
        ] {
            let path = format!("{TOKENS}?{query}");
            // reqwest percent-encodes quotes; the raw client sends them as they are (except
            // `"`, which is not allowed unencoded in a request target).
            let mut replies = vec![s.get(&admin, &path)?];
            if !query.contains('"') {
                replies.push(s.raw_get(&admin, &path)?);
            }
            for reply in replies {
                let body = reply.expect(200)?;
                let (total, mut ids) = page_ids(&body)?;
                ids.sort();
                ensure_eq!(total, 2, "{query}");
                ensure_eq!(ids, expected, "{query}");
            }
        }
        // like is case-sensitive.
        let (total, ids) = s.list_ids(&admin, &format!("{TOKENS}?like(name,'*BOT')"))?;
        ensure_eq!((total, ids), (1, vec![deploy.id.clone()]));
        // in(id,(…)).
        let (total, mut ids) = s.list_ids(
            &admin,
            &format!("{TOKENS}?in(id,('{}','{}'))", crm.id, old.id),
        )?;
        ids.sort();
        let mut expected = vec![crm.id.clone(), old.id.clone()];
        expected.sort();
        ensure_eq!(total, 2);
        ensure_eq!(ids, expected);

        // Modules, null(), and the audit trail's own filters.
        for query in [
            "eq(modules.id,MOD-1756)",
            "any(modules,eq(id,MOD-1756))",
            "in(modules.id,(MOD-1756,MOD-1105))",
        ] {
            let (total, ids) = s.list_ids(&admin, &format!("{TOKENS}?{query}"))?;
            ensure_eq!((total, ids), (1, vec![admin.id.clone()]), "{query}");
        }
        let (total, ids) = s.list_ids(&admin, &format!("{TOKENS}?ne(modules.id,MOD-1756)"))?;
        ensure_eq!(total, 7);
        ensure!(!ids.contains(&admin.id));
        let (total, _) = s.list_ids(&admin, &format!("{TOKENS}?eq(lastAccessAt,null())"))?;
        ensure_eq!(total, 8);
        let (total, _) = s.list_ids(&admin, &format!("{TOKENS}?eq(description,empty())"))?;
        ensure_eq!(total, 8);
        let (total, ids) = s.list_ids(
            &admin,
            &format!("{AUDIT_RECORDS}?eq(event,platform.accounts.api-token.disabled)"),
        )?;
        ensure_eq!(total, 1);
        let record = s
            .get(&admin, &format!("{AUDIT_RECORDS}/{}", ids[0]))?
            .expect(200)?;
        ensure_eq!(record["object"]["id"], old.id.as_str());
        let (total, _) = s.list_ids(
            &admin,
            &format!("{AUDIT_RECORDS}?eq(actor.id,{})&order=-timestamp", admin.id),
        )?;
        ensure_eq!(total, 8, "7 creations and a disable by the administrator");
        s.get(&admin, &format!("{TOKENS}?order=-audit.created.at,+name"))?
            .expect(200)?;

        // The envelope and its pagination.
        let reply = s.get(&admin, TOKENS)?;
        ensure_eq!(reply.header("cache-control"), Some("no-store"));
        let body = reply.expect(200)?;
        let envelope: Vec<&String> = body.as_object().ok_or("not an object")?.keys().collect();
        ensure_eq!(envelope, vec!["$meta", "data"]);
        let meta: Vec<&String> = body["$meta"]
            .as_object()
            .ok_or("no $meta")?
            .keys()
            .collect();
        ensure_eq!(meta, vec!["pagination"]);
        let mut keys: Vec<&String> = body["$meta"]["pagination"]
            .as_object()
            .ok_or("no pagination")?
            .keys()
            .collect();
        keys.sort();
        ensure_eq!(keys, vec!["limit", "offset", "total"]);
        ensure_eq!(
            body["$meta"]["pagination"],
            json!({"offset": 0, "limit": 10, "total": 8})
        );
        ensure_eq!(body["data"].as_array().map(Vec::len), Some(8));
        ensure!(
            body["data"][0].get("token").is_none(),
            "a list shows no values"
        );
        ensure!(body["data"][0].get("audit").is_none(), "a list omits audit");
        ensure!(
            body["data"][0].get("description").is_none(),
            "an empty description is omitted"
        );

        // Enough tokens for more than a page: default 10, capped at 100.
        for n in 0..4 {
            s.token(&acme, &format!("Filler {n}"), &[BILLING])?;
        }
        let body = s.get(&admin, TOKENS)?.expect(200)?;
        ensure_eq!(
            body["$meta"]["pagination"],
            json!({"offset": 0, "limit": 10, "total": 12})
        );
        ensure_eq!(body["data"].as_array().map(Vec::len), Some(10));
        let body = s
            .get(&admin, &format!("{TOKENS}?limit=1000"))?
            .expect(200)?;
        ensure_eq!(
            body["$meta"]["pagination"],
            json!({"offset": 0, "limit": 100, "total": 12})
        );
        ensure_eq!(body["data"].as_array().map(Vec::len), Some(12));
        let body = s.get(&admin, &format!("{TOKENS}?limit=0"))?.expect(200)?;
        ensure_eq!(
            body["$meta"]["pagination"],
            json!({"offset": 0, "limit": 0, "total": 12})
        );
        ensure!(
            body.get("data")
                .is_none_or(|data| data.as_array().is_some_and(Vec::is_empty)),
            "limit=0 returns no data: {body}"
        );
        // Pages never overlap and cover everything.
        let mut seen = Vec::new();
        for offset in (0..12).step_by(5) {
            let (_, ids) = s.list_ids(&admin, &format!("{TOKENS}?limit=5&offset={offset}"))?;
            seen.extend(ids);
        }
        let count = seen.len();
        seen.sort();
        seen.dedup();
        ensure_eq!((count, seen.len()), (12, 12));

        // Ordering by name is case-insensitive, both ways.
        let body = s
            .get(&admin, &format!("{TOKENS}?ilike(name,'zo *')&order=+name"))?
            .expect(200)?;
        ensure_eq!(names(&body)?, vec!["zo apple", "ZO Banana", "zo cherry"]);
        let body = s
            .get(&admin, &format!("{TOKENS}?ilike(name,'zo *')&order=-name"))?
            .expect(200)?;
        ensure_eq!(names(&body)?, vec!["zo cherry", "ZO Banana", "zo apple"]);
        // Same through the raw client (`+` is a literal plus, not a space).
        let body = s
            .raw_get(
                &admin,
                &format!("{TOKENS}?ilike(name,'zo%20*')&order=+name"),
            )?
            .expect(200)?;
        ensure_eq!(names(&body)?, vec!["zo apple", "ZO Banana", "zo cherry"]);
        Ok(())
    })
}

#[test]
fn icons() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        let bot = s.create(&admin, "CRM bot", &[BILLING])?;
        let icon = format!("{}/icon", token_path(&bot.id));

        // Upload a PNG.
        let body = s
            .call(
                Method::PUT,
                &icon,
                Some(&admin),
                Body::raw("image/png", PNG),
            )?
            .expect(200)?;
        ensure_eq!(body["icon"], icon.as_str());
        ensure_eq!(body["revision"], 2);
        let got = s.get(&admin, &icon)?;
        got.status_is(200)?;
        ensure_eq!(got.header("content-type"), Some("image/png"));
        ensure!(got.body == PNG, "the icon's bytes differ");
        let body = s.get(&admin, &token_path(&bot.id))?.expect(200)?;
        ensure_eq!(body["icon"], icon.as_str());

        // Replaced by a JPEG.
        s.call(
            Method::PUT,
            &icon,
            Some(&admin),
            Body::raw("image/jpeg", JPEG),
        )?
        .expect(200)?;
        let got = s.get(&admin, &icon)?;
        ensure_eq!(got.header("content-type"), Some("image/jpeg"));
        ensure!(got.body == JPEG, "the icon's bytes differ");
        let revision = s.revision(&bot.id)?;

        // Checked by content, type and size; a refusal changes nothing.
        s.call(
            Method::PUT,
            &icon,
            Some(&admin),
            Body::raw("image/png", b"GIF89a not a png".to_vec()),
        )?
        .problem(400, "bad-request")?;
        s.call(
            Method::PUT,
            &icon,
            Some(&admin),
            Body::raw("image/png", JPEG),
        )?
        .problem(400, "bad-request")?;
        s.call(
            Method::PUT,
            &icon,
            Some(&admin),
            Body::raw("text/plain", PNG),
        )?
        .problem(415, "unsupported-media-type")?;
        s.call(Method::PUT, &icon, Some(&admin), Body::untyped(PNG))?
            .problem(415, "unsupported-media-type")?;
        let mut huge = PNG.to_vec();
        huge.resize(5 * 1024 * 1024 + 1, 0);
        s.call(
            Method::PUT,
            &icon,
            Some(&admin),
            Body::raw("image/png", huge),
        )?
        .problem(413, "payload-too-large")?;
        ensure_eq!(s.revision(&bot.id)?, revision);
        let got = s.get(&admin, &icon)?;
        ensure!(got.body == JPEG, "a refused upload replaced the icon");
        // Exactly 5 MB is allowed.
        let mut largest = PNG.to_vec();
        largest.resize(5 * 1024 * 1024, 0);
        s.call(
            Method::PUT,
            &icon,
            Some(&admin),
            Body::raw("image/png", largest),
        )?
        .expect(200)?;

        // Remove it.
        let body = s.delete(&admin, &icon)?.expect(200)?;
        ensure!(body.get("icon").is_none(), "the icon is gone: {body}");
        s.get(&admin, &icon)?.problem(404, "not-found")?;
        let body = s.get(&admin, &token_path(&bot.id))?.expect(200)?;
        ensure!(body.get("icon").is_none(), "the icon is gone: {body}");
        let events = events_of(s, &admin, &bot.id)?;
        ensure_eq!(
            events,
            vec![
                "created",
                "icon-changed",
                "icon-changed",
                "icon-changed",
                "icon-changed"
            ]
        );
        Ok(())
    })
}

#[test]
fn modules_list() -> TestResult {
    each_backend(|s| {
        // A Client account with three modules enabled sees those three.
        let enabled = [ACCESS_MANAGEMENT, BILLING, AUDIT]
            .iter()
            .map(|n| tollgate_domain::ModuleId::from_number(*n).ok_or("module"))
            .collect::<Result<_, _>>()?;
        let small = s.account_with(AccountType::Client, "Small", &enabled)?;
        let admin = s.token(&small, "Administrator", &[ACCESS_MANAGEMENT])?;
        let body = s.get(&admin, MODULES)?.expect(200)?;
        let (total, mut ids) = page_ids(&body)?;
        ids.sort();
        ensure_eq!(total, 3);
        ensure_eq!(ids, vec!["MOD-1104", "MOD-1107", "MOD-1756"]);
        let billing = body["data"]
            .as_array()
            .and_then(|data| data.iter().find(|m| m["id"] == "MOD-1104"))
            .ok_or("no billing")?;
        ensure_eq!(billing["code"], "billing");
        ensure_eq!(billing["name"], "Billing");
        ensure!(billing["accountTypes"].is_array(), "{billing}");

        // A Client account with every module sees the 9 a Client may use.
        let client = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&client, "Administrator", &[ACCESS_MANAGEMENT])?;
        let (total, mut ids) = s.list_ids(&admin, &format!("{MODULES}?limit=100"))?;
        ids.sort();
        let mut expected: Vec<String> = CLIENT_MODULES.iter().map(|n| module_id(*n)).collect();
        expected.sort();
        ensure_eq!(total, 9);
        ensure_eq!(ids, expected);

        // An Operations token holding PAM sees the whole catalog.
        let ops = s.account(AccountType::Operations, "Platform")?;
        let pam = s.token(&ops, "Platform robot", &[ACCESS_MANAGEMENT, PAM])?;
        let body = s.get(&pam, MODULES)?.expect(200)?;
        ensure_eq!(
            body["$meta"]["pagination"],
            json!({"offset": 0, "limit": 10, "total": 12})
        );
        let (total, mut ids) = s.list_ids(&pam, &format!("{MODULES}?limit=100"))?;
        ids.sort();
        let mut expected: Vec<String> = ALL_MODULES.iter().map(|n| module_id(*n)).collect();
        expected.sort();
        ensure_eq!(total, 12);
        ensure_eq!(ids, expected);
        // Without PAM, an Operations token sees its account's modules (all 12 are enabled
        // there too, so check with a restricted account instead).
        let restricted = s.account_with(AccountType::Operations, "Ops small", &enabled)?;
        let no_pam = s.token(&restricted, "Ops robot", &[ACCESS_MANAGEMENT])?;
        let (total, _) = s.list_ids(&no_pam, MODULES)?;
        ensure_eq!(total, 3);
        Ok(())
    })
}

#[test]
fn reveal_never_still_shows_the_value_once_and_to_itself() -> TestResult {
    let options = Options {
        reveal: tollgate_http::RevealPolicy::Never,
        ..Options::default()
    };
    each_backend_with(&options, |s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(&acme, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        let bot = s.create(&admin, "CRM bot", &[BILLING])?;
        ensure!(TokenValue::parse(&bot.value).is_ok());
        // Nothing to decrypt: the token reading itself gets what it presented.
        let body = s.get(&bot, &token_path(&bot.id))?.expect(200)?;
        ensure_eq!(body["token"], bot.value.as_str());
        // Tokens never reveal, whatever the policy.
        s.get(&admin, &format!("{}?select=+token", token_path(&bot.id)))?
            .problem(403, "forbidden")?;
        Ok(())
    })
}

#[test]
fn removing_a_module_from_the_account_cascades_to_its_tokens() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        let admin = s.token(
            &acme,
            "Administrator",
            &[ACCESS_MANAGEMENT, BILLING, HELPDESK],
        )?;
        let bot = s.create(&admin, "Support bot", &[BILLING, HELPDESK])?;
        s.switch(&admin, &bot.id, "disable")?.expect(200)?;
        let remaining = CLIENT_MODULES
            .iter()
            .filter(|n| **n != HELPDESK)
            .map(|n| tollgate_domain::ModuleId::from_number(*n).ok_or("module"))
            .collect::<Result<_, _>>()?;
        s.store
            .set_account_modules(acme.account.id, &remaining, &acme.ctx())?;
        s.changed_elsewhere();

        let body = s.get(&admin, &token_path(&bot.id))?.expect(200)?;
        ensure_eq!(
            body["modules"],
            json!([{"id": module_id(BILLING), "code": "billing", "name": "Billing"}])
        );
        ensure_eq!(body["status"], "Disabled", "the token keeps its state");
        ensure_eq!(body["revision"], 3);
        ensure_eq!(
            events_of(s, &admin, &bot.id)?,
            vec!["created", "disabled", "updated"]
        );
        // The module can no longer be given.
        let problem = s
            .post(
                &admin,
                TOKENS,
                json!({"name": "Helpdesk bot", "modules": module_refs(&[HELPDESK])}),
            )?
            .problem(400, "validation")?;
        ensure!(
            problem["errors"]["modules"]
                .to_string()
                .contains(&module_id(HELPDESK))
        );
        // The modules list no longer shows it.
        let (_, ids) = s.list_ids(&admin, &format!("{MODULES}?limit=100"))?;
        ensure!(!ids.contains(&module_id(HELPDESK)), "{ids:?}");
        Ok(())
    })
}
