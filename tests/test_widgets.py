"""Dashboard widgets reduced to title, type, queries and nesting, on realistic and generated JSON."""

from __future__ import annotations

import string
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from dd_mcp_server.common.widgets import collect_queries, definition_queries, simplify_widgets

TIMESERIES: dict[str, Any] = {
    "id": 1,
    "definition": {
        "type": "timeseries",
        "title": "Requests by status",
        "show_legend": True,
        "requests": [
            {
                "queries": [
                    {"data_source": "metrics", "name": "query1", "query": "sum:trace.http.request.hits{env:prod}"},
                    {"data_source": "metrics", "name": "query2", "query": "sum:trace.http.request.errors{env:prod}"},
                ],
                "formulas": [{"formula": "query2 / query1 * 100", "alias": "error %"}],
                "response_format": "timeseries",
                "style": {"palette": "dog_classic", "line_type": "solid"},
                "display_type": "line",
            },
            {"q": "avg:system.cpu.user{env:prod} by {host}", "display_type": "line"},
            # The same query again in another request: shown once.
            {
                "queries": [
                    {"data_source": "metrics", "name": "query1", "query": "sum:trace.http.request.hits{env:prod}"}
                ]
            },
        ],
        "yaxis": {"scale": "linear", "min": "auto"},
    },
    "layout": {"x": 0, "y": 0, "width": 4, "height": 2},
}
QUERY_VALUE: dict[str, Any] = {
    "id": 2,
    "definition": {
        "type": "query_value",
        "title": "p95 latency",
        "requests": [{"q": "p95:trace.http.request.duration{service:web}", "aggregator": "avg"}],
        "precision": 2,
    },
}
SCATTERPLOT: dict[str, Any] = {
    "id": 3,
    "definition": {
        "type": "scatterplot",
        "title": "CPU vs memory",
        "requests": {
            "x": {"q": "avg:system.cpu.user{*} by {host}", "aggregator": "avg"},
            "y": {"q": "avg:system.mem.used{*} by {host}", "aggregator": "avg"},
        },
        "xaxis": {"scale": "linear"},
    },
}
NOTE: dict[str, Any] = {
    "id": 4,
    "definition": {"type": "note", "content": "# Runbook\n" + "step " * 200, "background_color": "gray"},
}
ALERT_GRAPH: dict[str, Any] = {
    "id": 5,
    "definition": {"type": "alert_graph", "title": "Disk alert", "alert_id": "123456", "viz_type": "x"},
}
LOG_STREAM: dict[str, Any] = {
    "id": 6,
    "definition": {"type": "log_stream", "title": "Errors", "query": "service:web status:error", "indexes": ["main"]},
}
LEGACY_LOGS: dict[str, Any] = {
    "id": 7,
    "definition": {
        "type": "timeseries",
        "title": "Log errors (legacy)",
        "requests": [
            {
                "log_query": {
                    "index": "*",
                    "search": {"query": "status:error service:checkout"},
                    "compute": {"aggregation": "count"},
                    "group_by": [],
                },
                "display_type": "bars",
            }
        ],
    },
}
UNTITLED_IMAGE: dict[str, Any] = {"id": 8, "definition": {"type": "image", "url": "https://example.com/x.png"}}
GROUP: dict[str, Any] = {
    "id": 10,
    "definition": {
        "type": "group",
        "title": "Web service",
        "layout_type": "ordered",
        "widgets": [
            QUERY_VALUE,
            {
                "id": 11,
                "definition": {"type": "group", "title": "Inner", "layout_type": "ordered", "widgets": [SCATTERPLOT]},
            },
        ],
    },
}
DASHBOARD_WIDGETS = [TIMESERIES, GROUP, NOTE, ALERT_GRAPH, LOG_STREAM, LEGACY_LOGS, UNTITLED_IMAGE]


def test_a_realistic_dashboard_is_reduced_to_titles_types_queries_and_nesting() -> None:
    assert simplify_widgets(DASHBOARD_WIDGETS) == [
        {
            "title": "Requests by status",
            "type": "timeseries",
            "queries": [
                "sum:trace.http.request.hits{env:prod}",
                "sum:trace.http.request.errors{env:prod}",
                "query2 / query1 * 100",
                "avg:system.cpu.user{env:prod} by {host}",
            ],
        },
        {
            "title": "Web service",
            "type": "group",
            "widgets": [
                {
                    "title": "p95 latency",
                    "type": "query_value",
                    "queries": ["p95:trace.http.request.duration{service:web}"],
                },
                {
                    "title": "Inner",
                    "type": "group",
                    "widgets": [
                        {
                            "title": "CPU vs memory",
                            "type": "scatterplot",
                            "queries": ["avg:system.cpu.user{*} by {host}", "avg:system.mem.used{*} by {host}"],
                        }
                    ],
                },
            ],
        },
        {"type": "note", "note": NOTE["definition"]["content"][:300] + "…"},
        {"title": "Disk alert", "type": "alert_graph", "monitor_id": "123456"},
        {"title": "Errors", "type": "log_stream", "queries": ["service:web status:error"]},
        {"title": "Log errors (legacy)", "type": "timeseries", "queries": ["status:error service:checkout"]},
        {"type": "image"},
    ]


