"""Remove fields that cost tokens and tell the model nothing."""

from __future__ import annotations

from typing import Any

NOISE_KEYS = frozenset({"creator", "matching_downtimes", "restricted_roles", "org_id", "deleted", "modified"})


def strip_metadata(value: Any, keys: frozenset[str] = NOISE_KEYS) -> Any:
    """A copy of `value` without `keys` at any depth; everything else is left exactly as it was."""
    if isinstance(value, dict):
        return {k: strip_metadata(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [strip_metadata(item, keys) for item in value]
    return value


def drop_empty(value: Any) -> Any:
    """A copy of `value` without dict entries that are None, "", [] or {} (after their own cleaning)."""
    if isinstance(value, dict):
        cleaned = {k: drop_empty(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v is not None and v != "" and v != [] and v != {}}
    if isinstance(value, list):
        return [drop_empty(item) for item in value]
    return value
