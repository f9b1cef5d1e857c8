"""Mask secrets that Datadog data may carry (a key pasted into a log line, a token in a URL).

A small table of named detectors; each finds a kind of secret in text and the part to replace.
Detectors are deliberately narrow: a trace id, a hash or an epoch timestamp must survive, so
ambiguous shapes (32 hex characters, long digit runs) are only taken with context or a checksum.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Detector:
    """`pattern` finds a secret; `group` is the part replaced; `check` confirms a candidate."""

    kind: str
    pattern: re.Pattern[str]
    group: int = 0
    check: Callable[[str], bool] | None = None


def luhn_valid(candidate: str) -> bool:
    """The card-number checksum: true for real card numbers, false for most other digit runs."""
    digits = [int(c) for c in candidate if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


_KEY_ASSIGN = r"""["']?\s*[:=]\s*["']?"""

DETECTORS: tuple[Detector, ...] = (
    Detector(
        "private_key",
        # A block cut short by the size budget has no END line: mask to the end of the text.
        re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?:.*?-----END [A-Z0-9 ]*PRIVATE KEY-----|.*\Z)", re.S),
    ),
    Detector("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    Detector("aws_access_key", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b")),
    Detector(
        "aws_secret_key",
        re.compile(r"(?i)aws_?secret(?:_?access)?_?key" + _KEY_ASSIGN + r"([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"),
        group=1,
    ),
    Detector(
        "datadog_api_key",
        re.compile(r"(?i)(?:dd|datadog)[_-]?api[_-]?key" + _KEY_ASSIGN + r"([a-f0-9]{32})\b"),
        group=1,
    ),
    Detector(
        "datadog_app_key",
        re.compile(r"(?i)(?:dd|datadog)[_-]?app(?:lication)?[_-]?key" + _KEY_ASSIGN + r"([a-f0-9]{40})\b"),
        group=1,
    ),
    Detector("github_token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b")),
    Detector("slack_token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    Detector(
        "slack_webhook", re.compile(r"https://hooks\.slack\.com/services/T[A-Za-z0-9]+/B[A-Za-z0-9]+/[A-Za-z0-9]+")
    ),
    Detector("stripe_key", re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}\b")),
    Detector(
        "authorization_header",
        re.compile(r"(?i)\bauthorization" + _KEY_ASSIGN + r"((?:basic|bearer|token|digest)\s+)?([^\s\"',;]{8,})"),
        group=2,
    ),
    Detector("bearer_token", re.compile(r"(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{16,}=*)"), group=1),
    Detector("url_password", re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@]+:([^\s@/]+)@"), group=1),
    Detector(
        "card_number",
        re.compile(
            r"(?<![\d.-])(?:4\d{12}(?:\d{3})?|5[1-5]\d{14}|2[2-7]\d{14}|3[47]\d{13}|6(?:011|5\d\d)\d{12}"
            r"|(?:4\d{3}|5[1-5]\d\d|3[47]\d\d|6011)(?:[ -]\d{4}){3})(?![\d.-])"
        ),
        check=luhn_valid,
    ),
)


def redact_text(text: str, known: Iterable[str] = (), counts: Counter[str] | None = None) -> str:
    """`text` with every detected secret replaced by [REDACTED:<kind>]; `counts` tallies each kind.

    `known` are exact secrets (this server's own keys) masked wherever they appear.
    """
    tally = counts if counts is not None else Counter()
    text = mask_known(text, known, tally)
    for detector in DETECTORS:
        text = detector.pattern.sub(_replacer(detector, tally), text)
    return text


def mask_known(text: str, known: Iterable[str], counts: Counter[str]) -> str:
    """`text` with each exact secret in `known` replaced by [REDACTED:datadog_key], counted."""
    for secret in known:
        if secret and secret in text:
            counts["datadog_key"] += text.count(secret)
            text = text.replace(secret, "[REDACTED:datadog_key]")
    return text


def _replacer(detector: Detector, tally: Counter[str]) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        secret = match.group(detector.group)
        if secret is None or (detector.check and not detector.check(secret)):
            return match.group(0)
        tally[detector.kind] += 1
        start, end = match.span(detector.group)
        whole = match.group(0)
        offset = match.start()
        return whole[: start - offset] + f"[REDACTED:{detector.kind}]" + whole[end - offset :]

    return replace


def redact(value: Any, known: Iterable[str] = (), counts: Counter[str] | None = None) -> Any:
    """A copy of a JSON value with secrets masked in every string (keys included)."""
    tally = counts if counts is not None else Counter()
    secrets = tuple(known)
    if isinstance(value, str):
        return redact_text(value, secrets, tally)
    if isinstance(value, dict):
        return {redact_text(str(k), secrets, tally): redact(v, secrets, tally) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(item, secrets, tally) for item in value]
    return value
