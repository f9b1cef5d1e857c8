"""What to try when an answer is empty: zero results is where a model gives up or makes things up.

Each hint costs one more request, made only when the answer is empty: the metric names reporting
that are closest to the one asked for, or the same search over the last day (how many it matches
there) and the services whose names are close to the one asked for. A hint is best effort: when its
request fails, the empty answer says what to try in general words, and nothing else changes.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from mcp.server.mcpserver import Context

from dd_mcp_server.common.timeparse import iso
from dd_mcp_server.services.datadog import DatadogClient
from dd_mcp_server.tools.base import aggregate_groups, datadog, gather, now

DAY = 86400
CLOSE = 5  # names offered at most
# `avg:system.cpu.user{...}`, `system.cpu.user{...}`: the first metric name of a query.
_METRIC = re.compile(r"(?:^|[:(,\s])([A-Za-z][A-Za-z0-9_.]*[A-Za-z0-9_])\s*\{")
_SERVICE = re.compile(r"(?<![@\w.])service:([A-Za-z0-9_.\-/*]+)")


async def metric_hint(ctx: Context, query: str) -> str:
    """Why a metric query may answer nothing, and the metric names reporting that are closest to its own."""
    client, end = datadog(ctx), int(now(ctx))
    found = _METRIC.search(query)
    advice = "Check the tags with get_metric_metadata, or widen the window."
    unknown = "No data for this query in this window. Check the metric name with list_metrics, " + advice.lower()
    if not found:
        return unknown
    name = found.group(1)
    try:
        payload = await client.list_metrics(end - DAY)
        names = [str(n) for n in (payload.get("metrics") or []) if isinstance(n, str)]
    except Exception:  # a hint is best effort: the empty answer stands without it
        return unknown
    if name not in names:
        close = difflib.get_close_matches(name, names, n=CLOSE, cutoff=0.6)
        offered = f"close names that did: {', '.join(close)}" if close else "list_metrics finds names by part"
        return f"No data: {name} reported nothing in the last day ({offered})."
    return f"No data for this query in this window, though {name} reports. {advice}"


async def search_hint(ctx: Context, kind: str, query: str) -> str:
    """Why a log or span search may find nothing: the same query over the last day, and close services."""
    client, end = datadog(ctx), int(now(ctx))
    start = iso(end - DAY)
    reads = {"count": _count(client, kind, query, start, iso(end))}
    asked = _SERVICE.search(query)
    if asked:
        reads["services"] = _services(client, kind, start, iso(end))
    try:
        got = await gather(reads)
    except Exception:  # a hint is best effort: the empty answer stands without it
        return "Nothing matches in this window: widen it, or loosen the query (search syntax)."
    said = [f"Nothing matches in this window; over the last day the same query matches {got['count']}."]
    if asked and asked.group(1) not in got["services"]:
        close = difflib.get_close_matches(asked.group(1), got["services"], n=CLOSE, cutoff=0.5)
        said.append(f"No service is named {asked.group(1)}" + (f"; close names: {', '.join(close)}." if close else "."))
    return " ".join(said)


async def _count(client: DatadogClient, kind: str, query: str, start: str, end: str) -> Any:
    groups = aggregate_groups(await _aggregate(client, kind, query, start, end, [], 1))
    return groups[0][1].get("c0", 0) if groups else 0


async def _services(client: DatadogClient, kind: str, start: str, end: str) -> list[str]:
    """The services that sent logs (or spans) in the window, the busiest first."""
    groups = aggregate_groups(await _aggregate(client, kind, "*", start, end, ["service"], 50))
    return [str(by.get("service")) for by, _ in groups]


async def _aggregate(
    client: DatadogClient, kind: str, query: str, start: str, end: str, group_by: list[str], limit: int
) -> Any:
    """A count of logs or of spans, maybe grouped."""
    if kind == "logs":
        return await client.aggregate_logs(query, start, end, "count", None, group_by, limit)
    return await client.aggregate_spans(query, start, end, "count", None, group_by, limit)
