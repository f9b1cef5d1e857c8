"""Log patterns: masking, the templates mined from realistic logs, and properties over generated logs."""

from __future__ import annotations

import logging
import os
import random
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dd_mcp_server.common import patterns
from dd_mcp_server.common.patterns import EMPTY, WILDCARD, Log, Pattern, compare, masked, mine

TRACE = (
    "Traceback (most recent call last):\n"
    '  File "/app/handlers/checkout.py", line 88, in handle\n'
    "    charge(order)\n"
    "PaymentError: card declined for order 77120\n"
)
JAVA = (
    "java.lang.IllegalStateException: pool exhausted after 30 tries\n"
    "\tat com.shop.Pool.get(Pool.java:41)\n"
    "\tat com.shop.Api.run(Api.java:9)"
)


def at(second: int) -> str:
    return f"2026-11-24T09:00:{second:02d}.000Z"


LOGS: list[Log] = [
    ("Timeout after 250ms calling payments.internal for order 10231", "error", at(1)),
    ("GET /api/v2/orders/10231 200 12ms", "info", at(2)),
    ("user alice@example.com logged in", "info", at(3)),
    ("upstream 10.0.3.17:8080 returned 502 Bad Gateway", "error", at(4)),
    ("Timeout after 1.5s calling inventory.internal for order 10232", "error", at(5)),
    ("GET /api/v2/orders/10232 200 8ms", "info", at(6)),
    ("user bob.smith@example.org logged in", "info", at(7)),
    ("upstream 10.0.3.18:8080 returned 502 Bad Gateway", "error", at(8)),
    (TRACE, "error", at(9)),
    ("cache miss for key session:9f8e7d6c5b4a3921, loading from postgres", "debug", at(10)),
    ("Timeout after 3s calling payments.internal for order 10240", "warn", at(11)),
    ("GET /api/v2/orders/10240 404 3ms", "warn", at(12)),
    ("request 3f2a1b9c-1234-4abc-9def-0123456789ab done in 40ms", "info", at(13)),
    ("upstream 192.168.1.4:443 returned 502 Bad Gateway", "error", at(14)),
    ("user carol@example.com logged in", "info", at(15)),
    ("", "info", at(16)),
    ("connection refused by 10.0.5.2:5432", "error", at(17)),
    ("connection reset by 10.0.5.3:5432", "error", at(18)),
    ("request 0b7c9a12-5555-4c3d-8e9f-aabbccddeeff done in 75ms", "info", at(19)),
    ("Timeout after 900ms calling shipping.internal for order 10251", "error", at(20)),
    ("cache miss for key session:0a1b2c3d4e5f6071, loading from postgres", "debug", at(21)),
    (JAVA, "error", at(22)),
    ("GET /api/v2/orders/10251 200 15ms", "info", at(23)),
    ("user dave@example.net logged in", None, at(24)),
    (TRACE.replace("77120", "77121"), "error", at(25)),
    ("worker 3 started, pid 4121", "info", at(26)),
    ("worker 4 started, pid 4122", "info", at(27)),
    ("upstream 10.0.3.17:8080 returned 504 Gateway Timeout", "error", at(28)),
    ("connection refused by 10.0.5.2:5432", "error", at(29)),
    ("Timeout after 2m calling payments.internal for order 10260", "error", at(30)),
    ("  \n ", None, None),
    ("GET /api/v2/orders/10260 500 1.2s", "error", at(32)),
    ("request 7d4e2f10-aaaa-4bbb-8ccc-1234567890ab done in 120ms", "info", at(33)),
    ("user erin@example.com logged in", "info", at(34)),
    ("Retrying in 5s (attempt 2 of 3)", "warn", at(35)),
    ("Retrying in 10s (attempt 3 of 3)", "warn", at(36)),
    ("upstream 10.0.3.19:8080 returned 502 Bad Gateway", "error", at(37)),
    (JAVA.replace("30 tries", "31 tries"), "error", at(38)),
    ("Timeout after 400ms calling payments.internal for order 10270", "error", at(39)),
    ("feature flag new-checkout enabled for 25% of traffic", "info", at(40)),
    # Earlier than every log above, given last, and without milliseconds: first_seen is by the moment.
    ("cannot reach the database server", "error", "2026-11-24T08:59:59.500Z"),
    ("cannot parse the config file", "error", "2026-11-24T09:00:41Z"),
    ("user frank@example.com logged in", "info", "2026-11-24T08:59:58Z"),
    # 09:00:34 UTC: the earliest retry, though the latest as text.
    ("Retrying in 1s (attempt 1 of 3)", "warn", "2026-11-24T10:00:34+01:00"),
]

