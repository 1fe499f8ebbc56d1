//! Server keys and the database (SPEC §8): the key's fingerprint is recorded, a key that does
//! not fit is refused before anything is written, a database from before records only the key
//! of its hashes, and a rotation moves what it can while old records keep verifying.

use tollgate_domain::{AccountType, Keyring, TokenPatch, TokenStatus};
use tollgate_store::{PoolOptions, Rehash, Store, StoreError};

use crate::common::*;

type R<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn reopen(h: &Harness, ring: Keyring) -> Result<Store, StoreError> {
    Store::open(&h.url, ring, PoolOptions::default())
}

/// Everything a refused open could have written, as one comparable value.
fn snapshot(h: &Harness) -> R<Vec<i64>> {
    [
        "SELECT count(*) AS n FROM server_keys",
        "SELECT count(*) AS n FROM audit_records",
        "SELECT count(*) AS n FROM tokens",
        "SELECT count(*) AS n FROM tokens WHERE row_mac IS NULL",
        "SELECT count(*) AS n FROM __diesel_schema_migrations",
    ]
    .iter()
    .map(|sql| count_sql(h, sql))
    .collect()
}

#[test]
fn the_key_is_recorded_and_one_that_does_not_fit_is_refused() -> TestResult {
    each_backend(|h| {
        let f = fixture(h, AccountType::Client)?;
        create_token(h, &f, "robot", &[1104])?;
        let recorded = h.store.server_keys()?;
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0].key_id, h.keys.id(), "the key's fingerprint");
        assert_eq!(recorded[0].retired_at, None);
        let before = snapshot(h)?;
        let stranger = other_keys(9);
        let refused = reopen(h, Keyring::from(stranger.clone()));
        let Err(StoreError::KeyMismatch(message)) = refused else {
            return Err(format!("expected a key mismatch, got {refused:?}").into());
        };
        assert!(message.contains(&h.keys.id().to_string()), "{message}");
        assert!(message.contains(&stranger.id().to_string()), "{message}");
        assert_eq!(snapshot(h)?, before, "nothing was written");
        assert!(reopen(h, Keyring::from(h.keys.clone())).is_ok());
        Ok(())
    })
}

#[test]
fn a_database_from_before_records_only_the_key_of_its_hashes() -> TestResult {
    each_backend(|h| {
        let f = fixture(h, AccountType::Client)?;
        let (token, value) = create_token(h, &f, "robot", &[1104])?;
        revert_newest_migration(h)?;
        let migrations = count_sql(h, "SELECT count(*) AS n FROM __diesel_schema_migrations")?;
        let refused = reopen(h, Keyring::from(other_keys(9)));
        let Err(StoreError::KeyMismatch(message)) = refused else {
            return Err(format!("expected a key mismatch, got {refused:?}").into());
        };
        assert!(message.contains(&h.keys.id().to_string()), "{message}");
        assert_eq!(
            count_sql(h, "SELECT count(*) AS n FROM __diesel_schema_migrations")?,
            migrations,
            "the pending migration did not run"
        );

        let store = reopen(h, Keyring::from(h.keys.clone()))?;
        let recorded = store.server_keys()?;
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0].key_id, h.keys.id());
        // Every row got its MAC: the token still authenticates, the trail still verifies.
        let view = store
            .token_view(token.token.id())?
            .ok_or("the token is refused")?;
        assert!(h.keys.hash.verify(value.expose_secret(), &view.hash));
        assert_eq!(store.integrity_failures(), 0);
        let report = store.audit_report(None, &[])?;
        assert!(report.intact(), "{report:?}");
        Ok(())
    })
}

#[test]
fn an_empty_legacy_database_takes_the_current_key() -> TestResult {
    each_backend(|h| {
        revert_newest_migration(h)?;
        let store = reopen(h, Keyring::from(other_keys(3)))?;
        assert_eq!(store.server_keys()?[0].key_id, other_keys(3).id());
        assert_eq!(
            store.catalog()?.modules().len(),
            12,
            "the seeded catalog is signed"
        );
        Ok(())
    })
}

#[test]
fn only_an_existing_database_is_opened_when_asked() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("nested/tollgate.db");
    let url = format!("sqlite://{}", path.display());
    let refused = Store::open_existing(&url, keys(), PoolOptions::default());
    match refused {
        Err(StoreError::NoDatabase { url: named }) => {
            assert_eq!(named, url);
            assert!(
                !dir.path().join("nested").exists(),
                "neither the file nor its folder is created"
            );
        }
        other => return Err(format!("expected NoDatabase, got {other:?}").into()),
    }
    let database = tollgate_store::testing::TestDatabase::create()?;
    let refused = Store::open_existing(database.url(), keys(), PoolOptions::default());
    assert!(
        matches!(refused, Err(StoreError::NoDatabase { .. })),
        "an empty PostgreSQL database has no Tollgate schema: {refused:?}"
    );
    Store::open(database.url(), keys(), PoolOptions::default())?;
    assert!(Store::open_existing(database.url(), keys(), PoolOptions::default()).is_ok());
    Ok(())
}

