"""The answer of a logs or spans aggregation: groups ranked largest first, or one total."""

from __future__ import annotations

from typing import Any

from dd_mcp_server.common.compute import compute_label
from dd_mcp_server.common.timeparse import iso


def aggregate_result(
    query: str, compute: str, start: int, end: int, groups: list[dict[str, Any]], grouped: bool, unit: str = ""
) -> dict[str, Any]:
    """`groups` (each facet values plus "value") ranked by value, or the single total when not grouped.

    `compute` is named as the caller wrote it (`p95(@duration)`, though Datadog was asked for pc95),
    followed by the `unit` of the values, if any (`p95(@duration) ms`).
    """
    label = compute_label(compute) + (f" {unit}" if unit else "")
    result: dict[str, Any] = {"query": query, "compute": label, "from": iso(start), "to": iso(end)}
    ranked = sorted(groups, key=lambda g: _number(g.get("value")), reverse=True)
    if grouped:
        result["groups"] = ranked
    else:
        result["value"] = ranked[0]["value"] if ranked else 0
    return result


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else float("-inf")