# (template, count, statuses, first_seen, last_seen), in the order mine gives them.
EXPECTED = [
    ("Timeout after <DURATION> calling <*> for order <NUM>", 6, {"error": 5, "warn": 1}, at(1), at(39)),
    ("user <EMAIL> logged in", 6, {"info": 5}, "2026-11-24T08:59:58Z", at(34)),
    ("GET /api/v2/orders/<NUM> <NUM> <DURATION>", 5, {"info": 3, "warn": 1, "error": 1}, at(2), at(32)),
    # Drain merges what differs in a few words when the rest agrees; the example shows one of them.
    ("upstream <IP> returned <NUM> <*> <*>", 5, {"error": 5}, at(4), at(37)),
    ("request <UUID> done in <DURATION>", 3, {"info": 3}, at(13), at(33)),
    ("connection <*> by <IP>", 3, {"error": 3}, at(17), at(29)),
    ("Retrying in <DURATION> (attempt <NUM> of <NUM>)", 3, {"warn": 3}, "2026-11-24T10:00:34+01:00", at(36)),
    ("Traceback: PaymentError: card declined for order <NUM>", 2, {"error": 2}, at(9), at(25)),
    ("cache miss for key session:<HEX>, loading from postgres", 2, {"debug": 2}, at(10), at(21)),
    (EMPTY, 2, {"info": 1}, at(16), at(16)),
    ("java.lang.IllegalStateException: pool exhausted after <NUM> tries", 2, {"error": 2}, at(22), at(38)),
    ("worker <NUM> started, pid <NUM>", 2, {"info": 2}, at(26), at(27)),
    ("feature flag new-checkout enabled for <NUM>% of traffic", 1, {"info": 1}, at(40), at(40)),
    # Two words of five in common: apart at SIMILARITY 0.5 (drain3's default 0.4 would merge them).
    ("cannot reach the database server", 1, {"error": 1}, "2026-11-24T08:59:59.500Z", "2026-11-24T08:59:59.500Z"),
    ("cannot parse the config file", 1, {"error": 1}, "2026-11-24T09:00:41Z", "2026-11-24T09:00:41Z"),
]


def summary(found: list[Pattern]) -> list[tuple[str, int, dict[str, int], str, str]]:
    return [(p.template, p.count, p.statuses, p.first_seen, p.last_seen) for p in found]


def test_realistic_logs_give_the_expected_patterns() -> None:
    found = mine(LOGS)
    assert summary(found) == EXPECTED
    assert summary(mine(LOGS)) == EXPECTED  # a fresh miner each call: nothing learnt is kept
    examples = {p.template: p.example for p in found}
    assert examples[EXPECTED[0][0]] == LOGS[0][0]  # the first log of the pattern, as given
    assert examples["Traceback: PaymentError: card declined for order <NUM>"] == TRACE  # whole, not one line
    assert all(p.previous is None for p in found)


def test_the_same_logs_give_the_same_patterns_in_any_process() -> None:
    """No set or hash order leaks into the result: two hash seeds, one answer."""
    script = (
        "from tests.test_patterns import LOGS, summary\n"
        "from dd_mcp_server.common.patterns import mine\n"
        "print(summary(mine(LOGS)))\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=Path(__file__).parent.parent,
        ).stdout
        for seed in ("1", "2")
    }
    assert outputs == {f"{summary(mine(LOGS))}\n"}


