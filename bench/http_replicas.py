"""Throughput of the HTTP transport with one replica and with two (issue 17).

Run by hand, on a machine as quiet as can be: .venv/bin/python bench/http_replicas.py [--runs N] [--calls N]
Never a unit test. Everything runs on 127.0.0.1:

- a fake Datadog (this file run with --fake-datadog, its own process, asyncio, HTTP/1.1 keep-alive)
  answering GET /api/v1/monitor/{id} with the demo organisation's monitor, DELAY_MS late;
- replicas: the console script `dd-mcp-server --transport http --port P`, DD_API_URL pointed at the
  fake, dummy keys, a tokens file; its access log (stderr) goes to a file, as an operator's would;
- the load generator, this process: C clients (asyncio tasks on one httpx.AsyncClient with a
  keep-alive pool), each POSTing `tools/call get_monitor` as one JSON-RPC request (the stateless
  2026-07-28 form: the protocol version in the request's `_meta`, no session) with its bearer token,
  the next call as soon as the last one answered. With two replicas the load generator itself sends
  its calls to the two replicas' URLs in turn: no proxy process taking CPU of its own.

For each of 1 and 2 replicas and 8 and 64 clients: calls per second and p50/p99 latency, the median
over --runs runs (the configurations interleaved, so that a change in the machine's load hits all of
them), with the range of calls per second over the runs. For each run, the CPU each party used
(/proc/<pid>/stat; this process's from os.times) and what the rest of the machine used (/proc/stat),
in cores: what limits throughput on a small machine. Then VmRSS and VmHWM of each replica once it
has answered 10,000 calls.

The issue asks that a second replica add at least 1.6x throughput; the table says whether it did
here and the CPU columns say why not when it did not.

(Not named bench/http.py: run as a script, its folder comes first on sys.path, and a file named
http.py there hides the standard library's http package, which httpx and urllib import.)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import itertools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

DELAY_MS = 20
MONITOR_ID = 1000001
TOKEN = "ddmcp_bench-http-token-0123456789abcdef"
PROTOCOL_VERSION = "2026-07-28"
CLIENTS = (8, 64)
MEMORY_CALLS = 10_000
WARM_UP_CALLS = 300
TICKS = os.sysconf("SC_CLK_TCK")
CALL = json.dumps(
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {
            "name": "get_monitor",
            "arguments": {"monitor_id": MONITOR_ID},
            "_meta": {"io.modelcontextprotocol/protocolVersion": PROTOCOL_VERSION},
        },
    }
).encode()
HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
    "Authorization": f"Bearer {TOKEN}",
}


class BenchError(Exception):
    """A measurement could not be made; the message says which and why."""


# -- the fake Datadog ---------------------------------------------------------------------------------


def monitor_body() -> bytes:
    """The demo organisation's answer to GET /api/v1/monitor/{MONITOR_ID}: a realistic body."""
    from dd_mcp_server.demo.api import DemoApi

    response = DemoApi().handle(httpx.Request("GET", f"https://demo.invalid/api/v1/monitor/{MONITOR_ID}"))
    if response.status_code != 200:
        raise BenchError(f"the demo organisation answered monitor {MONITOR_ID} with {response.status_code}")
    return response.content


CONNECTIONS = [0]  # connections the fake has accepted: GET /bench/connections says how many


async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, body: bytes) -> None:
    """One keep-alive connection: each GET answered DELAY_MS late, the monitor or a 404."""
    CONNECTIONS[0] += 1
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            method, target = request_line.split(" ")[:2]
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            if length:
                await reader.readexactly(length)
            path = target.split("?", 1)[0]
            found = method == "GET" and path == f"/api/v1/monitor/{MONITOR_ID}"
            if path == "/bench/connections":
                found, content = True, str(CONNECTIONS[0]).encode()
            else:
                await asyncio.sleep(DELAY_MS / 1000)
                content = body if found else b'{"errors":["Not found"]}'
            status = b"200 OK" if found else b"404 Not Found"
            writer.write(
                b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(len(content)).encode() + b"\r\n\r\n" + content
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve_fake() -> None:
    """The fake's process: its port on stdout, then serve until stdin ends."""
    body = monitor_body()
    server = await asyncio.start_server(lambda r, w: answer(r, w, body), "127.0.0.1", 0, backlog=512)
    print(server.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    ended = asyncio.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), loop.call_soon_threadsafe(ended.set)), daemon=True).start()
    async with server:
        await ended.wait()


# -- processes ----------------------------------------------------------------------------------------


