//! Every operation with its audit record; races; a failure between change and record; the
//! cascade; `lastAccessAt` (also in batches of many statements); the hot path's view; an
//! unreachable database.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use time::{Duration, OffsetDateTime};
use tollgate_domain::query::{AuditField, Comparison, Filter, ListQuery, Page, Value};
use tollgate_domain::{
    AccountStatus, AccountType, EventKind, FailureReason, Principal, TokenId, TokenPatch,
    TokenStatus, TransitionError, Visibility,
};
use tollgate_store::{Context, Icon, PoolOptions, Store, StoreError};

use crate::common::*;

fn records_for(h: &Harness, object: &str) -> Result<Vec<tollgate_audit::AuditRecord>, StoreError> {
    let query = ListQuery {
        filter: Some(Filter::Compare {
            field: AuditField::ObjectId,
            op: Comparison::Eq,
            value: Value::Text(object.to_owned()),
        }),
        order: vec![tollgate_domain::query::SortKey {
            field: AuditField::Timestamp,
            direction: tollgate_domain::query::Direction::Ascending,
        }],
        page: Page::new(0, 100),
    };
    let page = h
        .store
        .list_audit_records(Visibility::AllAccounts, &query)?;
    Ok(page.items.into_iter().map(|r| r.record).collect())
}

#[test]
fn every_operation_writes_its_record() -> TestResult {
    each_backend(|h| {
        let f = fixture(h, AccountType::Client)?;
        let (created, value) = create_token(h, &f, "CRM robot", &[1756, 1104])?;
        let id = created.token.id();
        assert_eq!(created.token.revision(), 1);
        assert_eq!(created.account.name, "Acme");
        let at = |n: i64| NOW + Duration::seconds(n);
        let ctx = f.ctx();
        let by = ctx.actor.clone();

        let renamed = h.store.change_token::<StoreError>(id, &ctx, |token, _| {
            Ok(token.update(
                TokenPatch {
                    name: tollgate_domain::TokenName::parse("ERP robot").ok(),
                    modules: Some(modules(&[1104])),
                    ..TokenPatch::default()
                },
                Some(1),
                by.clone(),
                at(1),
            )?)
        })?;
        assert_eq!(renamed.token.token.revision(), 2);
        let unchanged = h.store.change_token::<StoreError>(id, &ctx, |token, _| {
            Ok(token.update(TokenPatch::default(), None, by.clone(), NOW)?)
        })?;
        assert!(unchanged.event.is_none(), "a no-op writes nothing");
        h.store.change_token::<StoreError>(id, &ctx, |token, _| {
            Ok(Some(token.disable(by.clone(), at(2))?))
        })?;
        h.store.change_token::<StoreError>(id, &ctx, |token, _| {
            Ok(Some(token.enable(by.clone(), at(3))?))
        })?;
        let icon = Icon {
            content_type: "image/png".into(),
            data: vec![0x89, b'P', b'N', b'G'],
        };
        h.store
            .set_icon::<StoreError>(id, &f.ctx_at(at(4)), icon.clone(), |_, _| Ok(()))?;
        assert_eq!(h.store.icon(id)?, Some(icon));
        h.store
            .clear_icon::<StoreError>(id, &f.ctx_at(at(5)), |_, _| Ok(()))?;
        assert_eq!(h.store.icon(id)?, None);
        let (_, sealed) =
            h.store
                .reveal_token::<StoreError>(id, &f.ctx_at(at(6)), |_, _| Ok(()))?;
        let opened = sealed.map(|s| h.keys.seal.open(id, &s));
        assert_eq!(opened, Some(Ok(value.clone())));
        h.store.change_token::<StoreError>(id, &ctx, |token, _| {
            Ok(Some(token.delete(by.clone(), at(7))?))
        })?;

        let after = h.store.token(id)?.ok_or("token gone")?;
        assert_eq!(after.token.status(), TokenStatus::Deleted);
        assert_eq!(after.token.revision(), 7);
        assert!(after.token.parts().milestones.deleted.is_some());
        let revealed = h.store.reveal_token::<StoreError>(id, &ctx, |_, _| Ok(()));
        assert!(
            matches!(
                revealed,
                Err(StoreError::Transition(TransitionError::Deleted))
            ),
            "a deleted token reveals nothing"
        );
        let mut conn = h.store.conn()?;
        let sealed: Option<Vec<u8>> = diesel::RunQueryDsl::first(
            diesel::QueryDsl::select(
                diesel::QueryDsl::find(tollgate_store::schema::tokens::table, id.to_string()),
                tollgate_store::schema::tokens::sealed_value,
            ),
            &mut conn,
        )?;
        assert!(sealed.is_none(), "delete wipes the recoverable copy");
        let view = h.store.token_view(id)?.ok_or("no view")?;
        assert!(
            h.keys.hash.verify(value.expose_secret(), &view.hash),
            "the hash is kept after delete"
        );

        let records = records_for(h, &id.to_string())?;
        let events: Vec<&str> = records
            .iter()
            .map(|r| r.event.rsplit('.').next().unwrap_or(""))
            .collect();
        assert_eq!(
            events,
            [
                "created",
                "updated",
                "disabled",
                "enabled",
                "icon-changed",
                "icon-changed",
                "revealed",
                "deleted"
            ]
        );
        assert_eq!(
            records[1].summary,
            "Jane Doe updated API token ERP robot (".to_owned()
                + &id.to_string()
                + "): name, modules"
        );
        assert_eq!(records[1].details["name"]["before"], "CRM robot");
        assert_eq!(
            records[2]
                .actor
                .account
                .as_ref()
                .map(|a| a.account_type.as_str()),
            Some("Client")
        );
        assert_eq!(records[2].request.api_ip(), Some("127.0.0.1"));
        for record in &records {
            let text = serde_json::to_string(record)?;
            assert!(
                !text.contains(&value.expose_secret()[18..]),
                "no record holds the value"
            );
        }
        Ok(())
    })
}