def test_compare_counts_the_baseline_logs_fitting_each_template() -> None:
    baseline: list[Log] = [
        ("Timeout after 80ms calling billing.internal for order 9", "error", None),
        ("Timeout after 1s calling payments.internal for order 10", "error", None),
        ("user zed@example.com logged in", "info", None),
        ("upstream 10.1.1.1:80 returned 503 Service Unavailable", "error", None),
        ("disk full on /var/lib/postgres", "error", None),  # fits no current template: not counted
        ("", None, None),
    ]
    previous = {p.template: p.previous for p in compare(mine(LOGS), baseline)}
    assert previous == {template: 0 for template, *_ in EXPECTED} | {
        "Timeout after <DURATION> calling <*> for order <NUM>": 2,
        "user <EMAIL> logged in": 1,
        "upstream <IP> returned <NUM> <*> <*>": 1,
        EMPTY: 1,
    }


def test_compare_keeps_everything_but_previous() -> None:
    current = mine(LOGS)
    compared = compare(current, [])
    assert [p.previous for p in compared] == [0] * len(current)
    assert [(p.template, p.count, p.example) for p in compared] == [(p.template, p.count, p.example) for p in current]
    assert all(p.previous is None for p in current)


# -- masking -------------------------------------------------------------------------------------

MASKED = [
    # UUIDs, in either case, wherever they are glued by punctuation; not one that is too short.
    ("id 3f2a1b9c-1234-4abc-9def-0123456789ab", "id <UUID>"),
    ("req-3F2A1B9C-1234-4ABC-9DEF-0123456789AB,", "req-<UUID>,"),
    ("3f2a1b9c-1234-4abc-9def-0123456789", "<HEX>-<NUM>-<NUM>abc-<NUM>def-<NUM>"),
    # IPv4 with or without a port, mapped into IPv6, IPv6 compressed, full, bracketed with a port.
    ("from 10.0.0.1 to 10.0.0.2:8080.", "from <IP> to <IP>."),
    ("client ::ffff:127.0.0.1", "client <IP>"),
    ("fe80::1ff:fe23:4567:890a and ::1", "<IP> and <IP>"),
    ("2001:0db8:0000:0000:0000:ff00:0042:8329", "<IP>"),
    ("[2001:db8::1]:443", "<IP>"),
    # ... and what only looks a little like an address.
    ("version 1.2.3 and 1.2.3.4.5 and 10.0.0.1234", "version <NUM> and <NUM> and <NUM>"),
    ("std::vector Foo::Bar a:b:c", "std::vector Foo::Bar a:b:c"),
    # Hex: 0x anything, 8 or more hex characters with a digit and a letter.
    ("ptr 0x7ffd1234 id deadbeef12 span 9f8e7d6c5b4a3921", "ptr <HEX> id <HEX> span <HEX>"),
    ("cafe deadbeef abc123 v2", "cafe deadbeef abc123 v2"),
    ("12345678", "<NUM>"),
    # Durations: every unit, Go's compound form; not a number followed by a longer word.
    ("250ms 1.5s 3m 2h 100µs 40ns 7us 5min 1h2m3.5s", " ".join(["<DURATION>"] * 9)),
    ("5mins ms", "<NUM>mins ms"),
    # Numbers: ints, floats, negatives, glued by punctuation or followed by a unit.
    ("42 3.14 -5 x=-5 (-3) 1,234 50% #3", "<NUM> <NUM> <NUM> x=<NUM> (<NUM>) <NUM>,<NUM> <NUM>% #<NUM>"),
    ("cust_1234 pod-7 ip-10-0-1-2 10GB", "cust_<NUM> pod-<NUM> ip-<NUM>-<NUM>-<NUM>-<NUM> <NUM>GB"),
    # ... not inside names: a digit glued to a letter on its left, or letters leading to more digits.
    ("v2 ec2 sha256 utf8 x86 v1.2.3 3f2a HTTP/2", "v2 ec2 sha256 utf8 x86 v1.2.3 3f2a HTTP/<NUM>"),
    ("a-5 a - 5 e-5", "a-<NUM> a - <NUM> e-<NUM>"),
    # Emails; not a mention or a host without a domain.
    ("user alice.smith+x@example.co.uk logged in", "user <EMAIL> logged in"),
    ("@here root@localhost root@10.0.0.1", "@here root@localhost root@<IP>"),
    # Times: ISO 8601 in its usual forms, a date, a time of day.
    ("2026-11-24T09:30:00Z start", "<TIME> start"),
    ("2026-11-24T09:30:00.123+05:45 2026-11-24 09:30:00,123", "<TIME> <TIME>"),
    ("on 2026-11-24 at 09:30:00.5", "on <TIME> at <TIME>"),
    ("12:34 20261124", "<NUM>:<NUM> <NUM>"),
    # A URL's query string; not a question mark elsewhere.
    ("GET https://shop.example.com/cart?id=5&token=abc 200", "GET https://shop.example.com/cart?<QUERY> <NUM>"),
    ('url="https://x.io/a?b=1&c=2" (https://x.io/?q=1)', 'url="https://x.io/a?<QUERY>" (https://x.io/?<QUERY>)'),
    ("is it? what?", "is it? what?"),
]


