"""RUM: what real users saw in the browser or app: sessions, views, errors, actions, resources."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from dd_mcp_server.common.attributes import ALL, pick, picked, queried_attributes
from dd_mcp_server.common.strip import drop_empty
from dd_mcp_server.common.timeparse import iso
from dd_mcp_server.tools.base import Cursor, End, Fields, Position, Start, datadog, search_page, window
from dd_mcp_server.tools.results import listing

# The fields an investigator reads, by dotted path inside a RUM event's attributes.
FIELDS = (
    "type",
    "application.name",
    "session.id",
    "view.name",
    "view.url",
    "error.type",
    "error.message",
    "error.source",
    "action.type",
    "action.target.name",
    "resource.url",
    "resource.status_code",
    "resource.duration",
    "view.loading_time",
    "usr.id",
    "geo.country",
    "browser.name",
    "os.name",
)


@listing("events")
async def search_rum_events(
    ctx: Context,
    query: Annotated[
        str,
        Field(
            max_length=4000,
            description="Search syntax",
        ),
    ] = "*",
    start: Start = None,
    end: End = None,
    limit: Annotated[int, Field(ge=1, le=1000, description="Page size")] = 25,
    cursor: Cursor = None,
    fields: Fields = None,
) -> dict[str, Any]:
    """RUM events: errors and slow views users saw. Example: query='@type:error'"""
    start_s, end_s = window(ctx, start, end)
    at = Position.read(cursor, limit)
    payload = await datadog(ctx).search_rum_events(query, iso(start_s), iso(end_s), at.size, at.cursor)
    asked = [*queried_attributes(query), *(f.removeprefix("@") for f in fields or ())]
    keep = [path for path in dict.fromkeys(asked) if path not in FIELDS]
    events = [_event(item, keep) for item in payload.get("data") or [] if isinstance(item, dict)]
    return search_page("events", events, payload, start_s, end_s, at)


def _event(item: dict[str, Any], keep: list[str]) -> dict[str, Any]:
    outer = item.get("attributes") or {}
    inner = outer.get("attributes") or {}
    shaped: dict[str, Any] = {"timestamp": outer.get("timestamp"), "service": outer.get("service")}
    for path in FIELDS:
        shaped[path] = pick(inner, path)
    if ALL in keep:
        shaped["attributes"] = inner
    elif keep:
        shaped["attributes"] = picked([inner, outer], keep)
    return drop_empty(shaped)  # type: ignore[no-any-return]


TOOLS = (search_rum_events,)
