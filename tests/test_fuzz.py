"""Hostile arguments through the MCP client, for every tool: refused by name, or answered well.

The contract of every tool's arguments is written out below (CONTRACT), from the README and the
tools' descriptions, and not read from the server's schema: a constraint changed by mistake in the
source shows up as a disagreement. Each argument kind lists values the contract accepts (typical
ones and its edges) and hostile ones in groups: wrong JSON types (`start: true`, `limit: 5.0`, a
string for a list, objects), lone surrogates and control characters, strings of a megabyte, values
nested 250 levels deep (the most the MCP client can send), boundary numbers (0, -1, each limit and
one past it, 2**63), windows ending more than a day after now, cursors this server never issued
(`²`, `-1`, 40 digits), this server's own keys inside values. Unknown names include names holding a
real one (`append`, `startup`, `querystring`).

- The sweep sends every listed value alone, beside the required arguments, with each stray name and
  each omitted required argument, to a server at the smallest result budget (deterministic).
- The fuzz draws FUZZ_EXAMPLES argument sets per tool (300 by default): listed and generated
  values together, several hostile at once, to a server at the default budget.

Each answer is held to the verdict of the values it was sent:

- every value acceptable: a valid result (compact JSON text equal to the structured content,
  starting with the untrusted-content note, within the budget, no 12 characters of a key), for the
  time window, page offset and cursor the arguments say (read back from the request the fake
  Datadog receives);
- some value refused by the contract: an error in the server's form, `Invalid argument '<name>'`
  or `Unknown argument '<name>'` (a word: 'append' never passes for 'end'), naming only arguments
  the call carried (or a required one it omitted), and at least one that the contract refuses;
- some value the contract leaves open (odd but well-typed text): either of the two.

After every hostile call, a valid call to the same server is answered normally. A key sent as an
argument never comes back, in a result or an error. Numbers JSON cannot hold (1e400, NaN) are sent
over the real stdio transport, because the in-memory client writes them as null.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client
from mcp_types import CallToolResult, TextContent

from dd_mcp_server.tools import TOOLSETS
from dd_mcp_server.tools.results import UNTRUSTED_NOTE
from tests.conftest import API_KEY, APP_KEY, NOW, REPORTS, connect
from tests.test_protocol import Session, call, initialize, with_server

EXAMPLES_PER_TOOL = int(os.environ.get("FUZZ_EXAMPLES", "300"))
BUDGET = 40_000  # DD_MCP_MAX_RESULT_CHARS by default, as the fuzz's server runs
SMALL_BUDGET = 1_000  # its minimum, as the sweep's server runs: most results are cut, then masked
DAY = 86_400
TOOL_NAMES = [fn.__name__ for tools in TOOLSETS.values() for fn in tools]


class Verdict(Enum):
    ACCEPT = "accept"  # the contract takes it: the call may not be refused for it
    REFUSE = "refuse"  # the contract refuses it: the call must be refused, naming an argument
    EITHER = "either"  # odd but well-typed: taken, or refused by name


@dataclass(frozen=True)
class Value:
    """One generated argument value, its verdict and, for times and offset cursors, what it means."""

    value: Any
    verdict: Verdict
    means: int | None = None  # a time's epoch seconds, an offset cursor's offset


def accept(value: Any, means: int | None = None) -> Value:
    return Value(value, Verdict.ACCEPT, means)


def refuse(value: Any) -> Value:
    return Value(value, Verdict.REFUSE)


def either(value: Any) -> Value:
    return Value(value, Verdict.EITHER)


def nested_list(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


def nested_object(depth: int) -> Any:
    value: Any = {}
    for _ in range(depth):
        value = {"a": value}
    return value


# The MCP client refuses to serialise anything deeper than 254 levels: this is as deep as a call gets.
DEEP = 250
MEGABYTE = "x" * 1_000_000
# Well-typed oddities, alone and inside an ordinary word: lone surrogates, NUL, an escape sequence,
# line breaks, DEL, bidi controls, a tag character.
ODD_CHARACTERS = ["\ud83d", "\udc00", "\x00", "\x1b[31m", "\r\n", "\x7f", "\u202e", "\u2066", "\U000e0041", "\u2028"]
ODD_TEXT = [text for c in ODD_CHARACTERS for text in (c, f"pay{c}ment")]
# Values of every JSON type but text, for arguments that take text (objects and deep ones included).
NOT_TEXT = [True, False, 0, 7, 1.5, -1.0, ["a"], {"a": "b"}, nested_list(DEEP), nested_object(DEEP)]
# This server's keys inside argument values: wherever a value is echoed, in a result or an error, they are
# masked. And many short secrets, which masking lengthens: a result cut to the budget, then masked, must be
# cut again.
WITH_KEYS = (API_KEY, APP_KEY, f"service:web {API_KEY}", f"env:prod api_key={APP_KEY}", "password=hunter22 " * 222)
PLAIN_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Cf", "Zl", "Zp", "Co", "Cn")),
    max_size=40,
)


def refusing(values: list[Any]) -> list[Value]:
    return [refuse(value) for value in values]


class Kind:
    """What one argument of a tool takes: written values with their verdicts, and generated ones.

    The sweep sends every written value once; the fuzz draws written and generated values, each
    group of hostile values (boundaries, wrong types, misspellings, oddities) as often as another.
    """

    required = False

    def accepted_values(self) -> list[Value]:
        """Written values the contract accepts: typical ones and its edges."""
        raise NotImplementedError

    def hostile_groups(self) -> list[list[Value]]:
        """Written values the contract refuses (or leaves open), in groups."""
        raise NotImplementedError

    def generated(self) -> st.SearchStrategy[Value] | None:
        """More values the contract accepts, generated."""
        return None

    def listed(self) -> list[Value]:
        return self.accepted_values() + [value for group in self.hostile_groups() for value in group]

    def accepted(self) -> st.SearchStrategy[Value]:
        written = st.sampled_from(self.accepted_values())
        generated = self.generated()
        return written if generated is None else st.one_of(written, generated)

    def hostile(self) -> st.SearchStrategy[Value]:
        return st.one_of(*[st.sampled_from(group) for group in self.hostile_groups() if group])


@dataclass(frozen=True)
class Text(Kind):
    """A string of at most `longest` characters; identifiers also match `grammar`."""

    longest: int
    shortest: int = 0
    grammar: str | None = None
    examples: tuple[str, ...] = ("service:web status:error", "*", "checkout", "env:prod", "é-日本")
    misspelt: tuple[str, ...] = ("", ".", "..", "-", "_x", "-abc", "a/b", "a b", "a\nb", "a%2e", "é", "../x", "a?b")
    nullable: bool = True
    required: bool = False

    def fits(self, text: str) -> bool:
        return self.shortest <= len(text) <= self.longest and (
            self.grammar is None or re.fullmatch(self.grammar, text) is not None
        )

    def accepted_values(self) -> list[Value]:
        secrets = [t[: self.longest] for t in WITH_KEYS]
        written = [accept(t) for t in (*self.examples, *secrets, "a" * self.longest) if self.fits(t)]
        return written + ([accept(None)] if self.nullable else [])

    def generated(self) -> st.SearchStrategy[Value]:
        drawn = st.from_regex(self.grammar, fullmatch=True) if self.grammar else PLAIN_TEXT
        return drawn.filter(self.fits).map(accept)

    def hostile_groups(self) -> list[list[Value]]:
        boundaries: list[Any] = ["a" * (self.longest + 1), API_KEY + "a" * self.longest, MEGABYTE]
        boundaries += ([""] if self.shortest else []) + ([None] if not self.nullable else [])
        misspelt = [t for t in self.misspelt if not self.fits(t)] if self.grammar else []
        # Nothing odd matches an identifier's grammar; free text may take it, or refuse it by name.
        odd = [refuse(t) if self.grammar else either(t) for t in ODD_TEXT]
        return [refusing(boundaries), refusing(misspelt), refusing(NOT_TEXT), odd]


@dataclass(frozen=True)
class OneQuery(Text):
    """One metric query: free text with no comma outside braces and parentheses (a comma there starts another)."""

    def fits(self, text: str) -> bool:
        depth, outside = 0, False
        for char in text:
            depth += (char in "{(") - (char in "})")
            outside = outside or (char == "," and depth <= 0)
        return super().fits(text) and not outside

    def hostile_groups(self) -> list[list[Value]]:
        return [*super().hostile_groups(), refusing([",", "a{*},b{*}", "avg:m{*}, avg:n{*} by {host}"])]


@dataclass(frozen=True)
class Integer(Kind):
    lowest: int
    highest: int | None
    required: bool = False

    def accepted_values(self) -> list[Value]:
        top = self.highest if self.highest is not None else 2**31
        return [accept(self.lowest), accept(self.lowest + 1), accept(top)]

    def generated(self) -> st.SearchStrategy[Value]:
        return st.integers(self.lowest, self.highest if self.highest is not None else 2**31).map(accept)

    def hostile_groups(self) -> list[list[Value]]:
        low, high = self.lowest, self.highest
        below = [n for n in dict.fromkeys((low - 1, 0, -1, -(2**63))) if n < low]
        above = [high + 1, 2**63, 10**4000] if high is not None else []
        wrong_type = [True, False, float(low), low + 0.5, str(low), "", API_KEY, [low], {"value": low}, None]
        # Without a bound, a huge id is Datadog's to find or not.
        huge = [either(n) for n in (2**63, 2**64, 10**4000)] if high is None else []
        return [refusing(below), refusing(above), refusing([*wrong_type, nested_list(DEEP)]), huge]


@dataclass(frozen=True)
class Flag(Kind):
    def accepted_values(self) -> list[Value]:
        return [accept(True), accept(False)]

    def hostile_groups(self) -> list[list[Value]]:
        return [refusing([0, 1, 1.0]), refusing(["true", "false", "", API_KEY]), refusing([None, [], {}, [True]])]


@dataclass(frozen=True)
class Choice(Kind):
    """One of `values`, or null."""

    values: tuple[str, ...]

    def accepted_values(self) -> list[Value]:
        return [accept(v) for v in (*self.values, None)]

    def hostile_groups(self) -> list[list[Value]]:
        near = [v for s in self.values for v in (s.upper(), f" {s}", f"{s} ", s.replace(" ", "_"))]
        misspelt = [v for v in near if v not in self.values] + ["", "other", API_KEY]
        return [refusing(misspelt), refusing([*NOT_TEXT, [self.values[0]]]), refusing(ODD_TEXT)]


@dataclass(frozen=True)
class Texts(Kind):
    """A list of at most `most` strings, each at most `longest` characters (and matching `grammar`)."""

    longest: int
    most: int
    shortest: int = 0
    grammar: str | None = None
    nullable: bool = True

    def fits(self, text: str) -> bool:
        return self.shortest <= len(text) <= self.longest and (
            self.grammar is None or re.fullmatch(self.grammar, text) is not None
        )

    def accepted_values(self) -> list[Value]:
        written = [t for t in ("service", "main", "env:prod", "@http.status_code", *WITH_KEYS) if self.fits(t)]
        lists = [[], [written[0]], written[: self.most], ["a" * self.longest] * self.most]
        return [accept(items) for items in lists] + ([accept(None)] if self.nullable else [])

    def generated(self) -> st.SearchStrategy[Value]:
        drawn = st.from_regex(self.grammar, fullmatch=True) if self.grammar else PLAIN_TEXT
        return st.lists(drawn.filter(self.fits), max_size=min(self.most, 4)).map(accept)

    def hostile_groups(self) -> list[list[Value]]:
        boundaries: list[Any] = [["a"] * (self.most + 1), ["a" * (self.longest + 1)], [API_KEY + "a" * self.longest]]
        boundaries += ([[""]] if self.shortest else []) + ([None] if not self.nullable else [])
        misspelt = [[t] for t in ("a-b", "a b", "é", "..") if not self.fits(t)] if self.grammar else []
        wrong_items = [[1], [None], [True], [["a"]], [{"a": "b"}], [MEGABYTE]]
        not_lists = ["a", "a,b", "[" * 100_000, True, 5, 1.5, {"a": "b"}, nested_list(DEEP), nested_object(DEEP)]
        # A string holding a JSON list may be unpacked by the SDK; odd text in an item as for Text.
        open_ = [either('["a"]')] + [refuse([t]) if self.grammar else either([t]) for t in ODD_TEXT]
        return [refusing(boundaries), refusing(misspelt), refusing(wrong_items), refusing(not_lists), open_]


@dataclass(frozen=True)
class Choices(Kind):
    """A list of at most `most` of `values` (at least `fewest`)."""

    values: tuple[str, ...]
    most: int
    fewest: int = 0
    nullable: bool = True

    def accepted_values(self) -> list[Value]:
        lists = [[v] for v in self.values] + [list(self.values)[: self.most]] + ([[]] if not self.fewest else [])
        return [accept(items) for items in lists] + ([accept(None)] if self.nullable else [])

    def generated(self) -> st.SearchStrategy[Value]:
        return st.lists(st.sampled_from(self.values), min_size=self.fewest, max_size=self.most).map(accept)

    def hostile_groups(self) -> list[list[Value]]:
        first = self.values[0]
        boundaries: list[Any] = [[first] * (self.most + 1)]
        boundaries += ([[]] if self.fewest else []) + ([None] if not self.nullable else [])
        misspelt = [[first.upper()], [f"{first} "], [""], [API_KEY], [1], [None]]
        not_lists = [first, True, 7, {first: 1}, nested_list(DEEP), "[" * 100_000]
        return [refusing(boundaries), refusing(misspelt), refusing(not_lists), [either(json.dumps([first]))]]


@dataclass(frozen=True)
class Compute(Kind):
    """An aggregation as a model writes it: 'count', 'avg(@duration)', 'p95(@duration)'."""

    def accepted_values(self) -> list[Value]:
        forms = ["count", "count(*)", "count(@x)", "avg(@duration)", "p95(@duration)", " P99 ( @duration ) "]
        forms += ["cardinality(@usr.id)", "median(@a.b)", "pc90(@d)", "max(@http.response_time)", "sum(@x)", "p50(@x)"]
        return [accept(form) for form in forms]

    def hostile_groups(self) -> list[list[Value]]:
        misspelt = ["", "avg", "avg()", "p96(@d)", "p95", "sum(@a b)", "count(*", "avg(@d))", "a(b)c", "avg(@d) x"]
        too_long = ["avg(@" + "d" * 195 + ")", API_KEY + "a" * 200, MEGABYTE]
        return [refusing(misspelt), refusing(too_long), refusing([*NOT_TEXT, None]), refusing(ODD_TEXT)]


@dataclass(frozen=True)
class Time(Kind):
    """`start` or `end`: epoch seconds or milliseconds, ISO 8601, 'now' or 'now-15m'; null is the default."""

    role: str

    @property
    def latest(self) -> int:
        return NOW + DAY if self.role == "end" else NOW + 2 * DAY  # a late start is caught as start >= end

    def edges(self) -> list[int]:
        edges = [m for m in (0, 1, 3599, 3600, DAY, NOW - 3600, NOW, NOW + DAY) if m <= self.latest]
        if self.role == "start":
            edges.append(10**11 - 1)  # the last value read as seconds, not milliseconds (year 5138)
        return edges

    def accepted_values(self) -> list[Value]:
        relative = [("now", NOW), ("now-15m", NOW - 900), (" NOW - 2 H ", NOW - 7200), ("now-1w", NOW - 7 * DAY)]
        written = [accept(None)] + [accept(text, moment) for text, moment in relative]
        for moment in self.edges():
            forms = time_forms(moment)
            written += [accept(form, moment) for form in (forms[0], forms[5], forms[9], forms[8])]
        return written

    def generated(self) -> st.SearchStrategy[Value]:
        moments = st.one_of(st.sampled_from(self.edges()), st.integers(NOW - 30 * DAY, self.latest))
        moments |= st.integers(0, self.latest)
        written = moments.flatmap(lambda m: st.sampled_from(time_forms(m)).map(lambda form: accept(form, m)))
        return st.one_of(relative_time(), written)

    def hostile_groups(self) -> list[list[Value]]:
        unreadable = ["now+1h", "now-5x", "now-", "now15m", "2026-13-45", "2026-11-24T25:00:00Z", "", "   "]
        unreadable += ["yesterday", "1e309", "inf", "nan", "now\x00", "\ud83d", API_KEY, MEGABYTE]
        out_of_range: list[Any] = ["-1", -1, -0.5, 2**63, -(2**63), 10**20, "now-99999999d", "now-" + "9" * 5000 + "s"]
        out_of_range.append("10000-01-01T00:00:00Z")
        wrong_type = [True, False, ["now"], {"t": "now"}, nested_list(DEEP)]
        # A window may end at most a day after now.
        too_late = [NOW + DAY + 1, (NOW + DAY + 1) * 1000, "9999-12-31T23:59:59Z", "2027-01-01T00:00:00Z"]
        groups = [refusing(unreadable), refusing(out_of_range), refusing(wrong_type)]
        return groups + ([refusing(too_late)] if self.role == "end" else [])


@dataclass(frozen=True)
class Moment(Time):
    """`around`: a moment in any time form, required, and past (a future one is refused by name)."""

    required = True

    @property
    def latest(self) -> int:
        return NOW

    def accepted_values(self) -> list[Value]:
        return [value for value in super().accepted_values() if value.value is not None]

    def hostile_groups(self) -> list[list[Value]]:
        return [*super().hostile_groups(), refusing([None, NOW + 60, "2030-01-01T00:00:00Z"])]


@st.composite
def relative_time(draw: st.DrawFn) -> Value:
    unit, seconds = draw(st.sampled_from([("s", 1), ("m", 60), ("h", 3600), ("d", DAY), ("w", 7 * DAY)]))
    amount = draw(st.integers(0, 200))
    spelt = draw(st.sampled_from(["now-{n}{u}", "NOW-{n}{U}", " now - {n} {u} ", "now"]))
    if spelt == "now":
        return accept("now", NOW)
    return accept(spelt.format(n=amount, u=unit, U=unit.upper()), NOW - amount * seconds)


def time_forms(moment: int) -> list[Any]:
    """`moment` in each form a time argument takes (ISO with offsets, naive ISO read as UTC, milliseconds)."""
    when = datetime.fromtimestamp(moment, tz=timezone.utc)
    forms: list[Any] = [
        moment,
        moment + 0.5,
        float(moment),
        str(moment),
        f" {moment} ",
        when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        when.strftime("%Y-%m-%dt%H:%M:%Sz"),
        when.isoformat(),
        when.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat(),
        when.replace(tzinfo=None).isoformat(),  # naive: UTC
        when.astimezone(timezone(timedelta(hours=-8))).isoformat(),
        when.strftime("%Y-%m-%d %H:%M:%S.250Z"),
    ]
    if moment * 1000 >= 10**11:  # milliseconds are told from seconds by size
        forms += [moment * 1000 + 999, str(moment * 1000)]
    return forms


@dataclass(frozen=True)
class Cursor(Kind):
    """A page cursor: an offset this server issued (ASCII digits), or Datadog's own, passed on as is."""

    offset: bool

    # Not ours: a superscript, Arabic-Indic and fullwidth digits, signs, spaces, too many digits.
    NOT_OURS = ("²", "\u0661", "\uff15", "-1", "1" * 10, "9" * 40, "1e3", " 1", "1 ", "+1", "0x1", "1_0", "1.0", "abc")

    def accepted_values(self) -> list[Value]:
        if self.offset:
            return [accept(None), accept("", 0)] + [accept(d, int(d)) for d in ("0", "7", "007", "999999999")]
        # Datadog's cursors, and anything else, are Datadog's to judge: passed on as they are.
        datadogs = ["eyJhZnRlciI6IkFRQUFBWEcifQ==", "abc_DEF-123", *self.NOT_OURS, API_KEY]
        return [accept(None), accept("")] + [accept(cursor) for cursor in datadogs]

    def generated(self) -> st.SearchStrategy[Value]:
        if self.offset:
            return st.integers(0, 10**9 - 1).map(lambda n: accept(str(n), n))
        return st.from_regex(r"[A-Za-z0-9_=+/-]{1,200}", fullmatch=True).map(accept)

    def hostile_groups(self) -> list[list[Value]]:
        wrong_type = refusing([True, 1, 1.0, [], {}, ["1"], nested_list(DEEP)])
        if self.offset:
            return [refusing([*self.NOT_OURS, API_KEY, MEGABYTE]), wrong_type, refusing(ODD_TEXT)]
        return [wrong_type, [either(t) for t in ODD_TEXT]]


