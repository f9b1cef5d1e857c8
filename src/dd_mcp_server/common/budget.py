"""Keep one tool result within the size budget, saying what was cut and how to get the rest.

Every tool result is trimmed, and one can hold thousands of logs, tag keys or monitor groups (a
quadratic trimmer once took 93 s on one), so this takes time linear in the size of the result
(n log n at worst), whatever its shape: the compact-JSON length of every node is measured once,
bottom up from its children's lengths; the cuts are decided by counting; the cut copy is
serialised once, to confirm. Lists, and objects too large to be records, keep a prefix of their
items (the first are the newest or most relevant), largest container first; then every string is
shortened to one common length, never inside a redaction mask. Nothing recurses, so no depth can
exhaust the stack.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_left
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

from dd_mcp_server.common.text import MASK, clip

NOTE = "_truncated"
HINT = (
    "cut to fit the result budget (DD_MCP_MAX_RESULT_CHARS). To see the rest: ask for "
    "fewer items (a limit equal to the kept count pages without gaps), narrow the query or time window, or use "
    "the cursor."
)
# An object with more keys than this is a map (tag keys, monitor groups) and is cut like a list;
# a smaller one is a record, whose fields are all kept while its strings are shortened.
MAP_KEYS = 50
MARKER = "…"  # what clip appends to a cut string
MIN_CAP = 40  # no string is cut shorter unless nothing else fits: a 32-character id or an ISO time stays whole
# The cuts tried in turn, each only when the one before cannot fit: (lists may be emptied, shortest string).
_PASSES = ((False, MIN_CAP), (True, MIN_CAP), (True, 0))
CHUNK = 4096  # a long string's escapes are counted per chunk: few steps to count, few characters to re-count


def compact_json(value: Any) -> str:
    """JSON with no spaces: every character the model reads costs tokens."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def fit_budget(result: dict[str, Any], budget: int, hint: str = HINT) -> dict[str, Any]:
    """`result` if its compact JSON fits in `budget` characters, else a cut copy that does.

    The copy carries a last entry `_truncated` naming each cut and how to get the rest (replacing
    any `_truncated` the result had). The answer never exceeds the budget: when nothing can be
    kept, it is that note alone, or `{}` when even the note is too long.
    """
    if budget < len("{}"):
        raise ValueError(f"a budget of {budget} characters cannot hold a JSON object")
    if len(compact_json(result)) <= budget:
        return result
    tree = _measure({key: value for key, value in result.items() if key != NOTE})
    target = budget
    # First every list keeps an item and no string is cut below MIN_CAP; if nothing then fits (a
    # trace: a chain of one-child lists), lists may be emptied; then strings cut shorter still.
    empty_ok, floor = next(
        ((empty, floor) for empty, floor in _PASSES if _plan(tree, target, hint, empty, floor) is not None),
        _PASSES[-1],
    )
    while (cut := _plan(tree, target, hint, empty_ok, floor)) is not None:
        fitted = _build(tree, cut, hint)
        over = len(compact_json(fitted)) - budget
        if over <= 0:
            return fitted
        target -= over  # the count was wrong (it should never be): ask for less, never answer more
    gave_up = {NOTE: {"all": "the result could not be cut to fit", "hint": hint}}
    return gave_up if len(compact_json(gave_up)) <= budget else {}


@dataclass
class _Tree:
    """The nodes of a JSON value, breadth first: a node's children are the contiguous run `first`..+`count`."""

    values: list[Any]
    parents: list[int]
    steps: list[Any]  # the node's key in its parent object, or its index in its parent list
    first: list[int]
    count: list[int]
    sizes: list[int]  # len(compact_json(value))
    items: list[int]  # what the node adds inside its parent: its size, plus `"key":` in an object


def _measure(value: Any) -> _Tree:
    """Every node of `value` with the length of its compact JSON, each node measured once."""
    values: list[Any] = [value]
    steps: list[Any] = [None]
    parents, heads = [-1], [0]
    first: list[int] = []
    count: list[int] = []
    node = 0
    while node < len(values):
        item = values[node]
        first.append(len(values))
        if isinstance(item, dict):
            values.extend(item.values())
            steps.extend(item)
            heads.extend(_key_size(key) + 1 for key in item)
        elif isinstance(item, list | tuple):
            values.extend(item)
            steps.extend(range(len(item)))
            heads.extend([0] * len(item))
        count.append(len(values) - first[node])
        parents.extend([node] * count[node])
        node += 1
    sizes = [0] * len(values)
    items = [0] * len(values)
    for node in reversed(range(len(values))):  # children come after their parent: measured before it
        start, many = first[node], count[node]
        if many:  # "[" then each item followed by "," or "]"
            sizes[node] = 1 + sum(items[start : start + many]) + many
        else:
            sizes[node] = 2 if isinstance(values[node], dict | list | tuple) else _scalar_size(values[node])
        items[node] = heads[node] + sizes[node]
    return _Tree(values, parents, steps, first, count, sizes, items)


