"""Serving a team over Streamable HTTP, through real HTTP on 127.0.0.1: the console script started with
--transport http, the SDK's Streamable HTTP client (or plain httpx for what a client never sends),
static bearer tokens, roles, the rate limit, Host/Origin checks, the body limit, health endpoints, the
access log, and two replicas behind a round-robin proxy."""

from __future__ import annotations

import hashlib
import json
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp_types import ElicitRequestParams, ElicitResult

from tests.conftest import API_KEY, APP_KEY, clean_env, console_script, free_port, wait_until_healthy
from tests.test_auth import AUDIENCE, OTHER_KEY, Issuer, claims, sign

pytestmark = pytest.mark.stdio

ALICE, BOB = "ddmcp_alice-token-0123456789abcdef", "ddmcp_bob-token-0123456789abcdef"


def token_line(name: str, token: str) -> str:
    return f"{name}:{hashlib.sha256(token.encode()).hexdigest()}"


@dataclass
class Served:
    """One server process serving HTTP on 127.0.0.1."""

    process: subprocess.Popen[str]
    port: int
    stderr: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_lines(self) -> list[dict[str, Any]]:
        """The access log's JSON lines so far."""
        return [json.loads(line) for line in self.stderr if line.startswith("{")]


@contextmanager
def serving(*args: str, env: dict[str, str] | None = None, port: int | None = None) -> Iterator[Served]:
    """`dd-mcp-server --transport http --port P [args]` until the block ends; ready when /healthz answers."""
    port = port or free_port()
    process = subprocess.Popen(
        [console_script(), "--transport", "http", "--port", str(port), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(**(env or {})),
    )
    served = Served(process, port)
    stderr = process.stderr
    assert stderr is not None
    reader = threading.Thread(target=lambda: served.stderr.extend(iter(stderr.readline, "")), daemon=True)
    reader.start()
    try:
        wait_until_healthy(served.url, process, lambda: "".join(served.stderr))
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        reader.join(timeout=5)


@pytest.fixture
def tokens(tmp_path: Path) -> Path:
    path = tmp_path / "tokens"
    path.write_text(f"# who may call\n{token_line('alice', ALICE)}\n{token_line('bob', BOB)}\n")
    return path


@asynccontextmanager
async def mcp(url: str, token: str | None = None, **options: Any) -> AsyncIterator[Client]:
    """The SDK's client over Streamable HTTP; `options` are the Client's own (elicitation_callback)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http), **options) as client,
    ):
        yield client


def post(url: str, body: Any, token: str | None = None, **headers: str) -> httpx.Response:
    """One raw JSON-RPC POST to /mcp, as a client would send it."""
    sent = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream", **headers}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(f"{url}/mcp", content=content, headers=sent, timeout=30)


PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
LIST = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "tools/list",
    "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}},
}


@pytest.mark.anyio
async def test_a_valid_token_lists_and_calls_tools_and_the_access_log_names_its_identity(tokens: Path) -> None:
    with serving("--demo", env={"DD_MCP_HTTP_TOKENS_FILE": str(tokens)}) as served:
        async with mcp(served.url, BOB) as client:
            listed = await client.list_tools()
            answer = await client.call_tool("get_monitors", {"group_states": ["alert"]})
        await anyio.sleep(0.2)
        lines = served.log_lines()
    assert len(listed.tools) == 23
    assert not answer.is_error
    assert "Payments error rate" in answer.content[0].text  # type: ignore[union-attr]
    calls = [line for line in lines if line.get("tool") == "get_monitors"]
    assert calls
    assert calls[0]["identity"] == "bob"
    assert calls[0]["status"] == 200
    assert BOB not in "".join(served.stderr)


@pytest.mark.parametrize("token", [None, "ddmcp_not-a-token", BOB[:-1]])
def test_no_token_or_a_wrong_one_gets_401_with_www_authenticate_and_nothing_else(
    tokens: Path, token: str | None
) -> None:
    with serving("--demo", env={"DD_MCP_HTTP_TOKENS_FILE": str(tokens)}) as served:
        refused = post(served.url, LIST, token)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert "resource_metadata=" in refused.headers["www-authenticate"]
    assert "tools" not in refused.text


def test_a_revoked_token_stops_working_without_a_restart(tokens: Path) -> None:
    with serving("--demo", env={"DD_MCP_HTTP_TOKENS_FILE": str(tokens)}) as served:
        assert post(served.url, LIST, BOB).status_code == 200
        tokens.write_text(token_line("alice", ALICE) + "\n")  # bob's line removed
        time.sleep(1.5)
        assert post(served.url, LIST, BOB).status_code == 401
        assert post(served.url, LIST, ALICE).status_code == 200


def test_binding_beyond_loopback_without_identities_is_refused_at_start() -> None:
    done = subprocess.run(
        [console_script(), "--transport", "http", "--host", "0.0.0.0", "--port", str(free_port()), "--demo"],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=30,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert "DD_MCP_HTTP_TOKENS_FILE" in line
    assert "DD_MCP_OIDC_ISSUER" in line


def test_a_foreign_host_or_origin_is_refused(tokens: Path) -> None:
    with serving("--demo", env={"DD_MCP_HTTP_TOKENS_FILE": str(tokens)}) as served:
        rebound = post(served.url, LIST, ALICE, Host="attacker.example:8000")
        foreign = post(served.url, LIST, ALICE, Origin="https://attacker.example")
        local = post(served.url, LIST, ALICE, Origin=f"http://localhost:{served.port}")
    assert rebound.status_code == 421
    assert foreign.status_code == 403
    assert local.status_code == 200


def test_an_allowed_host_list_replaces_loopback_s_own(tokens: Path) -> None:
    env = {"DD_MCP_HTTP_TOKENS_FILE": str(tokens), "DD_MCP_ALLOWED_HOSTS": "mcp.example.com"}
    with serving("--demo", env=env) as served:
        named = post(served.url, LIST, ALICE, Host="mcp.example.com")
        loopback = post(served.url, LIST, ALICE)
    assert named.status_code == 200
    assert loopback.status_code == 421


def test_a_body_over_the_limit_is_refused_with_413(tokens: Path) -> None:
    env = {"DD_MCP_HTTP_TOKENS_FILE": str(tokens), "DD_MCP_HTTP_MAX_BODY": "2048"}
    with serving("--demo", env=env) as served:
        big = {**LIST, "params": {**LIST["params"], "padding": "x" * 4096}}  # type: ignore[dict-item]
        refused = post(served.url, big, ALICE)
        fine = post(served.url, LIST, ALICE)
    assert refused.status_code == 413
    assert fine.status_code == 200


def test_the_rate_limit_is_per_identity_and_says_when_to_retry(tokens: Path) -> None:
    env = {"DD_MCP_HTTP_TOKENS_FILE": str(tokens), "DD_MCP_HTTP_RATE": "3"}
    with serving("--demo", env=env) as served:
        alice = [post(served.url, PING, ALICE).status_code for _ in range(4)]
        limited = post(served.url, PING, ALICE)
        bob = post(served.url, PING, BOB)
    assert alice == [200, 200, 200, 429]
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 20
    assert "DD_MCP_HTTP_RATE" in limited.text
    assert bob.status_code == 200


@pytest.mark.anyio
async def test_a_role_limits_an_identity_to_its_toolsets(tokens: Path, tmp_path: Path) -> None:
    roles = tmp_path / "roles.json"
    roles.write_text(json.dumps({"identities": {"alice": ["monitors"], "bob": ["all"]}}))
    env = {"DD_MCP_HTTP_TOKENS_FILE": str(tokens), "DD_MCP_HTTP_ROLES_FILE": str(roles)}
    with serving("--demo", env=env) as served:
        async with mcp(served.url, ALICE) as client:
            allowed = await client.call_tool("get_monitors", {})
            refused = await client.call_tool("search_logs", {"query": "*"})
        async with mcp(served.url, BOB) as client:
            other = await client.call_tool("search_logs", {"query": "*"})
    assert not allowed.is_error
    assert refused.is_error
    text = refused.content[0].text  # type: ignore[union-attr]
    assert "search_logs is in the logs toolset, and alice may use only: monitors" in text
    assert "DD_MCP_HTTP_ROLES_FILE" in text
    assert not other.is_error


def test_health_needs_no_token_and_readiness_says_when_datadog_is_down(tokens: Path) -> None:
    env = {
        "DD_MCP_HTTP_TOKENS_FILE": str(tokens),
        "DD_API_KEY": API_KEY,
        "DD_APP_KEY": APP_KEY,
        "DD_API_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens there
        "DD_MCP_TIMEOUT": "1",
    }
    with serving(env=env) as served:
        health = httpx.get(f"{served.url}/healthz")
        ready = httpx.get(f"{served.url}/readyz", timeout=60)
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (503, {"ready": False})
    assert API_KEY not in "".join(served.stderr)


def test_readiness_is_ready_on_the_demo_organisation() -> None:
    with serving("--demo") as served:
        ready = httpx.get(f"{served.url}/readyz", timeout=30)
    assert (ready.status_code, ready.json()) == (200, {"ready": True})


class RoundRobin(ThreadingHTTPServer):
    """A proxy in front of several replicas, sending each request to the next: no stickiness at all."""

    def __init__(self, backends: list[str]) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.backends, self.sent = backends, [0] * len(backends)
        self.turn = 0
        self.lock = threading.Lock()

    def next_backend(self) -> tuple[int, str]:
        with self.lock:
            index = self.turn % len(self.backends)
            self.turn += 1
            self.sent[index] += 1
            return index, self.backends[index]


class _Forward(BaseHTTPRequestHandler):
    server: RoundRobin

    def do_POST(self) -> None:
        self._forward("POST")

    def do_GET(self) -> None:
        self._forward("GET")

    def do_DELETE(self) -> None:
        self._forward("DELETE")

    def _forward(self, method: str) -> None:
        _, backend = self.server.next_backend()
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        answer = httpx.request(method, backend + self.path, content=body, headers=headers, timeout=30)
        self.send_response(answer.status_code)
        for key, value in answer.headers.items():
            if key.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def log_message(self, *_: Any) -> None:
        pass


@contextmanager
def replicas(env: dict[str, str]) -> Iterator[tuple[str, RoundRobin]]:
    """Two server processes behind a round-robin proxy: the proxy's URL, and the proxy."""
    with serving("--demo", env=env) as first, serving("--demo", env=env) as second:
        proxy = RoundRobin([first.url, second.url])
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{proxy.server_address[1]}", proxy
        finally:
            proxy.shutdown()


@pytest.mark.anyio
async def test_two_replicas_behind_a_round_robin_proxy_answer_one_client(tokens: Path) -> None:
    env = {"DD_MCP_HTTP_TOKENS_FILE": str(tokens), "DD_MCP_ALLOWED_HOSTS": "127.0.0.1:*"}
    with replicas(env) as (url, proxy):
        async with mcp(url, ALICE) as client:
            answers = [await client.call_tool("list_hosts", {"limit": 3}) for _ in range(6)]
    assert not any(answer.is_error for answer in answers)
    assert min(proxy.sent) >= 3  # both replicas answered a fair share


class Approving:
    """The user behind the host, approving every call the policy asks about."""

    def __init__(self) -> None:
        self.asked = 0

    async def __call__(self, context: Any, params: ElicitRequestParams) -> ElicitResult:
        self.asked += 1
        return ElicitResult(action="accept", content={})


@pytest.mark.anyio
@pytest.mark.parametrize("shared", [True, False])
async def test_an_approval_answered_to_the_other_replica_needs_the_shared_state_keys(
    tokens: Path, shared: bool
) -> None:
    """The approval round trip is two requests; round robin sends the second to the other replica,
    which can open the sealed state only with the same DD_MCP_STATE_KEYS."""
    env = {
        "DD_MCP_HTTP_TOKENS_FILE": str(tokens),
        "DD_MCP_ALLOWED_HOSTS": "127.0.0.1:*",
        "DD_MCP_ASK_TOOLS": "get_monitor",
        **({"DD_MCP_STATE_KEYS": "k" * 40} if shared else {}),
    }
    user = Approving()
    with replicas(env) as (url, _):
        async with mcp(url, ALICE, elicitation_callback=user) as client:
            try:
                answer = await client.call_tool("get_monitor", {"monitor_id": 1000001})
                approved = not answer.is_error
            except MCPError:
                approved = False
    assert user.asked >= 1
    assert approved is shared


@pytest.mark.anyio
async def test_the_recording_names_who_made_each_call(tokens: Path, tmp_path: Path) -> None:
    trail = tmp_path / "trail.jsonl"
    env = {"DD_MCP_HTTP_TOKENS_FILE": str(tokens), "DD_MCP_AUDIT_LOG": str(trail)}
    with serving("--demo", env=env) as served:
        for token in (ALICE, BOB):
            async with mcp(served.url, token) as client:
                await client.call_tool("list_hosts", {"limit": 1})
    calls = [json.loads(line) for line in trail.read_text().splitlines() if '"event":"call"' in line]
    assert [call["caller"] for call in calls] == ["alice", "bob"]
    shown = await anyio.run_process([console_script(), "audit", "show", str(trail), "--identity", "bob"])
    (_, line) = shown.stdout.decode().splitlines()
    assert " bob " in line
    assert "list_hosts" in line


def test_a_token_made_by_token_new_lets_its_holder_in(tmp_path: Path) -> None:
    made = subprocess.run([console_script(), "token", "new", "carol"], capture_output=True, text=True, timeout=30)
    assert made.returncode == 0
    said = dict(line.split(": ", 1) for line in made.stdout.splitlines())
    token = said["token (give it to carol; it is not stored anywhere)"]
    path = tmp_path / "tokens"
    path.write_text(said["line for DD_MCP_HTTP_TOKENS_FILE"] + "\n")
    assert token not in path.read_text()
    with serving("--demo", env={"DD_MCP_HTTP_TOKENS_FILE": str(path)}) as served:
        assert post(served.url, LIST, token).status_code == 200
        assert post(served.url, LIST, token[:-1]).status_code == 401
    refused = subprocess.run([console_script(), "token", "new", "a:b"], capture_output=True, text=True, timeout=30)
    assert (refused.returncode, refused.stdout) == (2, "")
    assert "token new:" in refused.stderr


@pytest.mark.anyio
async def test_oidc_access_tokens_let_their_subject_in_and_nothing_else() -> None:
    issuer = Issuer()
    threading.Thread(target=issuer.server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        await oidc_session(issuer)
    finally:
        issuer.server.shutdown()
        issuer.server.server_close()


async def oidc_session(issuer: Issuer) -> None:
    """A server trusting `issuer`: its access tokens let in the identity they name; others get 401."""
    env = {"DD_MCP_OIDC_ISSUER": issuer.url, "DD_MCP_OIDC_AUDIENCE": AUDIENCE, "DD_MCP_OIDC_IDENTITY_CLAIM": "email"}
    now = int(time.time())
    with serving("--demo", env=env) as served:
        async with mcp(served.url, sign(claims(issuer))) as client:
            answer = await client.call_tool("get_monitor", {"monitor_id": 1000001})
        expired = post(served.url, LIST, sign(claims(issuer, iat=now - 900, nbf=now - 900, exp=now - 600)))
        elsewhere = post(served.url, LIST, sign(claims(issuer, aud="another-api")))
        forged = post(served.url, LIST, sign(claims(issuer), key=OTHER_KEY))
        await anyio.sleep(0.2)
        lines = served.log_lines()
    assert not answer.is_error
    assert [line["identity"] for line in lines if line.get("tool") == "get_monitor"] == ["alice@example.com"]
    assert (expired.status_code, elsewhere.status_code, forged.status_code) == (401, 401, 401)


def test_a_get_of_mcp_is_answered_405_at_once_as_there_is_no_stream_to_open(tokens: Path) -> None:
    with serving("--demo", env={"DD_MCP_HTTP_TOKENS_FILE": str(tokens)}) as served:
        got = httpx.get(f"{served.url}/mcp", headers={"Authorization": f"Bearer {ALICE}"}, timeout=10)
    assert got.status_code == 405
    assert "POST" in got.headers["allow"]
