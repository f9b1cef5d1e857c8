"""Log messages clustered into templates, so a model reads "these 7 kinds of error, this one is new".

Each message is reduced to one line (the first, or a Python traceback's exception line), capped at
MAX_LINE characters, and its variable tokens are masked (`<TIME>`, `<UUID>`, `<EMAIL>`, `<IP>`,
`<HEX>`, `<DURATION>`, `<NUM>`, a URL's `?<QUERY>`) before Drain (the drain3 package) mines
templates from them; Drain writes `<*>` where messages of one template still differ. Masking first
means ids, numbers and durations never split a template or spend Drain's similarity budget.

Drain only proposes the templates. Every log is then counted under the one template it fits best
(fewest `<*>`, then the template's text), the same rule `compare` applies to a baseline window, so
mining a window and comparing it with itself gives `previous == count` for every pattern, and two
Drain clusters that ended with one template are one pattern.

A digit run is masked where it stands as a number: not glued to a letter or digit on its left
(directly or through a dot), and not followed by letters that lead to more digits. `v2`, `ec2`,
`v1.2.3` and `3f2a` are names and stay; `cust_1234`, `pod-7`, `10GB` and `-5` are masked.

Costs. Every mask's regex is linear (bounded repetition, lookbehinds so a run is entered once, not at
each of its positions) and reads at most MAX_LINE characters, so a hostile message costs at most a
few times an ordinary one. Drain compares a line with every cluster that has its length and first token, which
is quadratic when lines share nothing: it learns at most MAX_TEMPLATES templates, then each line that
fits none is a template of its own. bench/patterns.py measures both cases. drain3 is imported on the
first call, not with this module: it takes about 100 ms, which the server's start-up should not pay.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

# Enough of a line to know what it says; a stack trace or a JSON dump must not grow Drain's tree.
MAX_LINE = 500
EMPTY = "(empty)"
WILDCARD = "<*>"
# Drain's settings: a line joins a cluster when at least half of its tokens equal the template's
# (tokens already `<*>` there do not count), under a prefix tree of depth 4 (token count, first
# token, clusters). These are the values LogPAI's benchmark of Drain used on 9 of its 16 data sets
# (the others range from 0.2 to 0.7). drain3's own default, 0.4, merges more: "cannot reach the
# database server" and "cannot parse the config file" would be one pattern, "cannot <*> the <*> <*>".
# Masking has taken the ids and numbers out: what still differs is mostly words that say what happened.
SIMILARITY = 0.5
DEPTH = 4
# Lines that share nothing (random words, one-token JSON blobs) cost Drain quadratic time: 2,000
# took 5 s. Past this many templates it learns no more (a model reads far fewer anyway).
MAX_TEMPLATES = 500

# A log as the caller reads it from Datadog: (message, status, timestamp).
Log = tuple[str, str | None, str | None]

_TRACEBACK = "Traceback (most recent call last):"
# No letter or digit just before, nor a letter or digit and a dot (the inside of `v1.2.3`).
_FREE = r"(?<![A-Za-z0-9])(?<![A-Za-z0-9]\.)"
_HEX4 = r"[0-9A-Fa-f]{1,4}"
# Compressed (`fe80::1`, `::1`) or full (eight groups): `12:34` and `a:b:c` are not addresses.
_IPV6 = (
    rf"{_HEX4}(?::{_HEX4}){{0,6}}::(?:{_HEX4}(?::{_HEX4}){{0,6}})?"
    rf"|::{_HEX4}(?::{_HEX4}){{0,6}}|(?:{_HEX4}:){{7}}{_HEX4}"
)
# (pattern, replacement, trigger): a pattern runs only on a line where its trigger occurs.
_MASKS: tuple[tuple[re.Pattern[str], str, str], ...] = tuple(
    (re.compile(pattern), replacement, trigger)
    for pattern, replacement, trigger in (
        # Dates, alone or with a time of day and a zone; then a time of day alone.
        (
            r"(?<![0-9])[0-9]{4}-[0-9]{2}-[0-9]{2}"
            r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]{1,9})?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?(?![0-9])",
            "<TIME>",
            "-",
        ),
        (r"(?<![0-9:])[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:[.,][0-9]{1,9})?(?![0-9:])", "<TIME>", ":"),
        (
            r"(?<![A-Za-z0-9])[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
            r"(?![A-Za-z0-9])",
            "<UUID>",
            "-",
        ),
        (
            r"(?<![\w.%+-])[\w.%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,63}",
            "<EMAIL>",
            "@",
        ),
        # A URL starts after a space, a quote, a bracket, `=` or `,`: `https://https://...` is read once.
        (r"(?i)((?<![^\s\"'(<\[=,])https?://[^\s?#\"'<>]{1,500})\?[^\s#\"'<>)]{1,500}", r"\1?<QUERY>", "://"),
        # IPv4, with a port, or mapped into IPv6 as Node.js writes a client's address (`::ffff:10.0.0.1`).
        (
            rf"(?:(?<![0-9A-Za-z:])::[fF]{{4}}:)?{_FREE}[0-9]{{1,3}}(?:\.[0-9]{{1,3}}){{3}}(?::[0-9]{{1,5}})?"
            r"(?![0-9])(?!\.[0-9])",
            "<IP>",
            ".",
        ),
        (rf"\[(?:{_IPV6})\](?::[0-9]{{1,5}})?", "<IP>", "["),
        (rf"(?<![0-9A-Za-z:])(?:{_IPV6})(?![0-9A-Za-z])(?!:[0-9A-Za-z])", "<IP>", ":"),
        (r"(?<![A-Za-z0-9])0[xX][0-9A-Fa-f]+(?![A-Za-z0-9])", "<HEX>", "0"),
        # 8 or more hex characters with a digit and a letter: `cafe`, `deadbeef` and `12345678` are not.
        (
            r"(?<![A-Za-z0-9])(?=[0-9A-Fa-f]*[0-9])(?=[0-9A-Fa-f]*[A-Fa-f])[0-9A-Fa-f]{8,}(?![A-Za-z0-9])",
            "<HEX>",
            "",
        ),
        # `250ms`, `1.5s`, `3m`, Go's `1h2m3.5s`.
        (rf"{_FREE}(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|min|s|m|h|d))+(?![A-Za-z0-9])", "<DURATION>", ""),
        # A minus sign only after a space, `=`, `:`, `(`, `[` or `,`: in `<HEX>-12` or `a-5` it is a dash.
        (rf"(?:(?<![^\s=:(\[,])-)?{_FREE}[0-9]+(?:\.[0-9]+)*(?![0-9])(?![A-Za-z]*[0-9])", "<NUM>", ""),
    )
)


@dataclass(frozen=True)
class Pattern:
    """One template and the logs that fit it; `previous` is set by `compare`."""

    template: str
    count: int
    statuses: dict[str, int]  # status -> count, over the logs that had a status
    first_seen: str  # the earliest and latest timestamps as the logs gave them ("" when none could be read)
    last_seen: str
    example: str  # the first log of the pattern, whole: the caller redacts and clips it
    previous: int | None = None  # logs of the baseline window that fit the template (0: the pattern is new)


def mine(logs: Iterable[Log]) -> list[Pattern]:
    """Patterns, most frequent first, ties in order of first appearance; each log counts in one."""
    records = [(log, masked(log[0])) for log in logs]
    matcher = _Matcher(_learn(text for _, text in records))
    tallies: dict[str, _Tally] = {}
    for (message, status, timestamp), text in records:
        template = matcher.best(text) or text  # a line Drain did not learn may be its own template
        tallies.setdefault(template, _Tally(message)).add(status, timestamp)
    # A stable sort: equal counts keep the order of first appearance.
    ranked = sorted(tallies.items(), key=lambda item: -item[1].count)
    return [tally.pattern(template) for template, tally in ranked]


def compare(current: list[Pattern], baseline: Iterable[Log]) -> list[Pattern]:
    """`current` with `previous` set: how many baseline logs fit each template (0 = new).

    A baseline log that fits no current template is not counted anywhere: the question is how each
    current pattern changed, not what stopped.
    """
    matcher = _Matcher([pattern.template for pattern in current])
    counts = Counter(matcher.best(masked(message)) for message, _, _ in baseline)
    return [replace(pattern, previous=counts[pattern.template]) for pattern in current]


def masked(message: str) -> str:
    """The line of `message` that Drain mines, its variable tokens masked."""
    text = _line(message)
    for regex, replacement, trigger in _MASKS:
        if trigger in text:
            text = regex.sub(replacement, text)
    return text


def _line(message: str) -> str:
    """The line that says what happened, at most MAX_LINE characters; EMPTY for a blank message.

    A Python traceback says it on its last line (the exception); other messages, Java's stack traces
    included, on their first.
    """
    text = message.strip()
    if text.startswith(_TRACEBACK):
        text = "Traceback: " + text.rpartition("\n")[2].strip()
    line = text[:MAX_LINE].partition("\n")[0].strip()
    return line or EMPTY


def _learn(texts: Iterable[str]) -> list[str]:
    """The templates Drain mines from the distinct `texts`, once each, in order of first appearance.

    Most masked lines are repeats, and counting is done after: learning each distinct line once is
    faster, and makes the templates depend on which lines occur and in what order, not how often.
    """
    miner = _miner()
    for text in dict.fromkeys(texts):
        if len(miner.drain.clusters) >= MAX_TEMPLATES:
            break
        miner.add_log_message(text)
    return list(dict.fromkeys(cluster.get_template() for cluster in miner.drain.clusters))


def _miner() -> Any:
    """A drain3 TemplateMiner held in memory: no persistence, no profiling, no drain3.ini read."""
    from drain3 import TemplateMiner  # type: ignore[import-untyped]
    from drain3.template_miner_config import TemplateMinerConfig  # type: ignore[import-untyped]

    config = TemplateMinerConfig()
    config.drain_sim_th = SIMILARITY
    config.drain_depth = DEPTH
    config.profiling_enabled = False
    return TemplateMiner(persistence_handler=None, config=config)


class _Matcher:
    """Finds the template a masked line fits best: fewest wildcards, then the template's text."""

    def __init__(self, templates: Iterable[str]) -> None:
        self._exact: dict[tuple[str, ...], str] = {}
        self._by_length: dict[int, list[tuple[str, tuple[str, ...]]]] = {}
        for template in sorted(set(templates), key=lambda t: (t.split().count(WILDCARD), t)):
            tokens = tuple(template.split())
            if WILDCARD in tokens:
                self._by_length.setdefault(len(tokens), []).append((template, tokens))
            else:
                self._exact[tokens] = template

    def best(self, text: str) -> str | None:
        """The best template for `text` (already masked), or None when none fits."""
        tokens = tuple(text.split())
        exact = self._exact.get(tokens)
        if exact is not None:
            return exact
        for template, pattern in self._by_length.get(len(tokens), ()):
            if all(want in (WILDCARD, got) for want, got in zip(pattern, tokens, strict=True)):
                return template
        return None


