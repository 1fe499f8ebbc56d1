//! The authorization matrix (SPEC §4) over HTTPS: Client, Vendor and Operations tokens, with and
//! without `access-management`, `audit`, `platform-account-management`; escalation; other
//! accounts; deleted tokens.

use reqwest::Method;
use serde_json::{Value, json};
use tollgate_domain::{AccountStatus, AccountType, ModuleId, ModuleSet};

use crate::common::*;
use crate::lifecycle::PNG;

/// Every management request on `target` (a token id) that `actor` may not make, with the status
/// expected; each must change nothing.
fn refused_everywhere(s: &Server, actor: &Tok, target: &str, status: u16, code: &str) -> R<()> {
    let before = s.snapshot()?;
    let path = token_path(target);
    let icon = format!("{path}/icon");
    let replies = [
        ("read", s.get(actor, &path)?),
        ("update", s.put(actor, &path, json!({"name": "Hijacked"}))?),
        ("enable", s.switch(actor, target, "enable")?),
        ("disable", s.switch(actor, target, "disable")?),
        ("delete", s.delete(actor, &path)?),
        ("get icon", s.get(actor, &icon)?),
        (
            "put icon",
            s.call(Method::PUT, &icon, Some(actor), Body::raw("image/png", PNG))?,
        ),
        ("delete icon", s.delete(actor, &icon)?),
    ];
    for (what, reply) in replies {
        reply
            .problem(status, code)
            .map_err(|error| format!("{what} of {target}: {error}"))?;
    }
    ensure_eq!(s.snapshot()?, before, "a refused request changed something");
    Ok(())
}

fn module_errors(problem: &Value) -> String {
    problem["errors"]["modules"].to_string()
}

fn set(ns: &[u64]) -> R<ModuleSet> {
    ns.iter()
        .map(|n| ModuleId::from_number(*n).ok_or_else(|| format!("module {n}").into()))
        .collect()
}

#[test]
fn access_management_and_audit_scopes() -> TestResult {
    each_backend(|s| {
        let w = world(s)?;
        let admin = s.token(
            &w.client,
            "Administrator",
            &[ACCESS_MANAGEMENT, BILLING, AUDIT],
        )?;
        let billing = s.token(&w.client, "Billing robot", &[BILLING])?;
        let auditor = s.token(&w.client, "Auditor", &[AUDIT])?;
        let bot = s.create(&admin, "CRM bot", &[BILLING])?;

        // Without access-management: 403 on every management route, nothing changes.
        let before = s.snapshot()?;
        for reply in [
            s.get(&billing, TOKENS)?,
            s.post(
                &billing,
                TOKENS,
                json!({"name": "New", "modules": module_refs(&[BILLING])}),
            )?,
            s.get(&billing, MODULES)?,
            s.get(&billing, AUDIT_RECORDS)?,
        ] {
            reply.problem(403, "forbidden")?;
        }
        refused_everywhere(s, &billing, &bot.id, 403, "forbidden")?;
        ensure_eq!(s.snapshot()?, before);
        // Any token may read itself, and only read.
        let body = s.get(&billing, &token_path(&billing.id))?.expect(200)?;
        ensure_eq!(body["token"], billing.value.as_str());
        s.switch(&billing, &billing.id, "disable")?
            .problem(403, "forbidden")?;
        s.put(&billing, &token_path(&billing.id), json!({"name": "Me"}))?
            .problem(403, "forbidden")?;

        // Holding only audit: audit records yes, tokens and modules no.
        let body = s.get(&auditor, AUDIT_RECORDS)?.expect(200)?;
        let (total, ids) = page_ids(&body)?;
        ensure!(total >= 4, "the account's records are listed: {total}");
        s.get(&auditor, &format!("{AUDIT_RECORDS}/{}", ids[0]))?
            .expect(200)?;
        s.get(&auditor, TOKENS)?.problem(403, "forbidden")?;
        s.get(&auditor, MODULES)?.problem(403, "forbidden")?;
        s.post(
            &auditor,
            TOKENS,
            json!({"name": "New", "modules": module_refs(&[AUDIT])}),
        )?
        .problem(403, "forbidden")?;
        refused_everywhere(s, &auditor, &bot.id, 403, "forbidden")?;

        // Tokens of a Disabled account are refused like unknown ones.
        s.store
            .set_account_status(w.client.account.id, AccountStatus::Disabled)?;
        s.changed_elsewhere();
        s.get(&admin, TOKENS)?.problem(401, "unauthenticated")?;
        s.get(&bot, &token_path(&bot.id))?
            .problem(401, "unauthenticated")?;
        s.store
            .set_account_status(w.client.account.id, AccountStatus::Active)?;
        s.changed_elsewhere();
        s.get(&admin, TOKENS)?.expect(200)?;
        Ok(())
    })
}

