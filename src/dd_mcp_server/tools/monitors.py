"""Monitors: list them with their state, or read one in full with the state of each group."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from pydantic import Field

from dd_mcp_server.common.attributes import select
from dd_mcp_server.common.strip import drop_empty, strip_metadata
from dd_mcp_server.common.text import clip
from dd_mcp_server.common.timeparse import iso
from dd_mcp_server.tools.base import Cursor, Fields, Position, datadog, offset_cursor
from dd_mcp_server.tools.results import RESUME, listing, narrow

GroupState = Literal["all", "alert", "warn", "no data"]
_STATE_NAMES = {"alert": "Alert", "warn": "Warn", "no data": "No Data"}
_GROUPS_SHOWN = 10
_MESSAGE_CHARS = 160  # of the first line: the rest is one get_monitor away
# What identifies and triages a monitor; `fields` adds any other (query, message, options...).
_SHOWN = ("id", "name", "type", "state", "priority", "tags", "groups")
# What get_monitor reads of a monitor: named, so that Datadog's answer can add nothing unexpected.
_DETAIL_KEYS = (
    "id",
    "name",
    "type",
    "overall_state",
    "priority",
    "query",
    "message",
    "tags",
    "options",
    "multi",
    "created",
)


@listing("monitors", link="monitors/{id}")
async def get_monitors(
    ctx: Context,
    name: Annotated[str | None, Field(max_length=500, description="Name contains")] = None,
    tags: Annotated[
        str | None,
        Field(max_length=1000, description="Scope tags, comma-separated"),
    ] = None,
    monitor_tags: Annotated[
        str | None,
        Field(max_length=1000, description="Monitor tags, comma-separated"),
    ] = None,
    group_states: Annotated[
        list[GroupState] | None,
        Field(
            max_length=5,
            description="Only these states; 'all': every group's",
        ),
    ] = None,
    fields: Fields = None,
    limit: Annotated[int, Field(ge=1, le=1000, description="Page size")] = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Monitors and states: what alerts. Example: group_states=['alert']"""
    at = Position.read(cursor, limit)
    page = offset_cursor(at.cursor)
    states = ",".join(group_states) if group_states else None
    payload = await datadog(ctx).list_monitors(name, tags, monitor_tags, states, page, at.size)
    raw = [m for m in payload if isinstance(m, dict)] if isinstance(payload, list) else []
    wanted = {_STATE_NAMES[s] for s in group_states or () if s in _STATE_NAMES}
    if "all" in (group_states or ()):
        wanted = set()
    monitors = [
        select(_summary(m), _SHOWN, strip_metadata(m), fields)
        for m in raw
        if not wanted or m.get("overall_state") in wanted
    ]
    monitors = monitors[at.skip :]
    result: dict[str, Any] = {
        "monitors": monitors,
        RESUME: at.after,
        "states": dict(Counter(str(m.get("state")) for m in monitors)),
    }
    if len(raw) == at.size:
        result["next_cursor"] = str(page + 1)
    return result


def _summary(monitor: dict[str, Any]) -> dict[str, Any]:
    message = str(monitor.get("message") or "")
    shaped = {
        "id": monitor.get("id"),
        "name": monitor.get("name"),
        "type": monitor.get("type"),
        "state": monitor.get("overall_state"),
        "priority": monitor.get("priority"),
        "query": monitor.get("query"),
        "tags": monitor.get("tags"),
        "message": clip(message.strip().split("\n", 1)[0], _MESSAGE_CHARS),
        "groups": [
            f"{name}: {group.get('status')}"
            for name, group in list(((monitor.get("state") or {}).get("groups") or {}).items())[:_GROUPS_SHOWN]
            if isinstance(group, dict)
        ],
    }
    return drop_empty(shaped)  # type: ignore[no-any-return]


@narrow("the groups in one state only: get_monitors with group_states=['alert']")
async def get_monitor(
    ctx: Context,
    monitor_id: Annotated[int, Field(ge=1, description="Monitor id")],
) -> dict[str, Any]:
    """One monitor, each group's state: why it fires. Example: monitor_id=1234567"""
    monitor = strip_metadata(await datadog(ctx).get_monitor(monitor_id))
    shaped = {key: monitor.get(key) for key in _DETAIL_KEYS}
    state = monitor.get("state") or {}
    groups = [_group(str(name), g) for name, g in (state.get("groups") or {}).items() if isinstance(g, dict)]
    groups.sort(key=lambda g: (g.get("status") == "OK", g["group"]))
    shaped["groups"] = groups
    return drop_empty(shaped)  # type: ignore[no-any-return]


def _group(name: str, group: dict[str, Any]) -> dict[str, Any]:
    shaped: dict[str, Any] = {"group": name, "status": group.get("status")}
    for key in ("last_triggered_ts", "last_nodata_ts", "last_resolved_ts"):
        if group.get(key):
            shaped[key.removesuffix("_ts")] = iso(group[key])
    return shaped


TOOLS = (get_monitors, get_monitor)
