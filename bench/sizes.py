"""Raw Datadog bytes versus what the model reads, per tool, on the demo organisation.

Run: .venv/bin/python bench/sizes.py
Each row calls one tool through the in-memory MCP client; the demo transport is wrapped to count
the bytes of every response body the tool's call received from the (demo) Datadog API.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
from mcp import Client

from dd_mcp_server.config import load_settings
from dd_mcp_server.demo import demo_transport
from dd_mcp_server.server import build_server

CALLS: list[tuple[str, dict[str, Any]]] = [
    ("query_metrics", {"query": "avg:system.cpu.user{*} by {host}", "start": "now-1d"}),
    ("list_metrics", {"start": "now-1d"}),
    ("get_metric_metadata", {"metric_name": "system.cpu.user"}),
    ("search_logs", {"query": "*", "limit": 50}),
    ("aggregate_logs", {"query": "status:error", "group_by": ["service"]}),
    ("get_monitors", {}),
    ("get_monitor", {"monitor_id": "<first monitor>"}),
    ("list_dashboards", {}),
    ("get_dashboard", {"dashboard_id": "<first dashboard>"}),
    ("list_hosts", {}),
    ("get_events", {"start": "now-1d"}),
    ("list_incidents", {}),
    ("get_incident", {"incident_id": "<first incident>"}),
    ("list_spans", {"query": "*", "limit": 25}),
    ("aggregate_spans", {"compute": "p95(@duration)", "group_by": ["resource_name"]}),
    ("get_trace", {"trace_id": "<first trace>"}),
    ("list_services", {}),
    ("get_synthetics_tests", {}),
    ("search_rum_events", {"limit": 25}),
    ("list_slos", {}),
    ("list_downtimes", {}),
    ("list_notebooks", {}),
    ("get_notebook", {"notebook_id": "<first notebook>"}),
]


class Counting(httpx.AsyncBaseTransport):
    """Passes requests to the demo and adds up the response body bytes."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.bytes = 0
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        self.bytes += len(body)
        self.paths.append(f"{request.method} {request.url.path}")
        return httpx.Response(response.status_code, headers=response.headers, content=body, request=request)


async def first(client: Client, tool: str, key: str, field: str, args: dict[str, Any] | None = None) -> Any:
    result = await client.call_tool(tool, args or {})
    items = (result.structured_content or {}).get(key) or [{}]
    return items[0].get(field)


async def main() -> None:
    counting = Counting(demo_transport())
    server = build_server(load_settings({}, demo=True), transport=counting)
    rows = []
    async with Client(server) as client:
        ids = {
            "<first monitor>": await first(client, "get_monitors", "monitors", "id"),
            "<first dashboard>": await first(client, "list_dashboards", "dashboards", "id"),
            "<first incident>": await first(client, "list_incidents", "incidents", "id"),
            "<first trace>": await first(client, "list_spans", "spans", "trace_id", {"limit": 1}),
            "<first notebook>": await first(client, "list_notebooks", "notebooks", "id"),
        }
        for tool, args in CALLS:
            args = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in args.items()}
            counting.bytes, counting.paths = 0, []
            result = await client.call_tool(tool, args)
            text = result.content[0].text if result.content else ""  # type: ignore[union-attr]
            status = "error" if result.is_error else "ok"
            endpoints = ", ".join(dict.fromkeys(counting.paths))
            rows.append((tool, endpoints, counting.bytes, len(text), status))
    print(f"{'tool':<22} {'raw bytes':>10} {'returned':>9} {'ratio':>6}  status  endpoint")
    for tool, endpoints, raw, returned, status in rows:
        ratio = f"{raw / returned:.1f}x" if returned else "-"
        print(f"{tool:<22} {raw:>10} {returned:>9} {ratio:>6}  {status:<6}  {endpoints}")
    total_raw = sum(r[2] for r in rows)
    total_returned = sum(r[3] for r in rows)
    print(f"{'total':<22} {total_raw:>10} {total_returned:>9} {total_raw / max(total_returned, 1):.1f}x")
    print(json.dumps({"tools": len(rows), "raw_bytes": total_raw, "returned_chars": total_returned}))


if __name__ == "__main__":
    anyio.run(main)
