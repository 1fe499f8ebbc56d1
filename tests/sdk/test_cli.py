"""The platform's command-line clients from PyPI against Tollgate, unchanged.

mpt-cli 6.0.0 (venv cli6), mpt-cli 5.3.0 and mpt-curl 1.0.8 (venv cli5) run as the user would run
them: their console scripts, by absolute path, with HOME pointed at a temporary folder (mpt-cli
keeps its accounts in ~/.swocli/accounts.json, which mpt-curl reads too) and the server's
self-signed certificate trusted through SSL_CERT_FILE (httpx) or REQUESTS_CA_BUNDLE (requests).
The comments give the requests each command sends (docs/SDK.md). A failing test shows each CLI's
command line, exit status, stdout and stderr.
"""

import json

import pytest
from conftest import swocli_accounts, write_swocli_account
from mpt_api_client.rql import RQLQuery

# mpt-cli 6 talks httpx (through mpt-api-client 5.4); mpt-cli 5 talks requests.
CA = {"cli6": "SSL_CERT_FILE", "cli5": "REQUESTS_CA_BUNDLE"}


def expected_account(settings, account: dict, value: str, environment: str) -> dict:
    return {
        "id": account["id"],
        "name": account["name"],
        "type": account["type"],
        "token": value,
        "token_id": value.split(":")[1],
        "environment": environment,
        "is_active": True,
    }


def row_of(output: str, needle: str) -> str:
    """The first line of a rich table holding `needle`."""
    rows = [line for line in output.splitlines() if needle in line]
    assert rows, f"no line of the output holds {needle!r}"
    return rows[0]


def row_starting(output: str, first_cell: str) -> str:
    """The rich table row whose first cell is `first_cell`."""
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip("│ ").split("│")]
        if cells and cells[0] == first_cell:
            return line
    raise AssertionError(f"no table row starts with {first_cell!r}")


# --- mpt-cli 6.0.0 -------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/public/v1"], ids=["host", "host-public-v1"])
def test_mpt_cli6_accounts_add_and_list(run_cli, settings, demo_account, suffix):
    # `--environment` is cut to scheme://host[:port] (a trailing /public/v1 is dropped), then
    # GET /public/v1/accounts/api-tokens/TKN-…?select=   Accept: application/json
    # and the account is made of the answer's id, account.{id,name,type} and `token` — the value
    # stored is the one the server echoes, so it must be the caller's own, byte for byte.
    added = run_cli(
        "cli6", "mpt-cli", "accounts", "add", settings.token,
        "--environment", settings.base_url + suffix, ca=CA["cli6"],
    )
    assert added.returncode == 0, added
    assert "Account has been added" in added.stdout, added
    assert swocli_accounts(run_cli.home) == [
        expected_account(settings, demo_account, settings.token, settings.base_url)
    ]

    # `accounts list` reads only accounts.json; the table shows the whole value.
    listed = run_cli("cli6", "mpt-cli", "accounts", "list", ca=CA["cli6"])
    assert listed.returncode == 0, listed
    row = row_of(listed.stdout, demo_account["id"])
    for cell in (demo_account["name"], "Client", settings.token, settings.base_url, "✔"):
        assert cell in row, listed
    active = run_cli("cli6", "mpt-cli", "accounts", "list", "--active", ca=CA["cli6"])
    assert active.returncode == 0 and demo_account["id"] in active.stdout, active


def test_mpt_cli6_accounts_add_a_billing_only_token(run_cli, settings, demo_account, make_token):
    # A robot token for billing alone (no access-management) is added the same way: it reads
    # itself, GET /public/v1/accounts/api-tokens/<its id>?select=, with its own value.
    robot = make_token("cli6-billing")
    added = run_cli(
        "cli6", "mpt-cli", "accounts", "add", robot.token,
        "--environment", settings.base_url, ca=CA["cli6"],
    )
    assert added.returncode == 0, added
    assert swocli_accounts(run_cli.home) == [
        expected_account(settings, demo_account, robot.token, settings.base_url)
    ]


def test_mpt_cli6_accounts_add_refuses_a_wrong_secret(run_cli, settings):
    wrong = settings.token[:-6] + "000000"
    added = run_cli(
        "cli6", "mpt-cli", "accounts", "add", wrong, "--environment", settings.base_url,
        ca=CA["cli6"],
    )
    assert added.returncode == 3, added  # "Cannot find account for token …"
    assert "Cannot find account for token" in added.stdout, added
    assert swocli_accounts(run_cli.home) == []


