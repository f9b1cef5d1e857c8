"""triage_service against the single-tool calls a model would make for the same facts.

Run: .venv/bin/python bench/investigate.py [latency_ms]
On the demo organisation, every Datadog request delayed by `latency_ms` (default 100, a cloud
round trip), prints: the bytes the model reads and the wall time of one triage_service call; the
same for the sequence of single-tool calls that gather its facts (made one after another, as a
model makes them); and the time of each triage section alone. Warm: the first mining of a process
imports drain3 first (about 100 ms), paid once before the figures. Issue 15 asks for at least 5x fewer
bytes, and a triage no slower than its slowest section plus 20%.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import anyio
import httpx
from mcp import Client

from dd_mcp_server.config import load_settings
from dd_mcp_server.demo.api import DemoApi
from dd_mcp_server.demo.org import Org
from dd_mcp_server.server import build_server
from dd_mcp_server.services.datadog import DatadogClient
from dd_mcp_server.tools.triage import Triage

SERVICE = "payments"
SCOPE = f"service:{SERVICE}"
# What a model calls, one after another, to learn what one triage_service answer says.
SINGLE_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("get_monitors", {"monitor_tags": SCOPE, "group_states": ["alert", "warn", "no data"]}),
    *[
        ("aggregate_spans", {"query": SCOPE, "compute": compute, "start": start, "end": end})
        for start, end in (("now-1h", "now"), ("now-2h", "now-1h"))
        for compute in ("count", "p50(@duration)", "p95(@duration)", "p99(@duration)")
    ],
    *[
        ("aggregate_spans", {"query": f"{SCOPE} status:error", "start": start, "end": end})
        for start, end in (("now-1h", "now"), ("now-2h", "now-1h"))
    ],
    *[
        ("aggregate_spans", {"query": query, "compute": compute, "group_by": ["resource_name"]})
        for query, compute in ((SCOPE, "p95(@duration)"), (f"{SCOPE} status:error", "count"))
    ],
    ("aggregate_logs", {"query": f"{SCOPE} status:error"}),
    ("aggregate_logs", {"query": f"{SCOPE} status:error", "start": "now-2h", "end": "now-1h"}),
    ("search_logs", {"query": f"{SCOPE} status:error", "limit": 100}),
    ("search_logs", {"query": f"{SCOPE} status:error", "limit": 100, "start": "now-2h", "end": "now-1h"}),
    ("aggregate_spans", {"query": SCOPE, "group_by": ["version"], "start": "now-2h"}),
    *[("list_spans", {"query": f"{SCOPE} version:{v}", "start": "now-2h", "limit": 1}) for v in ("2.13.2", "2.14.0")],
    ("get_events", {"query": SCOPE, "start": "now-2h"}),
    ("list_incidents", {"query": "state:active"}),
    ("list_services", {"query": SERVICE}),
]


class Delayed(httpx.AsyncBaseTransport):
    """The demo organisation, each answer `seconds` late, as over a network."""

    def __init__(self, seconds: float) -> None:
        self.api, self.seconds, self.requests = DemoApi(Org()), seconds, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        await anyio.sleep(self.seconds)
        await request.aread()
        return self.api.handle(request)


async def timed_calls(transport: Delayed, calls: list[tuple[str, dict[str, Any]]]) -> tuple[int, float]:
    """Bytes of the text the model reads, and the seconds the calls take one after another."""
    settings = load_settings({"DD_MCP_TOOLSETS": "all"}, demo=True)
    async with Client(build_server(settings, transport=transport)) as client:
        began, size = time.perf_counter(), 0
        for tool, arguments in calls:
            result = await client.call_tool(tool, arguments)
            size += sum(len(block.text.encode()) for block in result.content if hasattr(block, "text"))
        return size, time.perf_counter() - began


async def section_times(seconds: float) -> dict[str, float]:
    """Each triage section alone, on its own client."""
    times: dict[str, float] = {}
    now = int(time.time())
    for name in ("alerting", "traffic", "errors", "changes", "context"):
        client = DatadogClient(load_settings({}, demo=True), transport=Delayed(seconds))
        triage = Triage(client, SERVICE, SCOPE, now - 3600, now)
        began = time.perf_counter()
        await getattr(triage, name)()
        times[name] = time.perf_counter() - began
        await client.aclose()
    return times


async def main() -> None:
    seconds = (float(sys.argv[1]) if len(sys.argv) > 1 else 100) / 1000
    await timed_calls(Delayed(0), [("triage_service", {"service": SERVICE})])  # imports drain3 (~100 ms, once)
    one, many = Delayed(seconds), Delayed(seconds)
    triage_bytes, triage_time = await timed_calls(one, [("triage_service", {"service": SERVICE})])
    single_bytes, single_time = await timed_calls(many, SINGLE_CALLS)
    sections = await section_times(seconds)
    slowest = max(sections, key=sections.__getitem__)
    print(f"latency per Datadog request: {seconds * 1000:.0f} ms")
    print(f"triage_service: {triage_bytes:>7} bytes  {triage_time:6.2f} s  {one.requests} requests at once")
    calls = f"{len(SINGLE_CALLS)} calls, {many.requests} requests"
    print(f"single calls:   {single_bytes:>7} bytes  {single_time:6.2f} s  {calls}")
    print(f"bytes: {single_bytes / triage_bytes:.1f}x fewer; time: {single_time / triage_time:.1f}x faster")
    for name, took in sections.items():
        print(f"  section {name:<9} {took:6.2f} s")
    print(f"triage / slowest section ({slowest}): {triage_time / sections[slowest]:.2f} (goal <= 1.20)")


anyio.run(main)
