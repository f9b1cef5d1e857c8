"""The demo's reading of Datadog search syntax: enough of it to filter logs, spans, RUM and events.

Supported: `key:value`, `@attr.path:value`, `-` negation, `*` wildcards, `key:(a OR b)`,
numeric comparisons (`@duration:>1000000`), and free words matched in the message. `AND` is implied.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

Record = dict[str, Any]
Lookup = Callable[[Record, str], Any]

_COMPARISON = re.compile(r"^(>=|<=|>|<)(-?\d+(?:\.\d+)?)$")
_RELATIVE = re.compile(r"^now(?:-(\d+)([smhdw]))?$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_time(text: Any, now: float) -> float:
    """Epoch seconds from what v2 searches accept: ISO 8601, 'now-15m', or epoch milliseconds."""
    value = str(text).strip()
    relative = _RELATIVE.match(value)
    if relative:
        amount, unit = relative.groups()
        return now - (int(amount) * _UNITS[unit] if amount else 0)
    if value.lstrip("-").isdigit():
        return int(value) / 1000
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    # Without an offset, a time is UTC (as Datadog reads it), never the machine's local time.
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def tokens(query: str) -> list[str]:
    """Split a query on spaces, keeping quoted phrases and parenthesised value lists together."""
    text = re.sub(r"\(\s*([^()]*?)\s*\)", lambda m: "(" + m.group(1).replace(" ", "\x00") + ")", query or "")
    try:
        parts = shlex.split(text)
    except ValueError:
        parts = text.split()
    return [p.replace("\x00", " ") for p in parts if p not in ("AND", "*", "")]


def matcher(query: str, lookup: Lookup, text_of: Callable[[Record], str]) -> Callable[[Record], bool]:
    """A predicate for `query`: `lookup(record, key)` reads a facet, `text_of` the free-text field."""
    tests: list[Callable[[Record], bool]] = []
    for token in tokens(query):
        negate = token.startswith("-") and len(token) > 1
        body = token[1:] if negate else token
        key, sep, wanted = body.partition(":")
        if sep and key:
            test = _facet_test(key, wanted, lookup)
        else:
            needle = body.strip('"').lower()
            test = _text_test(needle, text_of)
        tests.append((lambda t: lambda r: not t(r))(test) if negate else test)
    return lambda record: all(t(record) for t in tests)


def _text_test(needle: str, text_of: Callable[[Record], str]) -> Callable[[Record], bool]:
    return lambda record: needle in text_of(record).lower()


def _facet_test(key: str, wanted: str, lookup: Lookup) -> Callable[[Record], bool]:
    wanted = wanted.strip('"')
    comparison = _COMPARISON.match(wanted)
    if comparison:
        operator, number = comparison.group(1), float(comparison.group(2))
        return lambda record: _compare(lookup(record, key), operator, number)
    if wanted.startswith("(") and wanted.endswith(")"):
        options = [o.strip().strip('"') for o in wanted[1:-1].split(" OR ")]
    else:
        options = [wanted]
    return lambda record: any(_equals(lookup(record, key), option) for option in options)


def _equals(value: Any, wanted: str) -> bool:
    values = value if isinstance(value, list) else [value]
    for item in values:
        if item is None:
            continue
        text = str(item).lower()
        if fnmatch.fnmatchcase(text, wanted.lower()):
            return True
    return False


def _compare(value: Any, operator: str, number: float) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    return {
        ">": value > number,
        "<": value < number,
        ">=": value >= number,
        "<=": value <= number,
    }[operator]


def dig(source: Any, path: str) -> Any:
    """The value at a dotted path inside nested dicts, or None."""
    for part in path.split("."):
        if not isinstance(source, dict):
            return None
        source = source.get(part)
    return source


def aggregate(values: list[float], aggregation: str) -> float | int | None:
    """Datadog's aggregation functions over a list of numbers."""
    if aggregation == "count":
        return len(values)
    if not values:
        return None
    ordered = sorted(values)
    if aggregation == "cardinality":
        return len(set(values))
    if aggregation == "sum":
        return sum(values)
    if aggregation == "min":
        return ordered[0]
    if aggregation == "max":
        return ordered[-1]
    if aggregation == "avg":
        return sum(values) / len(values)
    percent = 50 if aggregation == "median" else int(aggregation[2:])
    return ordered[min(len(ordered) - 1, int(len(ordered) * percent / 100))]
