"""Dashboard widgets reduced to title, type, queries and nesting, on realistic and generated JSON."""

from __future__ import annotations

import re
import string
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from dd_mcp_server.common.widgets import collect_queries, definition_queries, query_text, simplify_widgets

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
            # A query plotted on its own in another request: shown on its own too.
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
                "sum:trace.http.request.errors{env:prod} / sum:trace.http.request.hits{env:prod} * 100",
                "avg:system.cpu.user{env:prod} by {host}",
                "sum:trace.http.request.hits{env:prod}",
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


ERRORS = "sum:trace.http.request.errors{service:web}.as_count()"
HITS = "sum:trace.http.request.hits{service:web}.as_count()"


def formula_request(formulas: list[str], *queries: dict[str, Any]) -> dict[str, Any]:
    return {"queries": list(queries), "formulas": [{"formula": f} for f in formulas], "response_format": "timeseries"}


def metric(name: str, query: str) -> dict[str, Any]:
    return {"name": name, "data_source": "metrics", "query": query}


def logs(name: str, search: str, aggregation: str = "count", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "data_source": "logs",
        "search": {"query": search},
        "compute": {"aggregation": aggregation},
        **extra,
    }


def test_a_formula_shows_the_queries_its_names_stand_for() -> None:
    request = formula_request(["query1 / query2 * 100"], metric("query1", ERRORS), metric("query2", HITS))
    assert collect_queries([request]) == [f"{ERRORS} / {HITS} * 100"]


def test_a_formula_that_is_one_name_is_that_query_and_no_name_is_listed_as_a_query() -> None:
    request = formula_request(["query1"], metric("query1", ERRORS))
    assert collect_queries(request) == [ERRORS]
    widget = {"definition": {"type": "timeseries", "title": "Errors", "requests": [request]}}
    assert simplify_widgets([widget]) == [{"title": "Errors", "type": "timeseries", "queries": [ERRORS]}]


def test_functions_quoted_words_and_unknown_names_in_a_formula_are_kept() -> None:
    request = formula_request(
        ["per_second(query1)", "top(query1, 10, 'mean', 'desc')", "query1 - query3", "timeshift(a, -3600)"],
        metric("query1", ERRORS),
        metric("mean", HITS),
        metric("a", "avg:system.load.1{*}"),
    )
    assert collect_queries(request) == [
        f"per_second({ERRORS})",
        f"top({ERRORS}, 10, 'mean', 'desc')",
        f"{ERRORS} - query3",  # no query is named query3: the name stays, nothing is invented
        "timeshift(avg:system.load.1{*}, -3600)",
        HITS,  # no formula names "mean" (the word in quotes is an argument): listed on its own
    ]


def test_several_formulas_and_a_query_no_formula_names() -> None:
    request = formula_request(
        ["query1", "query1 / query2"], metric("query1", ERRORS), metric("query2", HITS), metric("query3", "avg:x{*}")
    )
    assert collect_queries(request) == [ERRORS, f"{ERRORS} / {HITS}", "avg:x{*}"]


def test_event_queries_read_as_source_search_aggregation_and_groups() -> None:
    failed = logs("failed", "service:web status:error", group_by=[{"facet": "service", "limit": 10}])
    slow = {
        "name": "slow",
        "data_source": "spans",
        "search": {"query": ""},
        "compute": {"aggregation": "pc95", "metric": "@duration"},
        "group_by": [{"facet": "resource_name"}, {"facet": "env"}],
    }
    assert query_text(failed) == 'logs "service:web status:error" count by service'
    assert query_text(slow) == 'spans "*" pc95(@duration) by resource_name, env'
    assert query_text({"compute": {}}) == 'events "*" count'
    assert query_text({"name": "query1", "data_source": "apm_dependency_stats", "stat": "avg_duration"}) is None
    request = formula_request(["failed / all * 100", "slow"], failed, logs("all", "service:web"), slow)
    assert collect_queries(request) == [
        '(logs "service:web status:error" count by service) / (logs "service:web" count) * 100',
        'spans "*" pc95(@duration) by resource_name, env',
    ]


