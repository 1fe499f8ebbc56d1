//! RQL: table-driven checks of the query-string parser (every operator, quoting form, parameter
//! and error), and property tests (no panic on arbitrary input; print → parse round trips).

use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::Union;
use time::macros::datetime;
use time::{OffsetDateTime, UtcOffset};
use tollgate_domain::query::{
    AuditField, Comparison, Direction, Field, Filter, ListQuery, OperatorClass, Page, SortKey,
    TokenField, Value, ValueKind, check_operator,
};
use tollgate_http::rql::{
    ListRequest, MAX_DEPTH, MAX_FILTER_BYTES, MAX_ITEMS, MAX_QUERY_BYTES, RqlError, Selection,
    decode_term, parse_filter, parse_list_query, print_filter,
};

type TestResult = Result<(), String>;

const SELECTABLE: &[&str] = &["audit", "token", "modules"];

// ---------------------------------------------------------------------------------------------
// Helpers.

fn text(value: &str) -> Value {
    Value::Text(value.to_owned())
}

fn cmp(field: TokenField, op: Comparison, value: Value) -> Filter<TokenField> {
    Filter::Compare { field, op, value }
}

fn eq(field: TokenField, value: &str) -> Filter<TokenField> {
    cmp(field, Comparison::Eq, text(value))
}

/// A request with only this filter.
fn filtered(filter: Filter<TokenField>) -> ListRequest<TokenField> {
    ListRequest {
        query: ListQuery {
            filter: Some(filter),
            ..ListQuery::default()
        },
        select: Selection::default(),
        token: None,
        render: false,
    }
}

fn paged(offset: u64, limit: u32) -> ListRequest<TokenField> {
    ListRequest {
        query: ListQuery {
            page: Page { offset, limit },
            ..ListQuery::default()
        },
        select: Selection::default(),
        token: None,
        render: false,
    }
}

fn ordered(keys: &[(TokenField, Direction)]) -> ListRequest<TokenField> {
    ListRequest {
        query: ListQuery {
            order: keys
                .iter()
                .map(|&(field, direction)| SortKey { field, direction })
                .collect(),
            ..ListQuery::default()
        },
        select: Selection::default(),
        token: None,
        render: false,
    }
}

fn selected(include: &[&str], exclude: &[&str]) -> ListRequest<TokenField> {
    ListRequest {
        query: ListQuery::default(),
        select: Selection {
            include: include.iter().map(|s| (*s).to_owned()).collect(),
            exclude: exclude.iter().map(|s| (*s).to_owned()).collect(),
        },
        token: None,
        render: false,
    }
}

/// `input` parses to `expected`, and its filter prints and parses back to itself.
fn check(input: &str, expected: &ListRequest<TokenField>) -> TestResult {
    let got = parse_list_query::<TokenField>(input, SELECTABLE)
        .map_err(|error| format!("{input:?}: refused: {error}"))?;
    if &got != expected {
        return Err(format!("{input:?}:\n   got {got:?}\n  want {expected:?}"));
    }
    if let Some(filter) = &got.query.filter {
        round_trip(filter)?;
    }
    Ok(())
}

fn round_trip<F: Field>(filter: &Filter<F>) -> TestResult {
    let printed = print_filter(filter);
    match parse_filter::<F>(&printed) {
        Ok(back) if &back == filter => Ok(()),
        Ok(back) => Err(format!(
            "printed {printed:?} reads back as {back:?}, not {filter:?}"
        )),
        Err(error) => Err(format!("printed {printed:?} is refused: {error}")),
    }
}

/// `input` is refused with a message containing `expected`.
fn check_error<F: Field>(input: &str, expected: &str) -> TestResult {
    match parse_list_query::<F>(input, SELECTABLE) {
        Ok(request) => Err(format!("{input:?}: accepted as {request:?}")),
        Err(error) if error.to_string().contains(expected) => Ok(()),
        Err(error) => Err(format!(
            "{input:?}: message {:?} does not contain {expected:?}",
            error.to_string()
        )),
    }
}

/// Runs every case, reporting all failures together.
fn all(results: impl IntoIterator<Item = TestResult>) -> TestResult {
    let failures: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} case(s) failed:\n{}",
            failures.len(),
            failures.join("\n")
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Table tests: accepted input.

#[test]
fn comparison_operators() -> TestResult {
    use Comparison::*;
    use TokenField::*;
    all([
        check("eq(status,Active)", &filtered(eq(Status, "Active"))),
        check(
            "ne(status,Disabled)",
            &filtered(cmp(Status, Ne, text("Disabled"))),
        ),
        check("gt(name,m)", &filtered(cmp(Name, Gt, text("m")))),
        check("ge(id,TKN-1)", &filtered(cmp(Id, Ge, text("TKN-1")))),
        check(
            "lt(description,z)",
            &filtered(cmp(Description, Lt, text("z"))),
        ),
        check(
            "le(audit.created.by.id,USR-1)",
            &filtered(cmp(CreatedById, Le, text("USR-1"))),
        ),
        check(
            "eq(account.id,ACC-1234-5678)",
            &filtered(eq(AccountId, "ACC-1234-5678")),
        ),
        check("eq(id,TKN-1234-5678)", &filtered(eq(Id, "TKN-1234-5678"))),
        // Space between tokens is allowed; around a bare value it is dropped.
        check("eq( status , Active )", &filtered(eq(Status, "Active"))),
        check("eq(name,my bot)", &filtered(eq(Name, "my bot"))),
        // Quotes inside a bare value are just characters.
        check("eq(name,O'Brien)", &filtered(eq(Name, "O'Brien"))),
        check("eq(name,a=b*c)", &filtered(eq(Name, "a=b*c"))),
        // Any Unicode in values.
        check("eq(name,Ünïcödé 🤖)", &filtered(eq(Name, "Ünïcödé 🤖"))),
    ])
}