#[test]
fn check_reports_pending_migrations_and_writes_nothing() -> TestResult {
    each_backend(|h| {
        let f = fixture(h, AccountType::Client)?;
        create_token(h, &f, "robot", &[1104])?;
        assert_eq!(Store::check(&h.url, keys())?.pending, Vec::<String>::new());
        revert_newest_migration(h)?;
        let pending = Store::check(&h.url, keys())?.pending;
        assert_eq!(pending, vec!["2026-12-01-000010_server_keys".to_owned()]);
        assert_eq!(
            Store::check(&h.url, keys())?.pending.len(),
            1,
            "checking applied nothing"
        );
        assert!(matches!(
            Store::check(&h.url, other_keys(9)),
            Err(StoreError::KeyMismatch(_))
        ));
        Ok(())
    })
}

#[test]
fn a_rotation_keeps_everything_verifying_and_moves_what_it_can() -> TestResult {
    each_backend(|h| {
        let (old, new) = (h.keys.clone(), other_keys(6));
        let f = fixture(h, AccountType::Client)?;
        let (sealed, sealed_value) = create_token(h, &f, "sealed", &[1104])?;
        let (never, never_value) =
            create_token_in(&h.store, &old, &f, "never", &[1104], NOW, false)?;
        let by = f.ctx().actor;

        // The new key becomes current: the old one is retired, not forgotten.
        let ring = Keyring::new(new.clone(), vec![old.clone()])?;
        let store = reopen(h, ring.clone())?;
        let recorded = store.server_keys()?;
        assert_eq!(
            recorded.iter().map(|k| k.key_id).collect::<Vec<_>>(),
            [old.id(), new.id()]
        );
        assert!(recorded[0].retired_at.is_some() && recorded[1].retired_at.is_none());
        assert_eq!(store.keyring().retired_at(old.id()), recorded[0].retired_at);
        // Tokens made under the old key still authenticate; a new record is under the new key.
        for (token, value) in [(&sealed, &sealed_value), (&never, &never_value)] {
            let view = store
                .token_view(token.token.id())?
                .ok_or("refused after the key changed")?;
            assert!(tollgate_domain::HashVerifier::verify_hash(
                &ring,
                value.expose_secret(),
                &view.hash
            ));
        }
        store.change_token::<StoreError>(sealed.token.id(), &f.ctx(), |token, _| {
            Ok(token.update(
                TokenPatch {
                    name: tollgate_domain::TokenName::parse("renamed").ok(),
                    ..TokenPatch::default()
                },
                None,
                by.clone(),
                NOW,
            )?)
        })?;
        assert_eq!(
            count_sql(
                h,
                &format!(
                    "SELECT count(*) AS n FROM audit_records WHERE key_id = '{}'",
                    new.id()
                )
            )?,
            1
        );
        assert!(store.audit_report(None, &[])?.intact());

        // keys rotate: the sealed token moves; the other waits for its next use.
        let rotated = store.rotate_keys()?;
        assert_eq!(rotated.resealed, 1, "{rotated:?}");
        assert_eq!(rotated.waiting, 1, "{rotated:?}");
        assert!(rotated.refused.is_empty(), "{rotated:?}");
        let view = store.token_view(sealed.token.id())?.ok_or("refused")?;
        assert_eq!(view.hash.key_id, new.id());
        assert!(new.hash.verify(sealed_value.expose_secret(), &view.hash));
        let status = store.key_status(NOW)?;
        let old_status = status
            .iter()
            .find(|k| k.key_id == old.id())
            .ok_or("no old key")?;
        assert_eq!(old_status.role, "previous");
        assert_eq!(old_status.dependents.tokens, 1);
        assert_eq!(old_status.dependents.sealed_copies, 0);
        assert_eq!(
            old_status.dependents.row_macs, 0,
            "every row MAC was made again"
        );
        assert_eq!(old_status.dependents.records, 2);

        // The write-behind moves the other token when it is used.
        let view = store.token_view(never.token.id())?.ok_or("refused")?;
        let moved = store.rehash_tokens(&[Rehash {
            id: never.token.id(),
            from: view.hash.clone(),
            to: new.hash.hash(never_value.expose_secret()),
        }])?;
        assert_eq!(moved, 1);
        let view = store.token_view(never.token.id())?.ok_or("refused")?;
        assert!(new.hash.verify(never_value.expose_secret(), &view.hash));
        let status = store.key_status(NOW)?;
        let old_status = status
            .iter()
            .find(|k| k.key_id == old.id())
            .ok_or("no old key")?;
        assert_eq!(old_status.dependents.tokens, 0);
        assert!(
            old_status.dependents.blocking(),
            "its audit records still need it"
        );
        assert!(store.audit_report(None, &[])?.intact());

        // Dropping the old key while records depend on it is refused, and so is going back.
        let refused = reopen(h, Keyring::from(new.clone()));
        assert!(
            matches!(&refused, Err(StoreError::KeyMismatch(m)) if m.contains("2 audit records")),
            "{refused:?}"
        );
        let refused = reopen(h, Keyring::new(old.clone(), vec![new.clone()])?);
        assert!(
            matches!(&refused, Err(StoreError::KeyMismatch(m)) if m.contains("retired")),
            "{refused:?}"
        );
        let deleted =
            store.change_token::<StoreError>(never.token.id(), &f.ctx(), |token, _| {
                Ok(Some(token.delete(by.clone(), NOW)?))
            })?;
        assert_eq!(deleted.token.token.status(), TokenStatus::Deleted);
        Ok(())
    })
}
