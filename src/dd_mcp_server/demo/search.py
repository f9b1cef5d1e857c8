"""The demo's reading of Datadog's query syntaxes: searches over logs, spans, RUM, events and incidents,
and tag expressions over metric tags (a query's `{scope}`, `tag_filter`).

One boolean grammar serves both: terms joined by `AND` (or nothing), `OR` (binding looser), `NOT`, `-` or
`!` before a term, and parentheses. A search term is `key:value`, `@attr.path:value` (`*` wildcards,
`key:(a OR b)`, `key:[a TO b]`, `@duration:>1000000`) or free words matched in the record's text. A tag
term is `key:value` (wildcards), `key IN (a, b)` or `key NOT IN (a, b)`; commas between terms mean AND.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

Record = dict[str, Any]
Lookup = Callable[[Record, str], Any]
Predicate = Callable[[Any], bool]

_COMPARISON = re.compile(r"^(>=|<=|>|<)(-?\d+(?:\.\d+)?)$")
_RANGE = re.compile(r"^\[\s*(\S+)\s+TO\s+(\S+)\s*\]$")
_RELATIVE = re.compile(r"^now(?:-(\d+)([smhdw]))?$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_time(text: Any, now: float) -> float:
    """Epoch seconds from what v2 searches accept: ISO 8601, 'now-15m', or epoch milliseconds."""
    return _parse_time(str(text).strip(), now)


@lru_cache(maxsize=65536)  # the same record times are read by every search
def _parse_time(value: str, now: float) -> float:
    relative = _RELATIVE.match(value)
    if relative:
        amount, unit = relative.groups()
        return now - (int(amount) * _UNITS[unit] if amount else 0)
    if value.lstrip("-").isdigit():
        return int(value) / 1000
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    # Without an offset, a time is UTC (as Datadog reads it), never the machine's local time.
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


# -- the grammar ----------------------------------------------------------------------------------


def tokens(query: str, commas: bool = False) -> list[str]:
    """Parentheses, operators and terms; a quoted phrase, `key:(a OR b)` and `key:[a TO b]` stay one term.

    With `commas`, a comma is a token of its own (tag expressions); otherwise it belongs to its term.
    """
    found: list[str] = []
    text, n, i = query or "", len(query or ""), 0
    stops = "()," if commas else "()"
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
            continue
        if char in stops:
            found.append(char)
            i += 1
            continue
        j, part = i, []
        while j < n and not text[j].isspace() and text[j] not in stops:
            grouped = text[j] == '"' or (text[j] == ":" and j + 1 < n and text[j + 1] in "([")
            if grouped:
                opener = j if text[j] == '"' else j + 1
                closer = {'"': '"', "(": ")", "[": "]"}[text[opener]]
                end = text.find(closer, opener + 1)
                end = n - 1 if end < 0 else end
                part.append(text[j : end + 1])
                j = end + 1
                continue
            part.append(text[j])
            j += 1
        found.append("".join(part))
        i = j
    return found


class _Parser:
    """expr := and ('OR' and)* ; and := unary (['AND' | ','] unary)* ; unary := ('NOT' | '-' | '!') unary |
    '(' expr ')' | term [['NOT'] 'IN' '(' value (',' value)* ')']"""

    def __init__(
        self, parts: list[str], term: Callable[[str], Predicate], member: Callable[[str, list[str]], Predicate]
    ):
        self.parts, self.at, self.term, self.member = parts, 0, term, member

    def peek(self) -> str | None:
        return self.parts[self.at] if self.at < len(self.parts) else None

    def take(self) -> str:
        self.at += 1
        return self.parts[self.at - 1]

    def expression(self) -> Predicate:
        alternatives = [self.conjunction()]
        while self.peek() == "OR":
            self.take()
            alternatives.append(self.conjunction())
        if len(alternatives) == 1:
            return alternatives[0]
        return lambda record: any(test(record) for test in alternatives)

    def conjunction(self) -> Predicate:
        tests: list[Predicate] = []
        while (ahead := self.peek()) is not None and ahead not in (")", "OR"):
            if ahead in ("AND", ","):
                self.take()
                continue
            tests.append(self.unary())
        if len(tests) == 1:
            return tests[0]
        return lambda record: all(test(record) for test in tests)

    def unary(self) -> Predicate:
        part = self.take()
        if part == "NOT" or part in ("-", "!"):
            inner = self.unary() if self.peek() is not None else _always
            return lambda record: not inner(record)
        if part == "(":
            inner = self.expression()
            if self.peek() == ")":
                self.take()
            return inner
        if part in (")", "IN"):
            return _always
        if part[0] in "-!" and len(part) > 1:
            inner = self.single(part[1:])
            return lambda record: not inner(record)
        return self.single(part)

    def single(self, part: str) -> Predicate:
        negated = self.peek() == "NOT" and self.at + 1 < len(self.parts) and self.parts[self.at + 1] == "IN"
        if negated:
            self.take()
        if self.peek() != "IN":
            return self.term(part)
        self.take()
        values: list[str] = []
        if self.peek() == "(":
            self.take()
            while (ahead := self.peek()) is not None and ahead != ")":
                if self.take() != ",":
                    values.append(ahead.strip('"'))
            if self.peek() == ")":
                self.take()
        test = self.member(part, values)
        return (lambda record: not test(record)) if negated else test


def _always(_: Any) -> bool:
    return True


def _parse(
    parts: list[str], term: Callable[[str], Predicate], member: Callable[[str, list[str]], Predicate]
) -> Predicate:
    parts = [p for p in parts if p != "*"]
    if not parts:
        return _always
    return _Parser(parts, term, member).expression()


# -- searches ------------------------------------------------------------------------------------


def matcher(query: str, lookup: Lookup, text_of: Callable[[Record], str]) -> Callable[[Record], bool]:
    """A predicate for a search `query`: `lookup(record, key)` reads a facet, `text_of` the free-text field."""

    def term(part: str) -> Predicate:
        key, sep, wanted = part.partition(":")
        if sep and key and not key.startswith('"'):
            return _facet_test(key, wanted, lookup)
        return _text_test(part.strip('"').lower(), text_of)

    def member(key: str, values: list[str]) -> Predicate:
        same = _value_test(values)
        return lambda record: same(lookup(record, key))

    return _parse(tokens(query), term, member)


def _text_test(needle: str, text_of: Callable[[Record], str]) -> Predicate:
    if "*" in needle or "?" in needle:
        pattern = f"*{needle}*"
        return lambda record: fnmatch.fnmatchcase(text_of(record).lower(), pattern)
    return lambda record: needle in text_of(record).lower()


def _facet_test(key: str, wanted: str, lookup: Lookup) -> Predicate:
    wanted = wanted.strip('"')
    comparison = _COMPARISON.match(wanted)
    if comparison:
        operator, number = comparison.group(1), float(comparison.group(2))
        return lambda record: _compare(lookup(record, key), operator, number)
    bounds = _RANGE.match(wanted)
    if bounds:
        low, high = (float(b) if _is_number(b) else None for b in bounds.groups())
        return lambda record: _between(lookup(record, key), low, high)
    if wanted.startswith("(") and wanted.endswith(")"):
        options = [o.strip().strip('"') for o in re.split(r"\s+OR\s+", wanted[1:-1].strip())]
    else:
        options = [wanted]
    same = _value_test(options)
    return lambda record: same(lookup(record, key))


def _is_number(text: str) -> bool:
    return bool(re.fullmatch(r"-?\d+(?:\.\d+)?", text))


def _value_test(options: list[str]) -> Callable[[Any], bool]:
    """Whether a value (or any item of a list of them) is one of `options`: case-insensitive, `*` and `?`
    as wildcards."""
    exact = {o.lower() for o in options if "*" not in o and "?" not in o}
    patterns = [re.compile(fnmatch.translate(o.lower())) for o in options if o.lower() not in exact]

    def test(value: Any) -> bool:
        for item in value if isinstance(value, list) else (value,):
            if item is None:
                continue
            text = str(item).lower()
            if text in exact or any(p.match(text) for p in patterns):
                return True
        return False

    return test


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _compare(value: Any, operator: str, number: float) -> bool:
    found = _number(value)
    if found is None:
        return False
    return {
        ">": found > number,
        "<": found < number,
        ">=": found >= number,
        "<=": found <= number,
    }[operator]


def _between(value: Any, low: float | None, high: float | None) -> bool:
    found = _number(value)
    return found is not None and (low is None or found >= low) and (high is None or found <= high)


# -- tag expressions -------------------------------------------------------------------------------


def tag_matcher(expression: str) -> Callable[[dict[str, str]], bool]:
    """A predicate over one tag set ({key: value}) for a metric scope or a `tag_filter`.

    `key:value` matches the tag's value (wildcards), a bare word a tag of that key; `*` matches all.
    """

    def term(part: str) -> Predicate:
        key, sep, wanted = part.partition(":")
        if not sep:
            return lambda tags: key in tags
        same = _value_test([wanted.strip('"')])
        return lambda tags: same(tags.get(key))

    def member(key: str, values: list[str]) -> Predicate:
        same = _value_test(values)
        return lambda tags: same(tags.get(key))

    return _parse(tokens(expression, commas=True), term, member)


# -- reading records -----------------------------------------------------------------------------


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
