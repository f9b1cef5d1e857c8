"""Aggregations as a model writes them (`count`, `p95(@duration)`) turned into Datadog's compute terms."""

from __future__ import annotations

import re

from dd_mcp_server.common.errors import InvalidArgument

AGGREGATIONS = (
    "count",
    "cardinality",
    "sum",
    "min",
    "max",
    "avg",
    "median",
    "pc75",
    "pc90",
    "pc95",
    "pc98",
    "pc99",
)
_ALIASES = {"p50": "median", "p75": "pc75", "p90": "pc90", "p95": "pc95", "p98": "pc98", "p99": "pc99"}
_FORM = re.compile(r"\s*([A-Za-z0-9]+)\s*(?:\(\s*([^()\s]*)\s*\))?\s*")
_EXAMPLE = "'count', 'avg(@duration)', 'p95(@duration)', 'cardinality(@usr.id)'"


def parse_compute(text: str) -> tuple[str, str | None]:
    """(aggregation, measure) from `count`, `count(*)`, `avg(@duration)`, `p95(@http.response_time)`.

    The aggregation is Datadog's term (`p95` is sent as `pc95`); compute_label names it as written.
    """
    name, measure = _read(text)
    aggregation = _ALIASES.get(name, name)
    if aggregation not in AGGREGATIONS:
        raise InvalidArgument(
            "compute",
            f"unknown aggregation {name!r}; use one of {', '.join(AGGREGATIONS)} or p50..p99",
            _EXAMPLE,
        )
    if measure == "*":
        measure = None
    if aggregation == "count":
        return aggregation, measure
    if not measure:
        raise InvalidArgument("compute", f"{aggregation} needs a measure or facet in parentheses", _EXAMPLE)
    return aggregation, measure


def compute_label(text: str) -> str:
    """The aggregation as the caller wrote it, for the answer: `p95(@duration)`, not Datadog's `pc95(@duration)`.

    Only case and spaces are tidied (`P95 ( @duration )` reads `p95(@duration)`), and `count(*)` reads `count`.
    Call it on a compute that parse_compute accepted.
    """
    name, measure = _read(text)
    return f"{name}({measure})" if measure and measure != "*" else name


def _read(text: str) -> tuple[str, str | None]:
    """(name lower-cased, measure as written or None) of a compute, or InvalidArgument when it cannot be read."""
    match = _FORM.fullmatch(text)
    if not match:
        raise InvalidArgument("compute", f"cannot read {text[:80]!r}", _EXAMPLE)
    return match.group(1).lower(), match.group(2) or None
