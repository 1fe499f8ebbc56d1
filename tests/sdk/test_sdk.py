"""The platform's Python SDK (`mpt-api-client`) against Tollgate, unchanged.

Each test drives the SDK's public API only (`client.accounts.api_tokens`, `client.audit.records`,
`RQLQuery`); the comments show the request the SDK puts on the wire for each call (see
docs/SDK.md). Tests marked `xfail(strict=True)` are known mismatches between Tollgate and the SDK:
when Tollgate is fixed they XPASS, which fails the run — then remove the marker.
"""

import asyncio
import datetime as dt

import pytest
from mpt_api_client import AsyncMPTClient
from mpt_api_client.auth import BearerTokenAuthentication
from mpt_api_client.exceptions import MPTAPIError, MPTStreamingError
from mpt_api_client.models.meta import Pagination
from mpt_api_client.rql import RQLQuery

EVENT = "platform.accounts.api-token."


def ids(models) -> list[str]:
    return [m.id for m in models]


def test_create_returns_the_token_and_its_value(make_token, tag):
    # POST /public/v1/accounts/api-tokens  {"name":…,"description":…,"modules":[{"id":"MOD-1104"}]}
    token = make_token("create")

    assert token.id.startswith("TKN-")
    assert token.name == f"SDK robot {tag} create"
    assert token.description == f"created by tests/sdk ({tag})"
    assert token.status == "Active"
    assert [m.id for m in token.modules] == ["MOD-1104"]
    assert token.modules[0].code == "billing"
    assert token.account.type == "Client"
    assert token.revision == 1
    # the value is shown once, at creation
    assert token.token.startswith(f"idt:{token.id}:")
    # `$meta` is lifted off the resource into `Model.meta`
    assert token.meta.omitted == ["audit"]


def test_get_and_get_with_select(client, make_token, settings):
    created = make_token("get")
    tokens = client.accounts.api_tokens

    # GET /public/v1/accounts/api-tokens/{id}
    got = tokens.get(created.id)
    assert (got.id, got.name, got.status) == (created.id, created.name, "Active")
    assert not hasattr(got, "token")  # never shown again to a token caller
    assert not hasattr(got, "audit")
    assert got.meta.omitted == ["audit"]

    # GET /public/v1/accounts/api-tokens/{id}?select=%2Baudit%2C-modules
    got = tokens.get(created.id, select=["+audit", "-modules"])
    assert got.audit.created.by.id == settings.token_id
    assert got.audit.created.at.endswith("Z")
    assert not hasattr(got, "modules")
    assert got.meta.omitted == []

    # GET …/{id}?select=audit  (a bare name means +audit)
    assert tokens.get(created.id, select="audit").audit.created.by.id == settings.token_id


def test_filter_status_and_ilike(client, make_token, tag):
    active = make_token("alpha")
    disabled = make_token("beta")
    client.accounts.api_tokens.disable(disabled.id)

    # GET …/api-tokens?limit=100&offset=0&and(eq(status,'Active'),ilike(name,'*T…*ROBOT*'))
    query = RQLQuery(status="Active") & RQLQuery(name__ilike=f"*{tag.upper()}*")
    found = list(client.accounts.api_tokens.filter(query).iterate())
    assert ids(found) == [active.id]

    # GET …?limit=100&offset=0&and(eq(status,'Disabled'),ilike(name,'*robot t…*'))
    query = RQLQuery(status="Disabled", name__ilike=f"*robot {tag}*")
    assert ids(client.accounts.api_tokens.filter(query).iterate()) == [disabled.id]

    # like is case-sensitive: GET …?limit=100&offset=0&like(name,'*ROBOT*t…*')
    assert list(client.accounts.api_tokens.filter(RQLQuery(name__like=f"*ROBOT*{tag}*")).iterate()) == []


