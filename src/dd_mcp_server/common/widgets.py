"""Dashboard widgets reduced to what a reader needs: title, type, queries, and group nesting."""

from __future__ import annotations

from typing import Any

from dd_mcp_server.common.text import clip

_QUERY_KEYS = ("q", "query", "formula")
_NOTE_CHARS = 300


def simplify_widgets(widgets: Any) -> list[dict[str, Any]]:
    """Each widget as {title, type, queries, widgets (for groups), monitor_id, note}, empties left out."""
    if not isinstance(widgets, list):
        return []
    return [simplify_widget(w) for w in widgets if isinstance(w, dict)]


def simplify_widget(widget: dict[str, Any]) -> dict[str, Any]:
    definition = widget.get("definition")
    if not isinstance(definition, dict):  # an unknown or broken widget still shows as an entry, not a crash
        definition = {}
    shaped: dict[str, Any] = {"title": definition.get("title"), "type": definition.get("type")}
    queries = definition_queries(definition)
    if queries:
        shaped["queries"] = queries
    if definition.get("alert_id"):
        shaped["monitor_id"] = definition["alert_id"]
    if isinstance(definition.get("content"), str):
        shaped["note"] = clip(definition["content"], _NOTE_CHARS)
    if "widgets" in definition:
        shaped["widgets"] = simplify_widgets(definition["widgets"])
    return {k: v for k, v in shaped.items() if v not in (None, "", [])}


def definition_queries(definition: dict[str, Any]) -> list[str]:
    """The distinct queries of a widget or notebook cell definition, in order of appearance."""
    queries = collect_queries(definition.get("requests"))
    if isinstance(definition.get("query"), str) and definition["query"]:
        queries.append(definition["query"])
    return list(dict.fromkeys(queries))


def collect_queries(requests: Any) -> list[str]:
    """Every query string under a widget's requests, whatever shape the widget type gives them."""
    found: list[str] = []
    if isinstance(requests, dict):
        for key, value in requests.items():
            if key in _QUERY_KEYS and isinstance(value, str) and value:
                found.append(value)
            else:
                found.extend(collect_queries(value))
    elif isinstance(requests, list):
        for item in requests:
            found.extend(collect_queries(item))
    return found
