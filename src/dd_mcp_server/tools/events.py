"""Events: deploys, config changes, alerts and other notable happenings in the event stream."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from dd_mcp_server.common.attributes import resource, select
from dd_mcp_server.common.strip import drop_empty, strip_metadata
from dd_mcp_server.common.text import clip
from dd_mcp_server.tools.base import Cursor, End, Fields, Position, Start, datadog, search_page, window
from dd_mcp_server.tools.results import listing

_MESSAGE_CHARS = 300  # the rest is one `fields=['message']` away
# What says what happened, where and when; `fields` adds the rest (priority, host, evt.*...).
_SHOWN = ("id", "timestamp", "title", "message", "source", "service", "status", "alert_type", "tags")


@listing("events")
async def get_events(
    ctx: Context,
    query: Annotated[
        str,
        Field(max_length=4000, description="Search syntax"),
    ] = "*",
    start: Start = None,
    end: End = None,
    fields: Fields = None,
    limit: Annotated[int, Field(ge=1, le=1000, description="Page size")] = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Events: deploys, config changes, alerts: what changed. Example: query='source:github env:prod'"""
    start_s, end_s = window(ctx, start, end)
    at = Position.read(cursor, limit)
    payload = await datadog(ctx).list_events(query.strip() or "*", start_s * 1000, end_s * 1000, at.size, at.cursor)
    events = [
        select(_event(e), _SHOWN, strip_metadata(resource(e)), fields)
        for e in payload.get("data") or []
        if isinstance(e, dict)
    ]
    return {**search_page("events", events, payload, start_s, end_s, at)}


def _event(item: dict[str, Any]) -> dict[str, Any]:
    outer = item.get("attributes") or {}
    inner = outer.get("attributes") or {}
    message = str(outer.get("message") or "")
    shaped = {
        "id": item.get("id"),
        "timestamp": outer.get("timestamp"),
        "title": inner.get("title"),
        "message": clip(message, _MESSAGE_CHARS),
        "source": inner.get("source_type_name") or (inner.get("evt") or {}).get("source_id"),
        "service": inner.get("service"),
        "status": inner.get("status"),
        "priority": inner.get("priority"),
        "alert_type": inner.get("alert_type"),
        "tags": outer.get("tags"),
    }
    return drop_empty(shaped)  # type: ignore[no-any-return]


TOOLS = (get_events,)
