"""How a trail record is sealed and written, shared by the writer (trail.py) and the checker (verify.py).

A record's `hash` is SHA-256 over its canonical JSON (keys sorted, no spaces, UTF-8) without the
`hash` key, and its `prev` is the hash of the record before it, so an auditor can tell whether any
record was edited, removed, added or moved after it was written. The line on disk keeps the
writer's key order for people reading it; the checker requires each line to be exactly what the
writer would write for its values, so not even a change that leaves the values equal goes unseen.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def encode(value: object, *, canonical: bool = False) -> bytes:
    """Compact JSON in UTF-8; a lone surrogate (possible in text a client sent) stays a JSON \\u escape."""
    text = json.dumps(value, sort_keys=canonical, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "backslashreplace")


def seal(record: Mapping[str, Any]) -> str:
    """The hash a record must carry: SHA-256 hex of its canonical JSON without the `hash` key."""
    return hashlib.sha256(encode({k: v for k, v in record.items() if k != "hash"}, canonical=True)).hexdigest()


def line(record: Mapping[str, Any]) -> bytes:
    """The record as the trail writes it: one line."""
    return encode(record) + b"\n"


def parse(raw: bytes) -> dict[str, Any] | None:
    """A line's record, or None unless it is a JSON object carrying a string `hash` and `prev`."""
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if isinstance(value, dict) and isinstance(value.get("hash"), str) and isinstance(value.get("prev"), str):
        return value
    return None
