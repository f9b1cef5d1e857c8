"""Events: deploys, config changes, alerts and other notable happenings in the event stream."""

from __future__ import annotations

from typing import Annotated, Any, Literal

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
    sources: Annotated[
        list[Annotated[str, Field(max_length=100)]] | None,
        Field(max_length=20, description="Only these sources"),
    ] = None,
    tags: Annotated[
        list[Annotated[str, Field(max_length=200)]] | None,
        Field(max_length=20, description="Only with all these tags"),
    ] = None,
    priority: Annotated[Literal["normal", "low"] | None, Field(description="Only this priority")] = None,
    fields: Fields = None,
    limit: Annotated[int, Field(ge=1, le=1000, description="Page size")] = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Events: deploys, config changes, alerts: what changed. Example: query='deploy'"""
    start_s, end_s = window(ctx, start, end)
    terms = [query.strip()] if query.strip() not in ("", "*") else []
    if sources:
        terms.append("source:(" + " OR ".join(sources) + ")")
    terms.extend(tags or [])
    if priority:
        terms.append(f"priority:{priority}")
    full_query = " ".join(terms) or "*"
    at = Position.read(cursor, limit)
    payload = await datadog(ctx).list_events(full_query, start_s * 1000, end_s * 1000, at.size, at.cursor)
    events = [
        select(_event(e), _SHOWN, strip_metadata(resource(e)), fields)
        for e in payload.get("data") or []
        if isinstance(e, dict)
    ]
    return {"query": full_query, **search_page("events", events, payload, start_s, end_s, at)}


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
