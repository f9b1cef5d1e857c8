"""Text and JSON values made safe to hand to a model: encodable, visible, finite, shallow, cut cleanly.

Datadog relays whatever the user's systems wrote. A lone UTF-16 surrogate cannot be encoded as
UTF-8 (the stdio transport would die writing it), invisible Unicode tag characters and bidi
controls can hide instructions from a human reviewer, NaN is not JSON, and a value nested
thousands of levels deep exhausts any recursive reader. Everything here is linear in the size
of its input and uses no recursion.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from itertools import chain
from typing import Any

# Deeper containers are replaced by MARKER_TOO_DEEP: no real Datadog answer comes near it.
MAX_DEPTH = 48
MARKER_TOO_DEEP = "…(nested too deeply, not shown)"

# What redaction writes in place of a secret; a cut never ends inside one.
MASK = re.compile(r"\[REDACTED:[a-z0-9_]{1,40}\]")
_MASK_LONGEST = 52  # len("[REDACTED:") + 40 + len("]") + slack

# Surrogates (never encodable on their own), Unicode tag characters (U+E0000-E007F, invisible
# carriers of hidden text) and bidi controls (reorder what a human sees).
_UNSAFE = re.compile("[\ud800-\udfff]|[\U000e0000-\U000e007f]|[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
REPLACEMENT = "\ufffd"


def clean_text(text: str) -> str:
    """`text` with surrogates replaced by U+FFFD and tag characters and bidi controls removed."""
    if text.isascii():
        return text
    return _UNSAFE.sub(_replacement, text)


def _replacement(match: re.Match[str]) -> str:
    return REPLACEMENT if "\ud800" <= match.group() <= "\udfff" else ""


def clip(text: str, limit: int, marker: str = "…") -> str:
    """At most `limit` characters of `text` (plus `marker` when cut), never ending inside a mask.

    A cut that would fall inside `[REDACTED:kind]` moves back to just before it, so a reader
    never sees half a mask (and never mistakes it for data).
    """
    if len(text) <= limit:
        return text
    cut = max(0, limit)
    for match in MASK.finditer(text, max(0, cut - _MASK_LONGEST), cut + _MASK_LONGEST):
        if match.start() < cut < match.end():
            cut = match.start()
            break
    return text[:cut] + marker


_PLAIN = frozenset({int, float, bool, type(None)})
_LISTS = {list}


def _plain_rows(items: list[Any]) -> bool:
    """A list of short lists of finite numbers (a metric's [time, value] points): nothing in it to
    clean or mask, so it is copied whole rather than walked value by value.

    Every check runs in C (map, set, sum): a walk in Python would cost what it saves. A sum that is
    not finite (an infinity, a NaN, or finite values overflowing) sends the rows the slow way.
    """
    if not items or type(items[0]) is not list or set(map(type, items)) != _LISTS or max(map(len, items)) > 4:
        return False
    values = list(chain.from_iterable(items))
    if not set(map(type, values)) <= _PLAIN:
        return False
    try:
        return math.isfinite(sum(filter(None, values)))
    except OverflowError:  # integers beyond any float
        return False


def map_json(
    value: Any,
    text: Callable[[str], str],
    *,
    member: Callable[[str, str], str] | None = None,
    max_depth: int = MAX_DEPTH,
) -> tuple[Any, Counter[str]]:
    """A copy of a JSON value with `text` applied to every string and object key.

    `member(name, value)`, when given, replaces `text` for the string values of object members,
    which it reads with their names. Non-finite numbers become null (counted as "non_finite");
    containers deeper than `max_depth` become MARKER_TOO_DEEP (counted as "too_deep"). Iterative:
    no depth can exhaust the stack.
    """
    fixes: Counter[str] = Counter()

    def leaf(item: Any) -> Any:
        if isinstance(item, str):
            return text(item)
        if isinstance(item, float) and not math.isfinite(item):
            fixes["non_finite"] += 1
            return None
        return item

    def child(item: Any, depth: int) -> Any:
        if not isinstance(item, dict | list):
            return leaf(item)
        if depth >= max_depth:
            fixes["too_deep"] += 1
            return MARKER_TOO_DEEP
        if isinstance(item, list) and depth + 1 < max_depth and _plain_rows(item):
            return list(map(list.copy, item))
        copy: Any = {} if isinstance(item, dict) else []
        stack.append((item, copy, depth + 1))
        return copy

    if not isinstance(value, dict | list):
        return leaf(value), fixes
    root: Any = {} if isinstance(value, dict) else []
    # Each entry: (source container, copy being filled, depth of the source).
    stack: list[tuple[Any, Any, int]] = [(value, root, 1)]
    while stack:
        source, copy, depth = stack.pop()
        if isinstance(source, dict):
            for key, item in source.items():
                name = text(str(key))
                if member is not None and isinstance(item, str):
                    copy[name] = member(name, item)
                else:
                    copy[name] = child(item, depth)
        else:
            copy.extend(child(item, depth) for item in source)
    return root, fixes
