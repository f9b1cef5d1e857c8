"""The fault suite: the real console script over stdio against a Datadog that fails in every way.

One server process lives through every case, so each case also proves the server stayed up and
answers the next call. Each case checks how many attempts reached the fake Datadog and what the
model read. The cases and outcomes are printed as a table at the end of the test run.
"""

from __future__ import annotations

import base64
import json
import queue
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import pytest
import toon_format
from anyio.from_thread import BlockingPortal
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp_types import CallToolResult, TextContent

from dd_mcp_server.tools.results import UNTRUSTED_NOTE
from tests.conftest import API_KEY, APP_KEY, REPORTS, clean_env, console_script
from tests.fault_server import (
    Behaviour,
    FaultServer,
    answer,
    chunked,
    endless,
    gzip_bomb,
    hang,
    raw,
    reset_mid_body,
    send,
    serving,
    trickle,
)

pytestmark = pytest.mark.stdio

METADATA = {"type": "gauge", "unit": "byte"}
METRIC_CALL = ("get_metric_metadata", {"metric_name": "system.mem.used", "include_tags": False})
METRIC_PATH = "/api/v1/metrics/system.mem.used"
TIMEOUT_S = 1
DEADLINE_S = 8
TRANSCRIPT: list[str] = []


def huge_logs(count: int = 1000, message_chars: int = 30_000) -> dict[str, Any]:
    """About 30 MB of log events: a proxy gone wild, or very long log lines."""
    line = ("payment declined for order; retrying upstream " * (message_chars // 46))[:message_chars]
    events = [
        {"id": f"log{n}", "type": "log", "attributes": {"timestamp": "2026-11-24T11:59:00Z", "message": line}}
        for n in range(count)
    ]
    return {"data": events, "meta": {"page": {"after": "next-page"}}}


@dataclass(frozen=True)
class Case:
    name: str
    plan: tuple[Behaviour, ...]
    attempts: int
    error: str | None  # text the error must contain, or None for a good result
    call: tuple[str, dict[str, Any]] = METRIC_CALL
    path: str = METRIC_PATH


def redirect(status: int, location: str) -> Behaviour:
    return lambda h: send(h, status, b"", "text/plain", Location=location)


def raw_with(status: int, body: bytes, **headers: str) -> Behaviour:
    return lambda h: send(h, status, body, "application/json", **headers)


def rate_limited() -> Behaviour:
    return answer(429, {"errors": ["Too many requests"]}, X_RateLimit_Reset="1", X_RateLimit_Limit="100")


CASES = [
    Case("429 with a 1 s reset, then success", (rate_limited(),), 2, None),
    Case("429 forever", (rate_limited(),) * 3, 3, "gave up after 3 attempts and 2.0 s of waiting"),
    Case("500, not retried", (answer(500, {"errors": ["Internal Server Error"]}),), 1, "(500 Internal Server Error)"),
    Case("502, then success", (answer(502, {}),), 2, None),
    Case("503, then success", (answer(503, {}),), 2, None),
    Case("504, then success", (answer(504, {}),), 2, None),
    Case("503 forever", (answer(503, {}),) * 3, 3, "(503 Service Unavailable)"),
    Case("read hangs past the timeout, forever", (hang(TIMEOUT_S + 2),) * 3, 3, "within the timeout (ReadTimeout)"),
    Case("connection reset mid-body, then success", (reset_mid_body(),), 2, None),
    Case("connection reset mid-body, forever", (reset_mid_body(),) * 3, 3, "The connection to Datadog"),
    Case("200 with a body that is not JSON", (raw(200, b"hello, world"),), 1, "body that is not JSON (text/plain)"),
    Case("HTML error page from a proxy, forever", (raw(502, b"<html>Bad Gateway</html>", "text/html"),) * 3, 3, "502"),
    Case("empty 200 body", (raw(200, b"", "application/json"),), 1, "with 200 and no body"),
    Case("204 No Content", (raw(204, b""),), 1, "with 204 and no body"),
    Case("301 redirect elsewhere", (redirect(301, "https://collector.example/x"),), 1, "redirect (301) to collector"),
    Case("302 redirect elsewhere", (redirect(302, "http://127.0.0.1:9/steal"),), 1, "not followed"),
    Case("body labelled gzip that is not", (raw_with(200, b'{"type": 1}', Content_Encoding="gzip"),), 1, "decoded"),
    Case("100 MB body", (chunked(lambda: iter([b" " * 65536] * 1600)),), 1, "(DD_MCP_MAX_RESPONSE_BYTES)"),
    Case("gzip bomb (1 MB to 1 GB)", (chunked(gzip_bomb(1 << 30), Content_Encoding="gzip"),), 1, "larger than"),
    Case("endless chunked body", (chunked(endless),), 1, "(DD_MCP_MAX_RESPONSE_BYTES)"),
    Case("200 with an unexpected JSON shape", (answer(200, ["not", "an", "object"]),), 1, "unexpected shape"),
    Case(
        "huge body (30 MB of logs)",
        (answer(200, huge_logs()),),
        1,
        None,
        ("search_logs", {"query": "*", "limit": 1000}),
        "/api/v2/logs/events/search",
    ),
    Case("slow trickle of bytes", (trickle(b'{"type": "gauge"}' + b" " * 60, 0.25),), 1, f"within {DEADLINE_S} s"),
]


@pytest.fixture(scope="module")
def fake() -> Iterator[FaultServer]:
    with serving(answer(200, METADATA)) as server:
        yield server


@pytest.fixture(scope="module")
def stderr_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TextIO]:
    with open(tmp_path_factory.mktemp("faults") / "stderr.txt", "w+") as handle:
        yield handle


def server_env(fake: FaultServer, **extra: str) -> dict[str, str]:
    """The environment of a server process whose Datadog is `fake`, with short timeouts."""
    settings = {"DD_MCP_TIMEOUT": str(TIMEOUT_S), "DD_MCP_DEADLINE": str(DEADLINE_S), **extra}
    return clean_env(DD_API_KEY=API_KEY, DD_APP_KEY=APP_KEY, DD_API_URL=fake.url, **settings)


@pytest.fixture(scope="module")
def client(portal: BlockingPortal, fake: FaultServer, stderr_file: TextIO) -> Iterator[Client]:
    params = StdioServerParameters(command=console_script(), args=[], env=server_env(fake))
    with portal.wrap_async_context_manager(Client(stdio_client(params, errlog=stderr_file))) as connected:
        yield connected


def text_of(result: CallToolResult) -> str:
    return "".join(block.text for block in result.content if isinstance(block, TextContent))


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_fault(case: Case, portal: BlockingPortal, client: Client, fake: FaultServer) -> None:
    fake.expect(*case.plan)
    result = portal.call(client.call_tool, *case.call)
    text = text_of(result)
    TRANSCRIPT.append(text)
    attempts = sum(1 for r in fake.received if r.path.split("?")[0] == case.path)
    outcome = f"error: {text[:90]}" if result.is_error else f"result, {len(text)} chars"
    REPORTS.setdefault("fault suite over stdio (case, attempts, outcome)", []).append(
        f"{case.name:<42} {attempts}  {outcome}"
    )
    assert attempts == case.attempts
    if case.error is None:
        assert not result.is_error, text
        assert len(text) <= 40_000
        read_answer(text)
    else:
        assert result.is_error
        assert case.error in text
        assert "Error executing tool " + case.call[0] + ":" in text, "a crash, not a clear ToolError"
    fake.expect()
    after = portal.call(client.call_tool, *METRIC_CALL)
    assert not after.is_error, f"the server did not recover after {case.name}: {text_of(after)}"
    assert json.loads(text_of(after)) == {"_note": UNTRUSTED_NOTE, "metric_name": "system.mem.used", **METADATA}


def read_answer(text: str) -> dict[str, Any]:
    """A result as JSON; a list's answer (the default table form) is a header line, then TOON or JSON."""
    if text.startswith("{"):
        return json.loads(text)  # type: ignore[no-any-return]
    _, _, body = text.partition("\n")
    return json.loads(body) if body.startswith("{") else toon_format.decode(body)  # type: ignore[no-any-return]


def test_huge_body_is_cut_to_the_budget_with_a_note(portal: BlockingPortal, client: Client, fake: FaultServer) -> None:
    fake.expect(answer(200, huge_logs(count=200)))
    result = portal.call(client.call_tool, "search_logs", {"query": "*", "limit": 200})
    shaped = read_answer(text_of(result))
    kept = len(shaped["logs"])
    assert shaped["_truncated"]["logs"] == f"kept {kept} of 200"
    assert shaped["next_cursor"] == f"~{kept}~200~"  # page 1 again, after the rows shown: not Datadog's next page


def test_no_key_appears_in_any_answer_or_on_stderr(stderr_file: TextIO, client: Client) -> None:
    stderr_file.flush()
    stderr_file.seek(0)
    everything = stderr_file.read() + "\n".join(TRANSCRIPT)
    assert TRANSCRIPT, "run after the fault cases"
    for key in (API_KEY, APP_KEY):
        assert key not in everything
        assert key[-12:] not in everything


class RawSession:
    """The console script over raw stdio, every byte it writes to stdout kept."""

    def __init__(self, env: dict[str, str], stderr: TextIO) -> None:
        self.process = subprocess.Popen(
            [console_script()], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env
        )
        self.stdout: list[bytes] = []
        self.lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self.read, daemon=True).start()
        self.send({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": INITIALIZE_PARAMS})
        self.answer("init")
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.stdout.append(line)
            self.lines.put(line)

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        self.process.stdin.flush()

    def answer(self, request_id: str) -> dict[str, Any]:
        while True:
            message: dict[str, Any] = json.loads(self.lines.get(timeout=60))
            if message.get("id") == request_id:
                return message

    def call(self, request_id: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        params = {"name": tool, "arguments": arguments}
        self.send({"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params})
        return self.answer(request_id)

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        finally:
            self.process.kill()


INITIALIZE_PARAMS = {
    "protocolVersion": "2025-11-25",
    "capabilities": {},
    "clientInfo": {"name": "faults", "version": "1"},
}


def interpreter_of(script: str) -> str:
    """The Python that runs a console script, from its #! line."""
    return Path(script).read_text().splitlines()[0].removeprefix("#!").strip()


def test_keys_never_in_stderr(tmp_path: Path) -> None:
    """Every fault kind, and answers that echo the keys, at DEBUG with rich importable: no key anywhere."""
    imports_rich = subprocess.run([interpreter_of(console_script()), "-c", "import rich"], capture_output=True)
    assert imports_rich.returncode == 0, "rich must be importable: the SDK then switches to rich tracebacks"
    echoed = f"{API_KEY} {APP_KEY} {base64.b64encode(API_KEY.encode()).decode()}"
    echoes = [
        Case("a success whose body echoes the keys", (answer(200, {**METADATA, "description": echoed}),), 1, None),
        Case("a 400 whose errors echo the keys", (answer(400, {"errors": [echoed]}),), 1, "400"),
    ]
    with serving(answer(200, METADATA)) as fake, open(tmp_path / "stderr.txt", "w+") as stderr:
        env = server_env(fake, DD_MCP_LOG_LEVEL="DEBUG")
        session = RawSession(env, stderr)
        try:
            for number, case in enumerate([*CASES, *echoes]):
                fake.expect(*case.plan)
                assert "result" in session.call(f"case-{number}", *case.call), case.name
        finally:
            session.close()
        stderr.seek(0)
        everything = stderr.read() + b"".join(session.stdout).decode("utf-8")
    assert "DEBUG" in everything, "the server did not log at DEBUG"
    pieces = {key[i : i + 12] for key in (API_KEY, APP_KEY) for i in range(len(key) - 11)}
    assert [piece for piece in pieces if piece in everything] == []
    REPORTS.setdefault("fault suite over stdio (case, attempts, outcome)", []).append(
        f"{'every case again at DEBUG, rich importable':<42} -  no key or 12-character piece on stderr or stdout"
    )


def peak_memory_mib(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc: not Linux?")


EXHAUSTING = [
    case for case in CASES if case.name in ("100 MB body", "gzip bomb (1 MB to 1 GB)", "endless chunked body")
]


def test_no_answer_can_exhaust_memory(tmp_path: Path) -> None:
    """A 100 MB body, a gzip bomb and an endless body: the server's memory stays near the byte cap."""
    with serving(answer(200, METADATA)) as fake, open(tmp_path / "stderr.txt", "w+") as stderr:
        env = server_env(fake, DD_MCP_DEADLINE="30")
        session = RawSession(env, stderr)
        try:
            session.call("warm-up", *METRIC_CALL)
            before = peak_memory_mib(session.process.pid)
            for number, case in enumerate(EXHAUSTING):
                fake.expect(*case.plan)
                reply = session.call(f"case-{number}", *case.call)
                assert reply["result"]["isError"], case.name
                assert "DD_MCP_MAX_RESPONSE_BYTES" in reply["result"]["content"][0]["text"]
            peak = peak_memory_mib(session.process.pid)
        finally:
            session.close()
    REPORTS.setdefault("fault suite over stdio (case, attempts, outcome)", []).append(
        f"{'peak memory through ' + str(len(EXHAUSTING)) + ' oversized answers':<42} -  "
        f"{before:.0f} MiB before, {peak:.0f} MiB at peak (cap 32 MiB)"
    )
    assert len(EXHAUSTING) == 3
    assert peak - before < 4 * 32, f"{peak - before:.0f} MiB more for answers capped at 32 MiB"