def test_filter_in_out_and_modules(client, make_token, tag):
    first = make_token("one")
    second = make_token("two", modules=[{"id": "MOD-1104"}, {"id": "MOD-1107"}])
    third = make_token("three")
    tokens = client.accounts.api_tokens

    # GET …?limit=100&offset=0&in(id,('TKN-…','TKN-…'))
    found = tokens.filter(RQLQuery(id__in=[first.id, second.id])).iterate()
    assert sorted(ids(found)) == sorted([first.id, second.id])

    mine = RQLQuery(name__ilike=f"*{tag}*")
    # GET …?limit=100&offset=0&and(ilike(name,'*t…*'),out(id,('TKN-…')))
    found = tokens.filter(mine & RQLQuery(id__out=[first.id])).iterate()
    assert sorted(ids(found)) == sorted([second.id, third.id])

    # GET …?limit=100&offset=0&and(ilike(name,…),eq(modules.id,'MOD-1107'))
    assert ids(tokens.filter(mine & RQLQuery(modules__id="MOD-1107")).iterate()) == [second.id]

    # GET …?limit=100&offset=0&and(ilike(name,…),any(modules,eq(id,'MOD-1107')))
    in_audit = RQLQuery(id="MOD-1107").any("modules")
    assert ids(tokens.filter(mine & in_audit).iterate()) == [second.id]

    # GET …?limit=100&offset=0&and(ilike(name,…),or(eq(id,'TKN-…'),eq(id,'TKN-…')))
    either = RQLQuery(id=first.id) | RQLQuery(id=third.id)
    assert sorted(ids(tokens.filter(mine & either).iterate())) == sorted([first.id, third.id])

    # GET …?limit=100&offset=0&and(ilike(name,…),not(eq(id,'TKN-…')))
    assert first.id not in ids(tokens.filter(mine & ~RQLQuery(id=first.id)).iterate())


def test_filter_null_empty_and_timestamps(client, make_token, tag, settings):
    with_description = make_token("described")
    without = make_token("bare", description="")
    tokens = client.accounts.api_tokens
    mine = RQLQuery(name__ilike=f"*{tag}*")

    # GET …&and(ilike(name,…),eq(description,empty()))
    assert ids(tokens.filter(mine & RQLQuery(description__empty=True)).iterate()) == [without.id]
    # GET …&and(ilike(name,…),ne(description,empty()))
    assert ids(tokens.filter(mine & RQLQuery().description.not_empty()).iterate()) == [
        with_description.id
    ]
    # GET …&and(ilike(name,…),eq(lastAccessAt,null()))  (never used)
    never_used = tokens.filter(mine & RQLQuery(lastAccessAt__null=True)).iterate()
    assert sorted(ids(never_used)) == sorted([with_description.id, without.id])

    # An aware datetime is sent as isoformat(), percent-encoded:
    # GET …&and(ilike(name,…),gt(audit.created.at,'2020-01-01T00%3A00%3A00%2B00%3A00'))
    since = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    created = RQLQuery().n("audit.created.at").gt(since)
    assert len(list(tokens.filter(mine & created).iterate())) == 2
    # microseconds and a non-UTC offset: '2026-…T06%3A46%3A46.278846%2B02%3A00'
    later = dt.datetime.now(dt.timezone(dt.timedelta(hours=2))) + dt.timedelta(minutes=5)
    assert len(list(tokens.filter(mine & RQLQuery().n("audit.created.at").lt(later)).iterate())) == 2

    # GET …&and(ilike(name,…),eq(audit.created.by.id,'TKN-…'))
    by_me = RQLQuery().n("audit.created.by.id").eq(settings.token_id)
    assert len(list(tokens.filter(mine & by_me).iterate())) == 2


def test_values_with_reserved_characters_round_trip(client, make_token):
    # Values are quoted and percent-encoded by the SDK (`*` left literal); a value holding a
    # single quote is delimited with double quotes instead:
    # GET …&eq(description,%22A%20%26%20B%20%2B1%20%2520%20%23x%20%3Fy%3Dz%2F%28w%29%2C%27q%27%22)
    description = "A & B +1 %20 #x ?y=z/(w),'q' é"
    token = make_token("reserved", description=description)
    tokens = client.accounts.api_tokens

    assert ids(tokens.filter(RQLQuery(description=description)).iterate()) == [token.id]
    pattern = "*& b +1 %20 #X ?Y=Z/(W),'Q' É"
    assert ids(tokens.filter(RQLQuery(description__ilike=pattern)).iterate()) == [token.id]


def test_select_and_order(client, make_token, tag):
    for suffix in ("Charlie", "alpha", "Bravo"):
        make_token(suffix)
    mine = client.accounts.api_tokens.filter(RQLQuery(name__ilike=f"*{tag}*"))

    # GET …?limit=100&offset=0&order=-audit.created.at&select=+audit&ilike(name,'*t…*')
    newest_first = list(mine.select("+audit").order_by("-audit.created.at").iterate())
    assert len(newest_first) == 3
    created_at = [t.audit.created.at for t in newest_first]
    assert created_at == sorted(created_at, reverse=True)
    assert all(t.meta.omitted == [] for t in newest_first)

    # GET …?limit=100&offset=0&order=name&ilike(name,…) — case-insensitive
    by_name = [t.name.rsplit(" ", 1)[1] for t in mine.order_by("name").iterate()]
    assert by_name == ["alpha", "Bravo", "Charlie"]
    # GET …?limit=100&offset=0&order=-name&ilike(name,…)
    by_name = [t.name.rsplit(" ", 1)[1] for t in mine.order_by("-name").iterate()]
    assert by_name == ["Charlie", "Bravo", "alpha"]
    # GET …?limit=100&offset=0&order=-audit.created.at,+name&select=+audit,-modules&ilike(…)
    both = list(mine.order_by("-audit.created.at", "+name").select("+audit", "-modules").iterate())
    assert len(both) == 3
    assert all(not hasattr(t, "modules") and hasattr(t, "audit") for t in both)