START, END = Time("start"), Time("end")
OFFSET, OPAQUE = Cursor(offset=True), Cursor(offset=False)
# Dotted field names, `@` allowed first, or `*` (tools/base.py FieldName).
FIELDS = Texts(200, 30, shortest=1, grammar=r"\*|@?[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+){0,9}")
QUERY = Text(4000, nullable=False)
METRIC_NAME = r"[A-Za-z][A-Za-z0-9_.]*"
DATADOG_ID = r"[A-Za-z0-9][A-Za-z0-9_-]*"
TAG_VALUE = r"[A-Za-z0-9][A-Za-z0-9_./\-]*"

# Every tool's arguments, as documented (README, tool descriptions), written out independently.
CONTRACT: dict[str, dict[str, Kind]] = {
    "query_metrics": {
        "query": Text(4000, shortest=1, nullable=False, required=True, examples=("avg:system.cpu.user{*}",)),
        "start": START,
        "end": END,
    },
    "triage_monitor": {"monitor_id": Integer(1, None, required=True)},
    "what_changed": {
        "around": Moment("moment"),
        "service": Text(200, grammar=TAG_VALUE, examples=("checkout",)),
        "window": Text(5, shortest=2, nullable=False, grammar=r"[1-9][0-9]{0,3}[mhd]", examples=("1h", "30m", "2d")),
    },
    "triage_service": {
        "service": Text(200, shortest=1, nullable=False, required=True, grammar=TAG_VALUE, examples=("checkout",)),
        "env": Text(200, grammar=TAG_VALUE, examples=("prod",)),
        "start": START,
        "end": END,
    },
    "log_patterns": {
        "query": QUERY,
        "start": START,
        "end": END,
        "max_logs": Integer(1, 10_000),
        "compare": Choice(("previous",)),
    },
    "compare_metrics": {
        "query": OneQuery(
            4000, shortest=1, nullable=False, required=True, examples=("avg:system.cpu.user{*}", "avg:m{a,b} by {host}")
        ),
        "start": START,
        "end": END,
        "baseline": Choice(("previous", "day", "week")),
    },
    "list_metrics": {
        "query": Text(200),
        "host": Text(255),
        "tag_filter": Text(1000),
        "start": START,
        "limit": Integer(1, 1000),
        "cursor": OFFSET,
    },
    "get_metric_metadata": {
        "metric_name": Text(
            200, 1, METRIC_NAME, ("system.cpu.user", "a", "trace.http.request.hits"), nullable=False, required=True
        ),
        "include_tags": Flag(),
    },
    "search_logs": {
        "query": QUERY,
        "start": START,
        "end": END,
        "limit": Integer(1, 1000),
        "cursor": OPAQUE,
        "indexes": Texts(100, 20),
        "fields": FIELDS,
    },
    "aggregate_logs": {
        "query": QUERY,
        "start": START,
        "end": END,
        "compute": Compute(),
        "group_by": Texts(200, 4, shortest=1, nullable=False),
        "limit": Integer(1, 100),
        "indexes": Texts(100, 20),
    },
    "get_monitors": {
        "name": Text(500),
        "tags": Text(1000),
        "monitor_tags": Text(1000),
        "group_states": Choices(("all", "alert", "warn", "no data"), 5),
        "fields": FIELDS,
        "limit": Integer(1, 1000),
        "cursor": OFFSET,
    },
    "get_monitor": {"monitor_id": Integer(1, None, required=True)},
    "list_dashboards": {"query": Text(200), "limit": Integer(1, 1000), "cursor": OFFSET, "fields": FIELDS},
    "get_dashboard": {
        "dashboard_id": Text(100, 1, DATADOG_ID, ("abc-def-ghi", "a", "A_b-9"), nullable=False, required=True)
    },
    "list_hosts": {
        "fields": FIELDS,
        "filter": Text(1000),
        "sort_field": Choice(("name", "status", "apps", "cpu", "iowait", "load")),
        "sort_dir": Choice(("asc", "desc")),
        "start": START,
        "limit": Integer(1, 1000),
        "cursor": OFFSET,
    },
    "get_events": {
        "fields": FIELDS,
        "query": QUERY,
        "start": START,
        "end": END,
        "limit": Integer(1, 1000),
        "cursor": OPAQUE,
    },
    "list_incidents": {"query": Text(1000), "limit": Integer(1, 100), "cursor": OFFSET, "fields": FIELDS},
    "get_incident": {
        "incident_id": Text(
            100,
            1,
            r"[A-Za-z0-9][A-Za-z0-9-]*",
            ("00000000-0000-0000-1234-000000000000", "abc-123", "7"),
            nullable=False,
            required=True,
        )
    },
    "list_spans": {
        "query": QUERY,
        "start": START,
        "end": END,
        "limit": Integer(1, 1000),
        "cursor": OPAQUE,
        "fields": FIELDS,
    },
    "aggregate_spans": {
        "query": QUERY,
        "start": START,
        "end": END,
        "compute": Compute(),
        "group_by": Texts(200, 4, shortest=1, nullable=False),
        "limit": Integer(1, 100),
    },
    "get_trace": {
        "trace_id": Text(40, 1, r"[0-9A-Fa-f]+", ("7216538916512283041", "abcdef"), nullable=False, required=True),
        "start": START,
        "end": END,
    },
    "list_services": {"query": Text(200), "limit": Integer(1, 100), "cursor": OFFSET, "fields": FIELDS},
    "get_synthetics_tests": {
        "fields": FIELDS,
        "name": Text(200),
        "tag": Text(200),
        "type": Choice(("api", "browser", "mobile")),
        "status": Choice(("live", "paused")),
        "with_results": Flag(),
        "limit": Integer(1, 200),
        "cursor": OFFSET,
    },
    "search_rum_events": {
        "query": QUERY,
        "start": START,
        "end": END,
        "limit": Integer(1, 1000),
        "cursor": OPAQUE,
        "fields": FIELDS,
    },
    "list_slos": {
        "fields": FIELDS,
        "query": Text(500),
        "tags": Text(500),
        "ids": Texts(64, 100, shortest=1, grammar=r"[A-Za-z0-9]+"),
        "limit": Integer(1, 1000),
        "cursor": OFFSET,
    },
    "list_downtimes": {
        "fields": FIELDS,
        "status": Choices(("active", "scheduled", "ended", "canceled"), 4, fewest=1, nullable=False),
        "limit": Integer(1, 1000),
        "cursor": OFFSET,
    },
    "list_notebooks": {
        "query": Text(200),
        "author_handle": Text(200),
        "limit": Integer(1, 100),
        "cursor": OFFSET,
        "fields": FIELDS,
    },
    "get_notebook": {"notebook_id": Integer(1, None, required=True)},
}
# The query parameter that carries an offset cursor's page to Datadog (absent: the tool pages itself).
OFFSET_SENT_AS = {
    "get_monitors": "page",
    "list_dashboards": "start",
    "list_hosts": "start",
    "list_incidents": "page[offset]",
    "list_slos": "offset",
    "list_downtimes": "page[offset]",
    "list_notebooks": "start",
}
# How far back the window reaches when only its end is given.
DEFAULT_SPAN = {"get_trace": DAY}
# Tools that read the window before the one asked for, as well.
READS_BEFORE = ("compare_metrics", "log_patterns", "triage_service")
# Names a model might write by mistake, beside near misses made from the tool's own names.
STRAY_NAMES = ["from", "to", "append", "startup", "querystring", "ctx", "self", "kwargs", "__proto__", "id"]
STRAY_NAMES += ["", " ", "l\u0456mit", "it's", 'a"b', "\ud83d", "\x00", "Limit", "LIMIT", "limit\x00"]
STRAY_NAMES += ["x" * 300, API_KEY]
# One call per tool that the contract accepts: the "next, valid call" after a hostile one.
VALID_CALL: dict[str, dict[str, Any]] = {
    "query_metrics": {"query": "avg:system.cpu.user{*}", "start": "now-4h"},
    "compare_metrics": {"query": "avg:system.cpu.user{*}"},
    "triage_service": {"service": "checkout"},
    "triage_monitor": {"monitor_id": 1},
    "what_changed": {"around": "now-1h"},
    "get_metric_metadata": {"metric_name": "system.cpu.user"},
    "get_monitor": {"monitor_id": 1},
    "get_dashboard": {"dashboard_id": "abc-def-ghi"},
    "get_incident": {"incident_id": "00000000-0000-0000-0000-000000000001"},
    "get_trace": {"trace_id": "7216538916512283041"},
    "get_notebook": {"notebook_id": 1},
}


