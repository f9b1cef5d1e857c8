"""Pick fields out of a long record: the attributes a search query filtered on, the fields a caller
named (`fields`), at dotted paths.

A list answer is a summary: sixty monitors with their queries and messages cost the model more
than it reads. Every other field stays one argument away (`fields=['query']`, `['*']` for all),
taken from the record as Datadog gave it, so nothing is lost.
"""

from __future__ import annotations

import re
from typing import Any

# `@http.status_code:500`, `-@error.kind:Timeout`, `@duration:>1000000` -> the attribute path.
_ATTRIBUTE = re.compile(r"@([A-Za-z0-9_.\-]+)\s*:")


def queried_attributes(query: str) -> list[str]:
    """Attribute paths named with `@` in a Datadog search query, in order, without repeats."""
    return list(dict.fromkeys(_ATTRIBUTE.findall(query or "")))


def pick(source: Any, path: str) -> Any:
    """The value at a dotted path inside nested dicts, or None. `http.status_code` -> source[http][status_code],
    or a key spelt with the dot itself (Datadog stores both), tried first at every level."""
    if not isinstance(source, dict):
        return None
    if path in source:
        return source[path]
    head, dot, rest = path.partition(".")
    while dot:
        found = pick(source.get(head), rest)
        if found is not None:
            return found
        more, dot, rest = rest.partition(".")
        head = f"{head}.{more}"
    return None


def picked(sources: list[Any], paths: list[str]) -> dict[str, Any]:
    """{path: value} for each path found in the first source that has it."""
    found: dict[str, Any] = {}
    for path in paths:
        for source in sources:
            value = pick(source, path)
            if value is not None:
                found[path] = value
                break
    return found


ALL = "*"


def resource(item: dict[str, Any]) -> dict[str, Any]:
    """A JSON:API resource (`{id, type, attributes}`) as the one record `fields` reads: its attributes,
    the custom `attributes` nested in them lifted beside them (logs and events keep theirs there), its id.
    """
    attributes = item.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise TypeError("a resource's attributes are not an object")
    custom = attributes.get("attributes")
    record = {**(custom if isinstance(custom, dict) else {}), **attributes, "id": item.get("id")}
    record.pop("attributes", None)
    return record


def select(
    summary: dict[str, Any], shown: tuple[str, ...], full: dict[str, Any], extra: list[str] | None
) -> dict[str, Any]:
    """The `shown` fields of `summary`, plus each dotted field of `extra` (from `summary`, else `full`).

    `*` in `extra` adds every field of `full`, the summary's shortened values first. A field that
    neither has is left out: the caller sees it is not there.
    """
    wanted = [*shown, *(name.removeprefix("@") for name in extra or ())]
    chosen: dict[str, Any] = {**full, **summary} if ALL in wanted else {}
    for path in dict.fromkeys(wanted):
        if path == ALL or pick(chosen, path) is not None:
            continue
        value = pick(summary, path)
        if value is None:
            value = pick(full, path)
        if value is not None:
            place(chosen, path, value)
    return chosen


def place(record: dict[str, Any], path: str, value: Any) -> None:
    """Set `value` at a dotted path, making the objects on the way: a table shows it as that column."""
    *parents, last = path.split(".")
    for name in parents:
        inner = record.get(name)
        if not isinstance(inner, dict):
            inner = record[name] = {}
        record = inner
    record[last] = value
