"""What the model reads, per tool, on the demo organisation: raw Datadog bytes, then the text of
the JSON form (DD_MCP_OUTPUT=json) and of the default table form, and the tool list.

Run: .venv/bin/python bench/tokens.py
Each row calls one tool through the in-memory MCP client, once per form; the demo transport is
wrapped to count the bytes of every response body the call received from the (demo) Datadog API.
Sizes are UTF-8 bytes of the text content, the part every host shows the model.
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


FORMS = ("json", "table")


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


# One row per call: tool, raw Datadog bytes, bytes of the JSON form, of the table form, "ok" or "error".
Row = tuple[str, int, int, int, str]


async def measure() -> tuple[list[Row], list[dict[str, Any]]]:
    """The row of every call in CALLS, and tools/list as the model receives it (bench/overhead.py uses both)."""
    counting = Counting(demo_transport())
    forms = {
        form: build_server(load_settings({"DD_MCP_OUTPUT": form}, demo=True), transport=counting) for form in FORMS
    }
    rows: list[Row] = []
    async with Client(forms["json"]) as json_client, Client(forms["table"]) as table_client:
        ids = {
            "<first monitor>": await first(json_client, "get_monitors", "monitors", "id"),
            "<first dashboard>": await first(json_client, "list_dashboards", "dashboards", "id"),
            "<first incident>": await first(json_client, "list_incidents", "incidents", "id"),
            "<first trace>": await first(json_client, "list_spans", "spans", "trace_id", {"limit": 1}),
            "<first notebook>": await first(json_client, "list_notebooks", "notebooks", "id"),
        }
        for tool, args in CALLS:
            args = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in args.items()}
            counting.bytes = 0
            as_json = await json_client.call_tool(tool, args)
            raw = counting.bytes
            as_table = await table_client.call_tool(tool, args)
            status = "error" if as_json.is_error or as_table.is_error else "ok"
            rows.append((tool, raw, size(as_json), size(as_table), status))
        tools = (await table_client.list_tools()).tools
    return rows, [t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in tools]


async def main() -> None:
    rows, listed = await measure()
    print(f"{'tool':<22} {'raw':>8} {'json':>7} {'table':>7} {'json/table':>10}  status")
    for tool, raw, json_size, table_size, status in rows:
        print(f"{tool:<22} {raw:>8} {json_size:>7} {table_size:>7} {json_size / max(table_size, 1):>9.2f}x  {status}")
    totals = [sum(row[1] for row in rows), sum(row[2] for row in rows), sum(row[3] for row in rows)]
    print(f"{'total':<22} {totals[0]:>8} {totals[1]:>7} {totals[2]:>7} {totals[1] / max(totals[2], 1):>9.2f}x")
    tool_list = len(json.dumps(listed, separators=(",", ":"), ensure_ascii=False).encode())
    print(f"tools/list: {len(listed)} tools, {tool_list} bytes")
    print(json.dumps({"raw": totals[0], "json": totals[1], "table": totals[2], "tool_list": tool_list}))


def size(result: Any) -> int:
    """UTF-8 bytes of the text the model reads."""
    return sum(len(block.text.encode()) for block in result.content if hasattr(block, "text"))


if __name__ == "__main__":
    anyio.run(main)
