"""Dashboards: find them by title, read one reduced to its widgets' titles and queries."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from dd_mcp_server.common.attributes import select
from dd_mcp_server.common.strip import drop_empty, strip_metadata
from dd_mcp_server.common.widgets import simplify_widgets
from dd_mcp_server.tools.base import Cursor, Fields, datadog, offset_cursor, resume_at
from dd_mcp_server.tools.results import listing, narrow

# What finds a dashboard; `fields` adds the rest (description, url, layout_type...).
_SHOWN = ("id", "title", "author_handle", "modified_at")


@listing("dashboards", link="dashboard/{id}")
async def list_dashboards(
    ctx: Context,
    query: Annotated[
        str | None,
        Field(max_length=200, description="Text in title, description"),
    ] = None,
    fields: Fields = None,
    limit: Annotated[int, Field(ge=1, le=1000, description="Page size")] = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Dashboards by title: find a service's. Example: query='checkout'"""
    offset = offset_cursor(cursor)
    client = datadog(ctx)
    if query:
        payload = await client.list_dashboards()
        needle = query.lower()
        found = [
            d
            for d in payload.get("dashboards") or []
            if needle in f"{d.get('title') or ''} {d.get('description') or ''}".lower()
        ]
        page, more = found[offset : offset + limit], offset + limit < len(found)
    else:
        payload = await client.list_dashboards(count=limit, start=offset)
        page = payload.get("dashboards") or []
        more = len(page) == limit
    dashboards = [select(_summary(d), _SHOWN, strip_metadata(d), fields) for d in page if isinstance(d, dict)]
    result: dict[str, Any] = {"dashboards": dashboards, **resume_at(offset)}
    if more:
        result["next_cursor"] = str(offset + limit)
    return result


def _summary(dashboard: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "title", "description", "url", "author_handle", "modified_at")
    return drop_empty({k: dashboard.get(k) for k in keys})  # type: ignore[no-any-return]


@narrow("run a widget's query alone with query_metrics, or raise DD_MCP_MAX_RESULT_CHARS")
async def get_dashboard(
    ctx: Context,
    dashboard_id: Annotated[
        str,
        Field(
            min_length=1,
            max_length=100,
            pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$",
            description="Dashboard id",
        ),
    ],
) -> dict[str, Any]:
    """A dashboard's widgets and queries: what a team watches. Example: dashboard_id='abc-def-ghi'"""
    dashboard = await datadog(ctx).get_dashboard(dashboard_id)
    shaped = {
        "id": dashboard.get("id"),
        "title": dashboard.get("title"),
        "description": dashboard.get("description"),
        "url": dashboard.get("url"),
        "template_variables": [
            {k: v.get(k) for k in ("name", "prefix", "default", "defaults")}
            for v in dashboard.get("template_variables") or []
            if isinstance(v, dict)
        ],
        "widgets": simplify_widgets(dashboard.get("widgets")),
    }
    return drop_empty(shaped)  # type: ignore[no-any-return]


TOOLS = (list_dashboards, get_dashboard)
