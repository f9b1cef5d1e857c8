"""Downtimes: scheduled and active silences of monitors, and what they cover."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from pydantic import Field

from dd_mcp_server.common.attributes import resource, select
from dd_mcp_server.common.strip import drop_empty, strip_metadata
from dd_mcp_server.common.text import clip
from dd_mcp_server.tools.base import Cursor, Fields, datadog, offset_cursor, resume_at
from dd_mcp_server.tools.results import listing

Status = Literal["active", "scheduled", "ended", "canceled"]
_MESSAGE_CHARS = 160  # of the first line: the rest is one `fields=['message']` away
# What a downtime silences and when; `fields` adds the rest (timezone, mute_first_recovery_notification...).
_SHOWN = ("id", "status", "scope", "monitor", "start", "end", "recurrences", "message")


@listing("downtimes")
async def list_downtimes(
    ctx: Context,
    status: Annotated[
        list[Status],
        Field(min_length=1, max_length=4, description="States to include"),
    ] = ["active", "scheduled"],  # noqa: B006  (pydantic copies defaults; never mutated)
    fields: Fields = None,
    limit: Annotated[int, Field(ge=1, le=1000, description="Page size")] = 100,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Downtimes: was an alert silenced. Example: status=['active']"""
    offset = offset_cursor(cursor)
    payload = await datadog(ctx).list_downtimes(list(status) == ["active"], limit, offset)
    raw = [item for item in payload.get("data") or [] if isinstance(item, dict)]
    wanted = set(status)
    downtimes = [
        select(_downtime(item), _SHOWN, strip_metadata(resource(item)), fields)
        for item in raw
        if (item.get("attributes") or {}).get("status") in wanted
    ]
    result: dict[str, Any] = {"downtimes": downtimes, **resume_at(offset)}
    if len(raw) == limit:
        result["next_cursor"] = str(offset + limit)
    return result


def _downtime(item: dict[str, Any]) -> dict[str, Any]:
    attributes = item.get("attributes") or {}
    schedule = attributes.get("schedule") or {}
    shaped = {
        "id": item.get("id"),
        "status": attributes.get("status"),
        "scope": attributes.get("scope"),
        "monitor": attributes.get("monitor_identifier"),
        "start": schedule.get("start") or (schedule.get("current_downtime") or {}).get("start"),
        "end": schedule.get("end") or (schedule.get("current_downtime") or {}).get("end"),
        "recurrences": [
            drop_empty({k: r.get(k) for k in ("rrule", "duration", "start")})
            for r in schedule.get("recurrences") or []
            if isinstance(r, dict)
        ],
        "timezone": schedule.get("timezone"),
        "message": clip(str(attributes.get("message") or "").strip().split("\n", 1)[0], _MESSAGE_CHARS),
    }
    return drop_empty(shaped)  # type: ignore[no-any-return]


TOOLS = (list_downtimes,)
