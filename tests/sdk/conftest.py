"""Fixtures for driving the platform's Python SDK (`mpt-api-client`) against a running Tollgate.

Environment:
    TOLLGATE_BASE_URL  e.g. https://localhost:18600 (the SDK appends /public/v1/...)
    TOLLGATE_TOKEN     an API token of a Client account holding every module (`serve --demo`)
    TOLLGATE_CA_FILE   the PEM certificate the server presents (<data>/tls/cert.pem)

`tests/sdk/run.sh` starts a throwaway server and sets all three.

Every HTTP exchange the SDK makes is recorded; when a test fails, the exchanges of that test
(method, path with query string, body, status, response body) are attached to the report, so a
failure shows exactly what the SDK sent and what Tollgate answered.
"""

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from mpt_api_client import MPTClient
from mpt_api_client.auth import BearerTokenAuthentication

BODY_PREVIEW = 600


@dataclass
class Settings:
    base_url: str
    token: str
    ca_file: str

    @property
    def token_id(self) -> str:
        # idt:TKN-dddd-dddd:<secret> (docs/TOKENS.md)
        return self.token.split(":")[1]


@dataclass
class Wire:
    """The HTTP exchanges of the current test, as the SDK put them on the wire."""

    lines: list[str] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)

    def on_request(self, request: httpx.Request) -> None:
        self.requests.append(request)
        body = request.content[:BODY_PREVIEW].decode("utf-8", "replace") if request.content else ""
        accept = request.headers.get("accept", "")
        self.lines.append(
            f">> {request.method} {request.url.raw_path.decode()}  [Accept: {accept}]"
            + (f"\n   {body}" if body else "")
        )

    def on_response(self, response: httpx.Response) -> None:
        if "MPT-Streaming" in response.request.headers:
            text = "(streamed body not recorded)"
        else:
            try:
                text = response.text[:BODY_PREVIEW]
            except httpx.ResponseNotRead:
                response.read()
                text = response.text[:BODY_PREVIEW]
        self.lines.append(f"<< {response.status_code} {text}")

    def paths(self) -> list[str]:
        return [r.url.raw_path.decode() for r in self.requests]

    def reset(self) -> None:
        self.lines.clear()
        self.requests.clear()


@pytest.fixture(scope="session")
def settings() -> Settings:
    missing = [
        name
        for name in ("TOLLGATE_BASE_URL", "TOLLGATE_TOKEN", "TOLLGATE_CA_FILE")
        if not os.environ.get(name)
    ]
    if missing:
        pytest.skip(f"set {', '.join(missing)} (tests/sdk/run.sh does)")
    ca_file = os.environ["TOLLGATE_CA_FILE"]
    # The SDK builds its httpx client without a `verify=` argument; httpx then trusts
    # SSL_CERT_FILE when it is set (read when the client is constructed).
    os.environ["SSL_CERT_FILE"] = ca_file
    return Settings(
        base_url=os.environ["TOLLGATE_BASE_URL"],
        token=os.environ["TOLLGATE_TOKEN"].strip(),
        ca_file=ca_file,
    )


_WIRE = Wire()


def attach_wire(client) -> None:
    client.http_client.httpx_client.event_hooks = {
        "request": [_WIRE.on_request],
        "response": [_WIRE.on_response],
    }


@pytest.fixture(scope="session")
def client(settings: Settings) -> MPTClient:
    sdk = MPTClient.from_config(
        authentication=BearerTokenAuthentication(settings.token), base_url=settings.base_url
    )
    attach_wire(sdk)
    return sdk


@pytest.fixture(autouse=True)
def wire() -> Iterator[Wire]:
    _WIRE.reset()
    yield _WIRE


@pytest.fixture
def tag() -> str:
    """A per-test marker for token names (letters and digits only: names allow few symbols)."""
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture
def make_token(client: MPTClient, tag: str) -> Iterator:
    """Create tokens named `SDK robot <tag> <suffix>`; every one is deleted after the test."""
    created: list[str] = []

    def make(suffix: str = "a", **fields):
        body = {
            "name": f"SDK robot {tag} {suffix}",
            "description": f"created by tests/sdk ({tag})",
            "modules": [{"id": "MOD-1104"}],
        }
        body.update(fields)
        token = client.accounts.api_tokens.create(body)
        created.append(token.id)
        return token

    yield make
    for token_id in created:
        try:
            client.accounts.api_tokens.delete(token_id)
        except Exception:  # already deleted by the test, or the server is gone
            pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and _WIRE.lines:
        report.sections.append(("SDK <-> Tollgate exchanges", "\n".join(_WIRE.lines)))