@dataclass
class Process:
    """A child process: the fake or a replica."""

    name: str
    popen: subprocess.Popen[bytes]
    port: int
    served: int = 0  # calls this replica answered, counted by the load generator

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.popen.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime

    def memory_mb(self) -> dict[str, float]:
        figures = {}
        for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                figures[key] = int(value.split()[0]) / 1024
        return figures

    def affinity(self) -> str:
        cpus = sorted(os.sched_getaffinity(self.popen.pid))
        return ",".join(map(str, cpus))


def console_script() -> str:
    beside = Path(sys.executable).with_name("dd-mcp-server")
    found = str(beside) if beside.exists() else shutil.which("dd-mcp-server")
    if not found:
        raise BenchError("dd-mcp-server is not installed beside this Python: run with the project's .venv")
    return found


def child_env(**extra: str) -> dict[str, str]:
    """This environment without Datadog, OTLP or proxy settings, plus `extra`."""
    kept = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DD_", "DATADOG_", "OTEL_"))
        and key.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    }
    return {**kept, **extra}


def wait_for_port(popen: subprocess.Popen[bytes], name: str) -> int:
    assert popen.stdout
    line = popen.stdout.readline()
    if not line.strip().isdigit():
        raise BenchError(f"{name} did not start (exit status {popen.poll()})")
    return int(line)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def started(count: int, folder: Path) -> Iterator[tuple[Process, list[Process]]]:
    """The fake Datadog and `count` replicas pointed at it, all ended on the way out."""
    children: list[subprocess.Popen[bytes]] = []
    try:
        fake_popen = subprocess.Popen(
            [sys.executable, __file__, "--fake-datadog"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=child_env()
        )
        children.append(fake_popen)
        fake = Process("fake Datadog", fake_popen, wait_for_port(fake_popen, "the fake Datadog"))
        tokens = folder / "tokens"
        tokens.write_text(f"bench:{hashlib.sha256(TOKEN.encode()).hexdigest()}\n")
        env = child_env(
            DD_API_URL=f"http://127.0.0.1:{fake.port}",
            DD_API_KEY="0" * 32,
            DD_APP_KEY="0" * 40,
            DD_MCP_HTTP_TOKENS_FILE=str(tokens),
        )
        replicas = []
        for index in range(count):
            port = free_port()
            log = (folder / f"replica-{index}.log").open("wb")
            popen = subprocess.Popen(
                [console_script(), "--transport", "http", "--port", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=env,
            )
            log.close()
            children.append(popen)
            replicas.append(Process(f"replica {index}", popen, port))
        for replica in replicas:
            wait_healthy(replica)
        yield fake, replicas
    finally:
        for child in children:
            with contextlib.suppress(OSError):
                if child.stdin:
                    child.stdin.close()
            child.terminate()
        for child in children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(10)


def wait_healthy(replica: Process) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if replica.popen.poll() is not None:
            raise BenchError(f"{replica.name} exited with {replica.popen.returncode}: see its log")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"http://127.0.0.1:{replica.port}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise BenchError(f"{replica.name} did not answer /healthz within 60 s")


# -- the load -----------------------------------------------------------------------------------------


@dataclass
class Run:
    replicas: int
    clients: int
    calls: int
    seconds: float
    latencies: list[float]
    cpu: dict[str, float] = field(default_factory=dict)  # cores used on average: replicas, load, fake, others
    connections: int = 0  # connections the replicas opened to the fake Datadog during the run
    reconnects: int = 0  # kept-alive connections to a replica the load generator had to open again

    def summary(self) -> str:
        return (
            f"{self.replicas} replica(s), {self.clients:>2} clients: {self.rate:5.0f} calls/s, "
            f"p50 {self.percentile(0.5):5.1f} ms, p99 {self.percentile(0.99):6.1f} ms"
            + (f", {self.reconnects} connections reopened" if self.reconnects else "")
        )

    @property
    def rate(self) -> float:
        return self.calls / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


class RawConnection:
    """One keep-alive HTTP/1.1 connection to a replica, POSTing the prepared call: a client that costs
    the load generator little CPU, so that it measures the server rather than itself."""

    def __init__(self, target: Process) -> None:
        self.target = target
        self.request = (
            f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{target.port}\r\n"
            + "".join(f"{name}: {value}\r\n" for name, value in HEADERS.items())
            + f"Content-Length: {len(CALL)}\r\n\r\n"
        ).encode() + CALL
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self.reconnects = 0

    async def post(self) -> tuple[int, bytes]:
        """The call's status and body. A kept-alive connection the replica has closed meanwhile (uvicorn
        closes one idle for 5 s) is opened again and the call sent again, as any HTTP client does."""
        while True:
            fresh = self.streams is None
            if self.streams is None:
                self.streams = await asyncio.open_connection("127.0.0.1", self.target.port)
            try:
                return await self.exchange(*self.streams)
            except (asyncio.IncompleteReadError, ConnectionError):
                self.close()
                if fresh:
                    raise
                self.reconnects += 1

    async def exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> tuple[int, bytes]:
        writer.write(self.request)
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        length = next(
            (int(line.split(b":", 1)[1]) for line in lines if line.lower().startswith(b"content-length:")), None
        )
        if length is None:
            raise BenchError(f"an answer without Content-Length: {head[:300]!r}")
        body = await reader.readexactly(length)
        if any(line.lower() == b"connection: close" for line in lines):
            self.close()
        return int(lines[0].split()[1]), body

    def close(self) -> None:
        if self.streams:
            self.streams[1].close()
        self.streams = None


async def drive(
    targets: Sequence[Process], clients: int, calls: int, raw: bool = True
) -> tuple[float, list[float], int]:
    """`calls` calls from `clients` concurrent clients, sent to `targets` in turn: (seconds, latencies,
    connections opened again).

    `raw`: each client keeps one RawConnection per target; else all share one httpx.AsyncClient."""
    turn = itertools.count()
    latencies: list[float] = []
    failures: list[str] = []
    reconnects = [0]
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=60, limits=limits, trust_env=False) as client:

        async def one_client() -> None:
            connections = [RawConnection(target) for target in targets]
            try:
                while (n := next(turn)) < calls:
                    target = targets[n % len(targets)]
                    began = time.perf_counter()
                    if raw:
                        status, content = await connections[n % len(targets)].post()
                    else:
                        response = await client.post(target.url, content=CALL, headers=HEADERS)
                        status, content = response.status_code, response.content
                    latencies.append(time.perf_counter() - began)
                    target.served += 1
                    if status != 200 or b'"isError":true' in content:
                        failures.append(f"{status} {content[:300]!r}")
            finally:
                for connection in connections:
                    reconnects[0] += connection.reconnects
                    connection.close()

        began = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        seconds = time.perf_counter() - began
    if failures:
        raise BenchError(f"{len(failures)} of {calls} calls failed, the first: {failures[0]}")
    return seconds, latencies, reconnects[0]


def machine_busy() -> float:
    """CPU seconds all cores of the machine have spent busy since boot (/proc/stat)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / TICKS


def own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def measure(fake: Process, replicas: Sequence[Process], clients: int, calls: int, raw: bool) -> Run:
    opened = fake_connections(fake)
    before = {"replicas": sum(r.cpu_seconds() for r in replicas), "load": own_cpu(), "fake": fake.cpu_seconds()}
    busy = machine_busy()
    seconds, latencies, reconnects = asyncio.run(drive(replicas, clients, calls, raw))
    after = {"replicas": sum(r.cpu_seconds() for r in replicas), "load": own_cpu(), "fake": fake.cpu_seconds()}
    used = {name: (after[name] - before[name]) / seconds for name in before}
    used["others"] = max(0.0, (machine_busy() - busy) / seconds - sum(used.values()))
    return Run(len(replicas), clients, calls, seconds, latencies, used, fake_connections(fake) - opened - 1, reconnects)


def fake_connections(fake: Process) -> int:
    """How many connections the fake Datadog has accepted (this question's own included)."""
    return int(httpx.get(f"http://127.0.0.1:{fake.port}/bench/connections", timeout=10, trust_env=False).text)


# -- the report ---------------------------------------------------------------------------------------


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def describe_machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.machine(),
    )
    system = f"{platform.system()} {platform.release()}"
    return f"{system}, {os.cpu_count()} cores ({model}), Python {platform.python_version()}"


def report(
    runs: list[Run],
    memory: dict[str, dict[str, float]],
    affinity: dict[str, str],
    calls: int,
    clients_list: Sequence[int],
) -> None:
    print()
    print(
        "replicas clients  calls/s (range)        p50 ms  p99 ms   CPU in cores: replicas  load gen  fake  others"
        "   new Datadog connections per call"
    )
    for clients in clients_list:
        for count in (1, 2):
            mine = [run for run in runs if run.replicas == count and run.clients == clients]
            rates = [run.rate for run in mine]
            cpu = {name: statistics.median(run.cpu[name] for run in mine) for name in mine[0].cpu}
            print(
                f"{count:>8} {clients:>7}  {statistics.median(rates):7.0f} ({min(rates):4.0f}-{max(rates):4.0f})"
                f"    {statistics.median(run.percentile(0.5) for run in mine):6.1f}"
                f"  {statistics.median(run.percentile(0.99) for run in mine):6.1f}"
                f"   {cpu['replicas']:22.2f}  {cpu['load']:8.2f}  {cpu['fake']:4.2f}  {cpu['others']:6.2f}"
                f"   {statistics.median(run.connections / run.calls for run in mine):.3f}"
            )
    print()
    for clients in clients_list:
        rate = {
            count: statistics.median(run.rate for run in runs if run.replicas == count and run.clients == clients)
            for count in (1, 2)
        }
        gain = rate[2] / rate[1]
        verdict = "met" if gain >= 1.6 else "NOT met"
        print(f"{clients} clients: 2 replicas give {gain:.2f}x the calls/s of 1 (target 1.6x: {verdict})")
    print()
    per_call = {
        count: {
            name: statistics.median(run.cpu[name] / run.rate * 1000 for run in runs if run.replicas == count)
            for name in ("replicas", "load", "fake")
        }
        for count in (1, 2)
    }
    for count, costs in per_call.items():
        total = sum(costs.values())
        print(
            f"CPU ms per call with {count} replica(s): replicas {costs['replicas']:.2f}, load generator "
            f"{costs['load']:.2f}, fake {costs['fake']:.2f}; all {total:.2f}: "
            f"{os.cpu_count()} cores allow at most {1000 * (os.cpu_count() or 1) / total:.0f} calls/s"
        )
    print(f"CPU affinity: {', '.join(f'{name} {cpus}' for name, cpus in affinity.items())}")
    print()
    print(f"memory after {calls:,} calls each (MB): VmRSS at start -> after, VmHWM")
    for name, figures in memory.items():
        print(f"  {name}: {figures['start']:.1f} -> {figures['VmRSS']:.1f}, peak {figures['VmHWM']:.1f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3, help="runs of each configuration (default 3)")
    parser.add_argument("--calls", type=int, default=2000, help="calls per run (default 2000)")
    parser.add_argument(
        "--clients",
        type=lambda text: tuple(int(word) for word in text.split(",")),
        default=CLIENTS,
        help="numbers of concurrent clients, comma-separated (default 8,64)",
    )
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="the load generator's HTTP client: raw asyncio connections (default; cheap) or httpx.AsyncClient",
    )
    parser.add_argument(
        "--memory-calls",
        type=int,
        default=MEMORY_CALLS,
        help=f"calls each replica answers before its memory is read (default {MEMORY_CALLS})",
    )
    parser.add_argument("--fake-datadog", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.fake_datadog:
        asyncio.run(serve_fake())
        return 0
    print(describe_machine())
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}; load average at start {load_average()}")
    print(
        f"fake Datadog answers in {DELAY_MS} ms; {args.runs} runs of {args.calls} calls per configuration; "
        f"load generator: {args.client} client, alternating between the replicas' URLs (no proxy)"
    )
    try:
        with (
            tempfile.TemporaryDirectory(prefix="dd-mcp-bench-http-") as folder,
            started(3, Path(folder)) as (fake, replicas),
        ):
            start_memory = {replica.name: replica.memory_mb()["VmRSS"] for replica in replicas}
            single, pair = [replicas[0]], replicas[1:]
            for replica in replicas:
                asyncio.run(drive([replica], 8, WARM_UP_CALLS))
            runs = []
            for number in range(args.runs):
                for clients in args.clients:
                    for targets in (single, pair):
                        run = measure(fake, targets, clients, args.calls, args.client == "raw")
                        runs.append(run)
                        print(f"run {number + 1}: {run.summary()}; load {load_average()}", flush=True)
            for replica in replicas:
                missing = args.memory_calls - replica.served
                if missing > 0:
                    asyncio.run(drive([replica], 8, missing))
            memory = {
                replica.name + (" (alone)" if replica in single else " (of the pair)"): {
                    "start": start_memory[replica.name],
                    **replica.memory_mb(),
                }
                for replica in replicas
            }
            affinity = {"load generator": ",".join(map(str, sorted(os.sched_getaffinity(0))))}
            affinity.update({replica.name: replica.affinity() for replica in replicas})
            report(runs, memory, affinity, args.memory_calls, args.clients)
    except BenchError as exc:
        print(f"bench/http_replicas.py: {exc}", file=sys.stderr)
        return 1
    print(f"\nload average at the end {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