def _scalar_size(value: Any) -> int:
    """len(compact_json(value)) for a string, number, boolean or null, without serialising numbers twice."""
    if isinstance(value, str):
        return len(encode_basestring(value))
    if value is None or value is True:
        return 4
    if value is False:
        return 5
    if isinstance(value, int):
        return len(int.__repr__(value))
    if isinstance(value, float) and math.isfinite(value):
        return len(float.__repr__(value))
    return len(compact_json(value))  # NaN and infinities, as json writes them


def _key_size(key: Any) -> int:
    """Length of an object key in JSON: always a string (json writes the key 1 as "1", True as "true")."""
    return len(encode_basestring(key if isinstance(key, str) else compact_json(key)))


@dataclass
class _Cut:
    """What the cut copy keeps: items per container, nodes gone, the string cap, the notes, its length."""

    kept: list[int]
    gone: list[bool]
    notes: dict[str, str]
    total: int
    cap: int | None = None


def _plan(tree: _Tree, budget: int, hint: str, empty_ok: bool = False, floor: int = MIN_CAP) -> _Cut | None:
    """The cuts that bring the result within `budget`, with its note, or None when no cut can."""
    note = len(compact_json({NOTE: {"hint": hint}})) - 1  # `,"_truncated":{"hint":…}` after the last key
    cut = _Cut(list(tree.count), [False] * len(tree.values), {}, tree.sizes[0] + note)
    _cut_containers(tree, cut, budget, empty_ok)
    if cut.total > budget:
        cut.cap = _string_cap(tree, cut, budget, floor)
        if cut.cap is None:
            return None
        cut.notes["strings"] = f"shortened to {cut.cap} characters"
    return cut


def _cut_containers(tree: _Tree, cut: _Cut, budget: int, empty_ok: bool) -> None:
    """Cut lists and maps, largest first, each to its longest prefix that fits, until the result fits.

    A container is always smaller than its parent, so in this order every container still whole
    has its measured size: nothing inside it has been cut yet.
    """
    least = 0 if empty_ok else 1
    containers = [
        node
        for node, value in enumerate(tree.values)
        if tree.count[node] > (MAP_KEYS if isinstance(value, dict) else least)
    ]
    containers.sort(key=tree.sizes.__getitem__, reverse=True)
    for node in containers:
        if cut.total <= budget:
            return
        if not cut.gone[node]:
            _cut_container(tree, cut, node, budget, empty_ok)


def _cut_container(tree: _Tree, cut: _Cut, node: int, budget: int, empty_ok: bool) -> None:
    """Keep the longest prefix of `node`'s items for which the result fits, at least one item unless
    `empty_ok`, and note it."""
    start, many = tree.first[node], tree.count[node]
    label = _label(tree, node, {*cut.notes, "result", "hint", "strings", "all"})
    unit = " keys" if isinstance(tree.values[node], dict) else ""
    rest = cut.total - tree.sizes[node]
    size, keep, total = 1, 0, 0
    if empty_ok:
        total = rest + 2 + _entry_size(label, f"kept 0 of {many}{unit}")
    for kept in range(1, many):
        size += tree.items[start + kept - 1] + 1
        trial = rest + size + _entry_size(label, f"kept {kept} of {many}{unit}")
        if (kept > 1 or empty_ok) and trial > budget:  # longer prefixes only grow: each item adds more than its digit
            break
        keep, total = kept, trial
    if total >= cut.total:  # the cut would not even pay for its note
        return
    cut.kept[node], cut.total = keep, total
    cut.notes[label] = f"kept {keep} of {many}{unit}"
    dropped = [range(start + keep, start + many)]
    while dropped:
        for gone in dropped.pop():
            cut.gone[gone] = True
            dropped.append(range(tree.first[gone], tree.first[gone] + tree.count[gone]))


