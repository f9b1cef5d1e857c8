"""One trace's spans arranged as a tree, with durations, errors and where the time went per service."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

# Deeper spans are listed flat under a marker: the tree stays readable and any JSON reader can
# take it (each level is two levels of JSON).
MAX_TREE_DEPTH = 30


def build_tree(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Nest spans under their parents, ordered by start time, at most MAX_TREE_DEPTH levels deep.

    Every span appears exactly once. A span whose parent is missing (or that sits in a parent
    cycle) becomes a root, so nothing from a partial trace is lost. The spans below the last
    level are listed flat, in start order, under the node's `deeper`. Built without recursion:
    a trace may be nested thousands of levels deep.
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

    order = _start_of(spans)
    placed: set[int] = set()

    def shaped(index: int) -> dict[str, Any]:
        placed.add(index)
        return {k: v for k, v in spans[index].items() if k != "parent_id"}

    def grow(index: int) -> dict[str, Any]:
        root = shaped(index)
        stack = [(index, root, 1)]
        while stack:
            at, node, depth = stack.pop()
            kids = sorted((k for k in children[at] if k not in placed), key=order)
            if not kids:
                continue
            if depth >= MAX_TREE_DEPTH:
                deeper = sorted(_descendants(kids, children, placed), key=order)
                node["deeper"] = [shaped(k) for k in deeper]
                continue
            node["children"] = [shaped(k) for k in kids]
            stack.extend((k, child, depth + 1) for k, child in zip(kids, node["children"], strict=True))
        return root

    tree = [grow(i) for i in sorted(roots, key=order) if i not in placed]
    # Spans caught in a parent cycle were reachable from no root: add them as roots.
    for index in sorted(range(len(spans)), key=order):
        if index not in placed:
            tree.append(grow(index))
    return tree


def _descendants(start: list[int], children: dict[int, list[int]], placed: set[int]) -> list[int]:
    """`start` and every span below them not placed yet, each once."""
    found: list[int] = []
    seen: set[int] = set()
    stack = list(start)
    while stack:
        index = stack.pop()
        if index in placed or index in seen:
            continue
        seen.add(index)
        found.append(index)
        stack.extend(children[index])
    return found


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