def test_pagination(client, make_token, tag, wire):
    made = {make_token(suffix).id for suffix in ("p1", "p2", "p3")}
    mine = client.accounts.api_tokens.filter(RQLQuery(name__ilike=f"*{tag}*"))

    # GET …?limit=2&offset=0&ilike(name,…)  →  $meta.pagination {offset, limit, total}
    page = mine.fetch_page(limit=2)
    assert len(page) == 2
    assert page.meta.pagination == Pagination(limit=2, offset=0, total=3)

    # iterate() follows $meta.pagination: offset=0, then offset=2
    wire.reset()
    seen = ids(mine.iterate(batch_size=2))
    assert len(seen) == 3 and set(seen) == made
    offsets = [p.split("offset=")[1].split("&")[0] for p in wire.paths()]
    assert offsets == ["0", "2"]

    # limit=0 returns only the total
    assert mine.fetch_page(limit=0).meta.pagination.total == 3
    # a limit above 100 is capped, and the applied limit is reported back
    assert mine.fetch_page(limit=500).meta.pagination.limit == 100

    # fetch_one: GET …?limit=1&offset=0&and(ilike(…),eq(id,'TKN-…')) and checks total == 1
    one = sorted(made)[0]
    assert client.accounts.api_tokens.filter(RQLQuery(id=one)).fetch_one().id == one
    with pytest.raises(ValueError, match="got 3 results"):
        mine.fetch_one()


def test_lifecycle_and_audit_records(client, make_token, tag, settings):
    tokens = client.accounts.api_tokens
    token = make_token("life")

    # PUT /public/v1/accounts/api-tokens/{id}  {"name":"…"}
    renamed = tokens.update(token.id, {"name": f"SDK robot {tag} renamed"})
    assert renamed.name == f"SDK robot {tag} renamed"
    assert renamed.revision == 2
    assert tokens.get(token.id).name == renamed.name

    # POST …/{id}/disable  (no body, Content-Length: 0)
    assert tokens.disable(token.id).status == "Disabled"
    # POST …/{id}/enable
    assert tokens.enable(token.id).status == "Active"
    # POST …/{id}/disable, then …/enable with {} as body
    tokens.disable(token.id)
    assert tokens.enable(token.id, {}).status == "Active"

    # DELETE …/{id}  → 204
    assert tokens.delete(token.id) is None
    with pytest.raises(MPTAPIError) as not_found:
        tokens.get(token.id)
    assert not_found.value.status_code == 404
    assert token.id not in ids(tokens.filter(RQLQuery(id=token.id)).iterate())

    # GET /public/v1/audit/records?limit=100&offset=0&eq(object.id,'TKN-…')  (newest first)
    records = list(client.audit.records.filter(RQLQuery(object__id=token.id)).iterate())
    assert [r.event.removeprefix(EVENT) for r in records] == [
        "deleted", "enabled", "disabled", "enabled", "disabled", "updated", "created",
    ]
    assert all(r.object.id == token.id for r in records)
    assert all(r.actor.id == settings.token_id and r.actor.type == "ApiToken" for r in records)
    # the platform's shape: request {api {ip, userAgent}, log {correlationId}} (SPEC §6, turn 2)
    assert records[0].request.api.user_agent == "swo-marketplace-client/1.0"
    updated = records[-2]
    assert updated.details.name.before == f"SDK robot {tag} life"
    assert updated.details.name.after == renamed.name

    # GET …/audit/records?limit=100&offset=0&order=timestamp&and(eq(object.id,…),eq(event,…))
    query = RQLQuery(object__id=token.id) & RQLQuery(event=EVENT + "enabled")
    enabled = list(client.audit.records.filter(query).order_by("timestamp").iterate())
    assert len(enabled) == 2 and enabled[0].timestamp <= enabled[1].timestamp

    # GET /public/v1/audit/records/{id}
    record = client.audit.records.get(records[-1].id)
    assert (record.id, record.event, record.object.id) == (records[-1].id, EVENT + "created", token.id)
    assert record.documents.token.id == token.id