def test_layout_styles_and_ids_are_left_out() -> None:
    shaped = simplify_widgets([TIMESERIES])[0]
    assert set(shaped) == {"title", "type", "queries"}


def test_an_empty_group_keeps_its_title() -> None:
    group = {"definition": {"type": "group", "title": "Empty", "widgets": []}}
    assert simplify_widgets([group]) == [{"title": "Empty", "type": "group"}]


def test_what_is_not_a_widget_list_gives_nothing() -> None:
    assert simplify_widgets(None) == []
    assert simplify_widgets({"widgets": []}) == []
    assert simplify_widgets(["text", 1, None, {"definition": {"type": "note", "content": "hi"}}]) == [
        {"type": "note", "note": "hi"}
    ]


def test_queries_are_deduplicated_in_order_of_appearance() -> None:
    definition = {"requests": [{"q": "b"}, {"q": "a"}, {"q": "b"}, {"query": "a"}], "query": "c"}
    assert definition_queries(definition) == ["b", "a", "c"]


# -- generated requests --------------------------------------------------------------------------

QUERY_KEYS = ("q", "query", "formula")
OTHER_KEYS = st.sampled_from(["x", "y", "queries", "formulas", "log_query", "search", "style", "name", "data_source"])
QUERY_TEXT = st.text(string.ascii_letters + string.digits + ":{}*., _-", min_size=1, max_size=30)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), QUERY_TEXT, st.just(""))


def requests_tree() -> st.SearchStrategy[Any]:
    return st.recursive(
        SCALARS,
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.one_of(st.sampled_from(QUERY_KEYS), OTHER_KEYS), children, max_size=5)
        ),
        max_leaves=30,
    )


def query_strings(node: Any) -> list[str]:
    """Every non-empty string held under a q, query or formula key, at any depth."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in QUERY_KEYS and isinstance(value, str):
                if value:
                    found.append(value)
            else:
                found.extend(query_strings(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(query_strings(item))
    return found


def strings_anywhere(node: Any) -> set[str]:
    if isinstance(node, str):
        return {node}
    if isinstance(node, dict):
        return {s for v in node.values() for s in strings_anywhere(v)}
    if isinstance(node, list):
        return {s for v in node for s in strings_anywhere(v)}
    return set()


@given(requests_tree())
def test_every_query_string_under_requests_is_found(requests: Any) -> None:
    expected = query_strings(requests)
    assert collect_queries(requests) == expected
    widget = {"definition": {"type": "timeseries", "title": "t", "requests": requests}}
    [shaped] = simplify_widgets([widget])
    queries = shaped.get("queries", [])
    assert queries == list(dict.fromkeys(expected))  # each once, in order of appearance
    assert set(queries) <= strings_anywhere(requests)  # nothing invented


@st.composite
def widget_trees(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    title = draw(st.one_of(st.none(), QUERY_TEXT))
    if depth < 3 and draw(st.booleans()):
        children = draw(st.lists(widget_trees(depth=depth + 1), max_size=3))
        return {"definition": {"type": "group", "title": title, "widgets": children}}
    return {"definition": {"type": "timeseries", "title": title, "requests": draw(requests_tree())}}


def shape_of(widget: dict[str, Any]) -> Any:
    definition = widget["definition"]
    if definition["type"] == "group":
        return [shape_of(w) for w in definition["widgets"]]
    return list(dict.fromkeys(query_strings(definition["requests"])))


def shaped_shape(shaped: dict[str, Any]) -> Any:
    if shaped["type"] == "group":
        return [shaped_shape(w) for w in shaped.get("widgets", [])]
    return shaped.get("queries", [])


@given(st.lists(widget_trees(), max_size=4))
def test_nesting_titles_and_queries_survive_at_any_depth(widgets: list[dict[str, Any]]) -> None:
    shaped = simplify_widgets(widgets)
    assert [shaped_shape(s) for s in shaped] == [shape_of(w) for w in widgets]

    def titles(items: list[dict[str, Any]]) -> list[Any]:
        out: list[Any] = []
        for item in items:
            definition = item.get("definition", item)  # a shaped widget has no definition level
            out.append(definition.get("title"))
            out.extend(titles(definition.get("widgets", [])))
        return out

    assert titles(shaped) == titles(widgets)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["definition", "widgets", "requests", "q", "query", "title", "type", "content", "alert_id"]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=25,
)


@given(st.lists(JSON, max_size=4))
@example([{"definition": {"query": ""}}])  # once gave queries: [""]
def test_any_json_is_read_without_crashing(widgets: list[Any]) -> None:
    for shaped in simplify_widgets(widgets):
        assert isinstance(shaped, dict)
        assert all(isinstance(q, str) and q for q in shaped.get("queries", []))
