"""One trace's spans arranged as a tree, with durations, errors and where the time went per service."""

from __future__ import annotations

from collections import defaultdict
from typing import Any


def build_tree(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Nest spans under their parents, ordered by start time.

    Every span appears exactly once. A span whose parent is missing (or that sits in a
    parent cycle) becomes a root, so nothing from a partial trace is lost.
    """
    by_id: dict[str, int] = {}
    for index, span in enumerate(spans):
        by_id.setdefault(str(span.get("span_id")), index)
    children: dict[int, list[int]] = defaultdict(list)
    roots: list[int] = []
    for index, span in enumerate(spans):
        parent = by_id.get(str(span.get("parent_id")))
        if parent is None or parent == index:
            roots.append(index)
        else:
            children[parent].append(index)

    placed: set[int] = set()

    def node(index: int) -> dict[str, Any]:
        placed.add(index)
        kids = sorted((k for k in children[index] if k not in placed), key=_start_of(spans))
        shaped = {k: v for k, v in spans[index].items() if k != "parent_id"}
        nested = [node(k) for k in kids if k not in placed]
        if nested:
            shaped["children"] = nested
        return shaped

    tree = [node(i) for i in sorted(roots, key=_start_of(spans))]
    # Spans caught in a parent cycle were reachable from no root: add them as roots.
    for index in sorted(range(len(spans)), key=_start_of(spans)):
        if index not in placed:
            tree.append(node(index))
    return tree


def service_breakdown(spans: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per service: span count, errors, total span time and self time (minus time spent in child spans)."""
    child_time: dict[str, float] = defaultdict(float)
    for span in spans:
        child_time[str(span.get("parent_id"))] += _duration(span)
    breakdown: dict[str, dict[str, Any]] = {}
    for span in spans:
        entry = breakdown.setdefault(
            str(span.get("service") or "unknown"), {"spans": 0, "errors": 0, "total_ms": 0.0, "self_ms": 0.0}
        )
        duration = _duration(span)
        entry["spans"] += 1
        entry["errors"] += 1 if span.get("error") else 0
        entry["total_ms"] += duration
        entry["self_ms"] += max(0.0, duration - child_time.get(str(span.get("span_id")), 0.0))
    for entry in breakdown.values():
        entry["total_ms"] = round(entry["total_ms"], 3)
        entry["self_ms"] = round(entry["self_ms"], 3)
    return dict(sorted(breakdown.items(), key=lambda item: -float(item[1]["self_ms"])))


def _duration(span: dict[str, Any]) -> float:
    value = span.get("duration_ms")
    return float(value) if isinstance(value, int | float) else 0.0


def _start_of(spans: list[dict[str, Any]]) -> Any:
    return lambda index: (str(spans[index].get("start") or ""), index)
