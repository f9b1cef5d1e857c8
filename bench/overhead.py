"""What this server costs over its floors, each floor measured in the same run (issue 16).

Run by hand, on a machine as quiet as can be: .venv/bin/python bench/overhead.py [--runs N] [--calls N]
Every timed figure is the median over N runs (default 5); the last column gives the range over runs,
which says how noisy the machine was. Never a timed unit test.

- start-up: from spawning `dd-mcp-server --demo` to its answer to `initialize` over stdio, against a
  bare MCPServer with one trivial tool (bench/floor_server.py) spawned by the same Python and timed
  the same way. Warm: one untimed spawn of each first, so both read cached bytecode (in a private
  PYTHONPYCACHEPREFIX) as an installed package does. Target: at most 1.2x the floor.
- per call: a tool call over stdio to the server, pointed by DD_API_URL at a fake Datadog on
  127.0.0.1 (a subprocess answering at once with the demo organisation's bodies), against a direct
  httpx GET of the same URL from this process; p50 and p99 over --calls calls per run. The bare
  MCPServer making the same GET in a tool shows how much of the difference is the SDK's. Target:
  p50 overhead at most 2 ms.
- concurrency: 32 tool calls at once over one stdio session while the fake answers each request
  200 ms late: their total time over one call's time. Target: at most 1.5x.
- memory: the server's resident memory (/proc/<pid>/status) over 2,000 calls against the instant
  fake (get_monitor, query_metrics and get_monitors in turn): its peak (VmHWM) after the last call,
  and VmRSS growth from call 1,000 to call 2,000. Targets: at most 100 MB, growth under 5 MB.
- sizes: tools/list bytes (bench/toollist.py) and each tool's answer on the demo organisation, in
  the default table form against the raw Datadog bytes it came from (bench/tokens.py).

The servers are spoken to in raw JSON-RPC lines (initialize with the latest handshake version, then
tools/call), so the client adds as little as it can to what is measured. Every subprocess is ended
on the way out, on error too; the fake and the servers also end when this process's end of their
stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import itertools
import json
import math
import os
import platform
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

if TYPE_CHECKING:
    import httpx

HERE = Path(__file__).resolve().parent
PROTOCOL_VERSION = "2025-11-25"  # the latest version reached through the initialize handshake
START_TIMEOUT = 90.0  # seconds to `initialize` answered (the first, untimed spawn compiles bytecode)
CALL_TIMEOUT = 30.0
LINE_LIMIT = 64 * 1024 * 1024
MONITOR_ID = 1000001
METRIC_QUERY = "avg:system.cpu.user{*} by {host}"
DELAY_MS = 200
CONCURRENT = 32
MEMORY_CALLS = 2000
STEPS = ("startup", "calls", "concurrency", "memory", "sizes")


class BenchError(Exception):
    """A measurement could not be made; the message says which and why."""


# -- the fake Datadog (a subprocess: this file run with --fake-datadog) ------------------------------


class FakeDatadog(BaseHTTPRequestHandler):
    """Answers GET /api/v1/monitor/{id}, /api/v1/monitor and /api/v1/query with fixed bodies.

    A path may start with /delay/<ms>/: the answer then comes that many milliseconds late.
    """

    protocol_version = "HTTP/1.1"  # keep-alive, as Datadog's API
    disable_nagle_algorithm = True  # headers and body go in two writes: Nagle would hold the body 40 ms
    bodies: dict[str, bytes] = {}  # noqa: RUF012 - set once, before serving

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path.startswith("/delay/"):
            _, _, milliseconds, rest = path.split("/", 3)
            time.sleep(int(milliseconds) / 1000)
            path = "/" + rest
        body = self.bodies.get(route(path))
        status = 200 if body is not None else 404
        body = body if body is not None else b'{"errors":["Not found"]}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def route(path: str) -> str:
    parts = path.strip("/").split("/")
    if parts == ["api", "v1", "query"]:
        return "query"
    if parts == ["api", "v1", "monitor"]:
        return "monitors"
    if len(parts) == 4 and parts[:3] == ["api", "v1", "monitor"] and parts[3].isdigit():
        return "monitor"
    return ""


class Listener(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # 32 connections at once must not wait in a backlog of 5


def serve_fake() -> None:
    """The fake's process: bodies as one JSON line on stdin, the port on stdout, then serve until stdin ends."""
    FakeDatadog.bodies = {key: value.encode() for key, value in json.loads(sys.stdin.readline()).items()}
    listener = Listener(("127.0.0.1", 0), FakeDatadog)
    threading.Thread(target=listener.serve_forever, daemon=True).start()
    print(listener.server_address[1], flush=True)
    sys.stdin.read()