# --- mpt-cli 5.3.0 -------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["demo", "billing-only"])
def test_mpt_cli5_accounts_add_and_list(run_cli, settings, demo_account, make_token, who):
    # GET /public/v1/accounts/api-tokens?limit=2&token=idt:TKN-…:…   (the value as typed, ':'
    # unencoded; User-Agent: swo-marketplace-cli/1.0, Accept: */*). It needs exactly one item
    # with id, account.{id,name,type} and `token`, and stores the echoed `token`.
    value = settings.token if who == "demo" else make_token("cli5-billing").token
    environment = f"https://localhost:{settings.port}/public/v1"
    added = run_cli(
        "cli5", "mpt-cli", "accounts", "add", value, "--environment", environment, ca=CA["cli5"]
    )
    assert added.returncode == 0, added
    assert swocli_accounts(run_cli.home) == [
        expected_account(settings, demo_account, value, environment)  # stored as typed
    ]
    listed = run_cli("cli5", "mpt-cli", "accounts", "list", ca=CA["cli5"])
    assert listed.returncode == 0, listed
    assert value in row_of(listed.stdout, demo_account["id"]), listed


def test_mpt_cli5_accounts_add_refuses_a_wrong_secret(run_cli, settings):
    wrong = settings.token[:-6] + "000000"
    added = run_cli(
        "cli5", "mpt-cli", "accounts", "add", wrong,
        "--environment", f"{settings.base_url}/public/v1", ca=CA["cli5"],
    )
    assert added.returncode == 3, added
    assert swocli_accounts(run_cli.home) == []


# --- mpt-curl 1.0.8 ------------------------------------------------------------------------


def curl(run_cli, settings, *args: str):
    """mpt-curl with its credentials from MPT_API_BASE_URL / MPT_API_TOKEN; -v logs each
    request and page on stderr; --compact prints the merged collection as one JSON object."""
    return run_cli(
        "cli5", "mpt-curl", "-v", "--compact", *args, ca="SSL_CERT_FILE",
        env={"MPT_API_BASE_URL": settings.base_url, "MPT_API_TOKEN": settings.token},
    )


def paged_ids(run) -> list[str]:
    assert run.returncode == 0, run
    body = json.loads(run.stdout)
    return [item["id"] for item in body["data"]]


def test_mpt_curl_pages_through_api_tokens(run_cli, settings, client, make_token, tag):
    made = {make_token(f"page{i}").id for i in range(12)}

    # GET /public/v1/accounts/api-tokens?ilike(name,'*t…*')   (no limit: the default 10), then
    # GET …?ilike(name,'*t…*')&limit=1000&offset=10            (offset = offset + limit applied)
    # while Pagination(**$meta.pagination).has_next(); stops on an empty or repeated page.
    run = curl(run_cli, settings, f"/public/v1/accounts/api-tokens?ilike(name,'*{tag}*')")
    seen = paged_ids(run)
    assert sorted(seen) == sorted(made), run  # every one, exactly once
    assert "paging: page 2" in run.stderr, run
    assert json.loads(run.stdout)["$meta"]["pagination"]["total"] == 12

    # --page-size 5: pages after the first ask for limit=5
    run = curl(run_cli, settings, "--page-size", "5",
               f"/public/v1/accounts/api-tokens?ilike(name,'*{tag}*')")
    assert sorted(paged_ids(run)) == sorted(made), run

    # the whole collection, as the SDK sees it
    run = curl(run_cli, settings, "/public/v1/accounts/api-tokens")
    seen = paged_ids(run)
    assert len(seen) == len(set(seen)), run
    assert set(seen) == {t.id for t in client.accounts.api_tokens.iterate()}, run


def test_mpt_curl_pages_through_audit_records(run_cli, settings, client, make_token):
    token = make_token("audited")
    for _ in range(5):
        client.accounts.api_tokens.disable(token.id)
        client.accounts.api_tokens.enable(token.id)
    expected = [r.id for r in client.audit.records.filter(RQLQuery(object__id=token.id)).iterate()]
    assert len(expected) == 11  # created + 5 × (disabled, enabled)

    # GET /public/v1/audit/records?eq(object.id,'TKN-…'), then …&limit=1000&offset=10
    run = curl(run_cli, settings, f"/public/v1/audit/records?eq(object.id,'{token.id}')")
    seen = paged_ids(run)
    assert seen == expected, run  # same order (newest first), no repeats, none missing
    assert "paging: page 2" in run.stderr, run

    run = curl(run_cli, settings, "/public/v1/audit/records")
    seen = paged_ids(run)
    assert len(seen) == len(set(seen)), run
    assert set(seen) == {r.id for r in client.audit.records.iterate()}, run


