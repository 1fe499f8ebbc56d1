"""More of what the platform's clients send: the module catalog, audit event types, `select` and
`render()` on audit records, the record's `request` shape, token-value lookup (`?token=`), empty
`select=`/`order=`, and `Allow` on every 405.

The SDK (mpt-api-client 7.0.0) is driven through its public API; where a CLI builds its request
by hand (mpt-cli 5.3 with requests, mpt-cli 6 through mpt-api-client 5.4), the test sends that
request byte for byte with httpx and the comment names the client. A failing test shows every
exchange.
"""

import re

import pytest
from mpt_api_client import MPTClient
from mpt_api_client.auth import BearerTokenAuthentication
from mpt_api_client.exceptions import MPTAPIError
from mpt_api_client.rql import RQLQuery

from conftest import attach_wire

EVENT = "platform.accounts.api-token."
TOKENS = "/public/v1/accounts/api-tokens"
RECORDS = "/public/v1/audit/records"
PLUGIN_SELECT = "object,actor,details,documents,request.api.geolocation"


def sdk_as(settings, token: str) -> MPTClient:
    sdk = MPTClient.from_config(
        authentication=BearerTokenAuthentication(token), base_url=settings.base_url
    )
    attach_wire(sdk)
    return sdk


def raw_path(wire) -> str:
    return wire.requests[-1].url.raw_path.decode()


# --- modules -------------------------------------------------------------------------------


def test_modules_get(client):
    # GET /public/v1/accounts/modules/MOD-1104   Accept: application/json
    module = client.accounts.modules.get("MOD-1104")
    assert (module.id, module.code, module.name) == ("MOD-1104", "billing", "Billing")
    assert "Client" in module.account_types

    with pytest.raises(MPTAPIError) as missing:
        client.accounts.modules.get("MOD-9999")
    assert missing.value.status_code == 404


def test_modules_filter(client):
    modules = client.accounts.modules
    # GET /public/v1/accounts/modules?limit=1&offset=0&eq(code,'billing')  (fetch_one)
    assert modules.filter(RQLQuery(code="billing")).fetch_one().id == "MOD-1104"
    # …&eq(name,'Audit')
    assert modules.filter(RQLQuery(name="Audit")).fetch_one().id == "MOD-1107"
    # …&eq(id,'MOD-1756')
    assert modules.filter(RQLQuery(id="MOD-1756")).fetch_one().code == "access-management"
    # GET …?limit=100&offset=0&in(id,('MOD-1104','MOD-1107'))
    found = modules.filter(RQLQuery(id__in=["MOD-1104", "MOD-1107"])).iterate()
    assert sorted(m.id for m in found) == ["MOD-1104", "MOD-1107"]
    # …&ilike(name,'*management*')
    found = modules.filter(RQLQuery(name__ilike="*management*")).iterate()
    assert sorted(m.id for m in found) == ["MOD-1101", "MOD-1756"]
    # an unknown field is a 400, as on tokens
    with pytest.raises(MPTAPIError) as bad:
        modules.filter(RQLQuery(nosuchfield="x")).fetch_page()
    assert bad.value.status_code == 400


# --- audit event types ----------------------------------------------------------------------


def test_event_types_list_get_and_filter(client):
    event_types = client.audit.event_types
    # GET /public/v1/audit/event-types?limit=100&offset=0
    listed = list(event_types.iterate())
    keys = {t.key for t in listed}
    written = {
        "created", "updated", "enabled", "disabled", "deleted", "revealed", "icon-changed",
        "authentication-failed",
    }
    assert {EVENT + action for action in written} <= keys
    assert len(keys) == len(listed)
    for event_type in listed:
        assert re.fullmatch(r"AET-\d{4}-\d{4}", event_type.id), event_type.id
        assert event_type.name and event_type.description

    created = next(t for t in listed if t.key == EVENT + "created")
    # GET /public/v1/audit/event-types/AET-…
    got = event_types.get(created.id)
    assert (got.id, got.key, got.name) == (created.id, created.key, created.name)
    # GET /public/v1/audit/event-types?limit=1&offset=0&eq(key,'platform.accounts.api-token.created')
    assert event_types.filter(RQLQuery(key=EVENT + "created")).fetch_one().id == created.id
    # …&ilike(key,'*.disabled')
    found = list(event_types.filter(RQLQuery(key__ilike="*.disabled")).iterate())
    assert [t.key for t in found] == [EVENT + "disabled"]

    with pytest.raises(MPTAPIError) as missing:
        event_types.get("AET-0000-0000")
    assert missing.value.status_code == 404


# --- audit records: select, render(), shape ----------------------------------------------------


