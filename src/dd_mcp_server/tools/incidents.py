"""Incidents: list declared incidents and read one with its timeline-relevant fields."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from dd_mcp_server.common.attributes import resource, select
from dd_mcp_server.common.strip import drop_empty, strip_metadata
from dd_mcp_server.tools.base import Cursor, Fields, datadog, offset_cursor, resume_at
from dd_mcp_server.tools.results import listing, narrow

DEFAULT_QUERY = "state:(active OR stable OR resolved)"
_SUMMARY_KEYS = ("title", "severity", "state", "customer_impacted", "created", "detected", "resolved")
# Every summary field is shown; `fields` adds any other of the incident's (time_to_repair, fields.teams...).
_SHOWN = ("id", "public_id", *_SUMMARY_KEYS, "services")
_DETAIL_KEYS = (
    "title",
    "severity",
    "state",
    "customer_impacted",
    "customer_impact_scope",
    "customer_impact_start",
    "customer_impact_end",
    "created",
    "declared",
    "detected",
    "resolved",
    "time_to_detect",
    "time_to_repair",
    "time_to_resolve",
)


@listing("incidents", link="incidents/{public_id}")
async def list_incidents(
    ctx: Context,
    query: Annotated[
        str | None,
        Field(
            max_length=1000,
            description="Incident search",
        ),
    ] = None,
    fields: Fields = None,
    limit: Annotated[int, Field(ge=1, le=100, description="Page size")] = 20,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Incidents, newest first: is one open. Example: query='state:active'"""
    offset = offset_cursor(cursor)
    payload = await datadog(ctx).search_incidents(query or DEFAULT_QUERY, limit, offset)
    found = ((payload.get("data") or {}).get("attributes") or {}).get("incidents") or []
    incidents = [
        select(_summary(data), _SHOWN, strip_metadata(resource(data)), fields)
        for data in (wrapper.get("data") for wrapper in found if isinstance(wrapper, dict))
        if isinstance(data, dict)
    ]
    result: dict[str, Any] = {"incidents": incidents, **resume_at(offset)}
    total = ((payload.get("data") or {}).get("attributes") or {}).get("total")
    if isinstance(total, int):
        result["total"] = total
    if len(incidents) == limit and (not isinstance(total, int) or offset + limit < total):
        result["next_cursor"] = str(offset + limit)
    return result


def _summary(incident: dict[str, Any]) -> dict[str, Any]:
    attributes = incident.get("attributes") or {}
    shaped = {"id": incident.get("id"), "public_id": attributes.get("public_id")}
    shaped.update({k: attributes.get(k) for k in _SUMMARY_KEYS})
    shaped["services"] = field_value(attributes, "services")
    return drop_empty(shaped)  # type: ignore[no-any-return]


@narrow("the incident's timeline in Datadog's app")
async def get_incident(
    ctx: Context,
    incident_id: Annotated[
        str,
        Field(
            min_length=1,
            max_length=100,
            pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*$",
            description="Incident id (UUID)",
        ),
    ],
) -> dict[str, Any]:
    """One incident: impact, commander, timeline. Example: incident_id from list_incidents"""
    payload = await datadog(ctx).get_incident(incident_id)
    incident = payload.get("data") or {}
    attributes = incident.get("attributes") or {}
    shaped: dict[str, Any] = {"id": incident.get("id"), "public_id": attributes.get("public_id")}
    shaped.update({k: attributes.get(k) for k in _DETAIL_KEYS})
    shaped["commander"] = _commander(incident, payload.get("included") or [])
    shaped["services"] = field_value(attributes, "services")
    shaped["teams"] = field_value(attributes, "teams")
    other = {
        name: field.get("value")
        for name, field in (attributes.get("fields") or {}).items()
        if isinstance(field, dict) and name not in ("services", "teams", "severity", "state")
    }
    shaped["fields"] = other
    return drop_empty(shaped)  # type: ignore[no-any-return]


def field_value(attributes: dict[str, Any], name: str) -> Any:
    field = (attributes.get("fields") or {}).get(name)
    return field.get("value") if isinstance(field, dict) else None


def _commander(incident: dict[str, Any], included: list[Any]) -> Any:
    """The commander's name and handle from the included users, or the bare user id."""
    relation = ((incident.get("relationships") or {}).get("commander_user") or {}).get("data") or {}
    user_id = relation.get("id") if isinstance(relation, dict) else None
    if not user_id:
        return None
    for item in included:
        if isinstance(item, dict) and item.get("id") == user_id:
            attributes = item.get("attributes") or {}
            return drop_empty({k: attributes.get(k) for k in ("name", "handle", "email")}) or user_id
    return user_id


TOOLS = (list_incidents, get_incident)