def test_update_echoing_what_was_read(client, make_token, tag):
    token = make_token("echo")
    tokens = client.accounts.api_tokens
    # GET …/{id}?select=%2Baudit, then PUT the whole object back with one field changed
    read = tokens.get(token.id, select="+audit")
    body = read.to_dict() | {"description": "changed"}
    assert tokens.update(token.id, body).description == "changed"
    # the same from a list item (each item carries its own "$meta")
    item = tokens.filter(RQLQuery(id=token.id)).fetch_one()
    assert tokens.update(token.id, item.to_dict() | {"name": f"SDK robot {tag} echo2"}).revision == 3


def test_errors_are_problem_details(client, make_token, settings):
    tokens = client.accounts.api_tokens
    with pytest.raises(MPTAPIError) as invalid:
        tokens.create({"name": "", "modules": []})
    assert invalid.value.status_code == 400
    assert set(invalid.value.errors) == {"name", "modules"}
    assert invalid.value.trace_id.startswith("00-")

    token = make_token("errors")
    with pytest.raises(MPTAPIError) as conflict:
        tokens.enable(token.id)  # it is Active
    assert conflict.value.status_code == 409
    with pytest.raises(MPTAPIError) as stale:
        tokens.update(token.id, {"name": "x", "revision": 0})
    assert stale.value.status_code == 409

    with pytest.raises(MPTAPIError) as bad_rql:
        tokens.filter(RQLQuery(nosuchfield="x")).fetch_page()
    assert bad_rql.value.status_code == 400

    stranger = type(client).from_config(
        authentication=BearerTokenAuthentication(settings.token[:-6] + "000000"),
        base_url=settings.base_url,
    )
    with pytest.raises(MPTAPIError) as unauthenticated:
        stranger.accounts.api_tokens.fetch_page()
    assert unauthenticated.value.status_code == 401


def test_async_client(settings, tag, wire):
    async def record_request(request):
        wire.on_request(request)

    async def record_response(response):
        await response.aread()
        wire.on_response(response)

    async def scenario() -> list[str]:
        sdk = AsyncMPTClient.from_config(
            authentication=BearerTokenAuthentication(settings.token), base_url=settings.base_url
        )
        sdk.http_client.httpx_client.event_hooks = {
            "request": [record_request],
            "response": [record_response],
        }
        tokens = sdk.accounts.api_tokens
        token = await tokens.create({"name": f"SDK robot {tag} async", "modules": [{"id": "MOD-1104"}]})
        try:
            found = [t.id async for t in tokens.filter(RQLQuery(name__ilike=f"*{tag}*")).iterate()]
            assert (await tokens.disable(token.id)).status == "Disabled"
            assert (await tokens.enable(token.id)).status == "Active"
            return found + [token.id]
        finally:
            await tokens.delete(token.id)

    found = asyncio.run(scenario())
    assert found[:-1] == [found[-1]]


def test_modules_catalog(client):
    # GET /public/v1/accounts/modules?limit=100&offset=0
    modules = {m.id: m.code for m in client.accounts.modules.iterate()}
    assert modules["MOD-1104"] == "billing"
    assert modules["MOD-1756"] == "access-management"


def test_stream_is_refused_cleanly(client):
    # GET /public/v1/accounts/api-tokens with `Accept: application/jsonl` and `MPT-Streaming: true`.
    # Tollgate has no streaming mode and answers with a regular page; the SDK must refuse it
    # rather than yield a partial result. (A 501 would give the clearer
    # MPTStreamingNotSupportedError — see docs/SDK.md.)
    with pytest.raises(MPTStreamingError):
        list(client.accounts.api_tokens.stream())


def test_date_value_in_filter(client, make_token, tag):
    token = make_token("dated")
    # dt.date is an SDK value type: GET …&and(ilike(name,…),ge(audit.created.at,'2020-01-01'))
    query = RQLQuery(name__ilike=f"*{tag}*") & RQLQuery().n("audit.created.at").ge(dt.date(2020, 1, 1))
    assert ids(client.accounts.api_tokens.filter(query).iterate()) == [token.id]


def test_update_echoing_the_created_object(client, make_token, tag):
    token = make_token("echo-created")
    # PUT …/{id} with the object create() returned, `token` value included
    body = token.to_dict() | {"name": f"SDK robot {tag} echoed"}
    assert client.accounts.api_tokens.update(token.id, body).name == f"SDK robot {tag} echoed"