def near_misses(names: list[str]) -> list[str]:
    """Names that hold a real one, or differ from it by a character: never the real one."""
    made = [f"{n}s" for n in names] + [f"x{n}" for n in names] + [f"{n}_" for n in names] + [n.upper() for n in names]
    made += [f" {n}" for n in names] + [n[:-1] for n in names if len(n) > 1]
    return [m for m in dict.fromkeys(made) if m not in names]


@dataclass
class Call:
    """One generated call: its arguments, each value's verdict and meaning, and the names it left out."""

    tool: str
    args: dict[str, Any] = field(default_factory=dict)
    values: dict[str, Value] = field(default_factory=dict)
    omitted: list[str] = field(default_factory=list)

    @property
    def unknown(self) -> list[str]:
        return [name for name in self.args if name not in CONTRACT[self.tool]]

    def named(self, verdict: Verdict) -> set[str]:
        return {name for name, value in self.values.items() if value.verdict is verdict}

    def means(self, name: str) -> int | None:
        """What an acceptable value means (a time's epoch seconds, a cursor's offset); None when absent or null."""
        value = self.values.get(name)
        return value.means if value else None

    def window(self) -> tuple[int, int] | None:
        """The (start, end) the call asks for, its time arguments being acceptable one by one."""
        if not {"start", "end"} & set(CONTRACT[self.tool]):
            return None
        end, start = self.means("end"), self.means("start")
        end = NOW if end is None else end
        return (max(0, end - DEFAULT_SPAN.get(self.tool, 3600)) if start is None else start), end

    def refused(self) -> set[str]:
        """The arguments the contract refuses, the time window taken as a whole."""
        refused = self.named(Verdict.REFUSE) | set(self.omitted)
        times = {"start", "end"} & set(self.values)
        if times and not times & (refused | self.named(Verdict.EITHER)):
            window = self.window()
            if window and (window[0] >= window[1] or window[1] > NOW + DAY):
                refused |= times
        return refused

    @property
    def hostile(self) -> bool:
        return bool(self.unknown or self.refused() or self.named(Verdict.EITHER))


