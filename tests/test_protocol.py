"""JSON-RPC abuse over real stdio: the server answers by the protocol and stays up.

These run the installed console script with --demo and speak raw JSON lines to it; the last few
test the transport's pieces (reading lines, finding an id, writing answers) directly.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream
from mcp_types import JSONRPCResponse

from dd_mcp_server.stdio import TOO_LONG, Lines, encode, top_level_id
from tests.conftest import REPORTS, clean_env, console_script

pytestmark = pytest.mark.stdio

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": "init",
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "abuse", "version": "1"}},
}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


class Session:
    """A raw line-level conversation with one server process."""

    def __init__(self, process: Process) -> None:
        self.process = process
        self.answers: dict[Any, dict[str, Any]] = {}
        self.other: list[str] = []
        self.unreadable: list[int] = []
        self.arrived = anyio.Event()

    async def send(self, message: dict[str, Any] | str) -> None:
        line = message if isinstance(message, str) else json.dumps(message)
        assert self.process.stdin is not None
        await self.process.stdin.send((line + "\n").encode())

    async def read(self) -> None:
        assert self.process.stdout is not None
        buffer = ""
        async for chunk in TextReceiveStream(self.process.stdout):
            buffer += chunk
            while "\n" in buffer:
                line, buffer = buffer.split("\n", 1)
                message = json.loads(line)  # anything on stdout must be JSON-RPC
                if "id" in message and message["id"] is None:
                    self.unreadable.append(message["error"]["code"])
                elif "id" in message:
                    self.answers[message["id"]] = message
                else:
                    self.other.append(line)
                self.arrived.set()
                self.arrived = anyio.Event()

    async def answer(self, request_id: Any, seconds: float = 10) -> dict[str, Any]:
        with anyio.fail_after(seconds):
            while request_id not in self.answers:
                await self.arrived.wait()
        return self.answers[request_id]


async def with_server(body: Any) -> None:
    async with await anyio.open_process(
        [console_script(), "--demo"], env=clean_env(), stderr=subprocess.DEVNULL
    ) as process:
        session = Session(process)
        async with anyio.create_task_group() as group:
            group.start_soon(session.read)
            try:
                await body(session)
                assert process.returncode is None, "the server exited"
            finally:
                group.cancel_scope.cancel()
                process.terminate()


def report(case: str, outcome: str) -> None:
    REPORTS.setdefault("protocol abuse over stdio", []).append(f"{case:<48} {outcome}")


def call(request_id: Any, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }


# Each unreadable line, and the JSON-RPC error code it must be answered with (id null).
GARBAGE = [
    ("{not json", -32700),
    ('{"jsonrpc": "2.0", "id": 5, "method": ', -32700),
    ("[1, 2, 3]", -32600),
    ('"just a string"', -32600),
    ('{"foo": "bar"}', -32600),
    ("\u0000\u0001\u0002", -32700),
    ("{" * 5000, -32700),
    ("", -32700),
]


@pytest.mark.anyio
async def test_request_before_initialize_gets_an_error_and_the_session_still_starts() -> None:
    async def body(session: Session) -> None:
        await session.send({"jsonrpc": "2.0", "id": "early", "method": "tools/list"})
        early = await session.answer("early")
        assert "error" in early
        assert isinstance(early["error"]["code"], int)
        await session.send(INITIALIZE)
        assert "result" in await session.answer("init")
        await session.send(INITIALIZED)
        await session.send({"jsonrpc": "2.0", "id": "list", "method": "tools/list"})
        tools = (await session.answer("list"))["result"]["tools"]
        assert len(tools) >= 23
        report("request before initialize", f"error {early['error']['code']}, then initialized normally")

    await with_server(body)


@pytest.mark.anyio
async def test_malformed_lines_and_unknown_methods_do_not_stop_the_server() -> None:
    async def body(session: Session) -> None:
        await session.send(INITIALIZE)
        await session.answer("init")
        await session.send(INITIALIZED)
        for garbage, _ in GARBAGE:
            await session.send(garbage)
        with anyio.fail_after(10):
            while len(session.unreadable) < len(GARBAGE):
                await session.arrived.wait()
        assert session.unreadable == [code for _, code in GARBAGE]
        report("8 malformed lines (bad JSON, arrays, NULs, 5000 braces)", "each answered -32700 or -32600, id null")
        await session.send({"jsonrpc": "2.0", "id": "bogus", "method": "bogus/method", "params": {}})
        bogus = await session.answer("bogus")
        assert bogus["error"]["code"] == -32601
        report("unknown method", "error -32601 Method not found")
        await session.send({"jsonrpc": "2.0", "id": "noparams", "method": "tools/call"})
        noparams = await session.answer("noparams")
        assert "error" in noparams
        report("tools/call without params", f"error {noparams['error']['code']}")
        await session.send(call("unknown-tool", "drop_database", {}))
        unknown = await session.answer("unknown-tool")
        assert unknown.get("result", {}).get("isError") or "error" in unknown
        report("call of a tool that does not exist", "error result")
        await session.send(call("after", "get_monitors", {}))
        after = await session.answer("after")
        assert "result" in after
        report("valid call after the abuse", "answered")

    await with_server(body)


@pytest.mark.anyio
async def test_a_burst_of_200_concurrent_calls_gets_200_answers() -> None:
    async def body(session: Session) -> None:
        await session.send(INITIALIZE)
        await session.answer("init")
        await session.send(INITIALIZED)
        tools = ["get_monitors", "list_hosts", "search_logs", "list_dashboards"]
        burst = "\n".join(json.dumps(call(n, tools[n % len(tools)], {})) for n in range(200))
        await session.send(burst)
        answers = [await session.answer(n, seconds=60) for n in range(200)]
        assert all("result" in a for a in answers)
        assert not any(a["result"].get("isError") for a in answers), "the demo answers every one of these"
        report("burst of 200 concurrent tools/call", f"{len(answers)} answers, ids all matched")

    await with_server(body)


async def initialize(session: Session) -> None:
    await session.send(INITIALIZE)
    await session.answer("init")
    await session.send(INITIALIZED)


async def still_serves(session: Session) -> None:
    """The server answers a valid call after whatever came before."""
    await session.send(call("after", "get_monitors", {}))
    assert "result" in await session.answer("after")


@pytest.mark.anyio
async def test_lone_surrogate_in_a_call_is_answered() -> None:
    async def body(session: Session) -> None:
        await initialize(session)
        calls = [("search_logs", {"query": "\ud83d"}), ("query_metrics", {"query": "avg:cpu{host:\ud83d}"})]
        for tool, arguments in calls:
            await session.send(call(tool, tool, arguments))  # json.dumps escapes it: "\ud83d"
            answered = await session.answer(tool)
            assert "result" in answered or "error" in answered
        await still_serves(session)
        report("lone surrogate in call arguments", "answered with the request's id, next call served")

    await with_server(body)


# A request whose id is not a string or an integer; the SDK took each for a notification and never answered.
UNUSABLE_IDS = ['{"a": 1}', "[1]", "true", "1e400", "null", "1.5"]


@pytest.mark.anyio
async def test_a_request_with_an_unusable_id_is_answered() -> None:
    async def body(session: Session) -> None:
        await initialize(session)
        for request_id in UNUSABLE_IDS:
            await session.send(f'{{"jsonrpc": "2.0", "id": {request_id}, "method": "tools/list"}}')
        with anyio.fail_after(10):
            while len(session.unreadable) < len(UNUSABLE_IDS):
                await session.arrived.wait()
        assert session.unreadable == [-32600] * len(UNUSABLE_IDS)
        await still_serves(session)
        report("ids: object, array, true, 1e400, null, 1.5", "each answered -32600, id null")

    await with_server(body)


@pytest.mark.anyio
async def test_a_request_nested_3000_deep_is_answered_with_its_own_id() -> None:
    deep = "[" * 3000 + "]" * 3000
    line = f'{{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {{"arguments": {{"a": {deep}}}}}}}'

    async def body(session: Session) -> None:
        await initialize(session)
        await session.send(line)
        answered = await session.answer(7)
        assert answered["error"]["code"] == -32600
        assert "nested too deeply" in answered["error"]["message"]
        await still_serves(session)
        report("request nested 3000 levels deep", "answered -32600 with its own id")

    await with_server(body)


def resident_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])


@pytest.mark.anyio
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads resident memory from /proc")
async def test_an_overlong_line_is_answered_and_never_held() -> None:
    line_mib = 5

    async def body(session: Session) -> None:
        await initialize(session)
        await still_serves(session)
        pid = session.process.pid
        assert session.process.stdin is not None
        before = resident_kib(pid)
        for _ in range(line_mib):
            await session.process.stdin.send(b"x" * 1024 * 1024)  # no newline yet
        await anyio.sleep(0.5)
        grown = resident_kib(pid) - before
        assert grown < line_mib * 1024 // 4, f"the server grew {grown} KiB while the line arrived"
        await session.process.stdin.send(b"\n")
        with anyio.fail_after(10):
            while not session.unreadable:
                await session.arrived.wait()
        assert session.unreadable == [-32600]
        await session.send(call("next", "list_hosts", {}))
        assert "result" in await session.answer("next")
        report(f"{line_mib} MiB line without a newline", f"answered -32600, resident memory grew {grown} KiB meanwhile")

    await with_server(body)


def spawn(**env: str) -> subprocess.Popen[bytes]:
    """The demo server with stderr captured, already initialized."""
    process = subprocess.Popen(
        [console_script(), "--demo"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(**env),
    )
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(json.dumps(INITIALIZE).encode() + b"\n" + json.dumps(INITIALIZED).encode() + b"\n")
    process.stdin.flush()
    assert json.loads(process.stdout.readline())["id"] == "init"
    return process


def ended(process: subprocess.Popen[bytes]) -> tuple[int, bytes]:
    """The exit status and everything on stderr, once the server exits by itself (killed after 10 s)."""
    assert process.stderr is not None
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f"the server did not exit; stderr: {process.stderr.read()[-2000:]!r}")
    return process.returncode, process.stderr.read()


def test_a_closed_stdout_ends_the_server_quietly() -> None:
    process = spawn()
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdout.close()
    process.stdin.write(json.dumps(call("lost", "get_monitors", {})).encode() + b"\n")
    process.stdin.flush()
    time.sleep(0.5)  # the server writes the answer to the closed pipe
    process.stdin.close()
    status, stderr = ended(process)
    assert (status, stderr) == (0, b"")
    report("client closes stdout, then stdin", "exit 0, nothing on stderr")


def test_stdin_eof_ends_the_server_with_status_0() -> None:
    process = spawn()
    assert process.stdin is not None
    process.stdin.close()
    status, stderr = ended(process)
    assert (status, stderr) == (0, b"")
    report("client closes stdin", "exit 0, nothing on stderr")


def test_the_wire_is_utf8_whatever_the_locale() -> None:
    process = spawn(LC_ALL="C", LANG="C", PYTHONIOENCODING="ascii")
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(
        json.dumps(call("café", "search_logs", {"query": "☕", "limit": "☕"}), ensure_ascii=False).encode()
    )
    process.stdin.write(b"\n")
    process.stdin.flush()
    answered = json.loads(process.stdout.readline().decode("utf-8"))  # strict: the whole line is UTF-8
    assert answered["id"] == "café"
    assert "☕" in answered["result"]["content"][0]["text"]  # the argument error quotes what it got
    process.stdin.close()
    assert ended(process) == (0, b"")


def test_an_answer_holding_a_lone_surrogate_is_written_as_one_line_of_utf8() -> None:
    answer = JSONRPCResponse(jsonrpc="2.0", id=3, result={"text": "a\ud83db", "list": ["\udc00"], "k\udc00": 1})
    line = encode(answer)
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    written = json.loads(line.decode("utf-8"))  # strict UTF-8: the surrogates were replaced
    assert written["id"] == 3
    assert written["result"]["text"] == "a\ufffdb"
    assert written["result"]["list"] == ["\ufffd"]


def test_an_answer_too_deep_to_serialise_becomes_an_error_for_its_id() -> None:
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(1000):
        inner["a"] = inner = {}
    written = json.loads(encode(JSONRPCResponse(jsonrpc="2.0", id="deep", result=deep)))
    assert written["id"] == "deep"
    assert written["error"]["code"] == -32603


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"jsonrpc": "2.0", "id": 7, "method": "m", "params": [[[[]]]]}', 7),
        ('{"params": {"a": [[{"id": 1}]]}, "method": "m", "id": "x\\"y"}', 'x"y'),
        ('{"id": -12, "method": "m"}', -12),
        ('{"id": 7, "result": {}}', None),  # a response: never answered
        ('{"id": 1.5, "method": "m"}', None),
        ('{"id": {"a": 1}, "method": "m"}', None),
        ('[{"id": 7, "method": "m"}]', None),
        ('{"method": "m", "params": {"id": 7}}', None),
        ('{"id": 7, "method": "m", "params": "unterminated', 7),
        ('{"method": "m", "params": "unterminated \\" id', None),
    ],
)
def test_the_id_of_a_request_too_deep_to_parse_is_found_by_a_flat_scan(text: str, expected: Any) -> None:
    assert top_level_id(text) == expected


def test_the_flat_scan_is_linear_on_deep_and_hostile_text() -> None:
    hostile = ['{"method": "m", "a": ' + "[" * 2_000_000 + ', "id": 9}', '{"method": "m", "a": "' + '\\"' * 1_000_000]
    began = time.perf_counter()
    assert [top_level_id(text) for text in hostile] == [None, None]
    assert time.perf_counter() - began < 5


def test_a_line_over_the_limit_is_skipped_to_its_newline() -> None:
    read, write = os.pipe()
    os.write(write, b"short\n" + b"x" * 100 + b"\nnext\n" + b"y" * 20 + b"\nlast without newline")
    os.close(write)
    lines = Lines(read, limit=20)
    assert [lines.read() for _ in range(6)] == [b"short", TOO_LONG, b"next", b"y" * 20, b"last without newline", None]
    os.close(read)