#[test]
fn pattern_set_and_logic_operators() -> TestResult {
    use TokenField::*;
    all([
        check(
            "like(name,*bot*)",
            &filtered(Filter::Like {
                field: Name,
                pattern: "*bot*".into(),
                case_insensitive: false,
            }),
        ),
        check(
            "ilike(name,'*Bot*')",
            &filtered(Filter::Like {
                field: Name,
                pattern: "*Bot*".into(),
                case_insensitive: true,
            }),
        ),
        check(
            "like(id,TKN-12*)",
            &filtered(Filter::Like {
                field: Id,
                pattern: "TKN-12*".into(),
                case_insensitive: false,
            }),
        ),
        check(
            "in(id,('TKN-1','TKN-2'))",
            &filtered(Filter::In {
                field: Id,
                values: vec![text("TKN-1"), text("TKN-2")],
                negated: false,
            }),
        ),
        check(
            "in(id,TKN-1,TKN-2)",
            &filtered(Filter::In {
                field: Id,
                values: vec![text("TKN-1"), text("TKN-2")],
                negated: false,
            }),
        ),
        check(
            "in(id,TKN-1)",
            &filtered(Filter::In {
                field: Id,
                values: vec![text("TKN-1")],
                negated: false,
            }),
        ),
        check(
            "out(status,(Deleted,Disabled))",
            &filtered(Filter::In {
                field: Status,
                values: vec![text("Deleted"), text("Disabled")],
                negated: true,
            }),
        ),
        check(
            "in(lastAccessAt,(null(),2026-11-28T10:00:00.000Z))",
            &filtered(Filter::In {
                field: LastAccessAt,
                values: vec![Value::Null, Value::Time(datetime!(2026-11-28 10:00:00 UTC))],
                negated: false,
            }),
        ),
        check(
            "and(eq(status,Active),ilike(name,'*bot*'))",
            &filtered(Filter::And(vec![
                eq(Status, "Active"),
                Filter::Like {
                    field: Name,
                    pattern: "*bot*".into(),
                    case_insensitive: true,
                },
            ])),
        ),
        check(
            "and(eq(status,Active))",
            &filtered(Filter::And(vec![eq(Status, "Active")])),
        ),
        check(
            "or(eq(id,a),eq(id,b),eq(id,c))",
            &filtered(Filter::Or(vec![eq(Id, "a"), eq(Id, "b"), eq(Id, "c")])),
        ),
        check(
            "not(eq(status,Deleted))",
            &filtered(Filter::Not(Box::new(eq(Status, "Deleted")))),
        ),
        check(
            "any(modules,eq(id,MOD-1756))",
            &filtered(Filter::Any {
                collection: "modules",
                filter: Box::new(eq(ModuleId, "MOD-1756")),
            }),
        ),
        check(
            "any(modules, and(like(id,MOD-1*),ne(id,MOD-1756)))",
            &filtered(Filter::Any {
                collection: "modules",
                filter: Box::new(Filter::And(vec![
                    Filter::Like {
                        field: ModuleId,
                        pattern: "MOD-1*".into(),
                        case_insensitive: false,
                    },
                    cmp(ModuleId, Comparison::Ne, text("MOD-1756")),
                ])),
            }),
        ),
        check(
            "eq(modules.id,MOD-1756)",
            &filtered(eq(ModuleId, "MOD-1756")),
        ),
        check(
            "eq(lastAccessAt,null())",
            &filtered(cmp(LastAccessAt, Comparison::Eq, Value::Null)),
        ),
        check(
            "eq(description,empty())",
            &filtered(cmp(Description, Comparison::Eq, Value::Empty)),
        ),
        check(
            "ne(description,empty( ))",
            &filtered(cmp(Description, Comparison::Ne, Value::Empty)),
        ),
        // Bare `null` is the text "null".
        check("eq(name,null)", &filtered(eq(Name, "null"))),
    ])
}