REQUIRED_IS = st.sampled_from(["absent"] * 4 + ["accepted"] * 9 + ["hostile"] * 3)
OPTIONAL_IS = st.sampled_from(["absent"] * 4 + ["accepted"] * 3 + ["hostile"])
STRAYS = st.sampled_from([0] * 6 + [1] * 2 + [2])


@st.composite
def calls(draw: st.DrawFn, tool: str) -> Call:
    """Arguments for `tool`: each present or not, mostly acceptable, some hostile, sometimes a stray name."""
    contract = CONTRACT[tool]
    made = Call(tool)
    for name, kind in contract.items():
        # A required argument is left out a quarter of the time, another half the time; a quarter
        # of those present are hostile.
        how = draw(REQUIRED_IS if kind.required else OPTIONAL_IS)
        if how == "absent":
            if kind.required:
                made.omitted.append(name)
            continue
        value = draw(strategy(kind, how == "hostile"))
        made.args[name], made.values[name] = value.value, value
    strays = draw(STRAYS)  # none most of the time, sometimes one, now and then two
    for stray in draw(st.lists(stray_names(tool), min_size=strays, max_size=strays, unique=True)):
        made.args[stray] = draw(st.sampled_from([None, 1, "now", "x", True, [], {}]))
    return made


@functools.cache
def strategy(kind: Kind, hostile: bool) -> st.SearchStrategy[Value]:
    """Built once per kind: hypothesis spends more time preparing a strategy than drawing from it."""
    return kind.hostile() if hostile else kind.accepted()


