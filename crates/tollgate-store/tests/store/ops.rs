//! Every operation with its audit record; races; a failure between change and record; the
//! cascade; `lastAccessAt`; the hot path's view; an unreachable database.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use time::Duration;
use tollgate_domain::query::{AuditField, Comparison, Filter, ListQuery, Page, Value};
use tollgate_domain::{
    AccountStatus, AccountType, EventKind, FailureReason, Principal, TokenPatch, TokenStatus,
    TransitionError, Visibility,
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
        assert_eq!(records[2].request.ip.as_deref(), Some("127.0.0.1"));
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
        keys().audit,
        PoolOptions {
            max_size: 2,
            connection_timeout: std::time::Duration::from_millis(300),
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