#[test]
fn refused_transitions_write_nothing() -> TestResult {
    each_backend(|h| {
        let f = fixture(h, AccountType::Vendor)?;
        let (created, _) = create_token(h, &f, "robot", &[1756])?;
        let id = created.token.id();
        let by = f.ctx().actor;
        let result = h
            .store
            .change_token::<StoreError>(id, &f.ctx(), |token, _| {
                Ok(Some(token.enable(by.clone(), NOW)?))
            });
        assert!(matches!(
            result,
            Err(StoreError::Transition(TransitionError::AlreadyActive))
        ));
        let stale = h
            .store
            .change_token::<StoreError>(id, &f.ctx(), |token, _| {
                Ok(token.update(TokenPatch::default(), Some(9), by.clone(), NOW)?)
            });
        assert!(matches!(
            stale,
            Err(StoreError::Transition(TransitionError::StaleRevision {
                expected: 9,
                current: 1
            }))
        ));
        assert_eq!(h.store.token(id)?.map(|t| t.token.revision()), Some(1));
        assert_eq!(records_for(h, &id.to_string())?.len(), 1);
        let missing = tollgate_domain::TokenId::from_number(1).ok_or("id")?;
        let result = h
            .store
            .change_token::<StoreError>(missing, &f.ctx(), |_, _| Ok(None));
        assert!(matches!(result, Err(StoreError::NotFound(_))));
        Ok(())
    })
}