@functools.cache
def stray_names(tool: str) -> st.SearchStrategy[str]:
    contract = CONTRACT[tool]
    return st.sampled_from([n for n in STRAY_NAMES + near_misses(list(contract)) if n not in contract])


class FakeDatadog:
    """A well-formed, empty answer to any endpoint; every request kept, to read back what was sent."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/api/v1/monitor":
            return httpx.Response(200, json=[])
        return httpx.Response(200, json={"status": "ok", "data": [], "series": []})


@dataclass
class Tally:
    sent: int = 0
    answered: int = 0
    refused: int = 0
    follow_ups: int = 0


@pytest.fixture(scope="module")
def datadog() -> FakeDatadog:
    return FakeDatadog()


@pytest.fixture(scope="module")
def client(portal: BlockingPortal, datadog: FakeDatadog) -> Iterator[Client]:
    with portal.wrap_async_context_manager(connect(transport=httpx.MockTransport(datadog))) as connected:
        yield connected


@pytest.fixture(scope="module")
def small_client(portal: BlockingPortal, datadog: FakeDatadog) -> Iterator[Client]:
    """A server whose result budget is the smallest allowed."""
    env = {"DD_MCP_MAX_RESULT_CHARS": str(SMALL_BUDGET)}
    with portal.wrap_async_context_manager(connect(transport=httpx.MockTransport(datadog), env=env)) as connected:
        yield connected


def text_of(result: CallToolResult) -> str:
    return "".join(block.text for block in result.content if isinstance(block, TextContent))


def assert_valid_result(tool: str, result: CallToolResult, budget: int = BUDGET) -> dict[str, Any]:
    """A success as the pipeline promises it: compact JSON of the structured content, note first, in budget."""
    text = text_of(result)
    assert not result.is_error, f"{tool} refused a call the contract accepts: {text[:500]}"
    assert len(result.content) == 1
    content = result.structured_content
    assert isinstance(content, dict), f"{tool}: no structured content"
    assert text == json.dumps(content, separators=(",", ":"), ensure_ascii=False), f"{tool}: text is not the content"
    assert text.startswith('{"_note":' + json.dumps(UNTRUSTED_NOTE, ensure_ascii=False)), f"{tool}: {text[:200]}"
    assert len(text) <= budget, f"{tool}: {len(text)} characters, over the budget of {budget}"
    text.encode("utf-8")  # strict, as the stdio transport writes it
    return content


def shown(name: str) -> tuple[str, ...]:
    """An unknown name as the error may quote it, after the MCP client's trip (surrogates become U+FFFD).

    A name holding a key may be quoted masked (test_keys_sent_as_arguments_never_come_back says it must).
    """
    quoted = repr(name.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))
    return (quoted, "'[REDACTED:") if key_material(name) else (quoted,)


INVALID_LINE = re.compile(r"Invalid argument '([a-z_]+)': \S")


def assert_refused_by_name(made: Call, result: CallToolResult, blamable: set[str]) -> None:
    """An error in the server's form naming, as a word, arguments from `blamable` (at least one)."""
    tool, text = made.tool, text_of(result)
    assert result.is_error, f"{tool} accepted {made.args!r:.300}, which the contract refuses ({sorted(blamable)})"
    body = text.removeprefix(f"Error executing tool {tool}: ")
    if made.unknown:
        head = "Unknown argument "
        assert body.startswith(head), f"{tool}: {made.unknown!r} not refused as unknown: {text[:300]}"
        assert "\n" not in body, text
        listed = body[len(head) : body.index(f" for {tool}: it takes ")]
        for name in made.unknown:
            assert any(form in listed for form in shown(name)), f"{tool}: unknown {name!r} not named: {text[:300]}"
        for name in CONTRACT[tool]:
            assert f"'{name}'" not in listed, f"{tool}: known argument {name!r} called unknown: {text[:300]}"
        return
    lines = body.split("\n")
    named = set()
    for line in lines:
        match = INVALID_LINE.match(line)
        assert match, (
            f"{tool}: an error not in the form Invalid argument '<name>': {text[:500]!r} for {made.args!r:.300}"
        )
        named.add(match.group(1))
    assert named <= blamable, f"{tool}: blames {sorted(named - blamable)} for {made.args!r:.300}: {text[:500]}"


