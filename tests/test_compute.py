"""Properties of parse_compute: the aggregations a model writes, turned into Datadog compute terms."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dd_mcp_server.common.compute import AGGREGATIONS, compute_label, parse_compute
from dd_mcp_server.common.errors import InvalidArgument

ALIASES = {"p50": "median", "p75": "pc75", "p90": "pc90", "p95": "pc95", "p98": "pc98", "p99": "pc99"}
MEASURES = st.from_regex(r"@?[a-z_][a-z0-9_.\-]{0,20}", fullmatch=True)


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("count", ("count", None)),
        ("COUNT", ("count", None)),
        ("count(*)", ("count", None)),
        ("count()", ("count", None)),
        (" count ( * ) ", ("count", None)),
        ("avg(@duration)", ("avg", "@duration")),
        ("p50(@duration)", ("median", "@duration")),
        ("median(@duration)", ("median", "@duration")),
        ("p95(@duration)", ("pc95", "@duration")),
        ("P95(@http.response_time)", ("pc95", "@http.response_time")),
        ("pc99(@duration)", ("pc99", "@duration")),
        ("p99( @duration )", ("pc99", "@duration")),
        ("cardinality(@usr.id)", ("cardinality", "@usr.id")),
        ("sum(@network.bytes_written)", ("sum", "@network.bytes_written")),
        ("max(duration)", ("max", "duration")),
    ],
)
def test_compute_forms(text: str, parsed: tuple[str, str | None]) -> None:
    assert parse_compute(text) == parsed


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("p42(@duration)", "unknown aggregation 'p42'"),
        ("average(@duration)", "unknown aggregation 'average'"),
        ("stddev", "unknown aggregation 'stddev'"),
        ("avg", "avg needs a measure"),
        ("avg()", "avg needs a measure"),
        ("p95(*)", "pc95 needs a measure"),
        ("cardinality", "cardinality needs a measure"),
        ("", "cannot read"),
        ("avg(@duration", "cannot read"),
        ("avg(@a b)", "cannot read"),
        ("avg(@duration) + 1", "cannot read"),
        ("count(avg(@x))", "cannot read"),
        ("DROP TABLE", "cannot read"),
        ("p95 of @duration", "cannot read"),
    ],
)
def test_unusable_compute_names_the_argument(text: str, problem: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_compute(text)
    assert caught.value.argument == "compute"
    assert "'compute'" in str(caught.value)
    assert problem in str(caught.value)
    assert "Example:" in str(caught.value)


@given(st.sampled_from([*AGGREGATIONS, *ALIASES]), MEASURES, st.sampled_from(["", " "]), st.booleans())
def test_every_aggregation_with_a_measure(name: str, measure: str, space: str, upper: bool) -> None:
    written = name.upper() if upper else name
    assert parse_compute(f"{space}{written}{space}({space}{measure}{space}){space}") == (
        ALIASES.get(name, name),
        measure,
    )


@given(st.sampled_from([a for a in AGGREGATIONS if a != "count"] + list(ALIASES)), st.sampled_from(["", "()", "(*)"]))
def test_every_aggregation_but_count_needs_a_measure(name: str, tail: str) -> None:
    with pytest.raises(InvalidArgument, match="needs a measure"):
        parse_compute(name + tail)


NEAR_MISSES = st.lists(
    st.sampled_from(["count", "avg", "p95", "pc9", "p", "(", ")", "*", "@duration", " ", ".", "9", "é", "\t", ","]),
    max_size=6,
).map("".join)


@given(st.one_of(st.text(max_size=40), NEAR_MISSES))
def test_any_text_parses_to_a_known_aggregation_or_invalid_argument(text: str) -> None:
    try:
        aggregation, measure = parse_compute(text)
    except InvalidArgument as error:
        refusal: InvalidArgument | None = error
    else:
        refusal = None
    if refusal is not None:
        assert refusal.argument == "compute"
        assert "'compute'" in str(refusal)
        return
    assert aggregation in AGGREGATIONS
    assert measure is None or (measure and measure != "*" and not any(c.isspace() or c in "()" for c in measure))
    if aggregation != "count":
        assert measure is not None


EXAMPLE = "Example: 'count', 'avg(@duration)', 'p95(@duration)', 'cardinality(@usr.id)'"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("avg(@duration", "cannot read 'avg(@duration'"),
        ("(" * 100, f"cannot read {'(' * 80!r}"),
        (
            "stddev(@duration)",
            "unknown aggregation 'stddev'; use one of count, cardinality, sum, min, max, avg, median, pc75, pc90, "
            "pc95, pc98, pc99 or p50..p99",
        ),
        ("p95()", "pc95 needs a measure or facet in parentheses"),
    ],
    ids=["unreadable", "long", "unknown", "no measure"],
)
def test_a_refused_compute_says_exactly_what_was_wrong_with_examples(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_compute(text)
    assert str(caught.value) == f"Invalid argument 'compute': {message}. {EXAMPLE}"


@pytest.mark.parametrize(
    ("text", "label", "sent"),
    [
        ("p95(@duration)", "p95(@duration)", "pc95"),
        ("P95 ( @duration )", "p95(@duration)", "pc95"),
        ("p50(@duration)", "p50(@duration)", "median"),
        ("median(@duration)", "median(@duration)", "median"),
        ("pc99(@http.response_time)", "pc99(@http.response_time)", "pc99"),
        ("avg(@Duration)", "avg(@Duration)", "avg"),
        ("count", "count", "count"),
        ("count(*)", "count", "count"),
        ("count(@usr.id)", "count(@usr.id)", "count"),
        ("cardinality(@usr.id)", "cardinality(@usr.id)", "cardinality"),
    ],
)
def test_the_label_names_the_aggregation_as_written_while_datadog_gets_its_own_term(
    text: str, label: str, sent: str
) -> None:
    assert compute_label(text) == label
    assert parse_compute(text)[0] == sent


@given(st.sampled_from([*AGGREGATIONS, *ALIASES]), MEASURES, st.sampled_from(["", " "]), st.booleans())
def test_a_label_reads_back_to_the_same_request_and_keeps_the_name_written(
    name: str, measure: str, space: str, upper: bool
) -> None:
    written = f"{space}{name.upper() if upper else name}{space}({space}{measure}{space}){space}"
    label = compute_label(written)
    assert label == f"{name}({measure})"
    assert parse_compute(label) == parse_compute(written)


def test_a_label_of_an_unreadable_compute_is_refused_like_parsing_it() -> None:
    with pytest.raises(InvalidArgument, match="cannot read"):
        compute_label("p95 of @duration")
