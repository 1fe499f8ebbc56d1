//! List query strings: `parse_list_query` for each list that takes one (tokens, audit records,
//! modules, event types; the first byte picks the list), and the module list applied in memory
//! (`listing::list`) as its handler does.
//!
//! Invariants: what parses prints back — the filter through `print_filter`, the rest as the
//! parameters they came from — to a query string that parses to the same request; the filter
//! reads back from `print_filter` on its own; refusals format without panicking.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate_domain::listing;
use tollgate_domain::query::{
    AuditField, Direction, EventTypeField, Field, ModuleField, TokenField,
};
use tollgate_fuzz::fixture;
use tollgate_http::handlers::audit::RECORD_SELECTABLE;
use tollgate_http::rql::{
    ListRequest, MAX_QUERY_BYTES, parse_filter, parse_list_query, print_filter,
};

/// What the tokens list's `select` takes (`handlers::tokens`).
const TOKEN_SELECTABLE: &[&str] = &["audit", "token", "modules"];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(raw) = std::str::from_utf8(rest) else {
        return;
    };
    match pick % 4 {
        0 => {
            check::<TokenField>(raw, TOKEN_SELECTABLE);
        }
        1 => {
            check::<AuditField>(raw, RECORD_SELECTABLE);
        }
        2 => {
            if let Some(request) = check::<ModuleField>(raw, &[]) {
                let modules = fixture().catalog.modules();
                let page = listing::list(modules, &request.query, ModuleField::Id, |m, f| {
                    Some(match f {
                        ModuleField::Id => m.id.to_string(),
                        ModuleField::Code => m.code.to_string(),
                        ModuleField::Name => m.name.to_string(),
                    })
                });
                assert!(page.items.len() <= page.page.limit as usize);
                assert!(page.total <= modules.len() as u64);
            }
        }
        _ => {
            check::<EventTypeField>(raw, &[]);
        }
    }
});

fn check<F: Field>(raw: &str, selectable: &[&str]) -> Option<ListRequest<F>> {
    let request = match parse_list_query::<F>(raw, selectable) {
        Ok(request) => request,
        Err(error) => {
            let _ = error.to_string();
            return None;
        }
    };
    if let Some(filter) = &request.query.filter {
        let printed = print_filter(filter);
        let back = parse_filter::<F>(&printed);
        assert_eq!(back.as_ref(), Ok(filter), "{raw:?} printed as {printed:?}");
    }
    let printed = print_request(&request);
    if printed.len() <= MAX_QUERY_BYTES {
        let back = parse_list_query::<F>(&printed, selectable);
        assert_eq!(
            back.as_ref(),
            Ok(&request),
            "{raw:?} printed as {printed:?}"
        );
    }
    Some(request)
}

/// The query string of a parsed request, each term percent-encoded where the query string
/// needs it (`%` and `&`).
fn print_request<F: Field>(request: &ListRequest<F>) -> String {
    let mut terms: Vec<String> = Vec::new();
    if let Some(filter) = &request.query.filter {
        terms.push(print_filter(filter));
    }
    if let Some(value) = &request.token {
        terms.push(format!("token='{}'", value.expose_secret()));
    }
    if !request.query.order.is_empty() {
        let keys: Vec<String> = request
            .query
            .order
            .iter()
            .map(|key| match key.direction {
                Direction::Ascending => key.field.path().to_owned(),
                Direction::Descending => format!("-{}", key.field.path()),
            })
            .collect();
        terms.push(format!("order={}", keys.join(",")));
    }
    let select = &request.select;
    if !select.include.is_empty() || !select.exclude.is_empty() {
        let names: Vec<String> = select
            .include
            .iter()
            .map(|name| format!("+{name}"))
            .chain(select.exclude.iter().map(|name| format!("-{name}")))
            .collect();
        terms.push(format!("select={}", names.join(",")));
    }
    terms.push(format!("limit={}", request.query.page.limit));
    terms.push(format!("offset={}", request.query.page.offset));
    if request.render {
        terms.push("render()".to_owned());
    }
    terms
        .iter()
        .map(|term| term.replace('%', "%25").replace('&', "%26"))
        .collect::<Vec<_>>()
        .join("&")
}