def _label(tree: _Tree, node: int, taken: set[str]) -> str:
    """Where `node` sits, as the note names it: `logs`, `data[0].tags`, the whole result `result`.

    A path spelt like a name `taken` in the note (`hint`, `all`, another path) is spelt from
    the result (`result.hint`): no entry of the note hides another. The whole result, the largest
    container, is always the first cut.
    """
    if node == 0:
        return "result"
    steps: list[str] = []
    while node > 0:
        parent = tree.parents[node]
        steps.append(f".{tree.steps[node]}" if isinstance(tree.values[parent], dict) else f"[{tree.steps[node]}]")
        node = parent
    label = "".join(reversed(steps)).removeprefix(".")
    while label in taken:
        label = f"result.{label}"
    return label


def _entry_size(key: str, text: str) -> int:
    """What `"key":"text",` adds to the note."""
    return len(encode_basestring(key)) + len(encode_basestring(text)) + 2


def _string_cap(tree: _Tree, cut: _Cut, budget: int, floor: int) -> int | None:
    """The longest length every string may keep for the result to fit; None when even 0 is too long."""
    strings = sorted(
        (
            (value, tree.sizes[node])
            for node, value in enumerate(tree.values)
            if isinstance(value, str) and value and not cut.gone[node]
        ),
        key=lambda string: len(string[0]),
        reverse=True,
    )
    texts: list[_Text] = []  # measured on first use, longest first: strings no trial cap reaches are never scanned

    def noted(cap: int) -> int:
        return _entry_size("strings", f"shortened to {cap} characters")

    def total(cap: int) -> int:
        saved = 0
        for index, (text, size) in enumerate(strings):
            if len(text) <= cap:
                break
            if index == len(texts):
                texts.append(_Text.of(text, size))
            saved += size - texts[index].size_at(cap)
        return cut.total - saved + noted(cap)

    # Shorter than `floor` a string may no longer say what it is (an id, a name, a time): if even that
    # is too long, no cap helps, and rows must go instead.
    if not strings or total(floor) > budget:
        return None
    low, high = floor, len(strings[0][0])  # the result fits at `low`, not at `high`
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if total(middle) <= budget else (low, middle)
    cut.total = total(low)
    return low


@dataclass
class _Text:
    """One string, with what it takes to count its JSON length once clipped to any length."""

    text: str
    size: int  # len(compact_json(text))
    extra: list[int]  # extra[i]: characters JSON escapes add to text[: i * CHUNK] (empty: nothing is escaped)
    mask_starts: list[int]
    mask_ends: list[int]

    @classmethod
    def of(cls, text: str, size: int) -> _Text:
        extra = []
        if size != len(text) + 2:
            extra.append(0)
            for start in range(0, len(text), CHUNK):
                chunk = text[start : start + CHUNK]
                extra.append(extra[-1] + len(encode_basestring(chunk)) - 2 - len(chunk))
        masks = [match.span() for match in MASK.finditer(text)] if MASK.search(text) else []
        return cls(text, size, extra, [s for s, _ in masks], [e for _, e in masks])

    def size_at(self, cap: int) -> int:
        """len(compact_json(clip(text, cap))), counted: clip moves a cut inside a mask back to its start."""
        if len(self.text) <= cap:
            return self.size
        end = cap
        mask = bisect_left(self.mask_starts, cap) - 1  # the last mask starting before the cut
        if mask >= 0 and self.mask_ends[mask] > cap:
            end = self.mask_starts[mask]
        size = 2 + end + len(MARKER)
        if self.extra:  # what escaping adds to the whole chunks before the cut, then to the rest
            whole = end // CHUNK * CHUNK
            size += self.extra[end // CHUNK] + len(encode_basestring(self.text[whole:end])) - 2 - (end - whole)
        return size


def _build(tree: _Tree, cut: _Cut, hint: str) -> dict[str, Any]:
    """The cut copy with its note, built bottom up from the nodes kept."""
    built: list[Any] = [None] * len(tree.values)
    for node in reversed(range(len(tree.values))):
        if cut.gone[node]:
            continue
        value = tree.values[node]
        kept = range(tree.first[node], tree.first[node] + cut.kept[node])
        if isinstance(value, dict):
            built[node] = {tree.steps[child]: built[child] for child in kept}
        elif isinstance(value, list | tuple):
            built[node] = [built[child] for child in kept]
        elif isinstance(value, str) and cut.cap is not None:
            built[node] = clip(value, cut.cap, MARKER)
        else:
            built[node] = value
    root: dict[str, Any] = built[0]
    root[NOTE] = {**cut.notes, "hint": hint}
    return root