def demo_bodies() -> dict[str, str]:
    """What the demo organisation answers to the three endpoints: realistic bodies for the fake."""
    import httpx

    from dd_mcp_server.demo.api import DemoApi

    api, now = DemoApi(), int(time.time())
    urls = {
        "monitor": f"https://demo.invalid/api/v1/monitor/{MONITOR_ID}",
        "monitors": "https://demo.invalid/api/v1/monitor",
        "query": f"https://demo.invalid/api/v1/query?from={now - 3600}&to={now}&query={METRIC_QUERY}",
    }
    bodies = {}
    for key, url in urls.items():
        response = api.handle(httpx.Request("GET", url))
        if response.status_code != 200:
            raise BenchError(f"the demo answered {url} with {response.status_code}")
        bodies[key] = response.content.decode()
    return bodies


@contextlib.contextmanager
def fake_datadog() -> Iterator[str]:
    """The fake running in its own process; yields its base URL."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--fake-datadog"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=child_env(),
    )
    assert process.stdin
    assert process.stdout
    try:
        process.stdin.write(json.dumps(demo_bodies()).encode() + b"\n")
        process.stdin.flush()
        ready, _, _ = select.select([process.stdout], [], [], 30)
        line = process.stdout.readline() if ready else b""
        if not line.strip().isdigit():
            raise BenchError(f"the fake Datadog did not start (exit status {process.poll()})")
        yield f"http://127.0.0.1:{int(line)}"
    finally:
        end_process(process)


def end_process(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError):
        if process.stdin:
            process.stdin.close()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


# -- an MCP server over stdio, in raw JSON-RPC ----------------------------------------------------


PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
# The servers' bytecode cache, made by main(): written on the untimed first spawn, read on every timed one.
PYCACHE: list[str] = []


def child_env(**extra: str) -> dict[str, str]:
    """This environment without Datadog or proxy settings, bytecode cached in a private folder, plus `extra`."""
    kept = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DD_", "DATADOG_")) and key.lower() not in PROXY_VARIABLES
    }
    kept.pop("PYTHONDONTWRITEBYTECODE", None)
    return {**kept, **({"PYTHONPYCACHEPREFIX": PYCACHE[0]} if PYCACHE else {}), **extra}


def console_script() -> str:
    beside = Path(sys.executable).with_name("dd-mcp-server")
    found = str(beside) if beside.exists() else shutil.which("dd-mcp-server")
    if not found:
        raise BenchError("dd-mcp-server is not installed beside this Python")
    return found


@dataclass(frozen=True)
class Command:
    """How to start one server: what it is called in messages, its argv and extra environment."""

    name: str
    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()


def ours(api_url: str | None = None) -> Command:
    """This server: the demo organisation, or the fake Datadog at `api_url` with dummy keys."""
    if api_url is None:
        return Command("dd-mcp-server --demo", (console_script(), "--demo"))
    keys = (("DD_API_KEY", "bench-api-key"), ("DD_APP_KEY", "bench-app-key"), ("DD_API_URL", api_url))
    return Command("dd-mcp-server", (console_script(),), keys)


def floor(api_url: str | None = None) -> Command:
    """The bare MCPServer: `echo`, or with `api_url` its `fetch` tool GETting from there."""
    script = str(HERE / "floor_server.py")
    return Command("floor server", (sys.executable, script, *([api_url] if api_url else [])))


class Peer:
    """One server subprocess, spoken to in JSON-RPC lines over its stdin and stdout."""

    def __init__(self, command: Command, stderr: Path) -> None:
        self.command = command
        self.stderr = stderr
        self.process: asyncio.subprocess.Process | None = None
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.ids = itertools.count(1)
        self.reader: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        assert self.process
        return self.process.pid

    async def start(self) -> float:
        """Spawn and initialize; the seconds from spawning to the answer to `initialize`."""
        with self.stderr.open("wb") as stderr:
            began = time.perf_counter()
            self.process = await asyncio.create_subprocess_exec(
                *self.command.argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                env=child_env(**dict(self.command.env)),
                limit=LINE_LIMIT,
            )
        self.reader = asyncio.create_task(self.read())
        params = {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "bench-overhead", "version": "1"},
        }
        await self.request("initialize", params, START_TIMEOUT)
        took = time.perf_counter() - began
        await self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return took

    async def send(self, message: dict[str, Any]) -> None:
        assert self.process
        assert self.process.stdin
        self.process.stdin.write(json.dumps(message, separators=(",", ":")).encode() + b"\n")
        await self.process.stdin.drain()

    async def request(self, method: str, params: dict[str, Any], timeout: float = CALL_TIMEOUT) -> dict[str, Any]:
        request_id = next(self.ids)
        answer = self.pending[request_id] = asyncio.get_running_loop().create_future()
        try:
            await self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
            message = await asyncio.wait_for(answer, timeout)
        except (asyncio.TimeoutError, OSError) as failure:
            raise BenchError(f"{self.command.name}: no answer to {method} ({failure!r}){self.said()}") from None
        finally:
            self.pending.pop(request_id, None)
        if "error" in message:
            raise BenchError(f"{self.command.name}: {method} failed: {message['error']}")
        result: dict[str, Any] = message.get("result") or {}
        return result

    async def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """One tools/call; an answer that is an error stops the benchmark (it would time the wrong path)."""
        result = await self.request("tools/call", {"name": tool, "arguments": arguments})
        if result.get("isError"):
            text = " ".join(str(block.get("text", "")) for block in result.get("content") or [])
            raise BenchError(f"{self.command.name}: {tool} answered an error: {text[:300]}")
        return result

    async def read(self) -> None:
        """Hand each answer to its request; at the end of stdout, fail whatever still waits."""
        assert self.process
        assert self.process.stdout
        with contextlib.suppress(asyncio.CancelledError):
            while line := await self.process.stdout.readline():
                try:
                    message = json.loads(line)
                except ValueError:
                    continue  # not JSON-RPC (a wrapper's own output): nothing waits for it
                request_id = message.get("id") if isinstance(message, dict) else None
                waiting = self.pending.get(request_id) if isinstance(request_id, int) else None
                if waiting and not waiting.done():
                    waiting.set_result(message)
            for waiting in self.pending.values():
                if not waiting.done():
                    waiting.set_exception(BenchError(f"{self.command.name} closed stdout{self.said()}"))

    def said(self) -> str:
        """The end of the server's stderr, for a message."""
        text = self.stderr.read_text(errors="replace").strip() if self.stderr.exists() else ""
        return f"; its stderr ends: {text[-500:]}" if text else ""

    def cpu(self) -> tuple[float, float]:
        """Seconds the server's threads have run on a CPU so far, and waited for one (ready, not running).

        From each thread's /proc schedstat (nanoseconds): the wait is how busy the rest of the machine
        kept the server. Without schedstat, the run time comes from /proc/<pid>/stat (clock ticks) and
        the wait reads NaN.
        """
        ran = waited = 0
        try:
            for thread in Path(f"/proc/{self.pid}/task").iterdir():
                with contextlib.suppress(FileNotFoundError):  # a thread that just ended
                    running, waiting, _ = (thread / "schedstat").read_text().split()
                    ran, waited = ran + int(running), waited + int(waiting)
        except (OSError, ValueError):
            fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), math.nan
        return ran / 1e9, waited / 1e9

    def memory(self) -> dict[str, float]:
        """VmRSS and VmHWM of the server process, in MB (10^6 bytes)."""
        found = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0]) * 1024 / 1e6
        if len(found) != 2:
            raise BenchError("no VmRSS/VmHWM in /proc/<pid>/status: this benchmark needs Linux")
        return found

    async def close(self) -> None:
        """End of stdin, then terminate, then kill: the server is gone when this returns."""
        process = self.process
        if process and process.returncode is None:
            if process.stdin:
                with contextlib.suppress(OSError):
                    process.stdin.close()
            for stop in (None, process.terminate, process.kill):
                if stop:
                    with contextlib.suppress(ProcessLookupError):
                        stop()
                try:
                    await asyncio.wait_for(process.wait(), 5)
                    break
                except asyncio.TimeoutError:
                    continue
        if self.reader:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader


