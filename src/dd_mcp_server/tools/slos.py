"""SLOs: service level objectives with their targets and, where Datadog gives it, current status."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from dd_mcp_server.common.attributes import select
from dd_mcp_server.common.strip import drop_empty, strip_metadata
from dd_mcp_server.tools.base import Cursor, Fields, datadog, offset_cursor, resume_at
from dd_mcp_server.tools.results import listing

# Whether an SLO is met; `fields` adds the rest (description, thresholds, query, monitor_ids...).
_SHOWN = ("id", "name", "type", "target", "timeframe", "status", "tags")


@listing("slos", link="slo?slo_id={id}")
async def list_slos(
    ctx: Context,
    query: Annotated[str | None, Field(max_length=500, description="Name matches")] = None,
    tags: Annotated[
        str | None,
        Field(max_length=500, description="Only these tags"),
    ] = None,
    ids: Annotated[
        list[Annotated[str, Field(pattern=r"^[A-Za-z0-9]+$", max_length=64)]] | None,
        Field(max_length=100, description="Only these SLO ids"),
    ] = None,
    fields: Fields = None,
    limit: Annotated[int, Field(ge=1, le=1000, description="Page size")] = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """SLOs: target, status, budget left: is one burning. Example: tags='service:web'"""
    offset = offset_cursor(cursor)
    payload = await datadog(ctx).list_slos(",".join(ids) if ids else None, query, tags, limit, offset)
    slos = [
        select(_slo(item), _SHOWN, strip_metadata(item), fields)
        for item in payload.get("data") or []
        if isinstance(item, dict)
    ]
    result: dict[str, Any] = {"slos": slos, **resume_at(offset)}
    if len(slos) == limit:
        result["next_cursor"] = str(offset + limit)
    return result


def _slo(slo: dict[str, Any]) -> dict[str, Any]:
    thresholds = [
        drop_empty({k: t.get(k) for k in ("timeframe", "target", "warning")})
        for t in slo.get("thresholds") or []
        if isinstance(t, dict)
    ]
    status = [
        drop_empty({k: s.get(k) for k in ("timeframe", "status", "error_budget_remaining", "state", "indexed_at")})
        for s in slo.get("overall_status") or []
        if isinstance(s, dict)
    ]
    query = slo.get("query") or {}
    shaped = {
        "id": slo.get("id"),
        "name": slo.get("name"),
        "type": slo.get("type"),
        "description": slo.get("description"),
        "target": slo.get("target_threshold"),
        "timeframe": slo.get("timeframe"),
        "thresholds": thresholds,
        "status": status,
        "query": {k: query.get(k) for k in ("numerator", "denominator")} if query else None,
        "monitor_ids": slo.get("monitor_ids"),
        "tags": slo.get("tags"),
    }
    return drop_empty(shaped)  # type: ignore[no-any-return]


TOOLS = (list_slos,)