def assert_acted_as_asked(made: Call, requests: list[httpx.Request]) -> None:
    """The time window, the offset and the cursor Datadog was sent are those the arguments say."""
    window = made.window()
    requests = [r for r in requests if not is_hint(made.tool, r)]
    if made.tool in ("triage_monitor", "what_changed"):  # windows of their own making (test_investigations)
        return
    if window and made.tool in READS_BEFORE:  # the window before too: as long; triage reads both at once
        span, asked = window[1] - window[0], {"from": window[0], "to": window[1]}
        both = {"from": window[0] - span, "to": window[1]}
        for request in requests:
            times = sent_times(request)
            if times in ({}, asked) or (made.tool == "triage_service" and times == both):
                continue
            assert times["to"] - times["from"] == span, f"{made.tool}: baseline {times} for {made.args!r:.300}"
            assert times["from"] < window[0], f"{made.tool}: baseline {times} not earlier, for {made.args!r:.300}"
        assert any(sent_times(r) == asked for r in requests), f"{made.tool} never read {asked}: {made.args!r:.300}"
        return
    for request in requests:
        for side, epoch in sent_times(request).items():
            assert window, f"{made.tool} sent a time for a call without a window"
            expected = window[0] if side == "from" else window[1]
            assert epoch == expected, f"{made.tool}: {side} sent {epoch}, asked {expected} by {made.args!r:.300}"
    offset = made.means("cursor") if CONTRACT[made.tool].get("cursor") == OFFSET else None
    parameter = OFFSET_SENT_AS.get(made.tool)
    pages_itself = made.tool == "list_dashboards" and made.args.get("query")
    if parameter and not pages_itself:
        for request in requests:
            sent = request.url.params.get(parameter)
            assert sent == str(offset or 0), (
                f"{made.tool}: {parameter}={sent}, asked cursor={made.args.get('cursor')!r}"
            )
    cursor = made.args.get("cursor")
    if CONTRACT[made.tool].get("cursor") == OPAQUE and cursor:
        for request in requests:
            sent = request.url.params.get("page[cursor]") or page_of(request).get("cursor")
            assert sent == cursor, f"{made.tool}: cursor {cursor!r} sent as {sent!r}"