@contextlib.asynccontextmanager
async def running(command: Command) -> AsyncIterator[tuple[Peer, float]]:
    """The server started and initialized, with its start-up seconds; ended on the way out."""
    with tempfile.TemporaryDirectory(prefix="dd-mcp-overhead-") as folder:
        peer = Peer(command, Path(folder) / "stderr")
        try:
            took = await peer.start()
            yield peer, took
        finally:
            await peer.close()


# -- measurements ---------------------------------------------------------------------------------


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def timed(action: Callable[[], Awaitable[object]], times: int) -> list[float]:
    """Seconds of each of `times` runs of `action`, one after another."""
    took = []
    for _ in range(times):
        began = time.perf_counter()
        await action()
        took.append(time.perf_counter() - began)
    return took


async def startup(runs: int) -> tuple[list[float], list[float]]:
    """Seconds to `initialize` answered, per run: ours, the floor's (interleaved, after one untimed spawn each)."""
    commands = (ours(), floor())
    for command in commands:
        async with running(command):
            pass
    found: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for command, into in zip(commands, found, strict=True):
            async with running(command) as (_, took):
                into.append(took)
    return found


# The calls timed one by one: the tool, its arguments, the path the fake answers, its query parameters.
CALLS: dict[str, tuple[dict[str, Any], str, dict[str, str]]] = {
    "get_monitor": ({"monitor_id": MONITOR_ID}, f"/api/v1/monitor/{MONITOR_ID}", {}),
    "query_metrics": ({"query": METRIC_QUERY}, "/api/v1/query", {"query": METRIC_QUERY}),
}
WARM_UP = 20


