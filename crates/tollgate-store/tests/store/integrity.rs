//! Row MACs (SPEC §6, live state): what a superuser changes in a token's, account's, user's or
//! module's security fields decides nothing, is refused where it would, and is reported.

use tollgate_domain::{AccountStatus, AccountType, TokenPatch};
use tollgate_store::StoreError;

use crate::common::*;

fn rows_reported(h: &Harness) -> Result<Vec<String>, StoreError> {
    Ok(h.store
        .audit_report(None, &[])?
        .rows
        .into_iter()
        .map(|problem| problem.row)
        .collect())
}

#[test]
fn a_token_given_a_module_by_sql_is_refused_and_reported() -> TestResult {
    each_backend(|h| {
        let f = fixture(h, AccountType::Client)?;
        let (token, _) = create_token(h, &f, "robot", &[1104])?;
        let id = token.token.id();
        assert!(h.store.token_view(id)?.is_some());
        execute_sql(
            h,
            &format!("INSERT INTO token_modules (token_id, module_id) VALUES ('{id}', 'MOD-1756')"),
        )?;
        assert_eq!(h.store.token_view(id)?, None, "the fill fails closed");
        assert_eq!(h.store.integrity_failures(), 1, "and is counted");
        assert_eq!(rows_reported(h)?, [format!("token {id}")]);
        // A change would sign what the superuser wrote: it is refused.
        let by = f.ctx().actor;
        let refused = h
            .store
            .change_token::<StoreError>(id, &f.ctx(), |token, _| {
                Ok(token.update(
                    TokenPatch {
                        name: tollgate_domain::TokenName::parse("renamed").ok(),
                        ..TokenPatch::default()
                    },
                    None,
                    by.clone(),
                    NOW,
                )?)
            });
        assert!(
            matches!(refused, Err(StoreError::Integrity(_))),
            "{refused:?}"
        );
        // Taking the module away again restores the row.
        execute_sql(
            h,
            &format!(
                "DELETE FROM token_modules WHERE token_id = '{id}' AND module_id = 'MOD-1756'"
            ),
        )?;
        assert!(h.store.token_view(id)?.is_some());
        assert!(rows_reported(h)?.is_empty());
        Ok(())
    })
}

#[test]
fn a_module_whose_paths_were_changed_by_sql_leaves_the_catalog() -> TestResult {
    each_backend(|h| {
        assert!(h.store.catalog()?.get(module(1102)).is_some());
        execute_sql(
            h,
            "UPDATE modules SET paths = 'commerce/,secret/' WHERE id = 'MOD-1102'",
        )?;
        let catalog = h.store.catalog()?;
        assert!(catalog.get(module(1102)).is_none(), "it grants nothing");
        assert_eq!(catalog.modules().len(), 11, "the others stay");
        assert_eq!(rows_reported(h)?, ["module MOD-1102"]);
        Ok(())
    })
}

#[test]
fn accounts_and_users_changed_by_sql_are_refused_and_reported() -> TestResult {
    each_backend(|h| {
        let f = fixture(h, AccountType::Client)?;
        let (token, _) = create_token(h, &f, "robot", &[1104])?;
        let clerk = h.store.create_user(
            f.account.id,
            &tollgate_domain::DisplayName::parse("name", "Joe")?,
            false,
            NOW,
        )?;
        h.store
            .set_account_status(f.account.id, AccountStatus::Disabled)?;
        let account = f.account.id;
        execute_sql(
            h,
            &format!("UPDATE accounts SET status = 'Active' WHERE id = '{account}'"),
        )?;
        execute_sql(
            h,
            &format!("UPDATE users SET admin = TRUE WHERE id = '{}'", clerk.id),
        )?;
        assert_eq!(h.store.token_view(token.token.id())?, None);
        assert!(matches!(
            h.store.account(account),
            Err(StoreError::Integrity(_))
        ));
        assert!(matches!(
            h.store.set_account_status(account, AccountStatus::Active),
            Err(StoreError::Integrity(_))
        ));
        assert!(matches!(
            h.store.user(clerk.id),
            Err(StoreError::Integrity(_))
        ));
        let mut reported = rows_reported(h)?;
        reported.sort();
        assert_eq!(
            reported,
            [format!("account {account}"), format!("user {}", clerk.id)]
        );
        Ok(())
    })
}

#[test]
fn changes_made_by_tollgate_keep_every_row_mac() -> TestResult {
    each_backend(|h| {
        let f = fixture(h, AccountType::Client)?;
        let (token, _) = create_token(h, &f, "robot", &[1756, 1104])?;
        h.store
            .set_account_status(f.account.id, AccountStatus::Disabled)?;
        h.store
            .set_account_status(f.account.id, AccountStatus::Active)?;
        h.store
            .set_account_modules(f.account.id, &modules(&[1756]), &f.ctx())?;
        let catalog = h.store.catalog()?;
        if let Some(billing) = catalog.get(module(1104)) {
            h.store.upsert_module(billing)?;
        }
        let by = f.ctx().actor;
        h.store
            .change_token::<StoreError>(token.token.id(), &f.ctx(), |token, _| {
                Ok(Some(token.disable(by.clone(), NOW)?))
            })?;
        assert!(h.store.token_view(token.token.id())?.is_some());
        let report = h.store.audit_report(None, &[])?;
        assert!(report.intact(), "{report:?}");
        assert_eq!(h.store.integrity_failures(), 0);
        Ok(())
    })
}

#[test]
fn a_rotation_never_re_signs_an_altered_row() -> TestResult {
    use tollgate_domain::Keyring;
    each_backend(|h| {
        let f = fixture(h, AccountType::Client)?;
        let (token, _) = create_token(h, &f, "robot", &[1104])?;
        execute_sql(
            h,
            "UPDATE modules SET paths = 'commerce/,secret/' WHERE id = 'MOD-1102'",
        )?;
        execute_sql(
            h,
            &format!(
                "INSERT INTO token_modules (token_id, module_id) VALUES ('{}', 'MOD-1756')",
                token.token.id()
            ),
        )?;
        let ring = Keyring::new(other_keys(8), vec![h.keys.clone()])?;
        let store =
            tollgate_store::Store::open(&h.url, ring, tollgate_store::PoolOptions::default())?;
        let rotated = store.rotate_keys()?;
        let mut refused = rotated.refused.clone();
        refused.sort();
        assert_eq!(refused.len(), 2, "{refused:?}");
        assert!(refused[0].starts_with("module MOD-1102"), "{refused:?}");
        assert!(
            refused[1].starts_with(&format!("token {}", token.token.id())),
            "{refused:?}"
        );
        assert_eq!(rotated.resealed, 0, "the altered token is not moved");
        let mut reported: Vec<String> = store
            .audit_report(None, &[])?
            .rows
            .into_iter()
            .map(|problem| problem.row)
            .collect();
        reported.sort();
        assert_eq!(
            reported,
            [
                "module MOD-1102".to_owned(),
                format!("token {}", token.token.id())
            ],
            "still reported after the rotation"
        );
        Ok(())
    })
}