#[test]
fn scope_validation_and_escalation() -> TestResult {
    each_backend(|s| {
        let w = world(s)?;
        let admin = s.token(
            &w.client,
            "Administrator",
            &[ACCESS_MANAGEMENT, BILLING, AUDIT],
        )?;
        let bot = s.create(&admin, "CRM bot", &[BILLING])?;
        let before = s.snapshot()?;

        // A module the creator does not hold: 403.
        let problem = s
            .post(
                &admin,
                TOKENS,
                json!({"name": "Helpdesk bot", "modules": module_refs(&[BILLING, HELPDESK])}),
            )?
            .problem(403, "forbidden")?;
        ensure!(
            problem["detail"].to_string().contains(&module_id(HELPDESK)),
            "the 403 names the module: {problem}"
        );
        // Not allowed for the account's type: 400 naming it (before the escalation check).
        for module in [CATALOG, PROGRAM, PAM] {
            let problem = s
                .post(
                    &admin,
                    TOKENS,
                    json!({"name": "Wrong", "modules": module_refs(&[BILLING, module])}),
                )?
                .problem(400, "validation")?;
            ensure!(
                module_errors(&problem).contains(&module_id(module)),
                "the error names {}: {problem}",
                module_id(module)
            );
        }
        // Unknown and malformed modules, and none at all: 400.
        let problem = s
            .post(
                &admin,
                TOKENS,
                json!({"name": "Wrong", "modules": [{"id": "MOD-9999"}]}),
            )?
            .problem(400, "validation")?;
        ensure!(module_errors(&problem).contains("MOD-9999"), "{problem}");
        s.post(
            &admin,
            TOKENS,
            json!({"name": "Wrong", "modules": [{"id": "billing"}]}),
        )?
        .problem(400, "validation")?;
        s.post(&admin, TOKENS, json!({"name": "Wrong", "modules": []}))?
            .problem(400, "validation")?;
        s.post(&admin, TOKENS, json!({"name": "Wrong"}))?
            .problem(400, "validation")?;

        // Not enabled for the account: 400 naming it.
        let small = s.account_with(
            AccountType::Client,
            "Small",
            &set(&[ACCESS_MANAGEMENT, BILLING])?,
        )?;
        let small_admin = s.token(&small, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        let problem = s
            .post(
                &small_admin,
                TOKENS,
                json!({"name": "Helpdesk bot", "modules": module_refs(&[HELPDESK])}),
            )?
            .problem(400, "validation")?;
        ensure!(
            module_errors(&problem).contains(&module_id(HELPDESK)),
            "{problem}"
        );
        let small_before = s.snapshot()?;
        let small_bot = s.create(&small_admin, "Small bot", &[BILLING])?;
        s.put(
            &small_admin,
            &token_path(&small_bot.id),
            json!({"modules": module_refs(&[BILLING, HELPDESK])}),
        )?
        .problem(400, "validation")?;
        ensure_eq!(s.revision(&small_bot.id)?, 1);
        ensure!(s.snapshot()? != small_before, "the small bot was created");

        // Widening a token's scope beyond the actor's: 403.
        s.put(
            &admin,
            &token_path(&bot.id),
            json!({"modules": module_refs(&[BILLING, HELPDESK])}),
        )?
        .problem(403, "forbidden")?;
        ensure_eq!(s.revision(&bot.id)?, 1);

        // A token holding more than the actor cannot be changed by it, but can be read.
        let wide = s.token(&w.client, "Wide robot", &[BILLING, HELPDESK])?;
        s.get(&admin, &token_path(&wide.id))?.expect(200)?;
        let wide_path = token_path(&wide.id);
        for reply in [
            s.put(&admin, &wide_path, json!({"name": "Renamed"}))?,
            s.switch(&admin, &wide.id, "disable")?,
            s.delete(&admin, &wide_path)?,
            s.call(
                Method::PUT,
                &format!("{wide_path}/icon"),
                Some(&admin),
                Body::raw("image/png", PNG),
            )?,
        ] {
            reply.problem(403, "forbidden")?;
        }
        // Nor narrowed to what the actor holds (it could then disable it): the set as it is
        // now counts too.
        s.put(
            &admin,
            &wide_path,
            json!({"modules": module_refs(&[BILLING])}),
        )?
        .problem(403, "forbidden")?;
        ensure_eq!(s.revision(&wide.id)?, 1);

        // A token may create a token with its own full scope, access-management included.
        s.create(&admin, "Second admin", &[ACCESS_MANAGEMENT, BILLING, AUDIT])?;
        ensure!(
            s.snapshot()?.records > before.records,
            "changes were recorded"
        );

        // Vendor tokens: their type's modules.
        let vendor_admin = s.token(&w.vendor, "Vendor admin", &[ACCESS_MANAGEMENT, CATALOG])?;
        s.create(&vendor_admin, "Catalog bot", &[CATALOG])?;
        let problem = s
            .post(
                &vendor_admin,
                TOKENS,
                json!({"name": "Shop bot", "modules": module_refs(&[MARKETPLACE])}),
            )?
            .problem(400, "validation")?;
        ensure!(
            module_errors(&problem).contains(&module_id(MARKETPLACE)),
            "{problem}"
        );
        Ok(())
    })
}

#[test]
fn accounts_are_separate_except_for_pam() -> TestResult {
    each_backend(|s| {
        let w = world(s)?;
        let client_admin = s.token(&w.client, "Administrator", &[ACCESS_MANAGEMENT, BILLING])?;
        let vendor_admin = s.token(&w.vendor, "Vendor admin", &[ACCESS_MANAGEMENT, BILLING])?;
        let ops_admin = s.token(&w.ops, "Ops admin", &[ACCESS_MANAGEMENT, BILLING])?;
        let pam = s.token(&w.ops, "Platform robot", &ALL_MODULES)?;
        let client_bot = s.create(&client_admin, "Client bot", &[BILLING])?;
        let vendor_bot = s.create(&vendor_admin, "Vendor bot", &[BILLING])?;

        // Another account's token is not found, whatever the operation; nothing changes.
        refused_everywhere(s, &client_admin, &vendor_bot.id, 404, "not-found")?;
        refused_everywhere(s, &vendor_admin, &client_bot.id, 404, "not-found")?;
        refused_everywhere(s, &ops_admin, &client_bot.id, 404, "not-found")?;

        // Indistinguishable from a token that does not exist.
        let other = s.get(&client_admin, &token_path(&vendor_bot.id))?;
        let none = s.get(&client_admin, &token_path("TKN-0000-0000"))?;
        let (other, none) = (
            other.problem(404, "not-found")?,
            none.problem(404, "not-found")?,
        );
        ensure_eq!(other["detail"], none["detail"]);
        ensure!(!other.to_string().contains(&vendor_bot.id), "{other}");

        // Lists show the caller's account only.
        let (total, ids) = s.list_ids(&client_admin, &format!("{TOKENS}?limit=100"))?;
        ensure_eq!(total, 2);
        ensure!(ids.contains(&client_bot.id) && ids.contains(&client_admin.id));
        let (total, _) = s.list_ids(
            &client_admin,
            &format!("{TOKENS}?eq(account.id,{})", w.vendor.id()),
        )?;
        ensure_eq!(total, 0);
        let (_, records) = s.list_ids(&client_admin, &format!("{AUDIT_RECORDS}?limit=100"))?;
        let vendor_records = s.get(
            &vendor_admin,
            &format!("{AUDIT_RECORDS}?eq(object.id,{})", vendor_bot.id),
        )?;
        let (_, vendor_records) = page_ids(&vendor_records.expect(200)?)?;
        ensure!(!vendor_records.is_empty());
        ensure!(
            vendor_records.iter().all(|id| !records.contains(id)),
            "a Client sees a Vendor's records"
        );
        s.get(
            &client_admin,
            &format!("{AUDIT_RECORDS}/{}", vendor_records[0]),
        )?
        .problem(404, "not-found")?;
        s.get(&pam, &format!("{AUDIT_RECORDS}/{}", vendor_records[0]))?
            .expect(200)?;

        // account.id in a create: own account yes, another one 403 without PAM, 201 with PAM.
        let before = s.snapshot()?;
        for actor in [&client_admin, &ops_admin] {
            s.post(
                actor,
                TOKENS,
                json!({
                    "name": "Elsewhere",
                    "modules": module_refs(&[BILLING]),
                    "account": {"id": w.vendor.id()}
                }),
            )?
            .problem(403, "forbidden")?;
        }
        ensure_eq!(s.snapshot()?, before);
        let body = s
            .post(
                &client_admin,
                TOKENS,
                json!({
                    "name": "Own account",
                    "modules": module_refs(&[BILLING]),
                    "account": {"id": w.client.id()}
                }),
            )?
            .expect(201)?;
        ensure_eq!(body["account"]["id"], w.client.id().as_str());
        let body = s
            .post(
                &pam,
                TOKENS,
                json!({
                    "name": "Made by operations",
                    "modules": module_refs(&[BILLING]),
                    "account": {"id": w.client.id()}
                }),
            )?
            .expect(201)?;
        ensure_eq!(body["account"]["id"], w.client.id().as_str());
        ensure_eq!(body["account"]["type"], "Client");
        let by_ops = body["id"].as_str().ok_or("no id")?.to_owned();
        let body = s
            .get(
                &client_admin,
                &format!("{}?select=+audit", token_path(&by_ops)),
            )?
            .expect(200)?;
        ensure_eq!(body["audit"]["created"]["by"]["id"], pam.id.as_str());
        // PAM still validates against the target account.
        let problem = s
            .post(
                &pam,
                TOKENS,
                json!({
                    "name": "Shop bot",
                    "modules": module_refs(&[MARKETPLACE]),
                    "account": {"id": w.vendor.id()}
                }),
            )?
            .problem(400, "validation")?;
        ensure!(module_errors(&problem).contains(&module_id(MARKETPLACE)));
        s.post(
            &pam,
            TOKENS,
            json!({
                "name": "Nowhere",
                "modules": module_refs(&[BILLING]),
                "account": {"id": "ACC-0000-0000"}
            }),
        )?
        .problem(400, "validation")?;
        s.post(
            &pam,
            TOKENS,
            json!({
                "name": "Nowhere",
                "modules": module_refs(&[BILLING]),
                "account": {"id": "not an id"}
            }),
        )?
        .problem(400, "validation")?;

        // PAM lists across accounts and filters on account.id.
        let all = s.snapshot()?.tokens.len() as u64;
        let (total, _) = s.list_ids(&pam, &format!("{TOKENS}?limit=100"))?;
        ensure_eq!(total, all);
        let body = s
            .get(
                &pam,
                &format!("{TOKENS}?eq(account.id,{})&limit=100", w.vendor.id()),
            )?
            .expect(200)?;
        let (total, ids) = page_ids(&body)?;
        ensure_eq!(total, 2);
        ensure!(ids.contains(&vendor_bot.id) && ids.contains(&vendor_admin.id));
        ensure!(
            body["data"]
                .as_array()
                .is_some_and(|data| data.iter().all(|t| t["account"]["id"] == w.vendor.id())),
            "{body}"
        );
        // PAM acts on other accounts' tokens.
        s.put(
            &pam,
            &token_path(&vendor_bot.id),
            json!({"name": "Renamed by ops"}),
        )?
        .expect(200)?;

        // A deleted token: gone for its account, still visible to PAM; changes → 404 / 409.
        s.delete(&client_admin, &token_path(&client_bot.id))?
            .status_is(204)?;
        let body = s.get(&pam, &token_path(&client_bot.id))?.expect(200)?;
        ensure_eq!(body["status"], "Deleted");
        let (_, ids) = s.list_ids(&pam, &format!("{TOKENS}?eq(status,Deleted)"))?;
        ensure_eq!(ids, vec![client_bot.id.clone()]);
        let before = s.snapshot()?;
        let path = token_path(&client_bot.id);
        for reply in [
            s.put(&pam, &path, json!({"name": "Revived"}))?,
            s.switch(&pam, &client_bot.id, "enable")?,
            s.switch(&pam, &client_bot.id, "disable")?,
            s.delete(&pam, &path)?,
            s.call(
                Method::PUT,
                &format!("{path}/icon"),
                Some(&pam),
                Body::raw("image/png", PNG),
            )?,
        ] {
            reply.problem(409, "conflict")?;
        }
        refused_everywhere(s, &client_admin, &client_bot.id, 404, "not-found")?;
        ensure_eq!(s.snapshot()?, before);
        // Its records stay visible to its account.
        let events = events_of(s, &client_admin, &client_bot.id)?;
        ensure_eq!(events, vec!["created", "deleted"]);
        Ok(())
    })
}
