"""APM: search spans, aggregate them by facets, rebuild one trace as a tree, read the service catalog."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from dd_mcp_server.common.aggregates import aggregate_result
from dd_mcp_server.common.attributes import ALL, picked, queried_attributes, select
from dd_mcp_server.common.compute import parse_compute
from dd_mcp_server.common.strip import drop_empty, strip_metadata
from dd_mcp_server.common.text import clip
from dd_mcp_server.common.timeparse import TimeArg, iso
from dd_mcp_server.common.traces import build_tree, service_breakdown
from dd_mcp_server.services.datadog import next_cursor
from dd_mcp_server.tools.base import (
    Cursor,
    End,
    Facet,
    Fields,
    GroupLimit,
    Position,
    Start,
    datadog,
    offset_cursor,
    resume_at,
    search_page,
    window,
)
from dd_mcp_server.tools.empty import search_hint
from dd_mcp_server.tools.results import listing, narrow

TRACE_PAGE = 1000
MESSAGE_CHARS = 300  # of an error message in a span list: the rest is one `fields` away
TRACE_MAX_PAGES = 5
SERVICE_PAGE = 100
SERVICE_MAX_PAGES = 10
# Who owns a service and how to reach them; `fields` adds the rest (languages, integrations...).
SERVICE_SHOWN = ("name", "team", "description", "tier", "lifecycle", "links", "contacts")
SpanQuery = Annotated[
    str,
    Field(
        max_length=4000,
        description="Search syntax",
    ),
]


@listing("spans", link="apm/trace/{trace_id}")
async def list_spans(
    ctx: Context,
    query: SpanQuery = "*",
    start: Start = None,
    end: End = None,
    limit: Annotated[int, Field(ge=1, le=1000, description="Page size")] = 25,
    cursor: Cursor = None,
    fields: Fields = None,
) -> dict[str, Any]:
    """APM spans, newest first: failing or slow requests. Example: query='service:web status:error'"""
    start_s, end_s = window(ctx, start, end)
    at = Position.read(cursor, limit)
    client = datadog(ctx)
    payload = await client.search_spans(query, iso(start_s), iso(end_s), at.size, at.cursor, "-timestamp")
    keep = list(dict.fromkeys([*queried_attributes(query), *(f.removeprefix("@") for f in fields or ())]))
    spans = [shape_span(item, keep) for item in payload.get("data") or [] if isinstance(item, dict)]
    page = search_page("spans", spans, payload, start_s, end_s, at)
    if not spans and not cursor:
        page["note"] = await search_hint(ctx, "spans", query)
    return page


def shape_span(item: dict[str, Any], keep: list[str]) -> dict[str, Any]:
    """The fields an investigator reads from one span, plus the `keep` attributes."""
    attributes = item.get("attributes") or {}
    custom = attributes.get("custom") or {}
    error = custom.get("error")
    failed = bool(error) or attributes.get("status") == "error"
    shaped: dict[str, Any] = {
        "trace_id": attributes.get("trace_id"),
        "span_id": attributes.get("span_id"),
        "parent_id": attributes.get("parent_id"),
        "service": attributes.get("service"),
        "resource": attributes.get("resource_name"),
        "operation": attributes.get("operation_name") or custom.get("operation_name"),
        "start": attributes.get("start_timestamp"),
        "duration_ms": _duration_ms(custom.get("duration")),
        "status": "error" if failed else "ok",
        "error": _error(error) if isinstance(error, dict) else None,
        "http_status": (custom.get("http") or {}).get("status_code"),
        "host": attributes.get("host"),
        "env": attributes.get("env"),
    }
    if ALL in keep:
        shaped["attributes"] = custom
    elif keep:
        shaped["attributes"] = picked([custom, attributes], keep)
    return drop_empty(shaped)  # type: ignore[no-any-return]


def _error(error: dict[str, Any]) -> dict[str, Any]:
    """A span's error type and message, the message cut to MESSAGE_CHARS (fields=['error.message'] has it whole)."""
    message = error.get("message")
    shaped = {"type": error.get("type"), "message": clip(message, MESSAGE_CHARS) if isinstance(message, str) else None}
    return drop_empty(shaped)  # type: ignore[no-any-return]


def _duration_ms(nanoseconds: Any) -> float | None:
    return round(nanoseconds / 1e6, 3) if isinstance(nanoseconds, int | float) else None


@listing("groups")
async def aggregate_spans(
    ctx: Context,
    query: SpanQuery = "*",
    start: Start = None,
    end: End = None,
    compute: Annotated[
        str,
        Field(
            max_length=200,
            description="An aggregation; @duration in ms",
        ),
    ] = "count",
    group_by: Annotated[
        list[Facet],
        Field(max_length=4, description="Facets. Empty: one total"),
    ] = [],  # noqa: B006  (pydantic copies defaults; this is the schema's default, never mutated)
    limit: GroupLimit = 10,
) -> dict[str, Any]:
    """Span counts or measures by facet: slowest endpoints.
    Example: compute='p95(@duration)', group_by=['resource_name']
    """
    aggregation, metric = parse_compute(compute)
    start_s, end_s = window(ctx, start, end)
    client = datadog(ctx)
    payload = await client.aggregate_spans(query, iso(start_s), iso(end_s), aggregation, metric, list(group_by), limit)
    in_ms = metric == "@duration" and aggregation not in ("count", "cardinality")
    groups = []
    for bucket in payload.get("data") or []:
        attributes = (bucket or {}).get("attributes") or {}
        value = (attributes.get("compute") or {}).get("c0")
        if in_ms and isinstance(value, int | float):
            value = round(value / 1e6, 3)
        groups.append({**(attributes.get("by") or {}), "value": value})
    result = aggregate_result(
        query, compute, start_s, end_s, groups, grouped=bool(group_by), unit="ms" if in_ms else ""
    )
    if not groups:
        result["note"] = await search_hint(ctx, "spans", query)
    return result