@pytest.mark.parametrize(("text", "expected"), MASKED)
def test_masking(text: str, expected: str) -> None:
    assert masked(text) == expected


@pytest.mark.parametrize(
    ("message", "line"),
    [
        (TRACE, "Traceback: PaymentError: card declined for order <NUM>"),
        (JAVA, "java.lang.IllegalStateException: pool exhausted after <NUM> tries"),
        ("\n\n  first\nsecond", "first"),
        ("", EMPTY),
        (" \t\n ", EMPTY),
        ("x" * 2000, "x" * patterns.MAX_LINE),
        ("word " * 300, ("word " * 100).strip()),
    ],
)
def test_one_line_is_mined(message: str, line: str) -> None:
    assert masked(message) == line


# -- properties ----------------------------------------------------------------------------------

WORDS = ["error", "timeout", "user", "calling", "payments.internal", "GET", "/api/orders", "done", "in", "cafe"]
# Tokens with digits only where a number stands, so replacing the digits changes no token's kind.
NUMBERISH = st.one_of(
    st.integers(-(10**6), 10**12).map(str),
    st.floats(0, 1e6, allow_nan=False).map(lambda x: f"{x:.3f}"),
    st.integers(0, 10**5).map(lambda n: f"{n}ms"),
    st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t))),
    st.uuids().map(str),
    st.binary(min_size=4, max_size=12).map(bytes.hex),
    st.binary(min_size=1, max_size=8).map(lambda b: "0x" + b.hex()),
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")),
)
TOKEN = st.sampled_from(WORDS) | NUMBERISH
SEPARATOR = st.sampled_from([" ", " ", " ", ", ", "=", "/", ": ", " (", "-", "_"])


@st.composite
def families(draw: st.DrawFn) -> list[str]:
    """Messages of a few families, each a base message with some tokens swapped: Drain has `<*>` to write."""
    bases = draw(st.lists(st.lists(st.tuples(TOKEN, SEPARATOR), min_size=1, max_size=7), min_size=1, max_size=3))
    messages = []
    for _ in range(draw(st.integers(0, 40))):
        base = draw(st.sampled_from(bases))
        swapped = [(draw(TOKEN) if draw(st.integers(0, 3)) == 0 else token, sep) for token, sep in base]
        messages.append("".join(token + sep for token, sep in swapped).strip())
    return messages


@st.composite
def log_lists(draw: st.DrawFn, *, any_text: bool = True) -> list[Log]:
    """Logs from `families`, with arbitrary text (newlines, blanks, any Unicode) mixed in if `any_text`."""
    messages = draw(families())
    if any_text:
        for text in draw(st.lists(st.text(max_size=60), max_size=8)):
            messages.insert(draw(st.integers(0, len(messages))), text)
    status = st.sampled_from(["error", "warn", "info", None])
    timestamp = st.sampled_from([None, "2026-11-24T09:00:00Z", "2026-11-24T08:00:00.250Z", "not a time"])
    return [(message, draw(status), draw(timestamp)) for message in messages]


def fits(template: str, line: str) -> bool:
    want, got = template.split(), line.split()
    return len(want) == len(got) and all(w in (WILDCARD, g) for w, g in zip(want, got, strict=True))


def best(found: list[Pattern], line: str) -> str:
    """The pattern a line belongs to, found independently: fewest wildcards, then the template's text."""
    fitting = [p.template for p in found if fits(p.template, line)]
    return min(fitting, key=lambda t: (t.split().count(WILDCARD), t))