def test_records_select_and_render(client, make_token):
    token = make_token("select")
    mine = client.audit.records.filter(RQLQuery(object__id=token.id))

    # GET /public/v1/audit/records?limit=1&offset=0&select=-documents&eq(object.id,'TKN-…')
    record = mine.select("-documents").fetch_one()
    assert not hasattr(record, "documents")
    assert record.object.id == token.id and record.event == EVENT + "created"

    # GET …?limit=1&offset=0&select=object,actor,details,documents,request.api.geolocation&eq(…)
    # (the names mpt-cli's audit plugin selects; Tollgate keeps no geolocation: it stays absent)
    record = mine.select(*PLUGIN_SELECT.split(",")).fetch_one()
    assert record.documents.token.id == token.id
    assert record.actor.type == "ApiToken"
    assert not hasattr(record.request.api, "geolocation")

    # the plugin's exact query: GET …?limit=10&offset=0&order=-timestamp&select=…&eq(…)&render()
    page = (
        client.audit.records.options(render=True).filter(RQLQuery(object__id=token.id))
        .order_by("-timestamp").select(*PLUGIN_SELECT.split(",")).fetch_page(limit=10)
    )
    assert [r.object.id for r in page] == [token.id]

    # GET /public/v1/audit/records/AUD-…?select=-documents
    got = client.audit.records.get(record.id, select="-documents")
    assert got.id == record.id and not hasattr(got, "documents")

    with pytest.raises(MPTAPIError) as bad:
        mine.select("nosuchfield").fetch_page()
    assert bad.value.status_code == 400


def test_record_request_shape(client, raw, make_token, demo_account):
    token = make_token("shape")
    record = client.audit.records.filter(RQLQuery(object__id=token.id)).fetch_one()

    assert record.type == "Public"
    assert record.request.api.ip == "127.0.0.1"
    assert record.request.api.user_agent == "swo-marketplace-client/1.0"
    assert isinstance(record.request.log.correlation_id, str) and record.request.log.correlation_id
    assert record.object.object_type == "ApiToken"
    account = record.actor.account
    assert (account.id, account.name, account.type) == (
        demo_account["id"], demo_account["name"], demo_account["type"],
    )

    # the same in the JSON as sent (camelCase, nested as the platform nests it)
    body = raw.get(f"{RECORDS}/{record.id}").json()
    assert body["request"]["api"]["userAgent"] == "swo-marketplace-client/1.0"
    assert body["request"]["api"]["ip"] == "127.0.0.1"
    assert body["request"]["log"]["correlationId"] == record.request.log.correlation_id


@pytest.mark.parametrize(
    "query",
    [
        # mpt-cli 5.3's audit plugin: render() first, a bare id, order=-timestamp, no offset
        "render()&select=" + PLUGIN_SELECT + "&eq(object.id,{token})&order=-timestamp&limit=10",
        # mpt-cli 6.0's audit plugin (mpt-api-client 5.4)
        "limit=10&offset=0&order=-timestamp&select=" + PLUGIN_SELECT + "&eq(object.id,'{token}')&render()",
    ],
    ids=["mpt-cli-5", "mpt-cli-6"],
)
def test_audit_plugin_list_queries(raw, make_token, wire, query):
    token = make_token("plugin-q")
    path = f"{RECORDS}?{query.format(token=token.id)}"
    answer = raw.get(path)
    assert raw_path(wire) == path  # sent as written
    assert answer.status_code == 200, answer.text
    records = answer.json()["data"]
    assert [r["object"]["id"] for r in records] == [token.id]
    assert records[0]["documents"]["token"]["id"] == token.id
    assert "geolocation" not in records[0]["request"]["api"]


def test_audit_plugin_get_query(raw, client, make_token, wire):
    # mpt-cli 5.3's audit plugin reads one record with render() and select on the item path
    token = make_token("plugin-get")
    record = client.audit.records.filter(RQLQuery(object__id=token.id)).fetch_one()
    path = f"{RECORDS}/{record.id}?render()&select={PLUGIN_SELECT}"
    answer = raw.get(path)
    assert raw_path(wire) == path
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == record.id
    assert answer.json()["object"]["id"] == token.id


# --- token-value lookup ----------------------------------------------------------------------


def test_a_billing_only_token_looks_up_its_own_value(raw_client, settings, make_token, wire):
    robot = make_token("lookup")  # holds billing (MOD-1104) only
    http = raw_client(robot.token)

    # mpt-cli 5.3 `accounts add`, byte for byte:
    # GET /public/v1/accounts/api-tokens?limit=2&token=idt:TKN-…:…
    path = f"{TOKENS}?limit=2&token={robot.token}"
    answer = http.get(path)
    assert raw_path(wire) == path
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["$meta"]["pagination"] == {"offset": 0, "limit": 2, "total": 1}
    [found] = body["data"]
    assert found["id"] == robot.id
    assert found["token"] == robot.token  # echoed: the CLI stores this value
    assert {"id", "name", "type"} <= found["account"].keys()
    assert found["account"]["type"] == "Client"

    # the SDK's form: GET …?limit=1&offset=0&eq(token,'idt%3ATKN-…%3A…')
    same = sdk_as(settings, robot.token).accounts.api_tokens.filter(RQLQuery(token=robot.token))
    one = same.fetch_one()
    assert (one.id, one.token) == (robot.id, robot.token)