@dataclass
class _Tally:
    """What `mine` gathers for one template while it counts the logs."""

    example: str
    count: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    first: tuple[datetime, str] | None = None
    last: tuple[datetime, str] | None = None

    def add(self, status: str | None, timestamp: str | None) -> None:
        self.count += 1
        if status is not None:
            self.statuses[status] += 1
        if timestamp is not None:
            self.seen(timestamp)

    def seen(self, timestamp: str) -> None:
        """Keep `timestamp` if it is the earliest or the latest so far; an unreadable one is ignored."""
        moment = _instant(timestamp)
        if moment is None:
            return
        if self.first is None or moment < self.first[0]:
            self.first = (moment, timestamp)
        if self.last is None or moment > self.last[0]:
            self.last = (moment, timestamp)

    def pattern(self, template: str) -> Pattern:
        return Pattern(
            template=template,
            count=self.count,
            statuses=dict(self.statuses),
            first_seen=self.first[1] if self.first else "",
            last_seen=self.last[1] if self.last else "",
            example=self.example,
        )


def _instant(timestamp: str) -> datetime | None:
    """The moment an ISO 8601 timestamp names (UTC when it names no zone), or None if unreadable.

    Compared as moments, not as text: `09:30:00Z` sorts after `09:30:00.5Z` as text.
    """
    try:
        moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))  # Python 3.10 does not read "Z"
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
