"""Fixtures for driving the platform's Python SDK (`mpt-api-client`) against a running Tollgate.

Environment (`tests/sdk/run.sh` starts a throwaway server and sets all of them; a test whose
variable is missing fails, it is never skipped):
    TOLLGATE_BASE_URL      e.g. https://localhost:18600 (the SDK appends /public/v1/...)
    TOLLGATE_TOKEN         an API token of a Client account holding every module (`serve --demo`)
    TOLLGATE_CA_FILE       the PEM certificate the server presents (<data>/tls/cert.pem)
    TOLLGATE_CLI6_BIN_DIR  bin/ of the venv with mpt-cli 6.0.0 (tests/sdk/install.sh)
    TOLLGATE_CLI5_BIN_DIR  bin/ of the venv with mpt-cli 5.3.0 and mpt-curl 1.0.8
    TOLLGATE_BIN           the server binary, for operator commands (a second account)
    TOLLGATE_SERVER_DIR    the folder the server runs in (its ./data)

Every HTTP exchange the SDK makes is recorded; when a test fails, the exchanges of that test
(method, path with query string, body, status, response body) are attached to the report, so a
failure shows exactly what the SDK sent and what Tollgate answered.
"""

import json
import os
import ssl
import subprocess
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
    cli6_bin_dir: str
    cli5_bin_dir: str
    tollgate_bin: str
    server_dir: str

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1].rstrip("/"))

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


ENVIRONMENT = (
    "TOLLGATE_BASE_URL",
    "TOLLGATE_TOKEN",
    "TOLLGATE_CA_FILE",
    "TOLLGATE_CLI6_BIN_DIR",
    "TOLLGATE_CLI5_BIN_DIR",
    "TOLLGATE_BIN",
    "TOLLGATE_SERVER_DIR",
)