@given(log_lists())
def test_every_log_lands_in_exactly_the_pattern_it_fits_best(logs: list[Log]) -> None:
    found = mine(logs)
    assert sum(p.count for p in found) == len(logs)
    assert len({p.template for p in found}) == len(found)
    assert Counter(best(found, masked(message)) for message, _, _ in logs) == {p.template: p.count for p in found}
    assert [p.count for p in found] == sorted((p.count for p in found), reverse=True)
    for pattern in found:
        assert fits(pattern.template, masked(pattern.example))


def other_digits(text: str, seed: int) -> str:
    """Every digit run replaced by as many random digits (an IP stays an IP), `0x` kept."""
    rng = random.Random(seed)
    return re.sub(
        r"0(?=[xX])|[0-9]+",
        lambda m: m.group() if m.group() == "0" else "".join(rng.choices("0123456789", k=len(m.group()))),
        text,
    )


@given(log_lists(any_text=False), st.integers())
def test_the_numbers_inside_messages_change_nothing(logs: list[Log], seed: int) -> None:
    renumbered = [(other_digits(message, seed), status, timestamp) for message, status, timestamp in logs]
    assert [(p.template, p.count, p.statuses) for p in mine(renumbered)] == [
        (p.template, p.count, p.statuses) for p in mine(logs)
    ]


@given(log_lists())
def test_compare_with_itself_gives_previous_equal_to_count(logs: list[Log]) -> None:
    for pattern in compare(mine(logs), logs):
        assert pattern.previous == pattern.count


@given(log_lists().filter(bool))
def test_a_message_only_in_the_current_window_is_new(baseline: list[Log]) -> None:
    """A message longer than any baseline line cannot share a template with one: previous == 0."""
    longest = max(len(masked(message).split()) for message, _, _ in baseline)
    new = " ".join(["brandnew"] * (longest + 1))
    compared = compare(mine([*baseline, (new, "error", None)]), baseline)
    (pattern,) = [p for p in compared if fits(p.template, new)]
    assert pattern.previous == 0
    assert pattern.count == 1


def test_past_max_templates_each_new_line_is_its_own_template(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(patterns, "MAX_TEMPLATES", 3)
    logs: list[Log] = [
        ("alpha one", None, None),
        ("beta two three", None, None),
        ("alpha two", None, None),  # joins the first: alpha <*>
        ("gamma four", None, None),  # the third template
        ("beta two four", None, None),  # past the cap, fits none: its own (not beta two <*>)
        ("alpha three", None, None),  # fits alpha <*>
        ("gamma four", None, None),
    ]
    found = mine(logs)
    assert [(p.template, p.count) for p in found] == [
        ("alpha <*>", 3),
        ("gamma four", 2),
        ("beta two three", 1),
        ("beta two four", 1),
    ]
    assert all(p.previous == p.count for p in compare(found, logs))


# -- what drain3 must not do ---------------------------------------------------------------------


def test_mining_prints_nothing_and_leaves_logging_alone(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """stdout is the JSON-RPC channel; drain3 may log (INFO, to whatever handler the server set)."""
    root_handlers = list(logging.getLogger().handlers)
    caplog.set_level(logging.DEBUG)
    compare(mine(LOGS), LOGS)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ""
    assert logging.getLogger().handlers == root_handlers
    assert logging.getLogger("drain3").handlers == []
    assert all(record.levelno < logging.WARNING for record in caplog.records)


def test_no_drain3_ini_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """drain3 reads ./drain3.ini when given no config: a stray one must not change the patterns."""
    (tmp_path / "drain3.ini").write_text("[DRAIN]\nsim_th = 0.01\ndepth = 3\n")
    monkeypatch.chdir(tmp_path)
    assert summary(mine(LOGS)) == EXPECTED


def test_importing_the_module_does_not_import_drain3() -> None:
    """drain3 costs ~100 ms to import: the server's start-up must not pay it."""
    script = "import sys, dd_mcp_server.common.patterns; print(sorted(m for m in sys.modules if 'drain3' in m))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout == "[]\n"
