"""Time arguments as a model writes them: epoch seconds, ISO 8601, `now`, or `now-15m`."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from dd_mcp_server.common.errors import InvalidArgument

UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_RELATIVE = re.compile(r"now(?:\s*-\s*(\d+)\s*([smhdw]))?")
# Epoch values above this are taken as milliseconds (year 5138 in seconds, 1973 in milliseconds).
_MILLISECONDS_FROM = 10**11
_END_OF_9999 = 253402300800  # 10000-01-01T00:00:00Z
MAX_FUTURE = 86400
_EXAMPLES = "'now-15m', 'now-2h', 'now-7d', 'now', 1732406400 or '2026-11-24T09:30:00Z'"

TimeArg = str | int | float | None


def parse_time(value: TimeArg, *, argument: str, now: float) -> int:
    """Epoch seconds for one time argument; raises InvalidArgument naming `argument` if unreadable."""
    if isinstance(value, bool):
        raise InvalidArgument(argument, "expected a time, got a boolean", _EXAMPLES)
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an int too large for any float
            raise InvalidArgument(argument, "the number is outside 1970..9999 as epoch seconds", _EXAMPLES) from None
        return _from_epoch(number, argument)
    text = str(value).strip().lower()
    match = _RELATIVE.fullmatch(text)
    if match:
        amount, unit = match.groups()
        try:
            offset: int | None = int(amount) * UNIT_SECONDS[unit] if amount else 0
        except ValueError:  # more digits than int() reads (4300): far before 1970 in any unit
            offset = None
        if offset is None or offset > now:
            raise InvalidArgument(argument, f"{str(value)[:80]!r} reaches before 1970", _EXAMPLES)
        return int(now) - offset
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        # Outside the try: InvalidArgument is a ValueError, and its reason must reach the caller.
        return _from_epoch(number, argument)
    try:
        moment = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument(argument, f"cannot read {str(value)[:80]!r} as a time", _EXAMPLES) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    seconds = moment.timestamp()
    if not 0 <= seconds < _END_OF_9999:
        raise InvalidArgument(argument, f"{str(value)[:80]!r} is outside 1970..9999", _EXAMPLES)
    return int(seconds)


def time_window(start: TimeArg, end: TimeArg, *, now: float, default_span: int = 3600) -> tuple[int, int]:
    """The (start, end) epoch seconds of a query window; the default is the last `default_span` seconds.

    A window may end at most a day after now (clock skew, a forecast); later is a mistake, such as
    a year typed wrong, that would otherwise query nothing and look like silence.
    """
    end_s = parse_time(end, argument="end", now=now) if end is not None else int(now)
    if end_s > now + MAX_FUTURE:
        raise InvalidArgument(
            "end", f"{iso(end_s)} is more than a day after now ({iso(now)})", "end='now' or end='now-1h'"
        )
    start_s = parse_time(start, argument="start", now=now) if start is not None else max(0, end_s - default_span)
    if start_s >= end_s:
        raise InvalidArgument(
            "start" if start is not None else "end",
            f"start ({iso(start_s)}) must be before end ({iso(end_s)})",
            "start='now-2h', end='now-1h'",
        )
    return start_s, end_s


def iso(epoch_seconds: float) -> str:
    """UTC ISO 8601 with a Z, second precision: what Datadog's v2 searches and a reader both accept."""
    return datetime.fromtimestamp(epoch_seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _from_epoch(value: float, argument: str) -> int:
    if value != value or value in (float("inf"), float("-inf")):
        raise InvalidArgument(argument, "expected a finite time", _EXAMPLES)
    seconds = value / 1000 if abs(value) >= _MILLISECONDS_FROM else value
    if not 0 <= seconds < _END_OF_9999:
        raise InvalidArgument(argument, f"{value:g} is outside 1970..9999 as epoch seconds", _EXAMPLES)
    return int(seconds)
