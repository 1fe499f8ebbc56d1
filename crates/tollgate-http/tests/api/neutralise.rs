//! The no-escalation rule as revised (SPEC §4): a token may change another token only when it
//! holds every module that token holds now *and* will hold after the change. A weaker token
//! must not first narrow a stronger one and then disable or delete it ("neutralise" it).

use reqwest::Method;
use serde_json::json;
use tollgate_domain::AccountType;

use crate::common::*;
use crate::lifecycle::PNG;

/// One management operation on a target token.
type Operation = fn(&Server, &Tok, &str) -> R<Reply>;

fn edit_name(s: &Server, actor: &Tok, target: &str) -> R<Reply> {
    s.put(actor, &token_path(target), json!({"name": "Renamed"}))
}

/// Narrows the target down to `access-management`, which every actor below holds.
fn narrow_modules(s: &Server, actor: &Tok, target: &str) -> R<Reply> {
    s.put(
        actor,
        &token_path(target),
        json!({"modules": module_refs(&[ACCESS_MANAGEMENT])}),
    )
}

fn enable(s: &Server, actor: &Tok, target: &str) -> R<Reply> {
    s.switch(actor, target, "enable")
}

fn disable(s: &Server, actor: &Tok, target: &str) -> R<Reply> {
    s.switch(actor, target, "disable")
}

fn delete(s: &Server, actor: &Tok, target: &str) -> R<Reply> {
    s.delete(actor, &token_path(target))
}

fn set_icon(s: &Server, actor: &Tok, target: &str) -> R<Reply> {
    s.call(
        Method::PUT,
        &format!("{}/icon", token_path(target)),
        Some(actor),
        Body::raw("image/png", PNG),
    )
}

fn clear_icon(s: &Server, actor: &Tok, target: &str) -> R<Reply> {
    s.delete(actor, &format!("{}/icon", token_path(target)))
}

/// (what, operation, the target starts Disabled, the status when allowed)
const OPERATIONS: [(&str, Operation, bool, u16); 7] = [
    ("edit its name", edit_name, false, 200),
    ("narrow its modules", narrow_modules, false, 200),
    ("enable it", enable, true, 200),
    ("disable it", disable, false, 200),
    ("delete it", delete, false, 204),
    ("set its icon", set_icon, false, 200),
    ("clear its icon", clear_icon, false, 200),
];

/// Every operation of the list, by a weaker token against a stronger target (403, nothing
/// changes) and by an equal or stronger token (allowed).
#[test]
fn a_weaker_token_can_neither_change_nor_neutralise_a_stronger_one() -> TestResult {
    each_backend(|s| {
        let acme = s.account(AccountType::Client, "Acme")?;
        // Only access-management: it may manage tokens, but not those holding more.
        let weak = s.token(&acme, "Weak admin", &[ACCESS_MANAGEMENT])?;
        let middle = s.token(&acme, "Middle admin", &[ACCESS_MANAGEMENT, BILLING])?;
        let strong = s.token(&acme, "Strong admin", &CLIENT_MODULES)?;

        // (actor, actor's name, target's modules, allowed?)
        let rows: [(&Tok, &str, &[u64], bool); 5] = [
            (&weak, "a weaker", &CLIENT_MODULES, false),
            (&middle, "a weaker", &CLIENT_MODULES, false),
            (&weak, "a weaker", &[ACCESS_MANAGEMENT, BILLING], false),
            (&strong, "an equal", &CLIENT_MODULES, true),
            (&strong, "a stronger", &[ACCESS_MANAGEMENT, BILLING], true),
        ];
        for (actor, label, scope, allowed) in rows {
            for (what, operation, disabled, ok) in OPERATIONS {
                let target = s.token(&acme, "Target robot", scope)?;
                if disabled {
                    s.switch(&strong, &target.id, "disable")?.expect(200)?;
                }
                let before = s.snapshot()?;
                let reply = operation(s, actor, &target.id)?;
                let case = format!("{label} token, {what} (a token of {} modules)", scope.len());
                if allowed {
                    reply
                        .status_is(ok)
                        .map_err(|error| format!("{case}: {error}"))?;
                } else {
                    reply
                        .problem(403, "forbidden")
                        .map_err(|error| format!("{case}: {error}"))?;
                    ensure_eq!(s.snapshot()?, before, "{case}: something changed");
                }
            }
        }

        // The attack in two steps: narrow the strong token to the weak one's scope, then
        // disable it. The first step is refused, so the second is too.
        let victim = s.token(&acme, "Nine modules", &CLIENT_MODULES)?;
        narrow_modules(s, &weak, &victim.id)?.problem(403, "forbidden")?;
        disable(s, &weak, &victim.id)?.problem(403, "forbidden")?;
        ensure_eq!(s.revision(&victim.id)?, 1);
        s.get(&victim, &token_path(&victim.id))?.expect(200)?;

        // Create: the new set must be within the actor's own.
        let create = |actor: &Tok, scope: &[u64]| {
            s.post(
                actor,
                TOKENS,
                json!({"name": "New robot", "modules": module_refs(scope)}),
            )
        };
        create(&weak, &CLIENT_MODULES)?.problem(403, "forbidden")?;
        create(&middle, &[ACCESS_MANAGEMENT, BILLING, HELPDESK])?.problem(403, "forbidden")?;
        create(&middle, &[ACCESS_MANAGEMENT, BILLING])?.expect(201)?;
        create(&strong, &CLIENT_MODULES)?.expect(201)?;
        Ok(())
    })
}
