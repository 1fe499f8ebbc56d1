//! The token state machine (SPEC §2): table-driven transitions and a property test over random
//! operation sequences.

use proptest::prelude::*;
use time::OffsetDateTime;
use time::macros::datetime;
use tollgate_domain::{
    AccountId, Change, EventKind, ModuleId, ModuleSet, NewToken, Principal, Token,
    TokenDescription, TokenId, TokenName, TokenPatch, TokenStatus, TransitionError,
};

const NOW: OffsetDateTime = datetime!(2026-11-28 10:00:00.123456 UTC);

fn module(n: u64) -> ModuleId {
    ModuleId::from_number(n).unwrap_or_else(|| unreachable!())
}

fn modules(ns: &[u64]) -> ModuleSet {
    ns.iter().map(|n| module(*n)).collect()
}

fn name(text: &str) -> TokenName {
    TokenName::parse(text).unwrap_or_else(|_| unreachable!())
}

fn jane() -> Principal {
    Principal::User {
        id: tollgate_domain::UserId::from_number(11_112_222).unwrap_or_else(|| unreachable!()),
        name: "Jane Doe".into(),
    }
}

fn new_token() -> Token {
    let (token, event) = Token::create(
        NewToken {
            id: TokenId::from_number(12_345_678).unwrap_or_else(|| unreachable!()),
            account_id: AccountId::from_number(1).unwrap_or_else(|| unreachable!()),
            name: name("CRM robot"),
            description: TokenDescription::default(),
            modules: modules(&[1756, 1104]),
            expires_at: None,
            self_rotate: false,
        },
        jane(),
        NOW,
    );
    assert_eq!(event.kind, EventKind::Created);
    assert_eq!(event.revision, 1);
    token
}

#[test]
fn a_new_token_is_active_at_revision_one_with_millisecond_times() {
    let token = new_token();
    assert_eq!(token.status(), TokenStatus::Active);
    assert_eq!(token.revision(), 1);
    assert_eq!(
        token.parts().milestones.created.at,
        datetime!(2026-11-28 10:00:00.123 UTC)
    );
    assert_eq!(token.parts().milestones.created.by, jane());
    assert!(token.parts().milestones.updated.is_none());
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Enable,
    Disable,
    Delete,
    Rename,
    SameName,
    Describe,
    Rescope,
    SetIcon,
    ClearIcon,
    RemoveModule,
    Reveal,
}

/// Applies `op`: `Ok(Some(event))` for an accepted change, `Ok(None)` for no change.
fn apply(
    token: &mut Token,
    op: Op,
    step: u32,
) -> Result<Option<tollgate_domain::TokenEvent>, TransitionError> {
    let by = jane();
    match op {
        Op::Enable => token.enable(by, NOW).map(Some),
        Op::Disable => token.disable(by, NOW).map(Some),
        Op::Delete => token.delete(by, NOW).map(Some),
        Op::Rename => token.update(
            TokenPatch {
                name: Some(name(&format!("robot {step}"))),
                ..TokenPatch::default()
            },
            None,
            by,
            NOW,
        ),
        Op::SameName => {
            let same = token.name().clone();
            token.update(
                TokenPatch {
                    name: Some(same),
                    ..TokenPatch::default()
                },
                None,
                by,
                NOW,
            )
        }
        Op::Describe => token.update(
            TokenPatch {
                description: TokenDescription::parse(&format!("step {step}")).ok(),
                ..TokenPatch::default()
            },
            Some(token.revision()),
            by,
            NOW,
        ),
        Op::Rescope => token.update(
            TokenPatch {
                modules: Some(modules(&[1756, 1100 + u64::from(step % 5)])),
                ..TokenPatch::default()
            },
            None,
            by,
            NOW,
        ),
        Op::SetIcon => token.set_icon(by, NOW).map(Some),
        Op::ClearIcon => token.clear_icon(by, NOW),
        Op::RemoveModule => Ok(token.remove_module(module(1104), NOW)),
        Op::Reveal => token.reveal(by, NOW).map(|_| None),
    }
}

fn check(start: TokenStatus, op: Op, expect: Result<TokenStatus, TransitionError>) {
    let mut token = new_token();
    match start {
        TokenStatus::Active => {}
        TokenStatus::Disabled => {
            let _ = token.disable(jane(), NOW);
        }
        TokenStatus::Deleted => {
            let _ = token.delete(jane(), NOW);
        }
    }
    let before = token.revision();
    let result = apply(&mut token, op, 1);
    match (&result, expect) {
        (Ok(_), Ok(status)) => assert_eq!(token.status(), status, "{start:?} {op:?}"),
        (Err(error), Err(expected)) => {
            assert_eq!(*error, expected, "{start:?} {op:?}");
            assert_eq!(
                token.revision(),
                before,
                "a refused operation changes nothing"
            );
            assert_eq!(token.status(), start);
        }
        _ => panic!("{start:?} {op:?}: got {result:?}, expected {expect:?}"),
    }
}