@pytest.mark.parametrize("suffix", ["", "/public/v1"], ids=["as-mpt-cli-6", "as-mpt-cli-5"])
def test_mpt_curl_uses_the_active_mpt_cli_account(run_cli, settings, demo_account, suffix):
    # Without MPT_API_* it takes the environment and token of the active account in
    # ~/.swocli/accounts.json, as either mpt-cli writes it.
    write_swocli_account(
        run_cli.home, token=settings.token, account=demo_account,
        environment=settings.base_url + suffix,
    )
    run = run_cli("cli5", "mpt-curl", f"/public/v1/accounts/api-tokens/{settings.token_id}",
                  ca="SSL_CERT_FILE")
    assert run.returncode == 0, run
    assert json.loads(run.stdout)["id"] == settings.token_id, run


# --- mpt-cli's audit plugin ------------------------------------------------------------------


def audited_token(client, make_token, tag):
    """A token with four records: created, updated (name), disabled, enabled."""
    token = make_token("plugin")
    client.accounts.api_tokens.update(token.id, {"name": f"SDK robot {tag} plugin2"})
    client.accounts.api_tokens.disable(token.id)
    client.accounts.api_tokens.enable(token.id)
    records = list(client.audit.records.filter(RQLQuery(object__id=token.id)).iterate())
    assert len(records) == 4
    return token, records  # newest first


def plugin_environment(settings, venv: str) -> str:
    # as each version's `accounts add` stores it
    return settings.base_url if venv == "cli6" else f"{settings.base_url}/public/v1"


@pytest.mark.parametrize("venv", ["cli6", "cli5"])
def test_mpt_cli_audit_diff_by_object_id(
    run_cli, settings, client, demo_account, make_token, tag, venv
):
    # mpt-cli 6 (mpt-api-client 5.4):
    #   GET /public/v1/audit/records?limit=10&offset=0&order=-timestamp
    #       &select=object,actor,details,documents,request.api.geolocation
    #       &eq(object.id,'TKN-…')&render()
    # mpt-cli 5 (requests):
    #   GET /public/v1/audit/records?render()&select=object,actor,details,documents,
    #       request.api.geolocation&eq(object.id,TKN-…)&order=-timestamp&limit=10
    # It prints a table of every record (timestamp, id, actor.name (actor.account.name), event,
    # details — rich renders only a string there), then compares the two newest records.
    token, records = audited_token(client, make_token, tag)
    write_swocli_account(
        run_cli.home, token=settings.token, account=demo_account,
        environment=plugin_environment(settings, venv),
    )
    run = run_cli(venv, "mpt-cli", "audit", "diff-by-object-id", token.id, ca=CA[venv])
    assert run.returncode == 0, run
    assert "Available Audit Records" in run.stdout, run
    for record in records:
        assert record.id in run.stdout, run
    assert f"Object ID: {token.id}" in run.stdout, run


@pytest.mark.parametrize("venv", ["cli6", "cli5"])
def test_mpt_cli_audit_diff_by_records_id(
    run_cli, settings, client, demo_account, make_token, tag, venv
):
    # mpt-cli 6, per record:
    #   GET /public/v1/audit/records?limit=1&offset=0
    #       &select=object,actor,details,documents,request.api.geolocation&eq(id,'AUD-…')&render()
    # mpt-cli 5, per record:
    #   GET /public/v1/audit/records/AUD-…?render()&select=object,actor,details,documents,
    #       request.api.geolocation
    # (mpt-cli 5 does not check the status: an error body is compared as if it were a record.)
    token, records = audited_token(client, make_token, tag)
    created, updated = records[-1], records[-2]
    write_swocli_account(
        run_cli.home, token=settings.token, account=demo_account,
        environment=plugin_environment(settings, venv),
    )
    run = run_cli(
        venv, "mpt-cli", "audit", "diff-by-records-id", created.id, updated.id, ca=CA[venv]
    )
    assert run.returncode == 0, run
    assert f"Object ID: {token.id}" in run.stdout, run
    assert "Audit Trail Differences" in run.stdout, run
    event_row = row_starting(run.stdout, "event")
    assert "api-token.created" in event_row and "api-token.updated" in event_row, run