@dataclass
class Latencies:
    """One run of one call: seconds of each direct httpx GET, each tool call, each bare-SDK tool call."""

    direct: list[float]
    ours: list[float]
    sdk: list[float]
    # Per call, the server process's seconds on a CPU (all its threads) and waiting for one.
    ours_cpu: tuple[float, float] = (0.0, 0.0)
    sdk_cpu: tuple[float, float] = (0.0, 0.0)


async def per_call(api_url: str, calls: int) -> dict[str, Latencies]:
    """One run: each call of CALLS, `calls` times, directly, through this server and through the floor."""
    import httpx

    found = {tool: Latencies([], [], []) for tool in CALLS}
    headers = {"DD-API-KEY": "bench-api-key", "DD-APPLICATION-KEY": "bench-app-key", "Accept": "application/json"}
    async with httpx.AsyncClient(base_url=api_url, headers=headers, timeout=CALL_TIMEOUT) as http:
        for tool, (_, path, params) in CALLS.items():
            get = functools.partial(direct_get, http, path, params)
            await timed(get, WARM_UP)
            found[tool].direct = await timed(get, calls)
    async with running(ours(api_url)) as (server, _):
        for tool, (arguments, _, _) in CALLS.items():
            call = functools.partial(server.call, tool, arguments)
            await timed(call, WARM_UP)
            used = server.cpu()
            found[tool].ours = await timed(call, calls)
            found[tool].ours_cpu = per_call_of(used, server.cpu(), calls)
    async with running(floor(api_url)) as (bare, _):
        for tool, (_, path, params) in CALLS.items():
            query = f"{path}?{urlencode({'from': 0, 'to': 0, **params})}" if params else path
            fetch = functools.partial(bare.call, "fetch", {"path": query})
            await timed(fetch, WARM_UP)
            used = bare.cpu()
            found[tool].sdk = await timed(fetch, calls)
            found[tool].sdk_cpu = per_call_of(used, bare.cpu(), calls)
    return found


def per_call_of(before: tuple[float, float], after: tuple[float, float], calls: int) -> tuple[float, float]:
    return (after[0] - before[0]) / calls, (after[1] - before[1]) / calls


