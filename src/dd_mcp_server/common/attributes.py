"""Pick out of a long event the custom attributes a search query filtered on."""

from __future__ import annotations

import re
from typing import Any

# `@http.status_code:500`, `-@error.kind:Timeout`, `@duration:>1000000` -> the attribute path.
_ATTRIBUTE = re.compile(r"@([A-Za-z0-9_.\-]+)\s*:")


def queried_attributes(query: str) -> list[str]:
    """Attribute paths named with `@` in a Datadog search query, in order, without repeats."""
    return list(dict.fromkeys(_ATTRIBUTE.findall(query or "")))


def pick(source: Any, path: str) -> Any:
    """The value at a dotted path inside nested dicts, or None. `http.status_code` -> source[http][status_code].

    A key that itself contains dots (as Datadog sometimes stores them) is tried before descending.
    """
    if not isinstance(source, dict):
        return None
    if path in source:
        return source[path]
    head, _, rest = path.partition(".")
    if not rest:
        return source.get(head)
    return pick(source.get(head), rest)


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