#[test]
fn racing_threads_on_one_token() -> TestResult {
    each_backend(|h| {
        let f = Arc::new(fixture(h, AccountType::Client)?);
        let (created, _) = create_token(h, &f, "contended", &[1756, 1104, 1105])?;
        let id = created.token.id();
        let accepted = Arc::new(AtomicU32::new(0));
        let threads: Vec<_> = (0..6)
            .map(|thread| {
                let store = h.store.clone();
                let f = Arc::clone(&f);
                let accepted = Arc::clone(&accepted);
                std::thread::spawn(move || -> Result<(), String> {
                    for step in 0..8u32 {
                        let ctx = f.ctx();
                        let by = ctx.actor.clone();
                        let result = store.change_token::<StoreError>(id, &ctx, |token, _| {
                            match (thread + step) % 3 {
                                0 => Ok(Some(token.disable(by.clone(), NOW)?)),
                                1 => Ok(Some(token.enable(by.clone(), NOW)?)),
                                _ => Ok(token.update(
                                    TokenPatch {
                                        name: tollgate_domain::TokenName::parse(&format!(
                                            "t{thread} s{step}"
                                        ))
                                        .ok(),
                                        ..TokenPatch::default()
                                    },
                                    None,
                                    by.clone(),
                                    NOW,
                                )?),
                            }
                        });
                        match result {
                            Ok(changed) if changed.event.is_some() => {
                                accepted.fetch_add(1, Ordering::SeqCst);
                            }
                            Ok(_) | Err(StoreError::Transition(_)) | Err(StoreError::Conflict) => {}
                            Err(other) => return Err(other.to_string()),
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        for thread in threads {
            thread.join().map_err(|_| "thread panicked")??;
        }
        let accepted = accepted.load(Ordering::SeqCst);
        let token = h.store.token(id)?.ok_or("gone")?;
        assert!(matches!(
            token.token.status(),
            TokenStatus::Active | TokenStatus::Disabled
        ));
        assert_eq!(
            token.token.revision(),
            accepted + 1,
            "revision = accepted changes + 1"
        );
        let records = records_for(h, &id.to_string())?;
        assert_eq!(
            records.len() as u32,
            accepted + 1,
            "one record per accepted change (and the creation)"
        );
        let mut revisions: Vec<u32> = records.iter().map(|r| r.revision).collect();
        revisions.sort_unstable();
        assert_eq!(revisions, (1..=accepted + 1).collect::<Vec<_>>());
        let reports = h.store.verify_audit(Some(f.account.id))?;
        assert_eq!(reports.len(), 1);
        assert_eq!(
            reports[0].result,
            Ok(u64::from(accepted) + 1),
            "the chain verifies after concurrent writes"
        );
        Ok(())
    })
}

#[test]
fn a_failure_between_change_and_record_leaves_neither() -> TestResult {
    each_backend(|h| {
        let f = fixture(h, AccountType::Client)?;
        let (created, _) = create_token(h, &f, "robot", &[1756])?;
        let id = created.token.id();
        // Make the audit insert fail, as a crash or a full disk would, after the token's UPDATE.
        match h.name {
            "postgres" => execute_sql(
                h,
                "CREATE FUNCTION fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END; $$; \
                CREATE TRIGGER fail_audit BEFORE INSERT ON audit_records FOR EACH ROW EXECUTE FUNCTION fail_audit();",
            )?,
            _ => execute_sql(
                h,
                "CREATE TRIGGER fail_audit BEFORE INSERT ON audit_records BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
            )?,
        }
        let by = f.ctx().actor;
        let result = h
            .store
            .change_token::<StoreError>(id, &f.ctx(), |token, _| {
                Ok(Some(token.disable(by.clone(), NOW)?))
            });
        assert!(result.is_err(), "the change must fail with its record");
        let after = h.store.token(id)?.ok_or("gone")?;
        assert_eq!(
            after.token.status(),
            TokenStatus::Active,
            "no change without its record"
        );
        assert_eq!(after.token.revision(), 1);
        let created_again = create_token(h, &f, "second", &[1756]);
        assert!(created_again.is_err());
        assert_eq!(
            h.store
                .list_tokens(Visibility::AllAccounts, &ListQuery::default())?
                .total,
            1,
            "no token without its record"
        );
        execute_sql(h, "DROP TRIGGER fail_audit ON audit_records")
            .or_else(|_| execute_sql(h, "DROP TRIGGER fail_audit"))?;
        assert_eq!(records_for(h, &id.to_string())?.len(), 1);
        assert!(h.store.verify_audit(None)?.iter().all(|r| r.result.is_ok()));
        Ok(())
    })
}

#[test]
fn removing_a_module_from_an_account_cascades_to_its_tokens() -> TestResult {
    each_backend(|h| {
        let f = fixture(h, AccountType::Client)?;
        let (a, _) = create_token(h, &f, "a", &[1756, 1104])?;
        let (b, _) = create_token(h, &f, "b", &[1104])?;
        let (c, _) = create_token(h, &f, "c", &[1756])?;
        let mut keep = f.account.modules.clone();
        keep.remove(module(1104));
        let account = h.store.set_account_modules(f.account.id, &keep, &f.ctx())?;
        assert!(!account.modules.contains(module(1104)));
        let a = h.store.token(a.token.id())?.ok_or("a")?;
        let b = h.store.token(b.token.id())?.ok_or("b")?;
        let c = h.store.token(c.token.id())?.ok_or("c")?;
        assert_eq!(a.token.modules(), &modules(&[1756]));
        assert!(b.token.modules().is_empty());
        assert_eq!(b.token.status(), TokenStatus::Active, "tokens stay Active");
        assert_eq!(
            (a.token.revision(), b.token.revision(), c.token.revision()),
            (2, 2, 1)
        );
        let mut records = records_for(h, &b.token.id().to_string())?;
        records.sort_by_key(|r| r.revision);
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].actor.kind, "System");
        assert_eq!(
            records[1].details["modules"]["after"],
            serde_json::json!([])
        );
        Ok(())
    })
}

#[test]
fn last_access_is_batched_and_forward_only() -> TestResult {
    each_backend(|h| {
        let f = fixture(h, AccountType::Client)?;
        let (a, _) = create_token(h, &f, "a", &[1756])?;
        let (b, _) = create_token(h, &f, "b", &[1756])?;
        let (a, b) = (a.token.id(), b.token.id());
        let later = NOW + Duration::minutes(5);
        assert_eq!(h.store.touch_tokens(&[(a, later), (b, NOW)])?, 2);
        assert_eq!(
            h.store.touch_tokens(&[(a, NOW), (b, later)])?,
            1,
            "a does not move back"
        );
        let a_at = h
            .store
            .token(a)?
            .and_then(|t| t.token.parts().last_access_at);
        let b_at = h
            .store
            .token(b)?
            .and_then(|t| t.token.parts().last_access_at);
        assert_eq!((a_at, b_at), (Some(later), Some(later)));
        // A change does not overwrite the write-behind's column.
        let by = f.ctx().actor;
        h.store
            .change_token::<StoreError>(a, &f.ctx(), |token, _| {
                Ok(Some(token.disable(by.clone(), NOW)?))
            })?;
        assert_eq!(
            h.store
                .token(a)?
                .and_then(|t| t.token.parts().last_access_at),
            Some(later)
        );
        Ok(())
    })
}

/// `count` token ids that are not in `real` (five ids), chosen so that in id order the real
/// ones are at positions 0, 499, 500, somewhere in the middle, and last.
fn fakes_around(real: &[TokenId], count: u64) -> Result<Vec<TokenId>, String> {
    let mut r: Vec<u64> = real.iter().map(|id| id.number()).collect();
    r.sort_unstable();
    let [r0, r1, r2, r3, r4] = r[..] else {
        return Err("five real ids".into());
    };
    // `n` ids strictly between `low` and `high`, evenly spread.
    let between = |low: u64, high: u64, n: u64| -> Result<Vec<TokenId>, String> {
        let step = (high - low) / (n + 1);
        if step == 0 {
            return Err(format!("no room for {n} ids between {low} and {high}"));
        }
        (1..=n)
            .map(|i| TokenId::from_number(low + step * i).ok_or_else(|| "id".to_owned()))
            .collect()
    };
    let rest = count - 498;
    let room = r4 - r3 - 1;
    let middle = (rest / 2).min(r3 - r2 - 1).max(rest.saturating_sub(room));
    let mut ids = between(r0, r1, 498)?;
    ids.extend(between(r2, r3, middle)?);
    ids.extend(between(r3, r4, rest - middle)?);
    Ok(ids)
}

/// A write-behind flush larger than one statement can hold: 7,000 ids of tokens that do not
/// exist (at five bind parameters a token, over SQLite's 32,766 in one statement) around five
/// real tokens, each at a stored time that tests the forward-only rule at millisecond
/// precision: whole seconds against fractions (SQLite keeps `…:00` and `…:00.25` as text),
/// sub-millisecond parts (dropped when stored), and ids given more than once (the latest time
/// counts). Every time is relative to the fixture's `NOW`, never the wall clock.
#[test]
fn last_access_in_a_batch_of_many_statements() -> TestResult {
    each_backend(|h| {
        let f = fixture(h, AccountType::Client)?;
        let mut real = Vec::new();
        for name in ["forward", "fraction", "behind", "same", "never used"] {
            real.push(create_token(h, &f, name, &[1756])?.0.token.id());
        }
        let [forward, fraction, behind, same, never] = real[..] else {
            return Err("five tokens".into());
        };
        let last_access = |id: TokenId| -> Result<Option<OffsetDateTime>, StoreError> {
            Ok(h.store
                .token(id)?
                .and_then(|t| t.token.parts().last_access_at))
        };

        // What is stored before the batch.
        let forward_at = NOW + Duration::minutes(5);
        let fraction_at = NOW + Duration::minutes(6) + Duration::milliseconds(500);
        let behind_at = NOW + Duration::minutes(10) + Duration::milliseconds(250);
        let same_at = NOW + Duration::minutes(7) + Duration::milliseconds(5);
        let stored = [
            (forward, forward_at),
            (fraction, fraction_at),
            (behind, behind_at),
            (same, same_at),
        ];
        assert_eq!(h.store.touch_tokens(&stored)?, 4);
        for (id, at) in stored {
            assert_eq!(last_access(id)?, Some(at));
        }

        // A whole second, then one millisecond after it.
        let later = forward_at + Duration::milliseconds(1);
        // `…:00.5`, then `…:01.2504`: stored as `…:01.25`.
        let fraction_later = fraction_at + Duration::microseconds(750_400);
        // A whole second before `behind`'s `…:00.25`: must not move it back.
        let earlier = behind_at - Duration::milliseconds(250);
        // Later than `same` by less than a millisecond: the same stored time, no move.
        let within = same_at + Duration::microseconds(700);
        let first_use = NOW + Duration::hours(1);

        // 7,000 ids of tokens that do not exist, around the real ones so that, in id order and
        // in statements of 500, a real token is the first of all, the last of the first
        // statement, the first of the second, somewhere after, and the last of the final,
        // partial statement (7,005 = 14 × 500 + 5).
        let fakes = fakes_around(&real, 7_000)?;
        let mut all: Vec<TokenId> = fakes.iter().chain(&real).copied().collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 7_005, "distinct ids");
        let mut positions: Vec<usize> = real
            .iter()
            .map(|id| all.binary_search(id).unwrap_or(usize::MAX))
            .collect();
        positions.sort_unstable();
        assert_eq!(
            (positions[0], positions[1], positions[2], positions[4]),
            (0, 499, 500, 7_004),
            "{positions:?}"
        );
        // Given in descending id order, unlike the statements.
        let mut uses: Vec<(TokenId, OffsetDateTime)> =
            fakes.into_iter().rev().map(|id| (id, first_use)).collect();
        let middle = uses.len() / 2;
        // The real ones first, in the middle and last; `forward` and `behind` more than once,
        // with their latest time neither first nor last.
        uses.insert(0, (forward, forward_at - Duration::minutes(1)));
        uses.insert(1, (never, first_use));
        uses.insert(middle, (forward, later));
        uses.insert(middle + 1, (behind, earlier - Duration::hours(1)));
        uses.insert(middle + 2, (fraction, fraction_later));
        uses.push((behind, earlier));
        uses.push((same, within));
        uses.push((forward, forward_at - Duration::minutes(2)));
        uses.push((behind, earlier - Duration::minutes(1)));

        assert_eq!(
            h.store.touch_tokens(&uses)?,
            3,
            "forward, fraction and never used move; behind and same do not"
        );
        assert_eq!(last_access(forward)?, Some(later));
        assert_eq!(
            last_access(fraction)?,
            Some(fraction_at + Duration::milliseconds(750))
        );
        assert_eq!(last_access(never)?, Some(first_use));
        assert_eq!(last_access(behind)?, Some(behind_at), "not moved back");
        assert_eq!(last_access(same)?, Some(same_at), "not moved");
        assert_eq!(h.store.touch_tokens(&uses)?, 0, "the same batch again");
        Ok(())
    })
}

#[test]
fn the_hot_path_view_and_failures() -> TestResult {
    each_backend(|h| {
        let f = fixture(h, AccountType::Operations)?;
        let (created, value) = create_token(h, &f, "robot", &[1756, 1111])?;
        let id = created.token.id();
        let view = h.store.token_view(id)?.ok_or("no view")?;
        assert_eq!(view.account_type, AccountType::Operations);
        assert_eq!(view.modules, modules(&[1111, 1756]));
        assert!(h.keys.hash.verify(value.expose_secret(), &view.hash));
        assert_eq!(h.store.token_ids()?, vec![id]);
        h.store
            .set_account_status(f.account.id, AccountStatus::Disabled)?;
        assert_eq!(
            h.store.token_view(id)?.map(|v| v.account_status),
            Some(AccountStatus::Disabled)
        );
        h.store.record_authentication_failure(
            id,
            FailureReason::AccountDisabled,
            &Context {
                actor: Principal::System,
                ..f.ctx_at(NOW + Duration::seconds(1))
            },
        )?;
        let records = records_for(h, &id.to_string())?;
        assert_eq!(
            records.last().map(|r| r.event.as_str()),
            Some("platform.accounts.api-token.authentication-failed")
        );
        assert_eq!(
            records.last().map(|r| r.details["reason"].clone()),
            Some(serde_json::json!("account-disabled"))
        );
        assert_eq!(
            h.store.token(id)?.map(|t| t.token.revision()),
            Some(1),
            "a failure is not a change"
        );
        assert!(matches!(
            EventKind::AuthenticationFailed(FailureReason::Disabled).action(),
            "authentication-failed"
        ));
        Ok(())
    })
}

#[test]
fn an_unreachable_database_is_unavailable() -> TestResult {
    // Nothing listens on port 1.
    let store = Store::open(
        "postgres://postgres@127.0.0.1:1/none",
        keys(),
        PoolOptions {
            max_size: 2,
            connection_timeout: std::time::Duration::from_millis(300),
            ..PoolOptions::default()
        },
    );
    assert!(
        matches!(store, Err(StoreError::Unavailable(_))),
        "{store:?}"
    );
    Ok(())
}

#[test]
fn the_pool_recovers_when_connections_are_killed() -> TestResult {
    let h = postgres()?;
    let f = fixture(&h, AccountType::Client)?;
    create_token(&h, &f, "before", &[1756])?;
    let admin = tollgate_store::testing::postgres_server()?
        .admin_url()
        .to_owned();
    let mut conn = <diesel::PgConnection as diesel::Connection>::establish(&admin)?;
    let name = h.url.rsplit('/').next().unwrap_or_default().to_owned();
    diesel::RunQueryDsl::execute(
        diesel::sql_query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()")
            .bind::<diesel::sql_types::Text, _>(&name),
        &mut conn,
    )?;
    create_token(&h, &f, "after", &[1756])?;
    assert_eq!(
        h.store
            .list_tokens(Visibility::AllAccounts, &ListQuery::default())?
            .total,
        2
    );
    Ok(())
}

#[test]
fn urls_without_a_scheme_are_refused() {
    for url in [
        "./data/tollgate.db",
        "tollgate.db",
        "mysql://x",
        "sqlite://",
    ] {
        assert!(
            matches!(
                tollgate_store::DatabaseUrl::parse(url),
                Err(StoreError::BadUrl(_))
            ),
            "{url}"
        );
    }
}