def is_hint(tool: str, request: httpx.Request) -> bool:
    """A request an empty answer's hint made (tools/empty.py), over the last day: not the call's window."""
    if tool in ("query_metrics", "compare_metrics"):
        return request.url.path == "/api/v1/metrics"
    hinted = ("search_logs", "aggregate_logs", "log_patterns", "list_spans", "aggregate_spans")
    last_day = {"from": NOW - DAY, "to": NOW}
    return tool in hinted and request.url.path.endswith("/analytics/aggregate") and sent_times(request) == last_day


def sent_times(request: httpx.Request) -> dict[str, int]:
    """The window a request carries, in epoch seconds: v1 parameters, v2 milliseconds, v2 search bodies."""
    found: dict[str, int] = {}
    params = request.url.params
    for side in ("from", "to"):
        if side in params:
            found[side] = int(params[side])
        if f"filter[{side}]" in params:
            found[side] = int(params[f"filter[{side}]"]) // 1000
    if request.content:
        body = json.loads(request.content)
        search = body.get("filter") or body.get("data", {}).get("attributes", {}).get("filter") or {}
        for side in ("from", "to"):
            if side in search:
                found[side] = int(datetime.fromisoformat(search[side].replace("Z", "+00:00")).timestamp())
    return found


def page_of(request: httpx.Request) -> dict[str, Any]:
    if not request.content:
        return {}
    body = json.loads(request.content)
    page = body.get("page") or body.get("data", {}).get("attributes", {}).get("page") or {}
    return page if isinstance(page, dict) else {}


KEY_PIECES = frozenset(key[i : i + 12].lower() for key in (API_KEY, APP_KEY) for i in range(len(key) - 11))


def key_material(text: str) -> list[str]:
    """Any 12 characters of either key found in `text`, in any letter case."""
    lowered = text.lower()
    return sorted(piece for piece in KEY_PIECES if piece in lowered)


def check_answer(made: Call, result: CallToolResult, requests: list[httpx.Request], budget: int) -> None:
    """Hold one answer to the verdicts of the values it was sent."""
    refused, open_ = made.refused(), made.named(Verdict.EITHER)
    text = text_of(result)
    assert text.strip() != f"Error executing tool {made.tool}", f"{made.tool} crashed on {made.args!r:.300}"
    if not result.is_error:  # errors: test_keys_sent_as_arguments_never_come_back
        assert not key_material(text), f"{made.tool} echoed key material {key_material(text)[:2]}: {text[:300]!r}"
    if made.unknown or refused:
        assert_refused_by_name(made, result, refused | open_)
    elif open_ and result.is_error:
        assert_refused_by_name(made, result, open_)
    else:
        assert_valid_result(made.tool, result, budget)
        assert_acted_as_asked(made, requests)


@pytest.mark.parametrize("tool", TOOL_NAMES)
def test_hostile_arguments_are_refused_by_name_and_the_server_goes_on(
    portal: BlockingPortal, client: Client, datadog: FakeDatadog, tool: str
) -> None:
    tally = Tally()

    @settings(
        max_examples=EXAMPLES_PER_TOOL,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )
    @given(made=calls(tool))
    def fuzz(made: Call) -> None:
        call_and_check(portal, client, datadog, made, tally, BUDGET)

    fuzz()
    report("fuzz: generated argument sets per tool", tool, tally)