#[test]
fn transition_table() {
    use TokenStatus::*;
    check(Active, Op::Disable, Ok(Disabled));
    check(Active, Op::Enable, Err(TransitionError::AlreadyActive));
    check(Active, Op::Delete, Ok(Deleted));
    check(Disabled, Op::Enable, Ok(Active));
    check(Disabled, Op::Disable, Err(TransitionError::AlreadyDisabled));
    check(Disabled, Op::Delete, Ok(Deleted));
    check(Disabled, Op::Rename, Ok(Disabled));
    check(Disabled, Op::Reveal, Ok(Disabled));
    for op in [
        Op::Enable,
        Op::Disable,
        Op::Delete,
        Op::Rename,
        Op::Describe,
        Op::SetIcon,
        Op::ClearIcon,
        Op::Reveal,
    ] {
        check(Deleted, op, Err(TransitionError::Deleted));
    }
}

#[test]
fn events_carry_before_and_after() -> Result<(), TransitionError> {
    let mut token = new_token();
    let event = token.update(
        TokenPatch {
            name: Some(name("ERP robot")),
            description: TokenDescription::parse("Syncs orders").ok(),
            modules: Some(modules(&[1756])),
            expires_at: None,
            self_rotate: None,
        },
        Some(1),
        jane(),
        NOW,
    )?;
    let Some(event) = event else {
        panic!("expected a change")
    };
    assert_eq!(event.kind, EventKind::Updated);
    assert_eq!(event.revision, 2);
    assert_eq!(event.changes.len(), 3);
    assert_eq!(
        event.changes[0],
        Change::Name {
            before: name("CRM robot"),
            after: name("ERP robot")
        }
    );
    assert_eq!(
        event.changes[2],
        Change::Modules {
            before: modules(&[1104, 1756]),
            after: modules(&[1756])
        }
    );
    assert_eq!(
        token
            .parts()
            .milestones
            .updated
            .as_ref()
            .map(|s| s.by.clone()),
        Some(jane())
    );
    let event = token.disable(jane(), NOW)?;
    assert_eq!(
        event.changes,
        vec![Change::Status {
            before: TokenStatus::Active,
            after: TokenStatus::Disabled
        }]
    );
    assert!(token.parts().milestones.disabled.is_some());
    Ok(())
}

#[test]
fn a_stale_revision_is_refused_even_for_a_no_op() {
    let mut token = new_token();
    let _ = token.disable(jane(), NOW);
    let result = token.update(TokenPatch::default(), Some(1), jane(), NOW);
    assert_eq!(
        result,
        Err(TransitionError::StaleRevision {
            expected: 1,
            current: 2
        })
    );
    assert_eq!(
        token.update(TokenPatch::default(), Some(2), jane(), NOW),
        Ok(None)
    );
    assert_eq!(token.revision(), 2);
}

#[test]
fn cascade_and_icons() {
    let mut token = new_token();
    let event = token.remove_module(module(1104), NOW);
    assert_eq!(
        event.as_ref().map(|e| e.by.clone()),
        Some(Principal::System)
    );
    assert_eq!(token.status(), TokenStatus::Active);
    assert_eq!(token.modules(), &modules(&[1756]));
    assert!(
        token.remove_module(module(1104), NOW).is_none(),
        "not held any more"
    );
    assert_eq!(token.clear_icon(jane(), NOW), Ok(None));
    assert!(token.set_icon(jane(), NOW).is_ok());
    assert!(token.parts().has_icon);
    assert!(matches!(token.clear_icon(jane(), NOW), Ok(Some(_))));
    assert_eq!(token.revision(), 4);
}

#[test]
fn touch_is_forward_only() {
    let mut token = new_token();
    token.touch(datetime!(2026-11-28 12:00:00 UTC));
    token.touch(datetime!(2026-11-28 11:00:00 UTC));
    assert_eq!(
        token.parts().last_access_at,
        Some(datetime!(2026-11-28 12:00:00 UTC))
    );
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Enable),
        Just(Op::Disable),
        Just(Op::Delete),
        Just(Op::Rename),
        Just(Op::SameName),
        Just(Op::Describe),
        Just(Op::Rescope),
        Just(Op::SetIcon),
        Just(Op::ClearIcon),
        Just(Op::RemoveModule),
        Just(Op::Reveal),
    ]
}

fn legal(from: TokenStatus, to: TokenStatus) -> bool {
    use TokenStatus::*;
    from == to
        || matches!(
            (from, to),
            (Active, Disabled) | (Disabled, Active) | (Active | Disabled, Deleted)
        )
}

