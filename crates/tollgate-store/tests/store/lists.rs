//! Lists: filters, order, pages and totals, identical on both backends.

use time::Duration;
use tollgate_domain::query::{
    Comparison, Direction, Filter, ListQuery, Page, SortKey, TokenField, Value,
};
use tollgate_domain::{AccountType, TokenStatus, Visibility};
use tollgate_store::StoreError;

use crate::common::*;

fn names(page: &tollgate_domain::query::ListPage<tollgate_store::StoredToken>) -> Vec<String> {
    page.items
        .iter()
        .map(|t| t.token.name().to_string())
        .collect()
}

fn query(
    filter: Option<Filter<TokenField>>,
    order: Vec<SortKey<TokenField>>,
    page: Page,
) -> ListQuery<TokenField> {
    ListQuery {
        filter,
        order,
        page,
    }
}

fn text(field: TokenField, op: Comparison, value: &str) -> Filter<TokenField> {
    Filter::Compare {
        field,
        op,
        value: Value::Text(value.to_owned()),
    }
}

#[test]
fn filters_order_and_pages() -> TestResult {
    each_backend(|h| {
        let f = fixture(h, AccountType::Client)?;
        let other = fixture(h, AccountType::Client)?;
        let names_in_order = [
            "alpha Bot",
            "Beta",
            "gamma BOT",
            "Ärger bot",
            "delta",
            "epsilon_x",
        ];
        let mut ids = Vec::new();
        for (index, name) in names_in_order.iter().enumerate() {
            let name = name.replace('_', " ");
            let (t, _) =
                create_token_at(h, &f, &name, &[1756], NOW + Duration::seconds(index as i64))?;
            ids.push(t.token.id());
        }
        create_token(h, &other, "other bot", &[1104])?;
        let by = f.ctx().actor;
        h.store
            .change_token::<StoreError>(ids[1], &f.ctx(), |t, _| {
                Ok(Some(t.disable(by.clone(), NOW)?))
            })?;
        h.store
            .change_token::<StoreError>(ids[4], &f.ctx(), |t, _| {
                Ok(Some(t.delete(by.clone(), NOW)?))
            })?;
        let own = Visibility::Account(f.account.id);

        // Default: newest first, deleted hidden.
        let page = h
            .store
            .list_tokens(own, &query(None, vec![], Page::default()))?;
        assert_eq!(page.total, 5);
        assert_eq!(
            names(&page),
            ["epsilon x", "Ärger bot", "gamma BOT", "Beta", "alpha Bot"]
        );

        // ilike is case-insensitive (Unicode), like is not.
        let ilike = Filter::Like {
            field: TokenField::Name,
            pattern: "*bot*".into(),
            case_insensitive: true,
        };
        let page = h
            .store
            .list_tokens(own, &query(Some(ilike), vec![], Page::default()))?;
        assert_eq!(names(&page), ["Ärger bot", "gamma BOT", "alpha Bot"]);
        let like = Filter::Like {
            field: TokenField::Name,
            pattern: "*bot".into(),
            case_insensitive: false,
        };
        assert_eq!(
            names(
                &h.store
                    .list_tokens(own, &query(Some(like), vec![], Page::default()))?
            ),
            ["Ärger bot"]
        );
        let unicode = Filter::Like {
            field: TokenField::Name,
            pattern: "ä*".into(),
            case_insensitive: true,
        };
        assert_eq!(
            names(
                &h.store
                    .list_tokens(own, &query(Some(unicode), vec![], Page::default()))?
            ),
            ["Ärger bot"]
        );
        let wildcard_chars = Filter::Like {
            field: TokenField::Name,
            pattern: "%".into(),
            case_insensitive: true,
        };
        assert_eq!(
            h.store
                .list_tokens(own, &query(Some(wildcard_chars), vec![], Page::default()))?
                .total,
            0,
            "% is literal"
        );

        // Status, and/or/not, in/out.
        let active = text(TokenField::Status, Comparison::Eq, "Active");
        let both = Filter::And(vec![
            active.clone(),
            Filter::Like {
                field: TokenField::Name,
                pattern: "*a*".into(),
                case_insensitive: true,
            },
        ]);
        assert_eq!(
            names(
                &h.store
                    .list_tokens(own, &query(Some(both), vec![], Page::default()))?
            ),
            ["gamma BOT", "alpha Bot"],
            "ä is not a"
        );
        let either = Filter::Or(vec![
            text(TokenField::Status, Comparison::Eq, "Disabled"),
            text(TokenField::Name, Comparison::Eq, "delta"),
        ]);
        assert_eq!(
            names(
                &h.store
                    .list_tokens(own, &query(Some(either), vec![], Page::default()))?
            ),
            ["Beta"]
        );
        let not_active = Filter::Not(Box::new(active));
        assert_eq!(
            names(
                &h.store
                    .list_tokens(own, &query(Some(not_active), vec![], Page::default()))?
            ),
            ["Beta"]
        );
        let in_ids = Filter::In {
            field: TokenField::Id,
            values: vec![
                Value::Text(ids[0].to_string()),
                Value::Text(ids[2].to_string()),
            ],
            negated: false,
        };
        assert_eq!(
            h.store
                .list_tokens(own, &query(Some(in_ids.clone()), vec![], Page::default()))?
                .total,
            2
        );
        let out_ids = Filter::In {
            field: TokenField::Id,
            values: vec![Value::Text(ids[0].to_string())],
            negated: true,
        };
        assert_eq!(
            h.store
                .list_tokens(own, &query(Some(out_ids), vec![], Page::default()))?
                .total,
            4
        );

        // Modules: membership, any(), and negation means "holds none".
        let holds = text(TokenField::ModuleId, Comparison::Eq, "MOD-1756");
        assert_eq!(
            h.store
                .list_tokens(own, &query(Some(holds), vec![], Page::default()))?
                .total,
            5
        );
        let any = Filter::Any {
            collection: "modules",
            filter: Box::new(text(TokenField::ModuleId, Comparison::Eq, "MOD-1104")),
        };
        assert_eq!(
            h.store
                .list_tokens(
                    Visibility::AllAccounts,
                    &query(Some(any), vec![], Page::default())
                )?
                .total,
            1
        );
        let lacks = text(TokenField::ModuleId, Comparison::Ne, "MOD-1756");
        assert_eq!(
            h.store
                .list_tokens(
                    Visibility::AllAccounts,
                    &query(Some(lacks), vec![], Page::default())
                )?
                .total,
            1
        );

        // Nulls: lastAccessAt.
        h.store
            .touch_tokens(&[(ids[0], NOW + Duration::hours(1))])?;
        let never = Filter::Compare {
            field: TokenField::LastAccessAt,
            op: Comparison::Eq,
            value: Value::Null,
        };
        assert_eq!(
            h.store
                .list_tokens(own, &query(Some(never), vec![], Page::default()))?
                .total,
            4
        );
        let since = Filter::Compare {
            field: TokenField::LastAccessAt,
            op: Comparison::Ge,
            value: Value::Time(NOW),
        };
        assert_eq!(
            names(
                &h.store
                    .list_tokens(own, &query(Some(since.clone()), vec![], Page::default()))?
            ),
            ["alpha Bot"]
        );
        let not_since = Filter::Not(Box::new(since));
        assert_eq!(
            h.store
                .list_tokens(own, &query(Some(not_since), vec![], Page::default()))?
                .total,
            4,
            "NOT counts never-used tokens"
        );
        let created_after = Filter::Compare {
            field: TokenField::CreatedAt,
            op: Comparison::Gt,
            value: Value::Time(NOW + Duration::seconds(2)),
        };
        assert_eq!(
            h.store
                .list_tokens(own, &query(Some(created_after), vec![], Page::default()))?
                .total,
            2
        );
        let by_creator = text(
            TokenField::CreatedById,
            Comparison::Eq,
            &f.admin.id.to_string(),
        );
        assert_eq!(
            h.store
                .list_tokens(own, &query(Some(by_creator), vec![], Page::default()))?
                .total,
            5
        );

        // Order by name is case-insensitive; the id breaks ties; pages never overlap.
        let by_name = vec![SortKey {
            field: TokenField::Name,
            direction: Direction::Ascending,
        }];
        let page = h
            .store
            .list_tokens(own, &query(None, by_name.clone(), Page::default()))?;
        assert_eq!(
            names(&page),
            ["alpha Bot", "Beta", "epsilon x", "gamma BOT", "Ärger bot"]
        );
        let mut seen = Vec::new();
        for offset in 0..3 {
            let page = h
                .store
                .list_tokens(own, &query(None, by_name.clone(), Page::new(offset * 2, 2)))?;
            assert_eq!(page.total, 5);
            seen.extend(names(&page));
        }
        assert_eq!(seen.len(), 5);
        let by_access = vec![SortKey {
            field: TokenField::LastAccessAt,
            direction: Direction::Descending,
        }];
        let page = h
            .store
            .list_tokens(own, &query(None, by_access, Page::default()))?;
        assert_eq!(
            names(&page).first().map(String::as_str),
            Some("alpha Bot"),
            "nulls last"
        );

        // limit 0 counts only; PAM sees deleted tokens.
        let count = h
            .store
            .list_tokens(own, &query(None, vec![], Page::new(0, 0)))?;
        assert_eq!((count.total, count.items.len()), (5, 0));
        let all = h.store.list_tokens(
            Visibility::AllAccounts,
            &query(None, vec![], Page::new(0, 100)),
        )?;
        assert_eq!(all.total, 7);
        assert!(
            all.items
                .iter()
                .any(|t| t.token.status() == TokenStatus::Deleted)
        );
        Ok(())
    })
}

#[test]
fn hostile_values_are_only_data() -> TestResult {
    each_backend(|h| {
        let f = fixture(h, AccountType::Client)?;
        create_token(h, &f, "robot", &[1756])?;
        for hostile in [
            "' OR 1=1 --",
            "\"; DROP TABLE tokens; --",
            "*' OR '1'='1",
            "\\",
            "[*]?%_",
        ] {
            let filter = Filter::Or(vec![
                text(TokenField::Name, Comparison::Eq, hostile),
                Filter::Like {
                    field: TokenField::Name,
                    pattern: hostile.to_owned(),
                    case_insensitive: true,
                },
                Filter::Like {
                    field: TokenField::Description,
                    pattern: hostile.to_owned(),
                    case_insensitive: false,
                },
            ]);
            let page = h.store.list_tokens(
                Visibility::AllAccounts,
                &query(Some(filter), vec![], Page::default()),
            )?;
            assert_eq!(page.total, 0, "{hostile}");
        }
        assert_eq!(
            h.store
                .list_tokens(Visibility::AllAccounts, &ListQuery::default())?
                .total,
            1
        );
        Ok(())
    })
}
