//! The audit trail in the database: append-only, and tamper-evident.

use tollgate_audit::ChainBreak;
use tollgate_domain::{AccountType, TokenPatch};
use tollgate_store::StoreError;

use crate::common::*;

fn some_history(h: &Harness) -> Result<Fixture, Box<dyn std::error::Error + Send + Sync>> {
    let f = fixture(h, AccountType::Client)?;
    let (created, _) = create_token(h, &f, "robot", &[1756, 1104])?;
    let by = f.ctx().actor;
    for step in 0..3 {
        h.store
            .change_token::<StoreError>(created.token.id(), &f.ctx(), |token, _| {
                Ok(token.update(
                    TokenPatch {
                        name: tollgate_domain::TokenName::parse(&format!("robot {step}")).ok(),
                        ..TokenPatch::default()
                    },
                    None,
                    by.clone(),
                    NOW,
                )?)
            })?;
    }
    Ok(f)
}

#[test]
fn audit_records_cannot_be_updated_or_deleted() -> TestResult {
    each_backend(|h| {
        some_history(h)?;
        for statement in [
            "UPDATE audit_records SET event = 'forged'",
            "DELETE FROM audit_records",
            "DELETE FROM audit_records WHERE chain_seq = 1",
        ] {
            let result = execute_sql(h, statement);
            let message = result.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(message.contains("append-only"), "{statement}: {message}");
        }
        if h.name == "postgres" {
            let result = execute_sql(h, "TRUNCATE audit_records");
            assert!(
                result.is_err_and(|e| e.to_string().contains("append-only")),
                "TRUNCATE must be refused"
            );
        }
        assert!(
            h.store
                .verify_audit(None)?
                .iter()
                .all(|r| r.result == Ok(4))
        );
        Ok(())
    })
}

/// Plays a superuser who switches the append-only triggers off, runs `sql`, and switches them
/// back on.
fn tamper(h: &Harness, sql: &str) -> TestResult {
    match h.name {
        "postgres" => execute_sql(
            h,
            &format!(
                "ALTER TABLE audit_records DISABLE TRIGGER USER; {sql}; ALTER TABLE audit_records ENABLE TRIGGER USER;"
            ),
        ),
        _ => execute_sql(
            h,
            &format!(
                "DROP TRIGGER audit_records_no_update; DROP TRIGGER audit_records_no_delete; {sql}; \
                 CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END; \
                 CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;"
            ),
        ),
    }
}

fn first_break(h: &Harness) -> Result<Option<ChainBreak>, StoreError> {
    Ok(h.store
        .verify_audit(None)?
        .into_iter()
        .find_map(|report| report.result.err()))
}

#[test]
fn a_forged_record_is_detected() -> TestResult {
    each_backend(|h| {
        some_history(h)?;
        assert_eq!(first_break(h)?, None);
        tamper(
            h,
            "UPDATE audit_records SET record = replace(record, 'Jane Doe', 'Mallory') WHERE chain_seq = 2",
        )?;
        assert!(
            matches!(
                first_break(h)?,
                Some(ChainBreak::HashMismatch { seq: 2, .. })
            ),
            "{:?}",
            first_break(h)
        );
        Ok(())
    })
}

#[test]
fn an_altered_index_column_is_detected() -> TestResult {
    each_backend(|h| {
        some_history(h)?;
        tamper(
            h,
            "UPDATE audit_records SET actor_id = 'USR-0000-0000' WHERE chain_seq = 3",
        )?;
        assert!(matches!(
            first_break(h)?,
            Some(ChainBreak::HashMismatch { seq: 3, .. })
        ));
        Ok(())
    })
}

#[test]
fn a_deleted_record_is_detected() -> TestResult {
    each_backend(|h| {
        some_history(h)?;
        tamper(h, "DELETE FROM audit_records WHERE chain_seq = 2")?;
        assert!(matches!(
            first_break(h)?,
            Some(ChainBreak::Gap {
                expected: 2,
                found: 3,
                ..
            })
        ));
        Ok(())
    })
}

#[test]
fn a_truncated_tail_is_detected() -> TestResult {
    each_backend(|h| {
        some_history(h)?;
        tamper(h, "DELETE FROM audit_records WHERE chain_seq = 4")?;
        assert_eq!(
            first_break(h)?,
            Some(ChainBreak::Truncated {
                expected: 4,
                found: 3
            })
        );
        Ok(())
    })
}

#[test]
fn a_chain_rebuilt_without_the_key_is_detected() -> TestResult {
    each_backend(|h| {
        some_history(h)?;
        // Even a consistent-looking rewrite of the hash column fails: the HMAC key is not in the
        // database.
        tamper(
            h,
            "UPDATE audit_records SET hash = prev_hash WHERE chain_seq = 4",
        )?;
        assert!(matches!(
            first_break(h)?,
            Some(ChainBreak::HashMismatch { seq: 4, .. })
        ));
        Ok(())
    })
}

#[test]
fn records_of_deleted_tokens_stay_visible_to_their_account() -> TestResult {
    use tollgate_domain::Visibility;
    use tollgate_domain::query::ListQuery;
    each_backend(|h| {
        let f = fixture(h, AccountType::Client)?;
        let other = fixture(h, AccountType::Client)?;
        let (created, _) = create_token(h, &f, "robot", &[1756])?;
        let by = f.ctx().actor;
        h.store
            .change_token::<StoreError>(created.token.id(), &f.ctx(), |token, _| {
                Ok(Some(token.delete(by.clone(), NOW)?))
            })?;
        let mine = h
            .store
            .list_audit_records(Visibility::Account(f.account.id), &ListQuery::default())?;
        assert_eq!(mine.total, 2);
        let theirs = h
            .store
            .list_audit_records(Visibility::Account(other.account.id), &ListQuery::default())?;
        assert_eq!(theirs.total, 0);
        let id = &mine.items[0].record.id;
        assert_eq!(
            h.store.audit_record(id)?.map(|r| r.account_id),
            Some(f.account.id)
        );
        Ok(())
    })
}
