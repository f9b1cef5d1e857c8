"""Hosts: the infrastructure list with status, apps, tags and the latest CPU, iowait and load."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from pydantic import Field

from dd_mcp_server.common.attributes import select
from dd_mcp_server.common.strip import drop_empty, strip_metadata
from dd_mcp_server.common.timeparse import TimeArg, iso
from dd_mcp_server.tools.base import Cursor, Fields, datadog, offset_cursor, resume_at, window
from dd_mcp_server.tools.results import listing

# What tells a host apart and whether it is down or busy; `fields` adds the rest (platform, meta.*...).
_SHOWN = ("name", "up", "muted", "last_reported", "apps", "tags", "metrics", "aliases")


@listing("hosts")
async def list_hosts(
    ctx: Context,
    filter: Annotated[
        str | None,
        Field(
            max_length=1000,
            description="Name, alias or tag",
        ),
    ] = None,
    sort_field: Annotated[
        Literal["name", "status", "apps", "cpu", "iowait", "load"] | None,
        Field(description="Sort by"),
    ] = None,
    sort_dir: Annotated[Literal["asc", "desc"] | None, Field(description="Sort direction")] = None,
    start: Annotated[
        TimeArg,
        Field(description="A time: seen since"),
    ] = None,
    fields: Fields = None,
    limit: Annotated[int, Field(ge=1, le=1000, description="Page size")] = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Hosts: up, apps, tags, CPU, load: which are down or busy. Example: sort_field='cpu', sort_dir='desc'"""
    since, _ = window(ctx, start, None)
    offset = offset_cursor(cursor)
    payload = await datadog(ctx).list_hosts(filter, sort_field, sort_dir, offset, limit, since)
    hosts = [
        select(_host(h), _SHOWN, strip_metadata(h), fields)
        for h in payload.get("host_list") or []
        if isinstance(h, dict)
    ]
    total = payload.get("total_matching")
    result: dict[str, Any] = {"hosts": hosts, "total_matching": total, **resume_at(offset)}
    if isinstance(total, int) and offset + len(hosts) < total and hosts:
        result["next_cursor"] = str(offset + len(hosts))
    return result


def _host(host: dict[str, Any]) -> dict[str, Any]:
    meta = host.get("meta") or {}
    tags = [tag for source_tags in (host.get("tags_by_source") or {}).values() for tag in source_tags or []]
    reported = host.get("last_reported_time")
    shaped = {
        "name": host.get("name") or host.get("host_name"),
        "up": host.get("up"),
        "muted": host.get("is_muted") or None,
        "last_reported": iso(reported) if isinstance(reported, int | float) else None,
        "apps": host.get("apps"),
        "sources": host.get("sources"),
        "tags": sorted(set(tags)),
        "metrics": host.get("metrics"),
        "platform": meta.get("platform"),
        "agent_version": meta.get("agent_version"),
        "cpu_cores": meta.get("cpuCores"),
        "aliases": [a for a in host.get("aliases") or [] if a != host.get("name")],
    }
    return drop_empty(shaped)  # type: ignore[no-any-return]


TOOLS = (list_hosts,)
