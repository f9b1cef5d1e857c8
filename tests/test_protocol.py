"""JSON-RPC abuse over real stdio: the server answers by the protocol and stays up.

These run the installed console script with --demo and speak raw JSON lines to it.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import anyio
import pytest
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream

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
