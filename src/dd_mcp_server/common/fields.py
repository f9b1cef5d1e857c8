"""Which fields a list view shows: those that identify and triage a record, plus any the caller names.

A list answer is a summary: sixty monitors with their queries and messages cost the model more
than it reads. Every other field stays one argument away (`fields=['query']`, `['*']` for all),
taken from the record as Datadog gave it, so nothing is lost.
"""

from __future__ import annotations

from typing import Any

ALL = "*"


def pick(
    summary: dict[str, Any], shown: tuple[str, ...], full: dict[str, Any], extra: list[str] | None
) -> dict[str, Any]:
    """The `shown` fields of `summary`, plus each dotted field of `extra` (from `summary`, else `full`).

    `*` in `extra` adds every field of `full`, the summary's shortened values first. A field that
    neither has is left out: the caller sees it is not there.
    """
    wanted = [*shown, *(name.removeprefix("@") for name in extra or ())]
    picked: dict[str, Any] = {**full, **summary} if ALL in wanted else {}
    for path in dict.fromkeys(wanted):
        if path == ALL or lookup(picked, path) is not None:
            continue
        value = lookup(summary, path)
        if value is None:
            value = lookup(full, path)
        if value is not None:
            place(picked, path, value)
    return picked


def lookup(record: dict[str, Any], path: str) -> Any:
    """The value at a dotted path: `http.status_code` is record["http"]["status_code"], or a key spelt
    with the dot itself (Datadog allows both)."""
    if path in record:
        return record[path]
    head, dot, rest = path.partition(".")
    while dot:
        inner = record.get(head)
        if isinstance(inner, dict):
            found = lookup(inner, rest)
            if found is not None:
                return found
        more, dot, rest = rest.partition(".")
        head = f"{head}.{more}"
    return None


def place(record: dict[str, Any], path: str, value: Any) -> None:
    """Set `value` at a dotted path, making the objects on the way: a table shows it as that column."""
    *parents, last = path.split(".")
    for name in parents:
        inner = record.get(name)
        if not isinstance(inner, dict):
            inner = record[name] = {}
        record = inner
    record[last] = value
