"""Metrics: query time series, find metric names, read a metric's metadata."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from dd_mcp_server.common.series import downsample
from dd_mcp_server.common.timeparse import TimeArg, iso
from dd_mcp_server.tools.base import Cursor, End, Start, datadog, offset_cursor, resume_at, window
from dd_mcp_server.tools.empty import metric_hint
from dd_mcp_server.tools.results import listing, narrow

TAG_WINDOW_SECONDS = 86400
TAG_SAMPLE = 10


@narrow("a shorter window, fewer groups (a narrower scope or no 'by {...}'), or top(...) in the query")
async def query_metrics(
    ctx: Context,
    query: Annotated[
        str,
        Field(
            min_length=1,
            max_length=4000,
            description="Datadog metric query",
        ),
    ],
    start: Start = None,
    end: End = None,
) -> dict[str, Any]:
    """Metric series, 50 points at most, with min, max, avg of all: how a metric behaved.
    Example: query='avg:system.cpu.user{*} by {host}'
    """
    start_s, end_s = window(ctx, start, end)
    client = datadog(ctx)
    payload = await client.query_metrics(query, start_s, end_s)
    series = [_shape_series(s) for s in series_of(payload)]
    result: dict[str, Any] = {"query": query, "from": iso(start_s), "to": iso(end_s), "series": series}
    if not series:
        result["note"] = await metric_hint(ctx, query)
    return result


def series_of(payload: Any) -> list[dict[str, Any]]:
    """The series of a v1 query answer; a query Datadog could not run is said, never read as no data."""
    if isinstance(payload, dict) and payload.get("status") == "error":
        raise ToolError(f"Datadog could not run the metric query: {payload.get('error') or 'no reason given'}")
    found = payload.get("series") if isinstance(payload, dict) else None
    return [s for s in found or [] if isinstance(s, dict)]


def _shape_series(series: dict[str, Any]) -> dict[str, Any]:
    shaped: dict[str, Any] = {"metric": series.get("metric"), "scope": series.get("scope")}
    expression = series.get("expression")
    if expression and expression != series.get("metric"):
        shaped["expression"] = expression
    units = [u for u in series.get("unit") or [] if isinstance(u, dict)]
    if units:
        shaped["unit"] = units[0].get("name")
    if series.get("interval"):
        shaped["interval_s"] = series["interval"]
    shaped.update(downsample(series.get("pointlist") or []))
    return shaped


@listing("metrics")
async def list_metrics(
    ctx: Context,
    query: Annotated[
        str | None,
        Field(
            max_length=200,
            description="Name contains",
        ),
    ] = None,
    host: Annotated[str | None, Field(max_length=255, description="Reporting host")] = None,
    tag_filter: Annotated[
        str | None,
        Field(max_length=1000, description="Tags: 'env:prod AND service:web'"),
    ] = None,
    start: Annotated[
        TimeArg,
        Field(description="A time: seen since"),
    ] = None,
    limit: Annotated[int, Field(ge=1, le=1000, description="Page size")] = 100,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Names of metrics reporting lately, for query_metrics. Example: query='system.disk'"""
    since, _ = window(ctx, start, None)
    offset = offset_cursor(cursor)
    payload = await datadog(ctx).list_metrics(since, host=host, tag_filter=tag_filter)
    names = sorted(str(name) for name in payload.get("metrics") or [])
    if query:
        needle = query.lower()
        names = [name for name in names if needle in name.lower()]
    page = names[offset : offset + limit]
    result: dict[str, Any] = {"metrics": page, "total": len(names), **resume_at(offset)}
    if offset + limit < len(names):
        result["next_cursor"] = str(offset + limit)
    return result


@narrow("include_tags=false, then the tag values you need with list_metrics or query_metrics")
async def get_metric_metadata(
    ctx: Context,
    metric_name: Annotated[
        str,
        Field(
            min_length=1,
            max_length=200,
            pattern=r"^[A-Za-z][A-Za-z0-9_.]*$",
            description="Exact name",
        ),
    ],
    include_tags: Annotated[bool, Field(description="Add tag keys")] = True,
) -> dict[str, Any]:
    """A metric's type, unit and tag keys: to write its query. Example: metric_name='system.cpu.user'"""
    client = datadog(ctx)
    payload = await client.get_metric_metadata(metric_name)
    fields = ("type", "unit", "per_unit", "description", "short_name", "integration", "statsd_interval")
    result = {"metric_name": metric_name, **{k: payload[k] for k in fields if payload.get(k) not in (None, "")}}
    if include_tags:
        tags = await client.get_metric_tags(metric_name, TAG_WINDOW_SECONDS)
        found = ((tags.get("data") or {}).get("attributes") or {}).get("tags") or []
        result["tags"] = group_tags(found)
    return result


def group_tags(tags: list[Any]) -> dict[str, Any]:
    """{key: [sample values]} from 'key:value' tags; a key with more values notes how many in all."""
    values: dict[str, list[str]] = {}
    for tag in tags:
        key, _, value = str(tag).partition(":")
        values.setdefault(key, []).append(value)
    grouped: dict[str, Any] = {}
    for key, found in sorted(values.items()):
        distinct = sorted(set(found))
        sample: list[Any] = distinct[:TAG_SAMPLE]
        if len(distinct) > TAG_SAMPLE:
            sample.append(f"…{len(distinct) - TAG_SAMPLE} more")
        grouped[key] = sample
    return grouped


TOOLS = (query_metrics, list_metrics, get_metric_metadata)
