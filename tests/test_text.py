"""map_json, the walk every Datadog answer and every result goes through: its shortcut for lists of
number rows (metric points) must give exactly what the value-by-value walk gives."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from dd_mcp_server.common.text import MARKER_TOO_DEEP, map_json

NUMBERS = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
SCALARS = st.one_of(NUMBERS, st.text(max_size=8))
# Metric points and near misses: rows of numbers (some not finite), a string among them, rows too long.
ROWS = st.lists(st.lists(NUMBERS, max_size=5), max_size=6) | st.lists(st.lists(SCALARS, max_size=3), max_size=4)
VALUES = st.recursive(
    SCALARS | ROWS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=30,
)


def walked(value: Any, text: Any, depth: int, max_depth: int, fixes: Counter[str]) -> Any:
    """The plain recursive walk map_json promises to equal."""
    if isinstance(value, str):
        return text(value)
    if isinstance(value, float) and not math.isfinite(value):
        fixes["non_finite"] += 1
        return None
    if not isinstance(value, dict | list):
        return value
    if depth > max_depth:
        fixes["too_deep"] += 1
        return MARKER_TOO_DEEP
    if isinstance(value, dict):
        return {text(str(k)): walked(v, text, depth + 1, max_depth, fixes) for k, v in value.items()}
    return [walked(v, text, depth + 1, max_depth, fixes) for v in value]


@given(value=VALUES, max_depth=st.integers(min_value=1, max_value=6))
def test_map_json_equals_the_value_by_value_walk(value: Any, max_depth: int) -> None:
    expected: Counter[str] = Counter()
    want = walked(value, str.upper, 1, max_depth, expected)
    got, fixes = map_json(value, str.upper, max_depth=max_depth)
    assert repr(got) == repr(want)  # repr: NaN != NaN, and None vs nan must differ
    assert fixes == expected


def test_metric_points_come_back_as_copies() -> None:
    points = [[1700000000000, 0.5], [1700000060000, None]]
    got, fixes = map_json({"pointlist": points}, str)
    assert got == {"pointlist": points}
    assert got["pointlist"] is not points
    assert got["pointlist"][0] is not points[0]
    assert not fixes
