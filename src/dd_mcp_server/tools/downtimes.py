"""Downtimes: scheduled and active silences of monitors, and what they cover."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from pydantic import Field

from dd_mcp_server.common.strip import drop_empty
from dd_mcp_server.tools.base import Cursor, datadog, offset_cursor, resume_at
from dd_mcp_server.tools.results import listing

Status = Literal["active", "scheduled", "ended", "canceled"]


@listing("downtimes")
async def list_downtimes(
    ctx: Context,
    status: Annotated[
        list[Status],
        Field(min_length=1, max_length=4, description="States to include"),
    ] = ["active", "scheduled"],  # noqa: B006  (pydantic copies defaults; never mutated)
    limit: Annotated[int, Field(ge=1, le=1000, description="Read per page")] = 100,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Downtimes: was an alert silenced. Example: status=['active']"""
    offset = offset_cursor(cursor)
    payload = await datadog(ctx).list_downtimes(list(status) == ["active"], limit, offset)
    raw = [item for item in payload.get("data") or [] if isinstance(item, dict)]
    wanted = set(status)
    downtimes = [_downtime(item) for item in raw if (item.get("attributes") or {}).get("status") in wanted]
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
        "message": attributes.get("message"),
    }
    return drop_empty(shaped)  # type: ignore[no-any-return]


TOOLS = (list_downtimes,)
