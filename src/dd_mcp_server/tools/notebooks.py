"""Notebooks: postmortems and investigations, reduced to their text and queries."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from dd_mcp_server.common.attributes import resource, select
from dd_mcp_server.common.strip import drop_empty, strip_metadata
from dd_mcp_server.common.widgets import definition_queries
from dd_mcp_server.tools.base import Cursor, Fields, datadog, offset_cursor, resume_at
from dd_mcp_server.tools.results import listing, narrow

# What finds a notebook; `fields` adds the rest (created, status, time...).
_SHOWN = ("id", "name", "author", "type", "modified")


@listing("notebooks", link="notebook/{id}")
async def list_notebooks(
    ctx: Context,
    query: Annotated[str | None, Field(max_length=200, description="Name matches")] = None,
    author_handle: Annotated[str | None, Field(max_length=200, description="Author handle")] = None,
    fields: Fields = None,
    limit: Annotated[int, Field(ge=1, le=100, description="Page size")] = 25,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Notebooks: find a postmortem or runbook. Example: query='postmortem'"""
    offset = offset_cursor(cursor)
    payload = await datadog(ctx).list_notebooks(query, author_handle, limit, offset)
    notebooks = [
        select(_summary(item), _SHOWN, strip_metadata(resource(item)), fields)
        for item in payload.get("data") or []
        if isinstance(item, dict)
    ]
    result: dict[str, Any] = {"notebooks": notebooks, **resume_at(offset)}
    if len(notebooks) == limit:
        result["next_cursor"] = str(offset + limit)
    return result


def _summary(item: dict[str, Any]) -> dict[str, Any]:
    attributes = item.get("attributes") or {}
    shaped = {
        "id": item.get("id"),
        "name": attributes.get("name"),
        "author": (attributes.get("author") or {}).get("handle"),
        "type": (attributes.get("metadata") or {}).get("type"),
        "modified": attributes.get("modified"),
    }
    return drop_empty(shaped)  # type: ignore[no-any-return]


@narrow("the notebook in Datadog's app; its queries run alone with query_metrics")
async def get_notebook(
    ctx: Context,
    notebook_id: Annotated[int, Field(ge=1, description="Notebook id")],
) -> dict[str, Any]:
    """One notebook's text and queries: read a postmortem. Example: notebook_id=12345"""
    payload = await datadog(ctx).get_notebook(notebook_id)
    data = payload.get("data") or {}
    attributes = data.get("attributes") or {}
    shaped = {**_summary(data), "cells": [_cell(c) for c in attributes.get("cells") or [] if isinstance(c, dict)]}
    return drop_empty(shaped)  # type: ignore[no-any-return]


def _cell(cell: dict[str, Any]) -> dict[str, Any]:
    definition = (cell.get("attributes") or {}).get("definition") or {}
    kind = definition.get("type")
    if kind == "markdown":
        return {"text": definition.get("text")}
    shaped = {"type": kind, "title": definition.get("title"), "queries": definition_queries(definition)}
    return drop_empty(shaped)  # type: ignore[no-any-return]


TOOLS = (list_notebooks, get_notebook)