async def direct_get(http: httpx.AsyncClient, path: str, params: dict[str, str]) -> None:
    """The GET this server sends for a call, made directly (a query's window is the last hour, as the tool's)."""
    now = int(time.time())
    response = await http.get(path, params={"from": now - 3600, "to": now, **params} if params else None)
    if response.status_code != 200:
        raise BenchError(f"the fake Datadog answered GET {path} with {response.status_code}")


async def at_once(peer: Peer, tool: str, arguments: dict[str, Any]) -> float:
    began = time.perf_counter()
    await asyncio.gather(*(peer.call(tool, arguments) for _ in range(CONCURRENT)))
    return time.perf_counter() - began


async def concurrency(api_url: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """One run, the fake DELAY_MS late: (one call, CONCURRENT calls at once) in seconds, ours then the floor's."""
    delayed = f"{api_url}/delay/{DELAY_MS}"
    found = []
    servers: list[tuple[Command, str, dict[str, Any]]] = [
        (ours(delayed), "get_monitor", {"monitor_id": MONITOR_ID}),
        (floor(delayed), "fetch", {"path": f"/api/v1/monitor/{MONITOR_ID}"}),
    ]
    for command, tool, arguments in servers:
        async with running(command) as (peer, _):
            await at_once(peer, tool, arguments)  # warm: connections open, first-call imports done
            one = statistics.median(await timed(functools.partial(peer.call, tool, arguments), 5))
            many = statistics.median([await at_once(peer, tool, arguments) for _ in range(3)])
            found.append((one, many))
    return found[0], found[1]


async def memory(api_url: str) -> tuple[dict[str, float], dict[str, float]]:
    """Ours, then the floor's: VmRSS after call 1,000 and 2,000 and VmHWM after the last, in MB."""
    ours_calls: list[tuple[str, dict[str, Any]]] = [
        ("get_monitor", {"monitor_id": MONITOR_ID}),
        ("query_metrics", {"query": METRIC_QUERY}),
        ("get_monitors", {}),
    ]
    floor_calls = [
        ("fetch", {"path": path}) for path in (f"/api/v1/monitor/{MONITOR_ID}", "/api/v1/query", "/api/v1/monitor")
    ]
    found = []
    for command, calls in ((ours(api_url), ours_calls), (floor(api_url), floor_calls)):
        async with running(command) as (peer, _):
            figures: dict[str, float] = {}
            for index, (tool, arguments) in zip(range(1, MEMORY_CALLS + 1), itertools.cycle(calls)):
                await peer.call(tool, arguments)
                if index in (MEMORY_CALLS // 2, MEMORY_CALLS):
                    figures[f"rss_{index}"] = peer.memory()["VmRSS"]
            figures["peak"] = peer.memory()["VmHWM"]
            found.append(figures)
    return found[0], found[1]


async def sizes() -> tuple[int, int, int, int, list[tuple[str, int, int, str]]]:
    """tools/list bytes and tool counts (default toolsets, all), and per call (tool, table bytes, raw bytes, status)."""
    import tokens
    import toollist

    default, every = await toollist.listed(""), await toollist.listed("all")
    rows, _ = await tokens.measure()
    answers = [(tool, table, raw, status) for tool, raw, _, table, status in rows]
    return toollist.size(default), len(default), toollist.size(every), len(every), answers


# -- the table ------------------------------------------------------------------------------------


@dataclass
class Row:
    measurement: str
    ours: str
    floor: str
    target: str
    met: str  # met, MISSED, or info (no target)
    spread: str = ""


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def spread(values: Sequence[float], scale: float = 1000, unit: str = "ms") -> str:
    return f"{min(values) * scale:.2f}-{max(values) * scale:.2f} {unit}" if len(values) > 1 else ""


def render(rows: list[Row]) -> str:
    header = Row("measurement", "ours", "floor", "ratio / target", "met?", "range over runs (ours)")
    cells = [[r.measurement, r.ours, r.floor, r.target, r.met, r.spread] for r in (header, *rows)]
    widths = [max(len(line[column]) for line in cells) for column in range(6)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}, {platform.system()}"


async def measure(steps: Sequence[str], runs: int, calls: int) -> list[Row]:
    rows: list[Row] = []
    if "startup" in steps:
        print(f"start-up: {runs} runs of each, after one untimed spawn each ...", file=sys.stderr)
        mine, bare = await startup(runs)
        ratio = statistics.median(mine) / statistics.median(bare)
        rows.append(
            Row(
                "start-up: spawn to initialize answered (--demo vs bare MCPServer)",
                ms(statistics.median(mine)),
                ms(statistics.median(bare)),
                f"{ratio:.2f}x (<= 1.20x)",
                verdict(ratio <= 1.2),
                spread(mine),
            )
        )
    if {"calls", "concurrency", "memory"} & set(steps):
        with fake_datadog() as api_url:
            rows += await against_fake(api_url, steps, runs, calls)
    if "sizes" in steps:
        print("sizes: tools/list and the demo answers ...", file=sys.stderr)
        rows += size_rows(*await sizes())
    return rows


async def against_fake(api_url: str, steps: Sequence[str], runs: int, calls: int) -> list[Row]:
    rows: list[Row] = []
    if "calls" in steps:
        print(f"per call: {runs} runs of {calls} calls per tool ...", file=sys.stderr)
        results = [await per_call(api_url, calls) for _ in range(runs)]
        for tool in CALLS:
            rows += call_rows(tool, [run[tool] for run in results], calls)
    if "concurrency" in steps:
        print(f"concurrency: {runs} runs of {CONCURRENT} calls at once, {DELAY_MS} ms late ...", file=sys.stderr)
        found = [await concurrency(api_url) for _ in range(runs)]
        mine = [many / one for (one, many), _ in found]
        bare = [many / one for _, (one, many) in found]
        one = statistics.median(one for (one, _), _ in found)
        many = statistics.median(many for (_, many), _ in found)
        rows.append(
            Row(
                f"{CONCURRENT} calls at once, Datadog {DELAY_MS} ms late: total / one call",
                f"{statistics.median(mine):.2f}x ({many * 1000:.0f} / {one * 1000:.0f} ms)",
                f"{statistics.median(bare):.2f}x",
                "<= 1.50x",
                verdict(statistics.median(mine) <= 1.5),
                f"{min(mine):.2f}-{max(mine):.2f}x",
            )
        )
    if "memory" in steps:
        print(f"memory: {MEMORY_CALLS} calls on each server ...", file=sys.stderr)
        held, bare_held = await memory(api_url)
        half, last = f"rss_{MEMORY_CALLS // 2}", f"rss_{MEMORY_CALLS}"
        growth, bare_growth = held[last] - held[half], bare_held[last] - bare_held[half]
        rows += [
            Row(
                f"peak RSS after {MEMORY_CALLS:,} calls (VmHWM)",
                f"{held['peak']:.1f} MB",
                f"{bare_held['peak']:.1f} MB",
                "<= 100 MB",
                verdict(held["peak"] <= 100),
                "one pass",
            ),
            Row(
                f"RSS growth, call {MEMORY_CALLS // 2:,} to {MEMORY_CALLS:,}",
                f"{growth:+.2f} MB",
                f"{bare_growth:+.2f} MB",
                "< 5 MB",
                verdict(growth < 5),
                "one pass",
            ),
        ]
    return rows


def call_rows(tool: str, runs: list[Latencies], calls: int) -> list[Row]:
    """p50 and p99 of one call through this server against the direct GET, and the bare SDK's p50."""
    rows = []
    for name, share in (("p50", 0.5), ("p99", 0.99)):
        mine = [percentile(run.ours, share) for run in runs]
        direct = [percentile(run.direct, share) for run in runs]
        overhead = statistics.median(m - d for m, d in zip(mine, direct, strict=True))
        rows.append(
            Row(
                f"tool call {tool}, {name} ({calls} calls/run) vs direct httpx GET",
                ms(statistics.median(mine)),
                ms(statistics.median(direct)),
                f"+{overhead * 1000:.2f} ms" + (" (<= 2 ms)" if name == "p50" else ""),
                verdict(overhead <= 0.002) if name == "p50" else "info",
                spread(mine),
            )
        )
    sdk = [percentile(run.sdk, 0.5) for run in runs]
    direct = [percentile(run.direct, 0.5) for run in runs]
    rows.append(
        Row(
            "  the same GET in a bare MCPServer's tool, p50",
            ms(statistics.median(sdk)),
            ms(statistics.median(direct)),
            f"+{statistics.median(s - d for s, d in zip(sdk, direct, strict=True)) * 1000:.2f} ms",
            "info",
            spread(sdk),
        )
    )
    mine_cpu, sdk_cpu = [run.ours_cpu[0] for run in runs], [run.sdk_cpu[0] for run in runs]
    mine_wait, sdk_wait = [run.ours_cpu[1] for run in runs], [run.sdk_cpu[1] for run in runs]
    rows += [
        Row(
            "  server CPU per call (all threads), vs the bare MCPServer's",
            ms(statistics.median(mine_cpu)),
            ms(statistics.median(sdk_cpu)),
            f"{statistics.median(mine_cpu) / max(statistics.median(sdk_cpu), 1e-9):.2f}x",
            "info",
            spread(mine_cpu),
        ),
        Row(
            "  server waiting for a CPU per call (others' load), vs the bare's",
            ms(statistics.median(mine_wait)),
            ms(statistics.median(sdk_wait)),
            "-",
            "info",
            spread(mine_wait),
        ),
    ]
    return rows


def size_rows(
    default: int, tools: int, every: int, all_tools: int, answers: list[tuple[str, int, int, str]]
) -> list[Row]:
    rows = [
        Row(
            f"tools/list bytes, default toolsets ({tools} tools)",
            f"{default:,}",
            "-",
            "<= 12,000",
            verdict(default <= 12_000),
        ),
        Row(f"tools/list bytes, all toolsets ({all_tools} tools)", f"{every:,}", "-", "-", "info"),
    ]
    for tool, table, raw, status in answers:
        note = "" if status == "ok" else f" ({status})"
        rows.append(
            Row(
                f"  answer bytes {tool}{note}, table form vs raw Datadog",
                f"{table:,}",
                f"{raw:,}",
                f"{table / max(raw, 1):.2f}x",
                "info",
            )
        )
    table, raw = sum(a[1] for a in answers), sum(a[2] for a in answers)
    rows.append(
        Row(
            f"answer bytes, all {len(answers)} calls, table form vs raw",
            f"{table:,}",
            f"{raw:,}",
            f"{table / max(raw, 1):.2f}x",
            "info",
        )
    )
    return rows


def stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="runs of each timed measurement (medians; default 5)")
    parser.add_argument("--calls", type=int, default=500, help="calls per tool per run for p50/p99 (default 500)")
    parser.add_argument("--only", default=",".join(STEPS), help=f"comma list of {', '.join(STEPS)} (default all)")
    parser.add_argument("--fake-datadog", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.fake_datadog:
        serve_fake()
        return 0
    steps = [step.strip() for step in args.only.split(",") if step.strip()]
    if not set(steps) <= set(STEPS) or args.runs < 1 or args.calls < 10:
        parser.error(f"--only takes {', '.join(STEPS)}; --runs at least 1, --calls at least 10")
    began = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    load = os.getloadavg()
    PYCACHE.append(tempfile.mkdtemp(prefix="dd-mcp-overhead-pycache-"))
    signal.signal(signal.SIGTERM, stop)  # killed: end the servers and the fake as Ctrl-C does
    try:
        rows = asyncio.run(measure(steps, args.runs, args.calls))
    except BenchError as failure:
        print(f"overhead: {failure}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("overhead: interrupted; every server and the fake were ended", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(PYCACHE.pop(), ignore_errors=True)
    after = os.getloadavg()
    print(f"{began}  {machine()}")
    print(f"command: {' '.join([os.path.relpath(sys.executable), *sys.argv])}")
    print(f"load average (1 min) before {load[0]:.2f}, after {after[0]:.2f}; medians of {args.runs} runs")
    print(render(rows))
    return 0 if all(row.met != "MISSED" for row in rows) else 3


if __name__ == "__main__":
    sys.exit(main())