def call_and_check(
    portal: BlockingPortal, client: Client, datadog: FakeDatadog, made: Call, tally: Tally, budget: int
) -> None:
    """Send one call, hold its answer to its verdicts, and after a hostile one check a valid call is answered."""
    tally.sent += 1
    datadog.requests.clear()
    result = portal.call(client.call_tool, made.tool, made.args)
    tally.refused += result.is_error
    tally.answered += not result.is_error
    check_answer(made, result, list(datadog.requests), budget)
    if made.hostile or result.is_error:
        tally.follow_ups += 1
        after = portal.call(client.call_tool, made.tool, VALID_CALL.get(made.tool, {}))
        assert_valid_result(made.tool, after, budget)


def report(title: str, tool: str, tally: Tally) -> None:
    REPORTS.setdefault(f"{title} (sent, answered, refused, valid calls after)", []).append(
        f"{tool:<22} {tally.sent:>5} {tally.answered:>5} {tally.refused:>5} {tally.follow_ups:>5}"
    )


def sweep(tool: str) -> list[Call]:
    """Every written value of every argument alone (beside the required arguments), each stray name, each omission."""
    contract = CONTRACT[tool]
    required = {name: value for name, value in VALID_CALL.get(tool, {}).items() if contract[name].required}

    def alone(name: str, value: Value) -> Call:
        made = Call(tool, args=dict(required), values={n: accept(v) for n, v in required.items()})
        made.args[name], made.values[name] = value.value, value
        return made

    made = [alone(name, value) for name, kind in contract.items() for value in kind.listed()]
    for stray in [n for n in STRAY_NAMES + near_misses(list(contract)) if n not in contract]:
        made.append(alone(stray, accept(1)))
        del made[-1].values[stray]  # not an argument: no verdict, an unknown name
    for name in required:
        left_out = {n: v for n, v in required.items() if n != name}
        made.append(Call(tool, dict(left_out), {n: accept(v) for n, v in left_out.items()}, omitted=[name]))
    return made


@pytest.mark.parametrize("tool", TOOL_NAMES)
def test_every_written_value_alone_gets_its_verdict(
    portal: BlockingPortal, small_client: Client, datadog: FakeDatadog, tool: str
) -> None:
    # Deterministic: each boundary, wrong type and misspelling in the contract is sent at least once,
    # to a server at the smallest budget, where echoed arguments are cut, then masked, then cut again.
    tally = Tally()
    for made in sweep(tool):
        call_and_check(portal, small_client, datadog, made, tally, SMALL_BUDGET)
    report(f"sweep: every written value alone, budget {SMALL_BUDGET}, per tool", tool, tally)


def test_the_contract_names_every_argument_of_every_tool(portal: BlockingPortal, client: Client) -> None:
    listed = {t.name: sorted(t.input_schema.get("properties", {})) for t in portal.call(client.list_tools).tools}
    assert listed == {tool: sorted(CONTRACT[tool]) for tool in TOOL_NAMES}
    required = {t.name: sorted(t.input_schema.get("required", [])) for t in portal.call(client.list_tools).tools}
    assert required == {tool: sorted(n for n, k in CONTRACT[tool].items() if k.required) for tool in TOOL_NAMES}


# A key in each place an argument can be echoed: a type error, pydantic's report, an unknown name,
# a tool's own refusal, and a result.
KEYS_ECHOED: list[tuple[str, dict[str, Any]]] = [
    ("list_metrics", {"limit": API_KEY}),
    ("get_notebook", {"notebook_id": APP_KEY}),
    ("list_metrics", {"query": API_KEY + "a" * 200}),
    ("list_downtimes", {"status": [APP_KEY]}),
    ("list_metrics", {API_KEY: 1}),
    ("list_metrics", {"start": API_KEY}),
    ("list_metrics", {"cursor": APP_KEY}),
    ("query_metrics", {"query": f"avg:system.cpu.user{{host:{API_KEY}}}"}),
    ("get_metric_metadata", {"metric_name": APP_KEY}),
]


@pytest.mark.parametrize(("tool", "arguments"), KEYS_ECHOED, ids=[f"{t}-{next(iter(a))[:8]}" for t, a in KEYS_ECHOED])
def test_keys_sent_as_arguments_never_come_back(
    portal: BlockingPortal, client: Client, tool: str, arguments: dict[str, Any]
) -> None:
    # DESIGN: keys never appear in any output or error message, whoever wrote them where.
    text = text_of(portal.call(client.call_tool, tool, arguments))
    assert not key_material(text), f"{tool} {sorted(arguments)} echoed the key: {text[:300]!r}"


# Numbers JSON cannot hold, written as raw JSON text: the in-memory client would send them as null.
UNREPRESENTABLE = [
    ("query_metrics", '{"query": "avg:system.cpu.user{*}", "start": 1e400}', "start"),
    ("query_metrics", '{"query": "avg:system.cpu.user{*}", "end": -1e400}', "end"),
    ("list_metrics", '{"limit": 1e400}', "limit"),
    ("get_monitor", '{"monitor_id": 1e400}', "monitor_id"),
    ("search_logs", '{"limit": NaN}', "limit"),
    ("list_hosts", '{"start": Infinity}', "start"),
]


@pytest.mark.stdio
@pytest.mark.anyio
async def test_numbers_json_cannot_hold_are_refused_over_the_wire() -> None:
    async def body(session: Session) -> None:
        await initialize(session)
        for n, (tool, arguments, name) in enumerate(UNREPRESENTABLE):
            line = json.dumps(call(n, tool, {})).replace('"arguments": {}', f'"arguments": {arguments}')
            await session.send(line)
            result = (await session.answer(n))["result"]
            text = result["content"][0]["text"]
            assert result["isError"], f"{tool} {arguments} accepted: {text[:300]}"
            said = text.removeprefix(f"Error executing tool {tool}: ")
            assert said.startswith(f"Invalid argument '{name}': "), text
            await session.send(call(f"after-{n}", "get_monitors", {}))
            after = await session.answer(f"after-{n}")
            assert not after["result"].get("isError"), after

    await with_server(body)
