"""Arguments must have the JSON type their schema declares: no coercion.

pydantic's lax mode turns `true` into the integer 1 (so `start: true` meant 1970), `5.0` into 5
and `"50"` into 50. A model that sent the wrong type should be told, not silently obeyed.
"""

from __future__ import annotations

import json
import re
from typing import Any

_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "null",
}


def type_problem(value: Any, schema: dict[str, Any]) -> str | None:
    """None when `value` has a JSON type `schema` allows, else what was expected and what came."""
    options = schema.get("anyOf") or [schema]
    if any(_fits(value, option) for option in options):
        return None
    wanted = [_NAMES[option["type"]] for option in options if option.get("type") in _NAMES]
    return f"expected {' or '.join(dict.fromkeys(wanted))}, got {kind_of(value)} ({_shown(value)})"


def text_problem(value: Any) -> str | None:
    """None unless a string in `value` is not Unicode text (a lone UTF-16 surrogate, which JSON allows).

    Such a string cannot be sent to Datadog: encoding the request would fail, far from the argument.
    """
    strings = value if isinstance(value, list) else [value]
    if any(isinstance(s, str) and not s.isascii() and _SURROGATE.search(s) for s in strings):
        return "holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text; send it without that character"
    return None


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _shown(value: Any) -> str:
    """The value as JSON, cut short: enough for the model to recognise what it sent."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:40] + "…"


def kind_of(value: Any) -> str:
    """The JSON type of a value, as a reader names it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number written as a float" if value.is_integer() else "a number with a fraction"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _fits(value: Any, option: dict[str, Any]) -> bool:
    kind = option.get("type")
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "array":
        return _fits_array(value, option.get("items") or {})
    if kind == "object":
        return isinstance(value, dict)
    return True  # no declared type: the value's own constraints are the validator's business


def _fits_array(value: Any, items: dict[str, Any]) -> bool:
    """A list whose items fit; a string holding a JSON list is accepted too (the SDK unpacks it)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return False
    return isinstance(value, list) and all(type_problem(item, items) is None for item in value)
