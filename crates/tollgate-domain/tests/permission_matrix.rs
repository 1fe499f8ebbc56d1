//! The management permission matrix (SPEC §4): account types × actor kinds × operations, plus
//! cross-account, Deleted visibility, self-read and escalation cases.

use tollgate_domain::permission::{
    Target, authorize_collection, authorize_create, authorize_token, visibility,
};
use tollgate_domain::{
    AccountId, AccountStatus, AccountType, Actor, ActorAccount, Catalog, Denial, Forbidden,
    ModuleId, ModuleSet, Operation, TokenId, TokenStatus, UserId, Visibility,
};

fn module(n: u64) -> ModuleId {
    ModuleId::from_number(n).unwrap_or_else(|| unreachable!())
}

fn set(ns: &[u64]) -> ModuleSet {
    ns.iter().map(|n| module(*n)).collect()
}

fn account_id(n: u64) -> AccountId {
    AccountId::from_number(n).unwrap_or_else(|| unreachable!())
}

const AM: u64 = 1756;
const AUDIT: u64 = 1107;
const PAM: u64 = 1111;
const BILLING: u64 = 1104;
const HELPDESK: u64 = 1105;

fn account(kind: AccountType, enabled: &[u64]) -> ActorAccount {
    ActorAccount {
        id: account_id(1),
        name: "Acme".into(),
        account_type: kind,
        status: AccountStatus::Active,
        modules: set(enabled),
    }
}

fn user(kind: AccountType, admin: bool) -> Actor {
    Actor::User {
        id: UserId::from_number(5).unwrap_or_else(|| unreachable!()),
        name: "Jane Doe".into(),
        admin,
        account: account(kind, &[AM, AUDIT, BILLING, PAM]),
    }
}