def test_a_realistic_v1_timeseries_with_a_formula_is_reduced_to_it() -> None:
    widget = {
        "id": 4417,
        "definition": {
            "title": "Error rate",
            "type": "timeseries",
            "show_legend": True,
            "legend_layout": "auto",
            "requests": [
                {
                    "queries": [
                        {"name": "query1", "data_source": "metrics", "query": ERRORS},
                        {"name": "query2", "data_source": "metrics", "query": HITS},
                    ],
                    "formulas": [{"formula": "query1 / query2 * 100", "alias": "error %", "number_format": {}}],
                    "response_format": "timeseries",
                    "style": {"palette": "warm", "line_type": "solid", "line_width": "normal"},
                    "display_type": "line",
                }
            ],
            "markers": [{"value": "y = 5", "display_type": "error dashed"}],
        },
        "layout": {"x": 0, "y": 0, "width": 4, "height": 2},
    }
    assert simplify_widgets([widget]) == [
        {"title": "Error rate", "type": "timeseries", "queries": [f"{ERRORS} / {HITS} * 100"]}
    ]


NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
METRIC_QUERIES = st.from_regex(r"(avg|sum|max):[a-z][a-z.]{0,12}\{[a-z:*,]{1,10}\}( by \{host\})?", fullmatch=True)


@st.composite
def formula_requests(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, str]]:
    names = draw(st.lists(NAMES, min_size=1, max_size=4, unique=True))
    queries = {name: draw(METRIC_QUERIES) for name in names}
    formulas = []
    for _ in range(draw(st.integers(0, 3))):
        used = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3))
        operators = draw(
            st.lists(st.sampled_from([" + ", " - ", " * ", " / "]), min_size=len(used), max_size=len(used))
        )
        text = "".join(o + n for o, n in zip(operators, used, strict=True))[3:]
        formulas.append(draw(st.sampled_from([text, f"abs({text})", f"({text}) * 100"])))
    return formula_request(formulas, *(metric(n, q) for n, q in queries.items())), queries


NAME_USE = r"\b{}\b(?!\()"  # a name in a formula, not a function of the same name


@given(formula_requests())
def test_no_formula_shows_a_name_and_every_query_is_seen(generated: tuple[dict[str, Any], dict[str, str]]) -> None:
    request, queries = generated
    found = collect_queries(request)
    for text in found:
        for query in sorted(queries.values(), key=len, reverse=True):
            text = text.replace(query, "")
        assert not [name for name in queries if re.search(NAME_USE.format(name), text)], text
    for query in queries.values():
        assert any(query in text for text in found)
    formulas = [f["formula"] for f in request["formulas"]]
    unused = [n for n in queries if not any(re.search(NAME_USE.format(n), f) for f in formulas)]
    assert found == [*found[: len(formulas)], *(queries[n] for n in unused)]
    assert len(found) == len(formulas) + len(unused)


# -- generated requests --------------------------------------------------------------------------

QUERY_KEYS = ("q", "query", "formula")
# Without "queries": a request with queries and formulas is read as formulas (see the tests above).
OTHER_KEYS = st.sampled_from(["x", "y", "formulas", "log_query", "search", "style", "name", "data_source"])
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
                [
                    *["definition", "widgets", "requests", "q", "query", "title", "type", "content", "alert_id"],
                    *["queries", "formulas", "formula", "name", "search", "compute", "group_by", "facet", "metric"],
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=25,
)


@given(st.lists(JSON, max_size=4))
@example([{"definition": {"query": ""}}])  # once gave queries: [""]
@example([{"definition": {"requests": {"queries": [{"name": "a", "search": {}}], "formulas": [{"formula": "a"}]}}}])
def test_any_json_is_read_without_crashing(widgets: list[Any]) -> None:
    for shaped in simplify_widgets(widgets):
        assert isinstance(shaped, dict)
        assert all(isinstance(q, str) and q for q in shaped.get("queries", []))