proptest! {
    #[test]
    fn random_sequences_follow_the_state_machine(ops in proptest::collection::vec(op_strategy(), 0..60)) {
        let mut token = new_token();
        let mut accepted_changes = 0u32;
        for (step, op) in ops.into_iter().enumerate() {
            let before_status = token.status();
            let before_revision = token.revision();
            let step = u32::try_from(step).unwrap_or(0);
            let result = apply(&mut token, op, step);
            prop_assert!(legal(before_status, token.status()), "{before_status:?} -> {:?} by {op:?}", token.status());
            if before_status == TokenStatus::Deleted {
                prop_assert_eq!(token.status(), TokenStatus::Deleted);
            }
            match result {
                Ok(Some(event)) => {
                    accepted_changes += 1;
                    prop_assert!(event.kind.raises_revision(), "{:?}", event.kind);
                    prop_assert_eq!(token.revision(), before_revision + 1);
                    prop_assert_eq!(event.revision, token.revision());
                }
                Ok(None) | Err(_) => prop_assert_eq!(token.revision(), before_revision),
            }
        }
        prop_assert_eq!(token.revision(), accepted_changes + 1);
    }
}

/// SPEC §9: expiry shows `Expired` (derived, no new revision), an expired or a compromised
/// Disabled token is not enabled again, rotation ends a compromise and keeps `expiresAt`, a
/// leak report disables (or ends a grace), and the events that raise `revision` do.
#[test]
fn expiry_rotation_and_leak_reports() {
    use time::Duration;
    let mut token = new_token();
    let later = NOW + Duration::days(1);
    let event = token
        .update(
            TokenPatch {
                expires_at: Some(Some(later)),
                ..TokenPatch::default()
            },
            None,
            jane(),
            NOW,
        )
        .unwrap_or_else(|_| unreachable!())
        .unwrap_or_else(|| unreachable!());
    assert!(matches!(
        event.changes.as_slice(),
        [Change::ExpiresAt { .. }]
    ));
    assert_eq!(token.revision(), 2);
    assert_eq!(token.shown_status(NOW).as_str(), "Active");
    assert_eq!(token.shown_status(later).as_str(), "Expired");
    let expired = token.expired(later);
    assert_eq!((expired.kind, expired.revision), (EventKind::Expired, 2));
    assert_eq!(token.revision(), 2, "an expiry raises no revision");
    // Disabled after expiry: enable is refused until a later expiresAt is set.
    token
        .disable(jane(), later)
        .unwrap_or_else(|_| unreachable!());
    assert_eq!(token.enable(jane(), later), Err(TransitionError::Expired));
    token
        .update(
            TokenPatch {
                expires_at: Some(Some(later + Duration::days(1))),
                ..TokenPatch::default()
            },
            None,
            jane(),
            later,
        )
        .unwrap_or_else(|_| unreachable!());
    assert!(token.enable(jane(), later).is_ok());

    // A leak report: disabled and compromised; enable refused until rotated.
    let revision = token.revision();
    let leaked = token
        .leak_reported(false, later)
        .unwrap_or_else(|| unreachable!());
    assert_eq!(leaked.kind, EventKind::LeakReported);
    assert_eq!(token.status(), TokenStatus::Disabled);
    assert_eq!(token.revision(), revision + 1);
    assert!(token.leak_reported(false, later).is_none(), "once");
    assert_eq!(
        token.enable(jane(), later),
        Err(TransitionError::Compromised)
    );
    let expires = token.expires_at();
    let grace = later + Duration::hours(1);
    let rotated = token
        .rotate(Some(grace), Some(token.revision()), jane(), later)
        .unwrap_or_else(|_| unreachable!());
    assert_eq!(rotated.kind, EventKind::Rotated);
    assert!(!token.parts().compromised);
    assert_eq!(token.expires_at(), expires, "rotation keeps expiresAt");
    assert_eq!(
        token.grace_until(later),
        Some(tollgate_domain::token::to_millis(grace))
    );
    assert!(token.enable(jane(), later).is_ok());
    // A stale revision is refused; a leaked grace value only ends the grace.
    assert!(matches!(
        token.rotate(None, Some(1), jane(), later),
        Err(TransitionError::StaleRevision { .. })
    ));
    token
        .leak_reported(true, later)
        .unwrap_or_else(|| unreachable!());
    assert_eq!(token.status(), TokenStatus::Active);
    assert_eq!(token.grace_until(later), None);
    assert!(
        token.leak_reported(true, later).is_none(),
        "no grace left to end"
    );
}

/// The events that record a token's revision without raising it, as `audit verify` expects.
#[test]
fn reveals_and_failures_keep_the_revision_and_say_so() -> Result<(), TransitionError> {
    let token = new_token();
    let revealed = token.reveal(jane(), NOW)?;
    assert_eq!(revealed.revision, token.revision());
    assert!(!revealed.kind.raises_revision());
    let failed = token.authentication_failed(tollgate_domain::FailureReason::WrongSecret, NOW);
    assert_eq!(failed.revision, token.revision());
    assert!(!failed.kind.raises_revision());
    assert!(tollgate_domain::EventKind::Created.raises_revision());
    for kind in [
        tollgate_domain::EventKind::Created,
        tollgate_domain::EventKind::IconChanged,
        tollgate_domain::EventKind::AuthenticationFailed(tollgate_domain::FailureReason::Deleted),
    ] {
        assert_eq!(
            tollgate_domain::EventKind::from_action(kind.action()).map(|k| k.action()),
            Some(kind.action())
        );
    }
    Ok(())
}
