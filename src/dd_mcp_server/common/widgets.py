"""Dashboard widgets reduced to what a reader needs: title, type, queries, and group nesting."""

from __future__ import annotations

import re
from typing import Any

from dd_mcp_server.common.text import clip

_QUERY_KEYS = ("q", "query", "formula")
_NOTE_CHARS = 300
# In a formula: a quoted string (left alone), or a name that is not a function's (`query1`, not `per_second(`).
_FORMULA_TOKEN = re.compile(r"'[^']*'|\"[^\"]*\"|\b[A-Za-z_]\w*\b(?!\s*\()")


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
    """Every query string under a widget's requests, whatever shape the widget type gives them.

    A request with `queries` and `formulas` gives its formulas with the query names resolved.
    """
    found: list[str] = []
    if isinstance(requests, dict):
        if isinstance(requests.get("queries"), list):
            return formula_queries(requests)
        for key, value in requests.items():
            if key in _QUERY_KEYS and isinstance(value, str) and value:
                found.append(value)
            else:
                found.extend(collect_queries(value))
    elif isinstance(requests, list):
        for item in requests:
            found.extend(collect_queries(item))
    return found


def formula_queries(request: dict[str, Any]) -> list[str]:
    """A formulas-and-functions request: each formula with its query names replaced by the queries they name.

    `{"queries": [{"name": "query1", "query": "sum:a{*}"}, ...], "formulas": [{"formula": "query1 / query2"}]}`
    gives `sum:a{*} / sum:b{*}` (of metrics, a query for query_metrics). Queries no formula names come after.
    """
    named: dict[str, str] = {}  # name -> the query as shown inside a larger formula
    alone: dict[str, str] = {}  # name -> the query as shown on its own
    unnamed: list[str] = []
    for query in request["queries"]:
        text = query_text(query) if isinstance(query, dict) else None
        name = query.get("name") if isinstance(query, dict) else None
        if not text:
            unnamed.extend(collect_queries(query))
        elif not isinstance(name, str) or not name or name in named:
            unnamed.append(text)
        else:
            alone[name] = text
            named[name] = text if _is_metric(query) else f"({text})"  # where an event query ends stays clear
    found: list[str] = []
    used: set[str] = set()
    formulas = request.get("formulas")
    for formula in formulas if isinstance(formulas, list) else [formulas]:
        if isinstance(formula, dict) and isinstance(formula.get("formula"), str):
            written = formula["formula"].strip()
            if written in alone:  # the formula shows one query as it is
                used.add(written)
                found.append(alone[written])
            elif written:
                found.append(resolve_formula(written, named, used))
            formula = {k: v for k, v in formula.items() if k != "formula"}
        found.extend(collect_queries(formula))
    found.extend(text for name, text in alone.items() if name not in used)
    found.extend(unnamed)
    found.extend(collect_queries({k: v for k, v in request.items() if k not in ("queries", "formulas")}))
    return found


def query_text(query: dict[str, Any]) -> str | None:
    """One query of a formulas request as a reader needs it, or None when it holds no query.

    Metrics (and cloud cost) queries are their query string. Logs, spans, RUM and other event
    queries read `logs "status:error service:web" count by service`.
    """
    if _is_metric(query):
        return str(query["query"])
    search, compute, groups = query.get("search"), query.get("compute"), query.get("group_by")
    if not isinstance(search, dict) and not isinstance(compute, dict):
        return None
    source = _text(query.get("data_source")) or "events"
    found = _text(search.get("query")).strip() if isinstance(search, dict) else ""
    aggregation = (_text(compute.get("aggregation")) if isinstance(compute, dict) else "") or "count"
    metric = _text(compute.get("metric")) if isinstance(compute, dict) else ""
    facets = [_text(g.get("facet")) for g in groups if isinstance(g, dict)] if isinstance(groups, list) else []
    how = f"{aggregation}({metric})" if metric else aggregation
    by = f" by {', '.join(f for f in facets if f)}" if any(facets) else ""
    return f'{source} "{found or "*"}" {how}{by}'


def resolve_formula(formula: str, named: dict[str, str], used: set[str]) -> str:
    """`query1 / query2 * 100` with each query name replaced by its query; the names replaced go into `used`."""

    def swap(match: re.Match[str]) -> str:
        token = match.group(0)
        if token not in named:
            return token
        used.add(token)
        return named[token]

    return _FORMULA_TOKEN.sub(swap, formula)


def _is_metric(query: dict[str, Any]) -> bool:
    return isinstance(query.get("query"), str) and bool(query["query"])


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
