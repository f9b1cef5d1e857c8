"""Keep one tool result within the size budget, saying what was cut and how to get the rest."""

from __future__ import annotations

import json
from typing import Any

Path = tuple[str | int, ...]
HINT = (
    "cut to fit the result budget (DD_MCP_MAX_RESULT_CHARS={budget}). To see the rest: ask for fewer items "
    "(a limit equal to the kept count pages without gaps), narrow the query or time window, or use the cursor."
)


def compact_json(value: Any) -> str:
    """JSON with no spaces: every character the model reads costs tokens."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def fit_budget(result: dict[str, Any], budget: int) -> dict[str, Any]:
    """`result` if its compact JSON fits in `budget` characters, else a cut copy that does.

    Lists are cut at item boundaries, largest first; then long strings are shortened; a
    top-level `_truncated` entry records each cut. The answer never exceeds the budget.
    """
    if len(compact_json(result)) <= budget:
        return result
    value = json.loads(compact_json(result))
    cuts: dict[str, str] = {}
    tried: set[Path] = set()
    while True:
        path = _largest_list(value, tried)
        if path is None:
            break
        tried.add(path)
        items = _get(value, path)
        # One item kept beats none: its long strings can still be shortened below.
        keep = max(1, _most_items(value, path, items, cuts, budget))
        _set(value, path, items[:keep])
        if keep < len(items):
            cuts[_label(path)] = f"kept {keep} of {len(items)}"
        if _size(value, cuts, budget) <= budget:
            return _noted(value, cuts, budget)
    cap = _longest_string_cap(value, cuts, budget)
    if cap is not None:
        shortened = _cap_strings(value, cap)
        cuts["strings"] = f"shortened to {cap} characters"
        return _noted(shortened, cuts, budget)
    return {"_truncated": {"all": "the result could not be cut to fit", "hint": HINT.format(budget=budget)}}


def _noted(value: dict[str, Any], cuts: dict[str, str], budget: int) -> dict[str, Any]:
    return {**value, "_truncated": {**cuts, "hint": HINT.format(budget=budget)}}


def _size(value: dict[str, Any], cuts: dict[str, str], budget: int) -> int:
    return len(compact_json(_noted(value, cuts, budget)))


def _most_items(value: dict[str, Any], path: Path, items: list[Any], cuts: dict[str, str], budget: int) -> int:
    """The largest count of leading items that fits, found by bisection (0 when none fits)."""
    label = _label(path)
    low, high = 0, len(items)
    while low < high:
        mid = (low + high + 1) // 2
        _set(value, path, items[:mid])
        trial = {**cuts, label: f"kept {mid} of {len(items)}"}
        if _size(value, trial, budget) <= budget:
            low = mid
        else:
            high = mid - 1
    return low


def _largest_list(value: Any, skip: set[Path]) -> Path | None:
    """The path of the list with the longest JSON among those not cut yet."""
    best: tuple[int, Path] | None = None
    for path, node in _walk(value, ()):
        if isinstance(node, list) and node and path not in skip:
            size = len(compact_json(node))
            if best is None or size > best[0]:
                best = (size, path)
    return best[1] if best else None


def _walk(node: Any, path: Path) -> Any:
    yield path, node
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _walk(child, (*path, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _walk(child, (*path, index))


def _longest_string_cap(value: dict[str, Any], cuts: dict[str, str], budget: int) -> int | None:
    longest = max((len(n) for _, n in _walk(value, ()) if isinstance(n, str)), default=0)
    low, high = 0, longest
    trial_cuts = {**cuts, "strings": f"shortened to {longest} characters"}
    if _size(_cap_strings(value, 0), trial_cuts, budget) > budget:
        return None
    while low < high:
        mid = (low + high + 1) // 2
        if _size(_cap_strings(value, mid), trial_cuts, budget) <= budget:
            low = mid
        else:
            high = mid - 1
    return low


def _cap_strings(value: Any, cap: int) -> Any:
    if isinstance(value, str):
        return value if len(value) <= cap else value[:cap] + "…"
    if isinstance(value, dict):
        return {k: _cap_strings(v, cap) for k, v in value.items()}
    if isinstance(value, list):
        return [_cap_strings(v, cap) for v in value]
    return value


def _get(value: Any, path: Path) -> Any:
    for step in path:
        value = value[step]
    return value


def _set(value: Any, path: Path, new: Any) -> None:
    _get(value, path[:-1])[path[-1]] = new


def _label(path: Path) -> str:
    label = ""
    for step in path:
        label += f"[{step}]" if isinstance(step, int) else (f".{step}" if label else str(step))
    return label or "result"
