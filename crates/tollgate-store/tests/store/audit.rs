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

/// Renames the fixture's token once (one record, one revision).
fn rename(h: &Harness, f: &Fixture, id: tollgate_domain::TokenId, name: &str) -> TestResult {
    let by = f.ctx().actor;
    h.store
        .change_token::<StoreError>(id, &f.ctx(), |token, _| {
            Ok(token.update(
                TokenPatch {
                    name: tollgate_domain::TokenName::parse(name).ok(),
                    ..TokenPatch::default()
                },
                None,
                by.clone(),
                NOW,
            )?)
        })?;
    Ok(())
}

/// Plays a superuser: deletes the account's records from #`from` on and rolls its chain head
/// back to the record before, so that the chain itself verifies.
fn cut_tail(h: &Harness, f: &Fixture, from: i64) -> TestResult {
    let account = f.account.id;
    tamper(
        h,
        &format!(
            "DELETE FROM audit_records WHERE account_id = '{account}' AND chain_seq >= {from}"
        ),
    )?;
    let keep = from - 1;
    execute_sql(
        h,
        &format!(
            "UPDATE audit_chain_heads SET record_count = {keep}, last_hash = \
             (SELECT hash FROM audit_records WHERE account_id = '{account}' AND chain_seq = {keep}) \
             WHERE account_id = '{account}'"
        ),
    )
}

/// Keeps a copy of the token rows as they are now (as a superuser with a backup would).
fn save_tokens(h: &Harness, table: &str) -> TestResult {
    execute_sql(h, &format!("CREATE TABLE {table} AS SELECT * FROM tokens"))
}

/// Puts back the revision and row MAC of a saved copy: a row Tollgate once wrote, MAC and all.
fn restore_tokens(h: &Harness, table: &str) -> TestResult {
    execute_sql(
        h,
        &format!(
            "UPDATE tokens SET revision = (SELECT s.revision FROM {table} s WHERE s.id = tokens.id), \
             row_mac = (SELECT s.row_mac FROM {table} s WHERE s.id = tokens.id)"
        ),
    )
}

#[test]
fn a_deleted_tail_with_a_rolled_back_head_is_caught() -> TestResult {
    each_backend(|h| {
        let f = some_history(h)?;
        cut_tail(h, &f, 4)?;
        assert!(
            h.store
                .verify_audit(None)?
                .iter()
                .all(|r| r.result == Ok(3)),
            "the chain alone verifies"
        );
        let report = h.store.audit_report(None, &[])?;
        assert!(!report.intact());
        let [problem] = report.revisions.as_slice() else {
            return Err(format!("{:?}", report.revisions).into());
        };
        assert!(
            problem.problem.contains("revision 4") && problem.problem.contains("removed"),
            "{problem:?}"
        );
        Ok(())
    })
}

#[test]
fn an_account_whose_whole_trail_was_removed_is_caught() -> TestResult {
    each_backend(|h| {
        let f = some_history(h)?;
        let account = f.account.id;
        tamper(
            h,
            &format!("DELETE FROM audit_records WHERE account_id = '{account}'"),
        )?;
        execute_sql(
            h,
            &format!("DELETE FROM audit_chain_heads WHERE account_id = '{account}'"),
        )?;
        let report = h.store.audit_report(None, &[])?;
        assert!(report.chains.iter().all(|r| r.result.is_ok()));
        assert!(
            report
                .revisions
                .iter()
                .any(|p| p.problem.contains("no audit records")),
            "{:?}",
            report.revisions
        );
        Ok(())
    })
}

fn checkpoint_now(h: &Harness, f: &Fixture) -> Result<tollgate_audit::Checkpoint, StoreError> {
    let heads = h.store.chain_heads(Some(f.account.id))?;
    let (account, head) = heads
        .into_iter()
        .next()
        .ok_or(StoreError::NotFound("head".into()))?;
    Ok(tollgate_audit::Checkpoint {
        account,
        count: head.count,
        hash: head.last_hash,
        at: NOW,
    })
}

#[test]
fn a_kept_checkpoint_catches_what_a_consistent_rollback_hides() -> TestResult {
    use tollgate_audit::CheckpointBreak;
    each_backend(|h| {
        let f = fixture(h, AccountType::Client)?;
        let (created, _) = create_token(h, &f, "robot", &[1756, 1104])?;
        let id = created.token.id();
        rename(h, &f, id, "robot 1")?;
        rename(h, &f, id, "robot 2")?;
        save_tokens(h, "saved_tokens")?;
        rename(h, &f, id, "robot 3")?;
        let kept = checkpoint_now(h, &f)?;
        assert_eq!(kept.count, 4);
        let line = kept.line(&h.keys);
        let parsed = tollgate_audit::Checkpoint::parse(&line, 1, &h.store.keyring())?;
        assert!(
            h.store
                .audit_report(None, std::slice::from_ref(&parsed))?
                .intact()
        );

        // The last change undone everywhere: its record, the head, and the token's row.
        cut_tail(h, &f, 4)?;
        restore_tokens(h, "saved_tokens")?;
        let report = h.store.audit_report(None, &[])?;
        assert!(
            report.intact(),
            "without a kept checkpoint this is not detectable: {report:?}"
        );
        let report = h.store.audit_report(None, &[parsed])?;
        assert!(!report.intact());
        assert!(
            matches!(
                report.checkpoints.as_slice(),
                [tollgate_store::CheckpointReport {
                    result: Err(CheckpointBreak::Shorter {
                        kept: 4,
                        found: 3,
                        ..
                    }),
                    ..
                }]
            ),
            "{:?}",
            report.checkpoints
        );
        Ok(())
    })
}

#[test]
fn a_kept_checkpoint_catches_a_rewritten_chain() -> TestResult {
    use tollgate_audit::CheckpointBreak;
    each_backend(|h| {
        let f = fixture(h, AccountType::Client)?;
        let (created, _) = create_token(h, &f, "robot", &[1756, 1104])?;
        let id = created.token.id();
        save_tokens(h, "saved_tokens")?;
        rename(h, &f, id, "robot 1")?;
        rename(h, &f, id, "robot 2")?;
        rename(h, &f, id, "robot 3")?;
        let kept = checkpoint_now(h, &f)?;
        // Back to the first record, then two other changes: four records again, another #4.
        cut_tail(h, &f, 2)?;
        restore_tokens(h, "saved_tokens")?;
        rename(h, &f, id, "other 1")?;
        rename(h, &f, id, "other 2")?;
        rename(h, &f, id, "other 3")?;
        let report = h.store.audit_report(None, &[kept])?;
        assert!(
            matches!(
                report.checkpoints.as_slice(),
                [tollgate_store::CheckpointReport {
                    result: Err(CheckpointBreak::Diverged { seq: 4, .. }),
                    ..
                }]
            ),
            "{:?}",
            report.checkpoints
        );
        Ok(())
    })
}