#[test]
fn quoting() -> TestResult {
    use TokenField::*;
    all([
        check("eq(name,'my bot')", &filtered(eq(Name, "my bot"))),
        check("eq(name,\"my bot\")", &filtered(eq(Name, "my bot"))),
        check("eq(name,'')", &filtered(eq(Name, ""))),
        check("eq(name,' padded ')", &filtered(eq(Name, " padded "))),
        check("eq(name,'a,b(c)d')", &filtered(eq(Name, "a,b(c)d"))),
        check(r"eq(name,'it\'s')", &filtered(eq(Name, "it's"))),
        check(
            r#"eq(name,"say \"hi\"")"#,
            &filtered(eq(Name, "say \"hi\"")),
        ),
        check(r#"eq(name,"it's")"#, &filtered(eq(Name, "it's"))),
        check(r#"eq(name,'say "hi"')"#, &filtered(eq(Name, "say \"hi\""))),
        check(
            r"eq(name,'back\\slash')",
            &filtered(eq(Name, r"back\slash")),
        ),
        check(r"eq(name,'\x')", &filtered(eq(Name, "x"))),
        check("eq(name,'null()')", &filtered(eq(Name, "null()"))),
        check("eq(status,'Active')", &filtered(eq(Status, "Active"))),
        // Percent-encoded terms are decoded once.
        check(
            "and(eq(status,%27Active%27),ilike(name,%27*bot*%27))",
            &filtered(Filter::And(vec![
                eq(Status, "Active"),
                Filter::Like {
                    field: Name,
                    pattern: "*bot*".into(),
                    case_insensitive: true,
                },
            ])),
        ),
        check(
            "in(id,(%27TKN-1111-2222%27,%27TKN-3333-4444%27))",
            &filtered(Filter::In {
                field: Id,
                values: vec![text("TKN-1111-2222"), text("TKN-3333-4444")],
                negated: false,
            }),
        ),
        check("eq(name,%2525)", &filtered(eq(Name, "%25"))),
        check("eq(name,a%26b)", &filtered(eq(Name, "a&b"))),
        check("eq(name,a+b)", &filtered(eq(Name, "a+b"))),
        check("eq(name,%C3%A9t%C3%A9)", &filtered(eq(Name, "été"))),
        check("eq%28name%2Cx%29", &filtered(eq(Name, "x"))),
    ])
}

#[test]
fn timestamps() -> TestResult {
    use Comparison::*;
    use TokenField::*;
    all([
        check(
            "gt(audit.created.at,2026-11-28T10:00:00.000Z)",
            &filtered(cmp(
                CreatedAt,
                Gt,
                Value::Time(datetime!(2026-11-28 10:00:00 UTC)),
            )),
        ),
        check(
            "le(lastAccessAt,'2026-11-28T10:00:00Z')",
            &filtered(cmp(
                LastAccessAt,
                Le,
                Value::Time(datetime!(2026-11-28 10:00:00 UTC)),
            )),
        ),
        check(
            "ge(audit.created.at,2026-11-28T12:00:00.123456789+02:00)",
            &filtered(cmp(
                CreatedAt,
                Ge,
                Value::Time(datetime!(2026-11-28 10:00:00.123456789 UTC)),
            )),
        ),
        check(
            "lt(audit.created.at,2026-11-28T10:00:00.5-00:30)",
            &filtered(cmp(
                CreatedAt,
                Lt,
                Value::Time(datetime!(2026-11-28 10:30:00.5 UTC)),
            )),
        ),
        // Instants whose UTC date RFC 3339 cannot write keep their offset when printed.
        check(
            "eq(lastAccessAt,9999-12-31T23:30:00-01:00)",
            &filtered(cmp(
                LastAccessAt,
                Eq,
                Value::Time(datetime!(9999-12-31 23:30:00 -01:00)),
            )),
        ),
        check(
            "eq(lastAccessAt,0000-01-01T00:30:00+01:00)",
            &filtered(cmp(
                LastAccessAt,
                Eq,
                Value::Time(datetime!(0000-01-01 00:30:00 +01:00)),
            )),
        ),
    ])?;
    let printed = print_filter(&cmp(
        CreatedAt,
        Gt,
        Value::Time(datetime!(2026-11-28 12:00:00 +02:00)),
    ));
    if printed != "gt(audit.created.at,2026-11-28T10:00:00.000Z)" {
        return Err(format!("printed {printed}"));
    }
    Ok(())
}

#[test]
fn shortcut_and_several_terms() -> TestResult {
    use TokenField::*;
    all([
        check("status=Active", &filtered(eq(Status, "Active"))),
        check("status='Active'", &filtered(eq(Status, "Active"))),
        check("name=%27my%20bot%27", &filtered(eq(Name, "my bot"))),
        check("modules.id=MOD-1756", &filtered(eq(ModuleId, "MOD-1756"))),
        check(
            "lastAccessAt=null()",
            &filtered(cmp(LastAccessAt, Comparison::Eq, Value::Null)),
        ),
        check(
            "audit.created.at=2026-11-28T10:00:00.000Z",
            &filtered(cmp(
                CreatedAt,
                Comparison::Eq,
                Value::Time(datetime!(2026-11-28 10:00:00 UTC)),
            )),
        ),
        check(
            "status=Active&ilike(name,*bot*)",
            &filtered(Filter::And(vec![
                eq(Status, "Active"),
                Filter::Like {
                    field: Name,
                    pattern: "*bot*".into(),
                    case_insensitive: true,
                },
            ])),
        ),
        check(
            "eq(status,Active)&limit=5&eq(id,TKN-1)&&",
            &ListRequest {
                query: ListQuery {
                    filter: Some(Filter::And(vec![eq(Status, "Active"), eq(Id, "TKN-1")])),
                    page: Page {
                        offset: 0,
                        limit: 5,
                    },
                    ..ListQuery::default()
                },
                select: Selection::default(),
                token: None,
                render: false,
            },
        ),
        // An `=` inside an expression does not make it a shortcut.
        check("eq(name,'a=b')", &filtered(eq(Name, "a=b"))),
    ])
}

#[test]
fn order_select_and_page() -> TestResult {
    use Direction::*;
    use TokenField::*;
    all([
        check("", &paged(0, 10)),
        check("&&", &paged(0, 10)),
        check("limit=20", &paged(0, 20)),
        check("offset=30", &paged(30, 10)),
        check("limit=5&offset=15", &paged(15, 5)),
        check("limit=100", &paged(0, 100)),
        check("limit=101", &paged(0, 100)),
        check("limit=99999999999999999999999999", &paged(0, 100)),
        check("limit=0", &paged(0, 0)),
        check("limit=007", &paged(0, 7)),
        check(
            "order=-audit.created.at,+name",
            &ordered(&[(CreatedAt, Descending), (Name, Ascending)]),
        ),
        check("order=+name", &ordered(&[(Name, Ascending)])),
        check("order=%2Bname", &ordered(&[(Name, Ascending)])),
        check("order=name", &ordered(&[(Name, Ascending)])),
        check(
            "order=-lastAccessAt",
            &ordered(&[(LastAccessAt, Descending)]),
        ),
        check(
            "select=+audit,-modules",
            &selected(&["audit"], &["modules"]),
        ),
        check("select=audit", &selected(&["audit"], &[])),
        check(
            "select=audit,+audit,-modules,-modules,token",
            &selected(&["audit", "token"], &["modules"]),
        ),
        check(
            "eq(status,Active)&order=-name&select=-modules&limit=1000&offset=2",
            &ListRequest {
                query: ListQuery {
                    filter: Some(eq(Status, "Active")),
                    order: vec![SortKey {
                        field: Name,
                        direction: Descending,
                    }],
                    page: Page {
                        offset: 2,
                        limit: 100,
                    },
                },
                select: Selection {
                    include: vec![],
                    exclude: vec!["modules".into()],
                },
                token: None,
                render: false,
            },
        ),
        // The platform's clients send these: an empty select or order is none at all, and a
        // trailing render() is accepted.
        check("select=", &paged(0, 10)),
        check("order=&select=&limit=5", &paged(0, 5)),
        check("select=&select=audit", &selected(&["audit"], &[])),
        check("limit=5&render()", &{
            let mut request = paged(0, 5);
            request.render = true;
            request
        }),
    ])?;
    let request = parse_list_query::<TokenField>("select=+audit,-modules", SELECTABLE)
        .map_err(|e| e.to_string())?;
    let selection = &request.select;
    if !(selection.includes("audit")
        && !selection.includes("modules")
        && selection.excludes("modules")
        && !selection.excludes("audit")
        && !selection.includes("token")
        && !selection.excludes("token"))
    {
        return Err(format!("{selection:?}"));
    }
    Ok(())
}

#[test]
fn percent_decoding() -> TestResult {
    let cases: &[(&str, Option<&str>)] = &[
        ("plain", Some("plain")),
        ("a+b", Some("a+b")),
        ("%2B%2b", Some("++")),
        ("%27x%27", Some("'x'")),
        ("%C3%A9", Some("é")),
        ("%25", Some("%")),
        ("é", Some("é")),
        ("%", None),
        ("%2", None),
        ("%zz", None),
        ("%%41", None),
        ("%FF", None),
        ("%C3", None),
    ];
    all(cases
        .iter()
        .map(|&(input, expected)| match (decode_term(input), expected) {
            (Ok(got), Some(want)) if got == want => Ok(()),
            (Err(_), None) => Ok(()),
            (got, _) => Err(format!("{input:?}: {got:?}, want {expected:?}")),
        }))
}

// ---------------------------------------------------------------------------------------------
// Table tests: refused input.

#[test]
fn errors_name_the_problem() -> TestResult {
    let deep_nest =
        |levels: usize| format!("{}eq(id,x){}", "not(".repeat(levels), ")".repeat(levels));
    let many = format!("in(id,{})", vec!["a"; 1001].join(","));
    let huge_quoted = format!("eq(name,'{}')", "x".repeat(5000));
    let huge_bare = format!("eq(name,{})", "y".repeat(5000));
    let too_long = format!("eq(name,'{}')", "z".repeat(MAX_QUERY_BYTES));
    all([
        check_error::<TokenField>("eq(secret,1)", "unknown field 'secret' in eq(secret,1)"),
        check_error::<TokenField>("secret=1", "unknown field 'secret' in secret=1"),
        check_error::<TokenField>(
            "any(modules,eq(name,x))",
            "unknown field 'name' of collection 'modules' in eq(name,x); fields are id",
        ),
        check_error::<TokenField>(
            "any(owners,eq(id,x))",
            "unknown collection 'owners' in any(owners,eq(id,x)); collections are modules",
        ),
        check_error::<TokenField>(
            "any(modules,any(modules,eq(id,x)))",
            "any() cannot be used inside any(modules,…)",
        ),
        check_error::<TokenField>(
            "foo(status,Active)",
            "unknown operator 'foo' in foo(status,Active)",
        ),
        check_error::<TokenField>("EQ(status,Active)", "unknown operator 'EQ'"),
        check_error::<TokenField>(
            "and(eq(status,Active)",
            "expected ')' at position 21 of 'and(eq(status,Active)'",
        ),
        check_error::<TokenField>(
            "eq(status,Active))",
            "unexpected ')' after the end of the expression at position 17",
        ),
        check_error::<TokenField>(
            "eq(status,Active) junk",
            "unexpected 'j' after the end of the expression at position 18",
        ),
        check_error::<TokenField>("eq(status,Active)x", "unexpected 'x'"),
        check_error::<TokenField>(
            "eq(name,'x'y)",
            "expected ',' or ')', found 'y' at position 11",
        ),
        check_error::<TokenField>("eq(name,'abc", "unterminated string"),
        check_error::<TokenField>(r"eq(name,'abc\')", "unterminated string"),
        check_error::<TokenField>(
            ")",
            "expected an expression or value, found ')' at position 0",
        ),
        check_error::<TokenField>(
            "eq(status)",
            "eq() takes 2 arguments (field, value) but got 1 in eq(status)",
        ),
        check_error::<TokenField>("eq()", "eq() takes 2 arguments (field, value) but got 0"),
        check_error::<TokenField>("eq(status,Active,x)", "but got 3"),
        check_error::<TokenField>(
            "eq(status,)",
            "expected an expression or value, found ')' at position 10",
        ),
        check_error::<TokenField>("eq(,Active)", "expected an expression or value, found ','"),
        check_error::<TokenField>("not()", "not() takes 1 expression but got 0"),
        check_error::<TokenField>(
            "not(eq(id,a),eq(id,b))",
            "not() takes 1 expression but got 2",
        ),
        check_error::<TokenField>("and()", "and() takes at least one expression"),
        check_error::<TokenField>("in(id)", "in() takes a field and at least one value"),
        check_error::<TokenField>("in(id,())", "in() needs at least one value"),
        check_error::<TokenField>(
            "in(id,(a,(b)))",
            "a value list cannot contain a list at position 9 of 'in(id,(a,(b)))'",
        ),
        check_error::<TokenField>(
            "in(id,(a),b)",
            "expected a single value for in(), found a list",
        ),
        check_error::<TokenField>(
            "eq(name,(a))",
            "expected a single value for eq(), found a list",
        ),
        check_error::<TokenField>("like(name)", "like() takes 2 arguments (field, pattern)"),
        check_error::<TokenField>(
            "any(modules)",
            "any() takes 2 arguments (collection, expression)",
        ),
        check_error::<TokenField>(
            "Active",
            "expected an expression such as eq(field,value), found 'Active'",
        ),
        check_error::<TokenField>("and(Active)", "found 'Active'"),
        check_error::<TokenField>("and('x')", "found a quoted value in and('x')"),
        check_error::<TokenField>(
            "eq('status',x)",
            "expected a field name, found a quoted value",
        ),
        check_error::<TokenField>("eq(name,foo(bar))", "expected a value, found foo(…)"),
        check_error::<TokenField>("eq(name,null(x))", "null() takes no arguments"),
        check_error::<TokenField>("null()", "null() is a value, not an expression"),
        check_error::<TokenField>(
            "eq(status,Bogus)",
            "invalid value for 'status': expected one of Active, Disabled, Deleted, Expired in eq(status,Bogus)",
        ),
        check_error::<TokenField>("status=active", "invalid value for 'status'"),
        check_error::<TokenField>(
            "gt(audit.created.at,yesterday)",
            "invalid value for 'audit.created.at': expected an RFC 3339 timestamp",
        ),
        check_error::<TokenField>(
            "like(status,'x')",
            "operator 'like' does not apply to field 'status' in like(status,'x')",
        ),
        check_error::<TokenField>(
            "gt(status,Active)",
            "operator 'gt' does not apply to field 'status'",
        ),
        check_error::<TokenField>("like(lastAccessAt,2026*)", "operator 'like' does not apply"),
        check_error::<TokenField>(
            "gt(lastAccessAt,null())",
            "null() can only be used with eq, ne, in and out, not gt",
        ),
        check_error::<TokenField>(
            "like(name,empty())",
            "empty() can only be used with eq, ne, in and out",
        ),
        check_error::<TokenField>(
            "select=+secret",
            "cannot select 'secret'; selectable are audit, token, modules",
        ),
        check_error::<TokenField>(
            "select=+audit,-audit",
            "'audit' is both included and excluded",
        ),
        check_error::<TokenField>("select=audit,", "empty item in 'select'"),
        check_error::<TokenField>("order=+modules.id", "cannot order by 'modules.id'"),
        check_error::<TokenField>("order=+secret", "cannot order by unknown field 'secret'"),
        check_error::<TokenField>("order=name,-name", "field 'name' appears more than once"),
        check_error::<TokenField>("order=name,", "empty item in 'order'"),
        check_error::<TokenField>("limit=-1", "limit must be a non-negative integer, got '-1'"),
        check_error::<TokenField>(
            "limit=abc",
            "limit must be a non-negative integer, got 'abc'",
        ),
        check_error::<TokenField>("limit=", "limit must be a non-negative integer"),
        check_error::<TokenField>("limit= 5", "limit must be a non-negative integer"),
        check_error::<TokenField>("offset=1.5", "offset must be a non-negative integer"),
        check_error::<TokenField>("offset=99999999999999999999", "offset too large"),
        check_error::<TokenField>("limit=1&limit=2", "'limit' given more than once"),
        check_error::<TokenField>("order=name&order=id", "'order' given more than once"),
        check_error::<TokenField>("eq(name,%zz)", "invalid percent-encoding at position 8"),
        check_error::<TokenField>("eq(name,%FF)", "not valid UTF-8"),
        check_error::<TokenField>(
            "name=a,b",
            "unexpected ',' after the value at position 6 of 'name=a,b'; quote",
        ),
        check_error::<TokenField>("name=", "expected an expression or value at position 5"),
        // Hostile input.
        check_error::<TokenField>(&deep_nest(10_000), "query string too long"),
        check_error::<TokenField>(
            &deep_nest(1_000),
            "filter nested too deeply (at most 32 levels) at position 131",
        ),
        check_error::<TokenField>(&deep_nest(MAX_DEPTH), "nested too deeply"),
        check_error::<TokenField>(&"eq(".repeat(2000), "nested too deeply"),
        check_error::<TokenField>(&"(".repeat(2000), "a value list cannot contain a list"),
        check_error::<TokenField>(
            &"id=a&".repeat(MAX_ITEMS + 1),
            "too many filter terms (at most 1000)",
        ),
        check_error::<TokenField>(&many, "too many items in one list (at most 1000)"),
        check_error::<TokenField>(
            &huge_quoted,
            "value too long (at most 4096 characters) at position 8",
        ),
        check_error::<TokenField>(
            &huge_bare,
            "value too long (at most 4096 characters) at position 8",
        ),
        check_error::<TokenField>(&too_long, "query string too long"),
        // Injection-looking values are values, or clean errors.
        check_error::<TokenField>(
            "eq(name,'x'' OR 1=1 --')",
            "expected ',' or ')', found \"'\" at position 11 of 'eq(name,'x'' OR 1=1 --')'; \
             inside quotes write \\' for '",
        ),
        check_error::<TokenField>("eq(name,x);DROP TABLE tokens", "unexpected ';'"),
    ])?;
    // The deepest accepted nesting: MAX_DEPTH levels of parentheses.
    check(
        &deep_nest(MAX_DEPTH - 1),
        &filtered(
            (0..MAX_DEPTH - 1).fold(eq(TokenField::Id, "x"), |inner, _| {
                Filter::Not(Box::new(inner))
            }),
        ),
    )?;
    // parse_filter has limits too.
    match parse_filter::<TokenField>(&deep_nest(10_000)) {
        Err(RqlError::FilterTooLong { .. }) => Ok(()),
        other => Err(format!("{other:?}")),
    }
}

/// Filters at the limits print to text that reads back, though the text may be longer, or
/// write a value list the input did not.
#[test]
fn filters_at_the_limits_read_back() -> TestResult {
    let at_depth = |levels: usize, inner: &str| {
        format!("{}{inner}{}", "not(".repeat(levels), ")".repeat(levels))
    };
    let values = vec!["a"; MAX_ITEMS];
    let cases = [
        at_depth(MAX_DEPTH - 1, "in(id,a,b)"),
        at_depth(MAX_DEPTH - 1, "in(id,(a,b))"),
        at_depth(MAX_DEPTH - 2, "eq(lastAccessAt,null())"),
        at_depth(MAX_DEPTH - 2, "any(modules,in(id,(a)))"),
        format!("in(id,({}))", values.join(",")),
        format!("in(id,{})", values[1..].join(",")),
        format!("and({})", vec!["in(id,a)"; 900].join(",")),
        // Values of quotes and backslashes double in length when printed.
        format!("eq(name,a{})", "'".repeat(4000)),
        format!("eq(name,a{})", "\\".repeat(4000)),
        // `field=value` terms grow into `eq(field,'value')`.
        "id=a&".repeat(MAX_ITEMS),
        "id=%5C&".repeat(MAX_ITEMS),
        "gt(lastAccessAt,2026-11-28T10:00:00Z)&".repeat(200),
    ];
    all(cases.iter().map(|input| {
        let shown: String = input.chars().take(60).collect();
        if input.len() > MAX_QUERY_BYTES {
            return Err(format!("{shown}: the case is too long"));
        }
        let request = parse_list_query::<TokenField>(input, SELECTABLE)
            .map_err(|error| format!("{shown}: refused: {error}"))?;
        let filter = request.query.filter.ok_or("no filter")?;
        round_trip(&filter).map_err(|error| format!("{shown}: {}", &error[..error.len().min(300)]))
    }))
}

#[test]
fn injection_looking_values_are_values() -> TestResult {
    use TokenField::*;
    all([
        check(
            r"eq(name,'x\' OR 1=1 --')",
            &filtered(eq(Name, "x' OR 1=1 --")),
        ),
        check("eq(name,x' OR '1'='1)", &filtered(eq(Name, "x' OR '1'='1"))),
        check(
            "eq(name,%27;DROP TABLE tokens;--%27)",
            &filtered(eq(Name, ";DROP TABLE tokens;--")),
        ),
        check(
            "like(name,'%25\\' --')",
            &filtered(Filter::Like {
                field: Name,
                pattern: "%' --".into(),
                case_insensitive: false,
            }),
        ),
    ])
}

#[test]
fn messages_are_exact_where_documented() -> TestResult {
    let cases = [
        (
            "eq(secret,1)",
            "unknown field 'secret' in eq(secret,1); fields are id, name, description, status, \
             account.id, modules.id, lastAccessAt, audit.created.at, audit.created.by.id, expiresAt",
        ),
        (
            "and(eq(status,Active)",
            "expected ')' at position 21 of 'and(eq(status,Active)'",
        ),
    ];
    all(cases
        .iter()
        .map(|(input, want)| match parse_filter::<TokenField>(input) {
            Err(error) if error.to_string() == *want => Ok(()),
            other => Err(format!("{input}: {other:?}")),
        }))
}

#[test]
fn audit_fields() -> TestResult {
    let check_audit = |input: &str, want: Filter<AuditField>| -> TestResult {
        let got = parse_filter::<AuditField>(input).map_err(|e| format!("{input}: {e}"))?;
        if got != want {
            return Err(format!("{input}: {got:?}"));
        }
        round_trip(&got)
    };
    all([
        check_audit(
            "eq(event,platform.accounts.api-token.disabled)",
            Filter::Compare {
                field: AuditField::Event,
                op: Comparison::Eq,
                value: Value::Text("platform.accounts.api-token.disabled".into()),
            },
        ),
        check_audit(
            "and(ge(timestamp,2026-01-01T00:00:00Z),in(object.id,(TKN-1,TKN-2)),like(actor.id,USR-*))",
            Filter::And(vec![
                Filter::Compare {
                    field: AuditField::Timestamp,
                    op: Comparison::Ge,
                    value: Value::Time(datetime!(2026-01-01 00:00:00 UTC)),
                },
                Filter::In {
                    field: AuditField::ObjectId,
                    values: vec![Value::Text("TKN-1".into()), Value::Text("TKN-2".into())],
                    negated: false,
                },
                Filter::Like {
                    field: AuditField::ActorId,
                    pattern: "USR-*".into(),
                    case_insensitive: false,
                },
            ]),
        ),
        check_error::<AuditField>("eq(status,Active)", "unknown field 'status'"),
        check_error::<AuditField>(
            "any(modules,eq(id,x))",
            "unknown collection 'modules' in any(modules,eq(id,x)); collections are none",
        ),
        check_error::<AuditField>("order=event", "cannot order by 'event'"),
    ])?;
    let request = parse_list_query::<AuditField>("order=-timestamp,id&object.id=TKN-1", &[])
        .map_err(|e| e.to_string())?;
    let want = ListQuery {
        filter: Some(Filter::Compare {
            field: AuditField::ObjectId,
            op: Comparison::Eq,
            value: Value::Text("TKN-1".into()),
        }),
        order: vec![
            SortKey {
                field: AuditField::Timestamp,
                direction: Direction::Descending,
            },
            SortKey {
                field: AuditField::Id,
                direction: Direction::Ascending,
            },
        ],
        page: Page::default(),
    };
    if request.query != want {
        return Err(format!("{request:?}"));
    }
    match parse_list_query::<AuditField>("select=audit", &[]) {
        Err(error) if error.to_string() == "cannot select 'audit'; selectable are none" => Ok(()),
        other => Err(format!("{other:?}")),
    }
}

#[test]
fn printing() -> TestResult {
    use TokenField::*;
    let cases = [
        (
            Filter::Any {
                collection: "modules",
                filter: Box::new(eq(ModuleId, "MOD-1")),
            },
            "any(modules,eq(id,'MOD-1'))",
        ),
        (eq(ModuleId, "MOD-1"), "eq(modules.id,'MOD-1')"),
        (eq(Name, r"it's a \ test"), r"eq(name,'it\'s a \\ test')"),
        (
            Filter::In {
                field: Status,
                values: vec![text("Active"), Value::Null, Value::Empty],
                negated: true,
            },
            "out(status,('Active',null(),empty()))",
        ),
        (
            cmp(
                CreatedAt,
                Comparison::Lt,
                Value::Time(datetime!(2026-11-28 10:00:00.000123 UTC)),
            ),
            "lt(audit.created.at,2026-11-28T10:00:00.000123Z)",
        ),
        (
            Filter::Or(vec![
                Filter::Not(Box::new(eq(Id, "a"))),
                Filter::Like {
                    field: Name,
                    pattern: "*x*".into(),
                    case_insensitive: true,
                },
            ]),
            "or(not(eq(id,'a')),ilike(name,'*x*'))",
        ),
    ];
    all(cases.iter().map(|(filter, want)| {
        let printed = print_filter(filter);
        if printed == *want {
            round_trip(filter)
        } else {
            Err(format!("printed {printed}, want {want}"))
        }
    }))?;
    // Hand-built filters may nest deeper than the parser allows; printing does not recurse.
    let deep = (0..100_000).fold(eq(Id, "x"), |inner, _| Filter::Not(Box::new(inner)));
    let printed = print_filter(&deep);
    let expected_len = 100_000 * "not()".len() + "eq(id,'x')".len();
    // Take the tower apart iteratively so dropping it does not recurse either.
    let mut next = Some(deep);
    while let Some(filter) = next.take() {
        if let Filter::Not(inner) = filter {
            next = Some(*inner);
        }
    }
    if printed.len() == expected_len {
        Ok(())
    } else {
        Err(format!("printed {} bytes", printed.len()))
    }
}

// ---------------------------------------------------------------------------------------------
// Property tests.

/// Strings from the RQL alphabet, plus fragments that reach deeper into the grammar.
fn rql_like() -> impl Strategy<Value = String> {
    let fragments = vec![
        "eq(",
        "ne(",
        "gt(",
        "like(",
        "ilike(",
        "in(",
        "out(",
        "and(",
        "or(",
        "not(",
        "any(modules,",
        "any(",
        "(",
        ")",
        ",",
        "'",
        "\"",
        "\\",
        "*",
        "=",
        "&",
        "%",
        "%27",
        "%2",
        "+",
        "-",
        " ",
        "status",
        "name",
        "id",
        "modules.id",
        "lastAccessAt",
        "audit.created.at",
        "Active",
        "null()",
        "empty()",
        "2026-11-28T10:00:00.000Z",
        "limit=",
        "offset=",
        "order=",
        "select=",
        "1",
        "é",
        "🤖",
        "\u{0}",
    ];
    prop_oneof![
        "[()',\"*\\\\=&%+\\-a-zA-Z0-9 ]{0,200}",
        prop::collection::vec(select(fragments), 0..80).prop_map(|parts| parts.concat()),
        any::<String>(),
    ]
}

/// Text values: arbitrary Unicode but NUL (which the parser refuses by design: no stored value
/// holds one), and strings dense in syntax characters.
fn text_value() -> BoxedStrategy<String> {
    prop_oneof![
        prop::collection::vec(any::<char>().prop_filter("no NUL", |c| *c != '\0'), 0..16)
            .prop_map(String::from_iter),
        "['\"\\\\ ,()*=&%+a-z]{0,12}",
    ]
    .boxed()
}

fn time_value() -> BoxedStrategy<OffsetDateTime> {
    (
        // 0001-01-01 to 9999-12-31, UTC.
        -62_135_596_800i64..=253_402_300_799i64,
        prop_oneof![
            Just(0u32),
            (0u32..1000).prop_map(|ms| ms * 1_000_000),
            0u32..1_000_000_000,
        ],
        -23i8..=23,
    )
        .prop_filter_map("representable", |(seconds, nanos, hours)| {
            OffsetDateTime::from_unix_timestamp(seconds)
                .ok()?
                .replace_nanosecond(nanos)
                .ok()?
                .checked_to_offset(UtcOffset::from_hms(hours, 0, 0).ok()?)
        })
        .boxed()
}

/// A value valid for `field`; `empty()`/`null()` too when `special`.
fn value_for(field: TokenField, special: bool) -> BoxedStrategy<Value> {
    let plain = match field.kind() {
        ValueKind::Text | ValueKind::Id => text_value().prop_map(Value::Text).boxed(),
        ValueKind::Keyword(names) => select(names.to_vec())
            .prop_map(|name| Value::Text(name.to_owned()))
            .boxed(),
        ValueKind::Time => time_value().prop_map(Value::Time).boxed(),
    };
    if special {
        prop_oneof![4 => plain, 1 => Just(Value::Null), 1 => Just(Value::Empty)].boxed()
    } else {
        plain
    }
}

/// A comparison, set or pattern filter on one of `fields`, valid for the field.
fn leaf(fields: Vec<TokenField>) -> BoxedStrategy<Filter<TokenField>> {
    select(fields)
        .prop_flat_map(|field| {
            let mut options = vec![
                (
                    select(vec![Comparison::Eq, Comparison::Ne]),
                    value_for(field, true),
                )
                    .prop_map(move |(op, value)| Filter::Compare { field, op, value })
                    .boxed(),
                (
                    any::<bool>(),
                    prop::collection::vec(value_for(field, true), 1..4),
                )
                    .prop_map(move |(negated, values)| Filter::In {
                        field,
                        values,
                        negated,
                    })
                    .boxed(),
            ];
            if check_operator(field, "gt", OperatorClass::Ordering).is_ok() {
                options.push(
                    (
                        select(vec![
                            Comparison::Gt,
                            Comparison::Ge,
                            Comparison::Lt,
                            Comparison::Le,
                        ]),
                        value_for(field, false),
                    )
                        .prop_map(move |(op, value)| Filter::Compare { field, op, value })
                        .boxed(),
                );
            }
            if check_operator(field, "like", OperatorClass::Pattern).is_ok() {
                options.push(
                    (any::<bool>(), text_value())
                        .prop_map(move |(case_insensitive, pattern)| Filter::Like {
                            field,
                            pattern,
                            case_insensitive,
                        })
                        .boxed(),
                );
            }
            Union::new(options)
        })
        .boxed()
}

fn combine(inner: BoxedStrategy<Filter<TokenField>>) -> impl Strategy<Value = Filter<TokenField>> {
    prop_oneof![
        prop::collection::vec(inner.clone(), 1..4).prop_map(Filter::And),
        prop::collection::vec(inner.clone(), 1..4).prop_map(Filter::Or),
        inner.prop_map(|filter| Filter::Not(Box::new(filter))),
    ]
}

/// Any token filter the parser can produce (bounded depth; `any` holds module filters).
fn token_filter() -> BoxedStrategy<Filter<TokenField>> {
    let module = leaf(vec![TokenField::ModuleId]).prop_recursive(2, 8, 3, combine);
    let base = prop_oneof![
        4 => leaf(TokenField::ALL.to_vec()),
        1 => module.prop_map(|filter| Filter::Any {
            collection: "modules",
            filter: Box::new(filter),
        }),
    ];
    base.prop_recursive(3, 24, 4, combine).boxed()
}

/// Percent-encodes every byte but ASCII letters and digits.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parsing_never_panics(text in rql_like()) {
        let _ = parse_list_query::<TokenField>(&text, SELECTABLE);
        let _ = parse_list_query::<AuditField>(&text, &[]);
        let _ = parse_filter::<TokenField>(&text);
        let _ = parse_filter::<AuditField>(&text);
        let _ = decode_term(&text);
    }

    #[test]
    fn print_then_parse_gives_the_filter_back(filter in token_filter()) {
        let printed = print_filter(&filter);
        prop_assume!(printed.len() <= MAX_QUERY_BYTES / 3);
        prop_assert!(printed.len() <= MAX_FILTER_BYTES);
        prop_assert_eq!(parse_filter::<TokenField>(&printed), Ok(filter.clone()), "{}", printed);
        // And through the query string, percent-encoded.
        let request = parse_list_query::<TokenField>(&encode(&printed), SELECTABLE);
        prop_assert_eq!(request.map(|r| r.query.filter), Ok(Some(filter)), "{}", printed);
    }

    #[test]
    fn parsed_filters_print_back(text in rql_like()) {
        if let Ok(filter) = parse_filter::<TokenField>(&text) {
            let printed = print_filter(&filter);
            prop_assert_eq!(parse_filter::<TokenField>(&printed), Ok(filter), "{}", printed);
        }
    }
}

