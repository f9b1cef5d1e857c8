"""Logs: search raw log events, or aggregate them into counts and measures grouped by facets."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from dd_mcp_server.common.aggregates import aggregate_result
from dd_mcp_server.common.attributes import resource, select
from dd_mcp_server.common.compute import parse_compute
from dd_mcp_server.common.text import clip
from dd_mcp_server.common.timeparse import iso
from dd_mcp_server.tools.base import (
    Cursor,
    End,
    Facet,
    Fields,
    GroupLimit,
    Position,
    Start,
    datadog,
    search_page,
    window,
)
from dd_mcp_server.tools.empty import search_hint
from dd_mcp_server.tools.results import listing

# What identifies a log line in a list; the rest is one `fields` away, or the log's own page by id.
_SHOWN = ("timestamp", "status", "service", "host", "message")
_MESSAGE_CHARS = 300

LogQuery = Annotated[
    str,
    Field(
        max_length=4000,
        description="Search syntax",
    ),
]
Indexes = Annotated[
    list[Annotated[str, Field(max_length=100)]] | None,
    Field(max_length=20, description="Log indexes"),
]


@listing("logs")
async def search_logs(
    ctx: Context,
    query: LogQuery = "*",
    start: Start = None,
    end: End = None,
    limit: Annotated[int, Field(ge=1, le=1000, description="Page size")] = 50,
    cursor: Cursor = None,
    indexes: Indexes = None,
    fields: Fields = None,
) -> dict[str, Any]:
    """Log lines, newest first; to count: aggregate_logs. Example: query='service:web status:error'"""
    start_s, end_s = window(ctx, start, end)
    at = Position.read(cursor, limit)
    client = datadog(ctx)
    payload = await client.search_logs(query, iso(start_s), iso(end_s), at.size, at.cursor, indexes)
    logs = [_shape_log(item, fields) for item in payload.get("data") or [] if isinstance(item, dict)]
    page = search_page("logs", logs, payload, start_s, end_s, at)
    if not logs and not cursor:
        page["note"] = await search_hint(ctx, "logs", query)
    return page


def _shape_log(item: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    """A log line as a list shows it; its other attributes (`@http.status_code`, `tags`) by `fields`."""
    full = resource(item)
    summary = {**full, "message": clip(str(full.get("message") or ""), _MESSAGE_CHARS)}
    return {k: v for k, v in select(summary, _SHOWN, full, fields).items() if v not in (None, "")}


@listing("groups")
async def aggregate_logs(
    ctx: Context,
    query: LogQuery = "*",
    start: Start = None,
    end: End = None,
    compute: Annotated[
        str,
        Field(
            max_length=200,
            description="An aggregation",
        ),
    ] = "count",
    group_by: Annotated[
        list[Facet],
        Field(
            max_length=4,
            description="Facets. Empty: one total",
        ),
    ] = [],  # noqa: B006  (pydantic copies defaults; this is the schema's default, never mutated)
    limit: GroupLimit = 10,
    indexes: Indexes = None,
) -> dict[str, Any]:
    """Log counts or measures by facet: errors per service. Example: group_by=['service']"""
    aggregation, metric = parse_compute(compute)
    start_s, end_s = window(ctx, start, end)
    client = datadog(ctx)
    payload = await client.aggregate_logs(
        query, iso(start_s), iso(end_s), aggregation, metric, list(group_by), limit, indexes
    )
    buckets = ((payload.get("data") or {}).get("buckets")) or []
    groups = [{**(b.get("by") or {}), "value": (b.get("computes") or {}).get("c0")} for b in buckets]
    result = aggregate_result(query, compute, start_s, end_s, groups, grouped=bool(group_by))
    if not groups:
        result["note"] = await search_hint(ctx, "logs", query)
    return result


TOOLS = (search_logs, aggregate_logs)