@pytest.mark.parametrize("who", ["demo", "billing-only"])
def test_a_token_reads_itself_by_id(raw_client, settings, make_token, wire, who):
    # mpt-cli 6.0 `accounts add` (mpt-api-client 5.4 sends select=None as an empty select=):
    # GET /public/v1/accounts/api-tokens/TKN-…?select=   Accept: application/json
    # It needs id, account.{id,name,type} and `token`, and stores the `token` it gets.
    value = settings.token if who == "demo" else make_token("self").token
    token_id = value.split(":")[1]
    answer = raw_client(value, "swo-marketplace-client/1.0").get(
        f"{TOKENS}/{token_id}?select=", headers={"Accept": "application/json"}
    )
    assert raw_path(wire) == f"{TOKENS}/{token_id}?select="
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["id"] == token_id
    assert body["token"] == value
    assert {"id", "name", "type"} <= body["account"].keys()


def test_token_lookup_finds_nothing_for_other_values(raw, client, make_token, other_account_token):
    robot = make_token("notfound")
    gone = make_token("gone")
    client.accounts.api_tokens.delete(gone.id)
    values = {
        "wrong secret": robot.token[:-6] + "000000",
        "malformed": "not-a-token",
        "unknown id": "idt:TKN-0000-0000:" + "A" * 64,
        "deleted token": gone.token,
        "another account's token": other_account_token["token"],
    }
    for label, value in values.items():
        answer = raw.get(f"{TOKENS}?limit=2&token={value}")
        assert answer.status_code == 200, (label, answer.text)
        body = answer.json()
        assert body["data"] == [], label
        assert body["$meta"]["pagination"]["total"] == 0, label
    # the right value still finds it, for a caller holding access-management too
    assert [t["id"] for t in raw.get(f"{TOKENS}?limit=2&token={robot.token}").json()["data"]] == [
        robot.id
    ]


@pytest.mark.parametrize(
    "term",
    ["not(eq(token,'{v}'))", "or(eq(token,'{v}'),eq(id,'TKN-0000-0000'))", "any(modules,eq(token,'{v}'))"],
    ids=["not", "or", "any"],
)
def test_token_filter_only_at_top_level(raw, settings, term):
    answer = raw.get(f"{TOKENS}?{term.format(v=settings.token)}")
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_empty_select_and_order_are_absent(raw, settings):
    listed = raw.get(f"{TOKENS}?select=&order=&limit=1")
    assert listed.status_code == 200, listed.text
    assert listed.json()["$meta"]["pagination"]["limit"] == 1
    one = raw.get(f"{TOKENS}/{settings.token_id}?select=")
    assert one.status_code == 200, one.text
    assert one.json()["$meta"]["omitted"] == ["audit"]
    records = raw.get(f"{RECORDS}?select=&order=&limit=1")
    assert records.status_code == 200, records.text


# --- 405 carries Allow -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def some_ids(client, settings) -> dict:
    record = client.audit.records.fetch_page(limit=1)[0]
    try:
        event_type = client.audit.event_types.fetch_page(limit=1)[0].id
    except (MPTAPIError, IndexError):  # no event types: test_event_types_… says why
        event_type = "AET-1000-0001"
    return {"token": settings.token_id, "record": record.id, "event_type": event_type}


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", RECORDS, {"GET"}),  # the SDK's client.audit.records.create()
        ("PUT", RECORDS + "/{record}", {"GET"}),
        ("DELETE", RECORDS + "/{record}", {"GET"}),
        ("PUT", "/public/v1/audit/event-types/{event_type}", {"GET"}),  # event_types.update()
        ("POST", "/public/v1/audit/event-types", {"GET"}),
        ("POST", "/public/v1/accounts/modules", {"GET"}),
        ("DELETE", "/public/v1/accounts/modules/MOD-1104", {"GET"}),
        ("DELETE", TOKENS, {"GET", "POST"}),
        ("PATCH", TOKENS + "/{token}", {"GET", "PUT", "DELETE"}),
        ("GET", TOKENS + "/{token}/enable", {"POST"}),
    ],
)
def test_405_carries_allow(raw, some_ids, method, path, allowed):
    answer = raw.request(method, path.format(**some_ids))
    assert answer.status_code == 405, answer.text
    assert "allow" in answer.headers, dict(answer.headers)
    offered = {m.strip().upper() for m in answer.headers["allow"].split(",")}
    assert allowed <= offered, answer.headers["allow"]
    assert method not in offered
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_sdk_records_create_is_405(client):
    # POST /public/v1/audit/records  {}
    with pytest.raises(MPTAPIError) as refused:
        client.audit.records.create({})
    assert refused.value.status_code == 405

