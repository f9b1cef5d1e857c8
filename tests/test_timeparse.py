"""Properties of time arguments: relative times, epoch seconds and milliseconds, ISO 8601, windows."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dd_mcp_server.common.errors import InvalidArgument
from dd_mcp_server.common.timeparse import MAX_FUTURE, UNIT_SECONDS, iso, parse_time, time_window

NOW = 1_795_521_600  # 2026-11-24T12:00:00Z
LAST_SECOND = 253_402_300_799  # 9999-12-31T23:59:59Z
MS_FROM = 10**11
ARGUMENTS = st.sampled_from(["start", "end", "from_time", "at"])
NOWS = st.one_of(st.just(float(NOW)), st.floats(min_value=1e9, max_value=4e9))
EPOCH_SECONDS = st.integers(min_value=0, max_value=MS_FROM - 1)
MOMENTS = st.integers(min_value=0, max_value=LAST_SECOND)


def refused(value: Any, argument: str = "start", now: float = NOW) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        parse_time(value, argument=argument, now=now)
    assert caught.value.argument == argument
    assert f"'{argument}'" in str(caught.value)
    assert "Example:" in str(caught.value)
    return caught.value


# -- relative ------------------------------------------------------------------------------------


@given(
    st.integers(min_value=0, max_value=10**6),
    st.sampled_from(sorted(UNIT_SECONDS)),
    NOWS,
    st.sampled_from(["now-{n}{u}", "now - {n}{u}", " NOW-{n}{U} ", "Now -{n}{u}"]),
)
def test_now_minus_an_amount_counts_back_exactly(amount: int, unit: str, now: float, form: str) -> None:
    text = form.format(n=amount, u=unit, U=unit.upper())
    offset = amount * UNIT_SECONDS[unit]
    if offset <= now:
        assert parse_time(text, argument="start", now=now) == int(now) - offset
    else:
        refused(text, now=now)


@given(NOWS)
def test_now_is_now(now: float) -> None:
    assert parse_time("now", argument="end", now=now) == int(now)
    assert parse_time(" Now ", argument="end", now=now) == int(now)


@pytest.mark.parametrize(
    ("text", "seconds"), [("now-15m", 900), ("now-2h", 7200), ("now-7d", 604800), ("now-1w", 604800), ("now-30s", 30)]
)
def test_relative_examples(text: str, seconds: int) -> None:
    assert parse_time(text, argument="start", now=NOW) == NOW - seconds


@pytest.mark.parametrize("text", ["now+1h", "now-5x", "now-h", "now-1.5h", "now-1h-1m", "now1h", "now-1 hour", "-1h"])
def test_relative_forms_that_are_not_understood(text: str) -> None:
    refused(text)


def test_a_relative_time_before_1970_is_refused() -> None:
    refused("now-100000w")
    refused("now-" + "9" * 5000 + "s")  # longer than Python converts to an int by default
    refused("now-" + "0" * 5000 + "1s")
    assert parse_time("now-" + "0" * 30 + "15m", argument="start", now=NOW) == NOW - 900


# -- epoch ---------------------------------------------------------------------------------------


@given(EPOCH_SECONDS, ARGUMENTS)
def test_epoch_seconds_round_trip(seconds: int, argument: str) -> None:
    assert parse_time(seconds, argument=argument, now=NOW) == seconds
    assert parse_time(str(seconds), argument=argument, now=NOW) == seconds
    assert parse_time(f" {seconds} ", argument=argument, now=NOW) == seconds
    assert parse_time(float(seconds), argument=argument, now=NOW) == seconds
    assert parse_time(seconds + 0.75, argument=argument, now=NOW) == seconds


@given(st.integers(min_value=MS_FROM, max_value=LAST_SECOND * 1000 + 999))
def test_epoch_milliseconds_are_divided_by_1000(milliseconds: int) -> None:
    assert parse_time(milliseconds, argument="start", now=NOW) == milliseconds // 1000
    assert parse_time(str(milliseconds), argument="start", now=NOW) == milliseconds // 1000


def test_the_milliseconds_threshold() -> None:
    assert parse_time(MS_FROM - 1, argument="start", now=NOW) == MS_FROM - 1
    assert parse_time(MS_FROM, argument="start", now=NOW) == MS_FROM // 1000
    assert parse_time(NOW * 1000, argument="start", now=NOW) == NOW
    assert parse_time(NOW * 1000 + 999, argument="start", now=NOW) == NOW


@pytest.mark.parametrize(
    "bad",
    [
        True,
        False,
        float("nan"),
        float("inf"),
        float("-inf"),
        "nan",
        "inf",
        "-Infinity",
        -1,
        -0.5,
        "-1",
        (LAST_SECOND + 1) * 1000,
        10**20,
        -(10**20),
        pytest.param(10**400, id="10**400"),  # too large for a float
        "1e400",
        "",
        "   ",
        "yesterday",
        "2026-13-01",
        "2026-11-24T25:00:00Z",
        "twelve o'clock",
        "1732406400s",
        "9" * 30,
        None,
    ],
)
def test_unreadable_times_are_refused_naming_the_argument(bad: Any) -> None:
    refused(bad, argument="end")


# -- ISO 8601 ------------------------------------------------------------------------------------


@given(MOMENTS)
def test_iso_round_trips(seconds: int) -> None:
    text = iso(seconds)
    assert text.endswith("Z")
    assert parse_time(text, argument="start", now=NOW) == seconds
    assert parse_time(text.lower(), argument="start", now=NOW) == seconds


@given(MOMENTS, st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59), st.sampled_from(["T", " "]))
def test_iso_with_any_offset_is_the_same_moment(seconds: int, offset_minutes: int, separator: str) -> None:
    zone = timezone(timedelta(minutes=offset_minutes))
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    try:
        local = moment.astimezone(zone)
    except OverflowError:  # the local time falls outside years 1..9999
        return
    assert parse_time(local.isoformat(sep=separator), argument="start", now=NOW) == seconds


@given(MOMENTS)
def test_naive_iso_is_utc(seconds: int) -> None:
    naive = datetime.fromtimestamp(seconds, tz=timezone.utc).replace(tzinfo=None)
    assert parse_time(naive.isoformat(), argument="start", now=NOW) == seconds


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2026-11-24T12:00:00Z", NOW),
        ("2026-11-24T13:00:00+01:00", NOW),
        ("2026-11-24T07:30:00-04:30", NOW),
        ("2026-11-24T12:00:00", NOW),
        ("2026-11-24T12:00:00.999Z", NOW),
        ("2026-11-24", NOW - 12 * 3600),
        ("1970-01-01T00:00:00Z", 0),
        ("9999-12-31T23:59:59Z", LAST_SECOND),
    ],
)
def test_iso_examples(text: str, seconds: int) -> None:
    assert parse_time(text, argument="start", now=NOW) == seconds


@pytest.mark.parametrize(
    "text", ["1969-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "1970-01-01T00:30:00+01:00", "9999-12-31T23:59:59-00:01"]
)
def test_iso_outside_1970_to_9999_is_refused(text: str) -> None:
    refused(text)


# -- anything ------------------------------------------------------------------------------------

FRAGMENTS = st.sampled_from(
    ["now", "-", "+", " ", "1", "15", "0", "9" * 12, "m", "h", "d", "w", "s", "x", "T", ":", ".", "Z", "z", "e",
     "2026-11-24", "12:00:00", "+01:00", "-23:59", "1e3", "inf", "nan", "_", "W", "٣", "\x00", "\n"]
)  # fmt: skip
NEAR_MISSES = st.lists(FRAGMENTS, max_size=8).map("".join)
ANY_VALUE = st.one_of(
    st.text(max_size=40),
    NEAR_MISSES,
    st.integers(),
    st.floats(),
    st.booleans(),
    st.none(),
)


@given(ANY_VALUE, ARGUMENTS, NOWS)
def test_anything_is_a_time_in_range_or_invalid_argument(value: Any, argument: str, now: float) -> None:
    try:
        seconds = parse_time(value, argument=argument, now=now)
    except InvalidArgument as error:
        refusal: InvalidArgument | None = error
    else:
        refusal = None
    if refusal is not None:
        assert refusal.argument == argument
        assert f"'{argument}'" in str(refusal)
        return
    assert isinstance(seconds, int)
    assert 0 <= seconds <= LAST_SECOND
    iso(seconds)  # every accepted time can be shown back


# -- windows -------------------------------------------------------------------------------------


def test_the_default_window_is_the_last_hour() -> None:
    assert time_window(None, None, now=NOW) == (NOW - 3600, NOW)
    assert time_window(None, None, now=NOW + 0.9) == (NOW - 3600, NOW)
    assert time_window(None, None, now=NOW, default_span=900) == (NOW - 900, NOW)


def test_one_given_end_defaults_the_other() -> None:
    assert time_window("now-1d", None, now=NOW) == (NOW - 86400, NOW)
    assert time_window(None, "now-1d", now=NOW) == (NOW - 86400 - 3600, NOW - 86400)
    assert time_window(None, NOW - 60, now=NOW, default_span=60) == (NOW - 120, NOW - 60)


@given(
    st.integers(min_value=1, max_value=2000),  # 2000 weeks back from NOW is still after 1970
    st.integers(min_value=0, max_value=2000),
    st.sampled_from(sorted(UNIT_SECONDS)),
)
def test_relative_windows(back_start: int, back_end: int, unit: str) -> None:
    start, end = f"now-{back_start}{unit}", f"now-{back_end}{unit}"
    if back_start > back_end:
        assert time_window(start, end, now=NOW) == (
            NOW - back_start * UNIT_SECONDS[unit],
            NOW - back_end * UNIT_SECONDS[unit],
        )
    else:
        with pytest.raises(InvalidArgument, match="'start'") as caught:
            time_window(start, end, now=NOW)
        assert caught.value.argument == "start"


@given(ANY_VALUE, ANY_VALUE)
def test_a_window_is_ordered_or_invalid_argument(start: Any, end: Any) -> None:
    try:
        start_s, end_s = time_window(start, end, now=NOW)
    except InvalidArgument as error:
        refusal: InvalidArgument | None = error
    else:
        refusal = None
    if refusal is not None:
        assert refusal.argument in {"start", "end"}
        assert f"'{refusal.argument}'" in str(refusal)
        return
    assert 0 <= start_s < end_s <= NOW + MAX_FUTURE


def test_a_window_may_end_up_to_a_day_after_now_and_no_later() -> None:
    assert time_window("now-1h", NOW + 86400, now=NOW) == (NOW - 3600, NOW + 86400)
    for end in (NOW + 86401, "9999-12-31T23:59:59Z", "2027-11-24T12:00:00Z"):
        with pytest.raises(InvalidArgument, match=r"'end': .* is more than a day after now") as caught:
            time_window("now-1h", end, now=NOW)
        assert caught.value.argument == "end"


@pytest.mark.parametrize(
    ("start", "end", "argument"),
    [
        ("now", "now-1h", "start"),
        ("now", "now", "start"),
        (NOW, NOW, "start"),
        ("9999-12-31T23:59:59Z", "now", "start"),
        ("garbage", "now", "start"),
        ("now-1h", "garbage", "end"),
        ("now-1h", "9999-12-31T23:59:59Z", "end"),
        (True, None, "start"),
    ],
)
def test_bad_windows_name_the_argument(start: Any, end: Any, argument: str) -> None:
    with pytest.raises(InvalidArgument, match=f"'{argument}'") as caught:
        time_window(start, end, now=NOW)
    assert caught.value.argument == argument