fn token(kind: AccountType, modules: &[u64]) -> Actor {
    Actor::Token {
        id: TokenId::from_number(77).unwrap_or_else(|| unreachable!()),
        name: "CI robot".into(),
        modules: set(modules),
        expires_at: None,
        account: account(kind, &[AM, AUDIT, BILLING, PAM]),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Allowed,
    NotFound,
    Forbidden,
}

fn outcome(result: Result<(), Denial>) -> Outcome {
    match result {
        Ok(()) => Outcome::Allowed,
        Err(Denial::NotFound) => Outcome::NotFound,
        Err(Denial::Forbidden(_)) => Outcome::Forbidden,
    }
}

fn on_target(actor: &Actor, op: Operation, target_account: u64, status: TokenStatus) -> Outcome {
    let catalog = Catalog::default_catalog();
    let modules = set(&[BILLING]);
    let target = Target {
        id: TokenId::from_number(99).unwrap_or_else(|| unreachable!()),
        account_id: account_id(target_account),
        status,
        current_modules: &modules,
        resulting_modules: &modules,
        current_expires_at: None,
        resulting_expires_at: None,
        self_rotate: false,
    };
    if op == Operation::CreateToken {
        return outcome(authorize_create(
            actor,
            account_id(target_account),
            &modules,
            None,
            catalog.well_known(),
        ));
    }
    if matches!(
        op,
        Operation::ListTokens | Operation::ListModules | Operation::ReadAudit
    ) {
        return outcome(authorize_collection(actor, op, catalog.well_known()).map(|_| ()));
    }
    outcome(authorize_token(actor, op, &target, catalog.well_known()))
}

/// What each actor kind may do in its own account on an Active token.
fn expected_own_account(actor: &str, op: Operation) -> Outcome {
    use Outcome::*;
    match (actor, op) {
        ("admin", _) | ("system", _) => Allowed,
        ("member", _) => Forbidden,
        ("am-token", Operation::RevealToken) => Forbidden,
        ("am-token", _) => Allowed,
        ("audit-token", Operation::ReadAudit) => Allowed,
        ("audit-token", _) => Forbidden,
        ("billing-token", _) => Forbidden,
        _ => unreachable!(),
    }
}

#[test]
fn matrix_in_own_account() {
    for kind in AccountType::ALL {
        let actors = [
            ("admin", user(kind, true)),
            ("member", user(kind, false)),
            ("am-token", token(kind, &[AM, BILLING])),
            ("audit-token", token(kind, &[AUDIT, BILLING])),
            ("billing-token", token(kind, &[BILLING])),
            ("system", Actor::System),
        ];
        for (label, actor) in &actors {
            for op in Operation::ALL {
                let got = on_target(actor, op, 1, TokenStatus::Active);
                assert_eq!(
                    got,
                    expected_own_account(label, op),
                    "{kind:?} {label} {op:?}"
                );
            }
        }
    }
}

#[test]
fn other_accounts_and_deleted_tokens() {
    use Outcome::*;
    let client_admin = user(AccountType::Client, true);
    let ops_admin = user(AccountType::Operations, true);
    let ops_pam_token = token(AccountType::Operations, &[AM, PAM, BILLING]);
    let ops_token = token(AccountType::Operations, &[AM, BILLING]);
    let client_pam_token = token(AccountType::Client, &[AM, PAM, BILLING]);
    for op in [
        Operation::ReadToken,
        Operation::UpdateToken,
        Operation::DisableToken,
        Operation::DeleteToken,
    ] {
        assert_eq!(
            on_target(&client_admin, op, 2, TokenStatus::Active),
            NotFound,
            "{op:?}"
        );
        assert_eq!(
            on_target(&ops_token, op, 2, TokenStatus::Active),
            NotFound,
            "{op:?}"
        );
        assert_eq!(
            on_target(&client_pam_token, op, 2, TokenStatus::Active),
            NotFound,
            "PAM only counts for Operations"
        );
        assert_eq!(
            on_target(&ops_admin, op, 2, TokenStatus::Active),
            Allowed,
            "{op:?}"
        );
        assert_eq!(
            on_target(&ops_pam_token, op, 2, TokenStatus::Active),
            Allowed,
            "{op:?}"
        );
        assert_eq!(
            on_target(&client_admin, op, 1, TokenStatus::Deleted),
            NotFound,
            "{op:?}"
        );
        assert_eq!(
            on_target(&ops_pam_token, op, 1, TokenStatus::Deleted),
            Allowed,
            "{op:?}"
        );
    }
    assert_eq!(
        on_target(
            &client_admin,
            Operation::CreateToken,
            2,
            TokenStatus::Active
        ),
        Forbidden
    );
    assert_eq!(
        on_target(&ops_admin, Operation::CreateToken, 2, TokenStatus::Active),
        Allowed
    );
    let known = Catalog::default_catalog();
    assert_eq!(
        visibility(&client_admin, known.well_known()),
        Visibility::Account(account_id(1))
    );
    assert_eq!(
        visibility(&ops_admin, known.well_known()),
        Visibility::AllAccounts
    );
    assert_eq!(
        visibility(&ops_token, known.well_known()),
        Visibility::Account(account_id(1))
    );
}

#[test]
fn an_operations_admin_without_pam_enabled_stays_in_the_account() {
    let actor = Actor::User {
        id: UserId::from_number(5).unwrap_or_else(|| unreachable!()),
        name: "Op".into(),
        admin: true,
        account: account(AccountType::Operations, &[AM]),
    };
    assert_eq!(
        on_target(&actor, Operation::ReadToken, 2, TokenStatus::Active),
        Outcome::NotFound
    );
}

#[test]
fn any_token_reads_itself() {
    let actor = token(AccountType::Client, &[BILLING]);
    let catalog = Catalog::default_catalog();
    let modules = set(&[BILLING]);
    let own = Target {
        id: TokenId::from_number(77).unwrap_or_else(|| unreachable!()),
        account_id: account_id(1),
        status: TokenStatus::Active,
        current_modules: &modules,
        resulting_modules: &modules,
        current_expires_at: None,
        resulting_expires_at: None,
        self_rotate: false,
    };
    assert_eq!(
        authorize_token(&actor, Operation::ReadToken, &own, catalog.well_known()),
        Ok(())
    );
    assert!(authorize_token(&actor, Operation::DisableToken, &own, catalog.well_known()).is_err());
}

#[test]
fn no_escalation() {
    let catalog = Catalog::default_catalog();
    let actor = token(AccountType::Client, &[AM, BILLING]);
    let wider = set(&[AM, BILLING, 1105]);
    let narrower = set(&[BILLING]);
    assert_eq!(
        authorize_create(&actor, account_id(1), &wider, None, catalog.well_known()),
        Err(Denial::Forbidden(Forbidden::Escalation {
            missing: set(&[1105])
        }))
    );
    assert_eq!(
        authorize_create(&actor, account_id(1), &narrower, None, catalog.well_known()),
        Ok(())
    );
    for op in [
        Operation::UpdateToken,
        Operation::EnableToken,
        Operation::DisableToken,
        Operation::DeleteToken,
        Operation::ChangeIcon,
    ] {
        let target = Target {
            id: TokenId::from_number(99).unwrap_or_else(|| unreachable!()),
            account_id: account_id(1),
            status: TokenStatus::Active,
            current_modules: &wider,
            resulting_modules: &wider,
            current_expires_at: None,
            resulting_expires_at: None,
            self_rotate: false,
        };
        assert!(
            matches!(
                authorize_token(&actor, op, &target, catalog.well_known()),
                Err(Denial::Forbidden(Forbidden::Escalation { .. }))
            ),
            "{op:?}"
        );
    }
    let target = Target {
        id: TokenId::from_number(99).unwrap_or_else(|| unreachable!()),
        account_id: account_id(1),
        status: TokenStatus::Active,
        current_modules: &wider,
        resulting_modules: &wider,
        current_expires_at: None,
        resulting_expires_at: None,
        self_rotate: false,
    };
    assert_eq!(
        authorize_token(&actor, Operation::ReadToken, &target, catalog.well_known()),
        Ok(()),
        "reading is not escalation"
    );
    let admin = user(AccountType::Client, true);
    assert_eq!(
        authorize_token(
            &admin,
            Operation::UpdateToken,
            &target,
            catalog.well_known()
        ),
        Ok(()),
        "people are not limited by a scope"
    );
}

/// Rule 7 as revised: the target's set before *and* after the change must be held by a token
/// actor, for every changing operation — a weaker token cannot narrow a stronger one (and then
/// disable it). Reading is not a change; people are not limited by a scope.
#[test]
fn no_neutralisation() {
    let catalog = Catalog::default_catalog();
    let weak = token(AccountType::Client, &[AM]);
    let equal = token(AccountType::Client, &[AM, BILLING, HELPDESK]);
    let admin = user(AccountType::Client, true);
    let strong = set(&[AM, BILLING, HELPDESK]);
    let narrowed = set(&[AM]);
    let changes = [
        Operation::UpdateToken,
        Operation::EnableToken,
        Operation::DisableToken,
        Operation::DeleteToken,
        Operation::ChangeIcon,
    ];
    // (actor, the target's set now, after the change, expected for every change)
    let cases: [(&str, &Actor, &ModuleSet, &ModuleSet, Outcome); 7] = [
        (
            "weak narrows strong",
            &weak,
            &strong,
            &narrowed,
            Outcome::Forbidden,
        ),
        (
            "weak keeps strong",
            &weak,
            &strong,
            &strong,
            Outcome::Forbidden,
        ),
        (
            "weak widens its own",
            &weak,
            &narrowed,
            &strong,
            Outcome::Forbidden,
        ),
        (
            "weak on its equal",
            &weak,
            &narrowed,
            &narrowed,
            Outcome::Allowed,
        ),
        (
            "equal narrows",
            &equal,
            &strong,
            &narrowed,
            Outcome::Allowed,
        ),
        (
            "stronger widens",
            &equal,
            &narrowed,
            &strong,
            Outcome::Allowed,
        ),
        (
            "a person narrows",
            &admin,
            &strong,
            &narrowed,
            Outcome::Allowed,
        ),
    ];
    for (what, actor, current, resulting, expected) in cases {
        for op in changes {
            let target = Target {
                id: TokenId::from_number(99).unwrap_or_else(|| unreachable!()),
                account_id: account_id(1),
                status: TokenStatus::Active,
                current_modules: current,
                resulting_modules: resulting,
                current_expires_at: None,
                resulting_expires_at: None,
                self_rotate: false,
            };
            let got = authorize_token(actor, op, &target, catalog.well_known());
            assert_eq!(outcome(got.clone()), expected, "{what}: {op:?}");
            if expected == Outcome::Forbidden {
                assert_eq!(
                    got,
                    Err(Denial::Forbidden(Forbidden::Escalation {
                        missing: set(&[BILLING, HELPDESK])
                    })),
                    "{what}: {op:?} names what the actor lacks"
                );
            }
        }
        let target = Target {
            id: TokenId::from_number(99).unwrap_or_else(|| unreachable!()),
            account_id: account_id(1),
            status: TokenStatus::Active,
            current_modules: current,
            resulting_modules: resulting,
            current_expires_at: None,
            resulting_expires_at: None,
            self_rotate: false,
        };
        assert_eq!(
            authorize_token(actor, Operation::ReadToken, &target, catalog.well_known()),
            Ok(()),
            "{what}: reading is not a change"
        );
    }
}

#[test]
fn disabled_accounts_are_refused() {
    let catalog = Catalog::default_catalog();
    let mut disabled = account(AccountType::Client, &[AM]);
    disabled.status = AccountStatus::Disabled;
    let actor = Actor::User {
        id: UserId::from_number(5).unwrap_or_else(|| unreachable!()),
        name: "Jane".into(),
        admin: true,
        account: disabled,
    };
    assert_eq!(
        authorize_collection(&actor, Operation::ListTokens, catalog.well_known()),
        Err(Denial::Forbidden(Forbidden::AccountDisabled))
    );
}

/// Rules 8 and 9: a token that expires gives no longer life (before or after the change, on
/// create too), and a token rotates itself only when `selfRotate` is set.
#[test]
fn no_longer_life_and_self_rotation() {
    use time::macros::datetime;
    let catalog = tollgate_domain::Catalog::default_catalog();
    let known = catalog.well_known();
    let soon = datetime!(2026-12-02 00:00 UTC);
    let later = datetime!(2026-12-03 00:00 UTC);
    let Actor::Token {
        id,
        name,
        modules,
        account,
        ..
    } = token(AccountType::Client, &[AM, BILLING])
    else {
        unreachable!()
    };
    let expiring = Actor::Token {
        id,
        name,
        modules: modules.clone(),
        expires_at: Some(soon),
        account,
    };
    let scope = set(&[BILLING]);
    for (life, allowed) in [(None, false), (Some(later), false), (Some(soon), true)] {
        let created = authorize_create(&expiring, account_id(1), &scope, life, known);
        assert_eq!(created.is_ok(), allowed, "create with {life:?}");
    }
    let target = |now: Option<time::OffsetDateTime>,
                  after: Option<time::OffsetDateTime>,
                  self_rotate| Target {
        id: TokenId::from_number(5).unwrap_or_else(|| unreachable!()),
        account_id: account_id(1),
        status: TokenStatus::Active,
        current_modules: &scope,
        resulting_modules: &scope,
        current_expires_at: now,
        resulting_expires_at: after,
        self_rotate,
    };
    for (before, after, allowed) in [
        (Some(soon), Some(soon), true),
        (Some(soon), None, false),
        (None, Some(soon), false),
        (Some(later), Some(soon), false),
    ] {
        for operation in [
            Operation::UpdateToken,
            Operation::DisableToken,
            Operation::RotateToken,
        ] {
            let outcome =
                authorize_token(&expiring, operation, &target(before, after, false), known);
            assert_eq!(
                outcome.is_ok(),
                allowed,
                "{operation:?} {before:?} → {after:?}"
            );
        }
    }
    // Self-rotation: a billing-only token rotates itself only with selfRotate set.
    let weak = token(AccountType::Client, &[BILLING]);
    let Actor::Token { id: own, .. } = &weak else {
        unreachable!()
    };
    let mut itself = target(None, None, false);
    itself.id = *own;
    assert!(authorize_token(&weak, Operation::RotateToken, &itself, known).is_err());
    itself.self_rotate = true;
    assert!(authorize_token(&weak, Operation::RotateToken, &itself, known).is_ok());
    assert!(
        authorize_token(&weak, Operation::DisableToken, &itself, known).is_err(),
        "selfRotate grants rotation only"
    );
}
