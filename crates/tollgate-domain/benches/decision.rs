//! One request's decision: parse the bearer value, verify it against the stored view, and
//! resolve the path against the catalog. Target: under 1 µs.

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::StdRng;
use tollgate_domain::authz::{self, Transport};
use tollgate_domain::{
    AccountId, AccountStatus, AccountType, Catalog, ModuleId, PresentedToken, ServerKey, TokenId,
    TokenStatus, TokenValue, TokenView,
};

/// Keys, catalog, stored views by id, and one `Authorization` header per view.
type Fixture = (
    tollgate_domain::Keys,
    Catalog,
    HashMap<TokenId, TokenView>,
    Vec<String>,
);

fn setup() -> Option<Fixture> {
    let keys = ServerKey::from_bytes(vec![42; 32]).ok()?.derive();
    let catalog = Catalog::default_catalog();
    let mut rng = StdRng::seed_from_u64(1);
    let mut views = HashMap::new();
    let mut headers = Vec::new();
    for n in 0..1000u64 {
        let id = TokenId::from_number(n * 7919)?;
        let value = TokenValue::generate(id, &mut rng);
        views.insert(
            id,
            TokenView {
                id,
                name: format!("robot {n}"),
                account_id: AccountId::from_number(n)?,
                account_type: AccountType::Client,
                account_status: AccountStatus::Active,
                status: TokenStatus::Active,
                hash: keys.hash.hash(value.expose_secret()),
                modules: [ModuleId::from_number(1102)?, ModuleId::from_number(1104)?]
                    .into_iter()
                    .collect(),
                revision: 1,
                expires_at: None,
                previous: None,
            },
        );
        headers.push(format!("Bearer {}", value.expose_secret()));
    }
    Some((keys, catalog, views, headers))
}

fn decision(c: &mut Criterion) {
    let Some((keys, catalog, views, headers)) = setup() else {
        return;
    };
    let path = "/public/v1/commerce/orders/ORD-1234-5678?select=+lines";
    let mut next = 0usize;
    let now = time::OffsetDateTime::now_utc();
    c.bench_function("authorize (parse + verify + decide)", |b| {
        b.iter(|| {
            next = (next + 1) % headers.len();
            let decision = authz::authorize(
                Transport::Https,
                Some(black_box(headers[next].as_str())),
                Some(black_box(path)),
                |id| views.get(&id),
                &keys.hash,
                &catalog,
                now,
            );
            black_box(decision.is_ok())
        })
    });
    let view0 = views.values().next();
    if let Some(view0) = view0 {
        c.bench_function("path normalise + resolve", |b| {
            b.iter(|| {
                let path = authz::RequestPath::parse(black_box(path));
                black_box(path.map(|p| authz::authorize_path(view0, &p, &catalog).is_ok()))
            })
        });
    }
    c.bench_function("lookup only", |b| {
        b.iter(|| {
            next = (next + 1) % headers.len();
            let id = TokenId::from_number(next as u64 * 7919);
            black_box(id.and_then(|id| views.get(&id)).map(|view| view.revision))
        })
    });
    c.bench_function("parse only", |b| {
        b.iter(|| black_box(PresentedToken::from_authorization(black_box(&headers[0])).is_ok()))
    });
    let value = &headers[0]["Bearer ".len()..];
    let view = views.values().find(|v| keys.hash.verify(value, &v.hash));
    if let Some(view) = view {
        c.bench_function("verify only (HMAC-SHA256 + constant-time compare)", |b| {
            b.iter(|| black_box(keys.hash.verify(black_box(value), &view.hash)))
        });
    }
}

criterion_group!(benches, decision);
criterion_main!(benches);