@narrow("one service's spans of it: list_spans with query='trace_id:<id> service:<name>'")
async def get_trace(
    ctx: Context,
    trace_id: Annotated[
        str,
        Field(
            min_length=1,
            max_length=40,
            pattern=r"^[0-9A-Fa-f]+$",
            description="Trace id (dd.trace_id)",
        ),
    ],
    start: Annotated[
        TimeArg,
        Field(description="A time. Default: end-1d"),
    ] = None,
    end: End = None,
) -> dict[str, Any]:
    """One trace as a span tree: where a request went wrong. Example: trace_id='7216538916512283041'"""
    start_s, end_s = window(ctx, start, end, default_span=86400)
    client = datadog(ctx)
    spans: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(TRACE_MAX_PAGES):
        payload = await client.search_spans(
            f"trace_id:{trace_id}", iso(start_s), iso(end_s), TRACE_PAGE, cursor, "timestamp"
        )
        spans.extend(shape_span(item, []) for item in payload.get("data") or [] if isinstance(item, dict))
        cursor = next_cursor(payload)
        if not cursor:
            break
    if not spans:
        return {
            "trace_id": trace_id,
            "spans": 0,
            "note": f"No spans of this trace between {iso(start_s)} and {iso(end_s)}: widen start (indexed spans "
            "are kept 15 days) or check the id (decimal, as in a log's dd.trace_id).",
        }
    nodes = [{k: v for k, v in span.items() if k != "trace_id"} for span in spans]
    result: dict[str, Any] = {
        "trace_id": trace_id,
        "spans": len(spans),
        "errors": sum(1 for span in spans if span.get("status") == "error"),
        "services": service_breakdown(nodes),
        "tree": build_tree(nodes),
    }
    if cursor:
        result["_partial"] = f"only the first {len(spans)} spans were read"
    return result


@listing("services")
async def list_services(
    ctx: Context,
    query: Annotated[
        str | None,
        Field(max_length=200, description="Text in name, team, description"),
    ] = None,
    fields: Fields = None,
    limit: Annotated[int, Field(ge=1, le=100, description="Page size")] = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Service catalog: owner team, links, contacts. Example: query='checkout'"""
    offset = offset_cursor(cursor)
    client = datadog(ctx)
    schemas: list[dict[str, Any]] = []
    for number in range(SERVICE_MAX_PAGES):
        payload = await client.list_service_definitions(SERVICE_PAGE, number)
        batch = [schema_of(item) for item in payload.get("data") or [] if isinstance(item, dict)]
        schemas.extend(batch)
        # Without a filter, stop once the page asked for (and one more, to know if there is more) is in.
        if len(batch) < SERVICE_PAGE or (not query and len(schemas) > offset + limit):
            break
    services = [(_service(schema), schema) for schema in schemas]
    if query:
        needle = query.lower()
        services = [(s, schema) for s, schema in services if needle in " ".join(str(v) for v in s.values()).lower()]
    page = [select(s, SERVICE_SHOWN, strip_metadata(schema), fields) for s, schema in services[offset : offset + limit]]
    result: dict[str, Any] = {"services": page, **resume_at(offset)}
    if offset + limit < len(services):
        result["next_cursor"] = str(offset + limit)
    return result


def schema_of(item: dict[str, Any]) -> dict[str, Any]:
    """A service definition's schema, where Datadog keeps everything it says of the service."""
    attributes = item.get("attributes")
    schema = attributes.get("schema") if isinstance(attributes, dict) else None
    return schema if isinstance(schema, dict) else {}


def _service(schema: dict[str, Any]) -> dict[str, Any]:
    shaped = {
        "name": schema.get("dd-service"),
        "team": schema.get("team"),
        "description": schema.get("description"),
        "languages": schema.get("languages"),
        "tier": schema.get("tier"),
        "lifecycle": schema.get("lifecycle"),
        "type": schema.get("type"),
        "application": schema.get("application"),
        "links": [
            drop_empty({k: link.get(k) for k in ("name", "type", "url")})
            for link in schema.get("links") or []
            if isinstance(link, dict)
        ],
        "contacts": [
            drop_empty({k: contact.get(k) for k in ("name", "type", "contact")})
            for contact in schema.get("contacts") or []
            if isinstance(contact, dict)
        ],
    }
    return drop_empty(shaped)  # type: ignore[no-any-return]


TOOLS = (list_spans, aggregate_spans, get_trace, list_services)