/// `token=<value>` and `eq(token,<value>)` at the top level are a value lookup, kept apart from
/// the filter; anywhere else, twice, or on a list without values → 400 that quotes no value.
#[test]
fn token_values_are_looked_up_not_filtered() -> TestResult {
    use tollgate_domain::query::AuditField;
    let value = "idt:TKN-1234-5678:AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKlMnOpQrSt012345";
    for query in [
        format!("limit=2&token={value}"),
        format!("token=%27{value}%27"),
        format!("eq(token,{value})&eq(status,Active)"),
        format!("eq(token,'{value}')"),
        format!("eq( token , \"{value}\" )"),
    ] {
        let request = parse_list_query::<TokenField>(&query, SELECTABLE)
            .map_err(|error| format!("{query}: {error}"))?;
        let token = request.token.ok_or(format!("{query}: no token"))?;
        if token.expose_secret() != value {
            return Err(format!("{query}: token read as {token:?}"));
        }
        if format!("{token:?}").contains("idt:") {
            return Err("the Debug output of a looked-up value shows it".into());
        }
        if let Some(filter) = &request.query.filter
            && format!("{filter:?}").contains("idt:")
        {
            return Err(format!("{query}: the value went into the filter"));
        }
    }
    for query in [
        format!("not(eq(token,{value}))"),
        format!("or(eq(token,{value}),eq(id,TKN-1234-5678))"),
        format!("and(eq(token,{value}))"),
        format!("any(modules,eq(token,{value}))"),
        format!("ne(token,{value})"),
        format!("token={value}&token={value}"),
    ] {
        match parse_list_query::<TokenField>(&query, SELECTABLE) {
            Ok(request) => return Err(format!("{query}: accepted as {request:?}")),
            Err(error)
                if error.to_string().contains("idt:") || error.to_string().contains("AbCd") =>
            {
                return Err(format!("{query}: the error quotes the value: {error}"));
            }
            Err(error) if error.to_string().contains("token") => {}
            Err(error) => return Err(format!("{query}: unexpected error {error}")),
        }
    }
    match parse_list_query::<AuditField>(&format!("token={value}"), &[]) {
        Ok(_) => Err("the audit list took a token value".into()),
        Err(error) if error.to_string().contains("idt:") => Err(format!("quoted: {error}")),
        Err(_) => Ok(()),
    }
}