@pytest.fixture(scope="session")
def settings() -> Settings:
    missing = [name for name in ENVIRONMENT if not os.environ.get(name)]
    if missing:
        pytest.fail(f"set {', '.join(missing)} (tests/sdk/run.sh does)", pytrace=False)
    ca_file = os.environ["TOLLGATE_CA_FILE"]
    # The SDK builds its httpx client without a `verify=` argument; httpx then trusts
    # SSL_CERT_FILE when it is set (read when the client is constructed).
    os.environ["SSL_CERT_FILE"] = ca_file
    return Settings(
        base_url=os.environ["TOLLGATE_BASE_URL"],
        token=os.environ["TOLLGATE_TOKEN"].strip(),
        ca_file=ca_file,
        cli6_bin_dir=os.environ["TOLLGATE_CLI6_BIN_DIR"],
        cli5_bin_dir=os.environ["TOLLGATE_CLI5_BIN_DIR"],
        tollgate_bin=os.environ["TOLLGATE_BIN"],
        server_dir=os.environ["TOLLGATE_SERVER_DIR"],
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
    _CLI_RUNS.clear()
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
    if report.when == "call" and report.failed:
        if _CLI_RUNS:
            report.sections.append(("CLI runs", "\n\n".join(str(run) for run in _CLI_RUNS)))
        if _WIRE.lines:
            report.sections.append(("SDK <-> Tollgate exchanges", "\n".join(_WIRE.lines)))


# --- raw HTTP, for requests the platform's clients build by hand ----------------------------


@pytest.fixture(scope="session")
def raw_client(settings: Settings):
    """Make an httpx client that talks to Tollgate as `token` would (the CLIs' own headers)."""
    clients: list[httpx.Client] = []

    def make(token: str, user_agent: str = "swo-marketplace-cli/1.0") -> httpx.Client:
        http = httpx.Client(
            base_url=settings.base_url,
            verify=ssl.create_default_context(cafile=settings.ca_file),
            headers={"Authorization": f"Bearer {token}", "User-Agent": user_agent},
            event_hooks={"request": [_WIRE.on_request], "response": [_WIRE.on_response]},
            timeout=30,
        )
        clients.append(http)
        return http

    yield make
    for http in clients:
        http.close()


@pytest.fixture(scope="session")
def raw(raw_client, settings: Settings) -> httpx.Client:
    """httpx as the demo token."""
    return raw_client(settings.token)


@pytest.fixture(scope="session")
def demo_account(client: MPTClient, settings: Settings) -> dict:
    """The demo token's account: {"id", "name", "type", "status"}."""
    return client.accounts.api_tokens.get(settings.token_id).to_dict()["account"]


# --- the platform's CLIs, run from their own venvs -------------------------------------------


@dataclass(repr=False)
class CliRun:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    def __repr__(self) -> str:
        # what an assertion message shows; the whole run is in the "CLI runs" section
        lines = [line.strip() for line in (self.stderr + "\n" + without_banner(self.stdout)).splitlines()]
        last = next((line for line in reversed(lines) if line), "")
        return f"<{' '.join(self.argv[:3])} … exited {self.returncode}: {last[:300]}>"

    def __str__(self) -> str:
        def cut(text: str, keep: int = 6000) -> str:
            text = text.rstrip()
            return text if len(text) <= keep else text[:keep] + f"\n… ({len(text) - keep} more characters)"

        return (
            f"$ {' '.join(self.argv)}\n-> exit {self.returncode}\n"
            f"--- stdout\n{cut(without_banner(self.stdout))}\n--- stderr\n{cut(self.stderr)}"
        )


def without_banner(text: str) -> str:
    """mpt-cli prints a 12-line figlet banner first; the report leaves it out."""
    lines = text.splitlines()
    end = next((i for i, line in enumerate(lines[:14]) if line.startswith(".JML.")), None)
    if end is None:
        return text
    end += 1
    while end < len(lines) and not lines[end].strip():
        end += 1
    return "\n".join(["[mpt-cli banner]", *lines[end:]])


_CLI_RUNS: list[CliRun] = []


@pytest.fixture
def run_cli(settings: Settings, tmp_path):
    """Run one of the CLIs' console scripts by absolute path, with HOME pointed at a temporary
    folder (where mpt-cli keeps ~/.swocli/accounts.json) and only the environment it needs.

        run_cli("cli6", "mpt-cli", "accounts", "list", ca="SSL_CERT_FILE")

    `ca` names the variable that makes the tool trust Tollgate's self-signed certificate:
    SSL_CERT_FILE for httpx (mpt-cli 6 through mpt-api-client, mpt-curl), REQUESTS_CA_BUNDLE for
    requests (mpt-cli 5). Every run is shown in the report when the test fails.
    """
    home = tmp_path / "home"
    home.mkdir()

    def run(venv: str, script: str, *args: str, ca: str, env: dict | None = None) -> CliRun:
        bin_dir = {"cli6": settings.cli6_bin_dir, "cli5": settings.cli5_bin_dir}[venv]
        executable = os.path.join(bin_dir, script)
        if not os.access(executable, os.X_OK):
            pytest.fail(f"{executable} is missing: run tests/sdk/install.sh", pytrace=False)
        environment = {
            "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "PYTHONUTF8": "1",
            "COLUMNS": "250",  # rich tables: no column is cut
            "NO_COLOR": "1",
            "TERM": "dumb",
            "_TYPER_STANDARD_TRACEBACK": "1",  # plain Python tracebacks
            ca: settings.ca_file,
        }
        environment.update(env or {})
        argv = [executable, *args]
        try:
            done = subprocess.run(
                argv,
                env=environment,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=120,
            )
            result = CliRun([script, *args], done.returncode, done.stdout, done.stderr)
        except subprocess.TimeoutExpired as timeout:
            result = CliRun([script, *args], -1, str(timeout.stdout or ""), "timed out after 120 s")
        _CLI_RUNS.append(result)
        return result

    run.home = home
    return run


def swocli_accounts(home) -> list[dict]:
    """What mpt-cli wrote to ~/.swocli/accounts.json ([] when it wrote nothing)."""
    path = home / ".swocli" / "accounts.json"
    return json.loads(path.read_text()) if path.exists() else []


def write_swocli_account(home, *, token: str, account: dict, environment: str) -> None:
    """Write ~/.swocli/accounts.json as `mpt-cli accounts add` does, with one active account."""
    folder = home / ".swocli"
    folder.mkdir(exist_ok=True)
    entry = {
        "id": account["id"],
        "name": account["name"],
        "type": account["type"],
        "token": token,
        "token_id": token.split(":")[1],
        "environment": environment,
        "is_active": True,
    }
    (folder / "accounts.json").write_text(json.dumps([entry], indent=2))


# --- a second account, made with the operator commands ---------------------------------------


@pytest.fixture(scope="session")
def other_account_token(settings: Settings) -> dict:
    """A billing token of another Client account (`tollgate accounts create` / `tokens create`
    against the running server's database). Returns the created token, `token` value included."""

    def operator(*args: str) -> dict:
        environment = {
            key: value for key, value in os.environ.items() if not key.startswith("TOLLGATE_")
        }
        environment["TOLLGATE_DATABASE_URL"] = "sqlite://./data/tollgate.db"
        done = subprocess.run(
            [settings.tollgate_bin, *args, "--json"],
            cwd=settings.server_dir,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            pytest.fail(
                f"tollgate {' '.join(args)} --json -> exit {done.returncode}\n"
                f"{done.stdout}\n{done.stderr}",
                pytrace=False,
            )
        return json.loads(done.stdout)

    account = operator("accounts", "create", "--name", "SDK other", "--type", "client")
    return operator(
        "tokens", "create", "--account", account["id"], "--name", "SDK other robot",
        "--modules", "billing",
    )
