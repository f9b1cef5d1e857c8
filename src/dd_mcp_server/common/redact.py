"""Mask secrets in text from Datadog before a model reads it: `[REDACTED:<kind>]` in place of each.

Two sources. This server's own keys (DD_API_KEY, DD_APP_KEY) are masked always, even with
DD_MCP_REDACT=off, in every form computable from them: as is in any letter case; split by whitespace,
a newline or an escaped `\\n`/`\\r\\n` (indentation allowed); standard and URL-safe base64, alone or
inside a longer blob (all three byte alignments, unstable edge characters dropped); percent-encoded;
hex of the bytes; and any run of 12 or more consecutive characters of a key (a cut or quoted piece),
so "30 of 32 characters" never survives. The detector table finds the secrets users' systems wrote
into logs, spans and events.

How a text is masked: every span from every source is found on the original text, overlapping spans
merge into one mask (named by the earliest span; at one start, by the known keys, then by the first
listed detector, the specific kinds being listed before the generic `name = value` ones), and the
text is rebuilt in one pass. Masks already in the text are cut out of every span (kept as they are,
never nested or swallowed), and masking repeats until nothing new is found (in practice one pass),
so masking is idempotent.

Context rules, where a shape alone would mask ordinary ids and words:
- Card numbers: 13-19 digits with a card-brand prefix (Visa, Mastercard, Amex, Discover, JCB, Diners,
  UnionPay) and a valid Luhn checksum, AND either written in card groups (4-4-4-4, 4-4-4-4-3, 4-6-5
  or 4-6-4, one consistent space or dash), or preceded within 40 characters by a card word (card,
  cardholder, cc_number, ccn, visa, cvv...) and not directly by an id key (`id`, `_id`, `trace`,
  `span`, `request`, `event`, `uuid`... then `=`, `:` or `#`). So a bare 16-digit span id, a
  `span_id: 4111...` or a digit run glued to letters (inside a hex id) is never a card.
- A value after a secret-ish name (password, secret, token, api_key, Authorization, Bearer...) must
  look like a credential: not a placeholder (`null`, `***`, `${VAR}`, `<hidden>`, a mask), and not
  words (letters only, read as lower, Capitalised, UPPER, snake, kebab or camel case), so
  `authorization: rejected_by_policy` and `bearer Kubernetes-aware proxies` stay. Tokens and secrets
  need 8 characters; a password after `=` or in quotes needs 3 (after a bare `: ` it must not be a
  word, since that is how prose reads). Paging names (`next_token`, `pageToken`) are not secrets.
- A name counts from the start of a name component (`db_password`, `dbPassword`, `"password"`, not
  `bypass`), and `<word>_key` only for words that make it a secret (private, access, signing...).
- Token shapes need their documented prefix (`xox[abposre]-<digits>-`, `sk-`, `glpat-`, `AKIA`...),
  and a token never starts or ends inside a longer run of its own alphabet.

Speed: the redactor runs over every string of every Datadog answer, possibly in several threads
(its only state, a bounded memory of short strings found clean, is safe to share). Strings shorter than
8 characters are returned at once; a detector runs only when one of its trigger strings occurs in
the lowered text (one trie-shaped regex answers "any trigger at all?"); known keys are looked for
only where a sampled 6-character piece belongs to one of their forms. Every pattern starts with
a literal or a rare character where it can (the regex engine then skips ahead at C speed) and is
linear: repetition is bounded, and a token may not start right after a character of its own
alphabet, so a long run is entered once, not at each of its positions. bench/redact.py measures
both the common case and hostile inputs.
"""

from __future__ import annotations

import base64
import bisect
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from dd_mcp_server.common.text import MASK

# Shorter "keys" (the demo's placeholder) are not secrets and would mask ordinary words.
MIN_KEY_CHARS = 16
KNOWN_KIND = "datadog_key"

# Nothing this module masks fits in fewer characters (`pwd=abc1` is the shortest).
_SHORTEST = 8
# A member name that may make its value a secret: worth framing as `"name": "value"` (see Redactor.field).
_SECRET_NAME = re.compile(r"(?i)pass|pwd|secret|token|key|auth|cred|sig|cookie|session")

# (start, end, rank, kind): rank breaks ties between spans with the same start and end.
Span = tuple[int, int, int, str]


# -- value checks -------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(
    r"(?i)[*x#.\-•]{1,64}|null|none|nil|undefined|true|false|yes|no|on|off|empty|redacted|masked|hidden"
    r"|removed|filtered|sanitized|omitted|<[^<>]{0,64}>|\$\{[^{}]{0,64}\}|\$[a-z_][a-z0-9_]{0,64}"
    r"|\{\{[^{}]{0,64}\}\}|%\(?[a-z_]{0,32}\)?[sd]|\?|:[a-z_][a-z0-9_]{0,32}|\[[^\[\]]{0,64}\]"
)
# Letters only, read as words: lower, Capitalised or UPPER words joined by separators or camel case.
_WORD = r"(?:[A-Za-z][a-z]{0,23}|[A-Z]{2,24})"
_WORDS = re.compile(rf"{_WORD}(?:(?:[ _.\-/]{{1,2}}|(?<=[a-z])(?=[A-Z][a-z])){_WORD}){{0,24}}")


def is_placeholder(value: str) -> bool:
    """Values that stand for a secret without being one: `null`, `***`, `${VAR}`, `<hidden>`, a mask."""
    return len(value) <= 72 and _PLACEHOLDER.fullmatch(value) is not None


def reads_as_words(value: str) -> bool:
    """True for `rejected_by_policy`, `Kubernetes-aware`, `RejectedByPolicy`: no credential reads like that."""
    return len(value) <= 640 and _WORDS.fullmatch(value) is not None


def looks_like_credential(value: str) -> bool:
    """Long enough, not a placeholder, not words: what a token, key or secret value looks like."""
    return len(value) >= 8 and not is_placeholder(value) and not reads_as_words(value)


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


def card_brand(digits: str) -> bool:
    """Whether the digits start like a card of some brand and have a length that brand issues."""
    n, two, three, four = len(digits), int(digits[:2]), int(digits[:3]), int(digits[:4])
    return (
        (digits[0] == "4" and n in (13, 16, 19))  # Visa
        or ((51 <= two <= 55 or 2221 <= four <= 2720) and n == 16)  # Mastercard
        or (two in (34, 37) and n == 15)  # American Express
        or ((four == 6011 or two == 65 or 644 <= three <= 649) and n in (16, 19))  # Discover
        or (3528 <= four <= 3589 and 16 <= n <= 19)  # JCB
        or ((two in (36, 38, 39) or 300 <= three <= 305) and 14 <= n <= 19)  # Diners Club
        or (two == 62 and 16 <= n <= 19)  # UnionPay
    )


# -- the detector table ---------------------------------------------------------------------------

_SECRET_GROUPS = ("s", "s2", "s3", "s4")


def secret_span(match: re.Match[str]) -> tuple[int, int]:
    """The part of a match to mask: group `s` (or `s2`... in alternative forms), else the whole match."""
    names = match.re.groupindex
    for name in _SECRET_GROUPS:
        if name in names and match.start(name) >= 0:
            return match.span(name)
    return match.span()


def _secret(match: re.Match[str]) -> str:
    start, end = secret_span(match)
    return match.string[start:end]


@dataclass(frozen=True)
class Detector:
    """One kind of secret: `pattern` finds a candidate, `check` confirms it (given the match).

    `triggers` are lower-case strings of which every text the pattern can mask contains one; the
    detector does not run on text without any. `woken_by` may wake it when none occurs.
    """

    kind: str
    pattern: re.Pattern[str]
    triggers: tuple[str, ...]
    check: Callable[[re.Match[str]], bool] | None = None
    woken_by: Callable[[str], bool] | None = None

    def spans(self, text: str, rank: int) -> list[Span]:
        found: list[Span] = []
        for match in self.pattern.finditer(text):
            if self.check is None or self.check(match):
                start, end = secret_span(match)
                if end > start:
                    found.append((start, end, rank, self.kind))
        return found


def _token(
    kind: str,
    triggers: tuple[str, ...],
    *forms: tuple[tuple[str, ...], str],
    alphabet: str = r"A-Za-z0-9_\-",
    check: Callable[[re.Match[str]], bool] | None = None,
) -> Detector:
    """A self-identifying token: one of its literal prefixes, then the rest, not glued to other
    characters of its alphabet on either side. Each form is (prefixes of one length, rest).

    The pattern starts with the literal prefix (the regex engine then skips ahead at C speed) and
    only then looks behind it.
    """
    branches = []
    for prefixes, rest in forms:
        width = len(prefixes[0])
        if any(len(prefix) != width for prefix in prefixes):
            raise ValueError(f"{kind}: prefixes of one form must have one length")
        literals = "|".join(re.escape(prefix) for prefix in prefixes)
        branches.append(rf"(?:{literals})(?<![{alphabet}].{{{width}}}){rest}")
    pattern = re.compile("(?:" + "|".join(branches) + rf")(?![{alphabet}])")
    return Detector(kind, pattern, triggers, check)


# A name component starts after a non-alphanumeric (`_ . - "`, a space) or at a camel-case hump
# (dbPassword), so `mypassword` is not `password`.
_COMPONENT_START = r"(?:(?<![A-Za-z0-9])|(?<=[a-z0-9])(?=[A-Z]))"
_ASCII_ALPHANUMERIC = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
# `name: v`, `name = v`, `"name": "v"`, `\"name\":\"v\"`, `name => v`, `name := v`, `<name>v<`.
_ASSIGN = r"""\\?["']?[ \t]{0,8}(?P<op>=>|:=|[:=>])[ \t]{0,8}"""
_OPEN_QUOTE = r"""\\?["']?"""
_VALUE = (
    r"""(?:\\"(?P<s>[^"\\\r\n]{1,4096})(?:\\"|\Z)"""
    r"""|"(?P<s2>(?:[^"\\\r\n]|\\[^\r\n]){1,4096})(?:"|\Z)"""
    r"""|'(?P<s3>[^'\r\n]{1,4096})(?:'|\Z)"""
    r"""|(?P<s4>[^\s"'`,;&<>(){}\[\]\\]{1,4096}))"""
)


def _named(
    kind: str,
    names: tuple[str, ...],
    after: str,
    triggers: tuple[str, ...],
    check: Callable[[re.Match[str]], bool] | None = None,
    before: str = "",
) -> Detector:
    """A value after a name: the name ends with one of `names` (lower-case regexes sharing their
    first letter), may start with `before` (glued words, a regex), and starts a name component;
    `after` is the operator and the value.

    The pattern starts with the first letter of `names`, which the regex engine skips to at C
    speed; what comes before that letter is checked afterwards, on the few candidates.
    """
    first = names[0][0]
    if any(name[0] != first for name in names):
        raise ValueError(f"{kind}: names must share their first letter")
    rests = "|".join(name[1:] for name in names)
    pattern = re.compile(rf"[{first}{first.upper()}](?i:{rests}){after}")
    lead = re.compile(rf"{_COMPONENT_START}(?i:{before})(?=[A-Za-z]\Z)")
    bare = re.fullmatch(f"(?i:{before})", "") is not None  # the name may start at `names` itself

    def confirmed(match: re.Match[str]) -> bool:
        start, text = match.start(), match.string
        if bare and (start == 0 or text[start - 1] not in _ASCII_ALPHANUMERIC):
            starts_a_name = True  # the common case, without a second regex
        else:
            starts_a_name = lead.search(text, max(0, start - 48), start + 1) is not None
        return starts_a_name and (check is None or check(match))

    return Detector(kind, pattern, triggers, confirmed)


def _assignment(
    kind: str,
    names: tuple[str, ...],
    triggers: tuple[str, ...],
    check: Callable[[re.Match[str]], bool],
    before: str = "",
) -> Detector:
    """`<name> <operator> <value>` in the forms of env files, YAML, JSON, query strings, code and XML."""
    return _named(kind, names, _ASSIGN + _VALUE, triggers, check, before)


def _credential_value(match: re.Match[str]) -> bool:
    return looks_like_credential(_secret(match))


_PAGINATION = re.compile(r"(?i)(?:next|page|continuation|pagination|sync|cursor)[_.\-]?\Z")


def _token_value(match: re.Match[str]) -> bool:
    """A credential after a token name, unless the name is a paging cursor (`next_token`, `pageToken`)."""
    before = match.string[max(0, match.start() - 16) : match.start()]
    return looks_like_credential(_secret(match)) and not _PAGINATION.search(before)


def _password_value(match: re.Match[str]) -> bool:
    """Any real value after `=` or in quotes; after a bare `: ` (also how prose reads) not a word."""
    value = _secret(match)
    if len(value) < 3 or is_placeholder(value):
        return False
    bare_colon = match.group("s4") is not None and match.group("op") == ":"
    return not (bare_colon and (len(value) < 4 or reads_as_words(value)))


def _not_placeholder(match: re.Match[str]) -> bool:
    return not is_placeholder(_secret(match))


def _after_prefix(size: int) -> Callable[[re.Match[str]], bool]:
    """A check that the token after its `size`-character prefix looks like a credential, not words."""
    return lambda match: looks_like_credential(match.group()[size:])


_CARD_WORD = re.compile(
    r"(?<![a-z])(?:(?:credit|debit|master)?cards?|cardholder|cardnumber|cc_?num(?:ber)?|ccn|visa|cvv)"
    r"(?![a-z])"
)
_ID_KEY = re.compile(
    r"(?:(?<![A-Za-z])(?:id|ids|Id|Ids|ID|IDs)|[_.\-](?:id|ID)|[a-z]Ids?"
    r"|(?i:trace|span|parent|request|correlation|transaction|txn|event|message|session|uuid|guid))"
    r"""\\?["']?[ \t]{0,3}[:=#]?[ \t]{0,3}\\?["']?\Z"""
)


_CARD_GROUPS = re.compile(r"[ \-]\d{4,6}[ \-]\d{4}")


def _has_card_groups(text: str) -> bool:
    """Whether `text` holds digits in card groups (4-4, 4-6 with spaces or dashes): cheap checks first."""
    return len(text) >= 16 and (" " in text or "-" in text) and _CARD_GROUPS.search(text) is not None


def _card(match: re.Match[str]) -> bool:
    """Brand prefix and Luhn, then context: card groups, or a card word before and no id key right before."""
    number = match.group()
    digits = number.replace(" ", "").replace("-", "")
    if not (card_brand(digits) and luhn_valid(digits)):
        return False
    if not number.isdigit():
        return True
    before = match.string[max(0, match.start() - 40) : match.start()]
    return _CARD_WORD.search(MASK.sub(" ", before).lower()) is not None and not _ID_KEY.search(before)


_HEX_TAIL = r"(?![A-Za-z0-9])"
# `<word>_key` names whose value is a secret (a bare `key`, `cache_key` or `sort_key` is not).
_KEY_WORDS = (
    "private",
    "account",
    "auth",
    "encryption",
    "signing",
    "master",
    "client",
    "service",
    "license",
    "access",
    "consumer",
    "shared",
    "storage",
)

DETECTORS: tuple[Detector, ...] = (
    Detector(
        "private_key",
        # A block cut short (upstream) has no END line: mask to the end of the text.
        re.compile(
            r"-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----"
            r"(?:[\s\S]*?-----END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----|[\s\S]*)"
            r"|PuTTY-User-Key-File-\d:[\s\S]*?(?:Private-MAC:[ \t]{0,4}[0-9a-fA-F]{1,128}|\Z)"
        ),
        ("y-----", "k-----", "y-user-k"),
    ),
    _token("jwt", ("yj",), (("eyJ",), r"[A-Za-z0-9_\-]{8,4096}\.eyJ[A-Za-z0-9_\-]{8,8192}\.[A-Za-z0-9_\-]{8,2048}")),
    # This server's own bearer tokens (`dd-mcp-server token new`): in a log line Datadog returns, too.
    _token("dd_mcp_token", ("mcp_",), (("ddmcp_",), r"[A-Za-z0-9_\-]{43}")),
    _token(
        "aws_access_key",
        ("kia", "sia", "bia", "cca"),
        (("AKIA", "ASIA", "ABIA", "ACCA"), "[0-9A-Z]{16}"),
        alphabet="A-Za-z0-9",
    ),
    _named(
        "aws_secret_key",
        ("key",),
        _ASSIGN + _OPEN_QUOTE + r"(?P<s>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
        ("cret",),
        before=r"(?:aws[_.\-]?secret(?:[_.\-]?access)?|secret[_.\-]?access)[_.\-]?",
    ),
    _named(
        "datadog_api_key",
        ("key",),
        _ASSIGN + _OPEN_QUOTE + r"(?P<s>[a-fA-F0-9]{32})" + _HEX_TAIL,
        ("key",),
        before=r"(?:dd|datadog)[_.\-]?api[_.\-]?",
    ),
    _named(
        "datadog_app_key",
        ("key",),
        _ASSIGN + _OPEN_QUOTE + r"(?P<s>[a-fA-F0-9]{40})" + _HEX_TAIL,
        ("key",),
        before=r"(?:dd|datadog)[_.\-]?app(?:lication)?[_.\-]?",
    ),
    _named(
        "ibm_cloud_api_key",
        ("key",),
        _ASSIGN + _OPEN_QUOTE + r"(?P<s>[A-Za-z0-9_\-]{44})(?![A-Za-z0-9_\-])",
        ("bm",),
        before=r"ibm[A-Za-z0-9_.\-]{0,24}?",
    ),
    Detector(
        "azure_storage_key",
        re.compile(r"(?:AccountKey|SharedAccessKey)=(?P<s>[A-Za-z0-9+/]{20,100}={0,2})"),
        ("key=",),
    ),
    Detector(
        "azure_sas_token",
        re.compile(r"sig=(?<![A-Za-z0-9_.\-]sig=)(?P<s>[A-Za-z0-9%+/]{20,256}={0,2})(?![A-Za-z0-9%+/=])"),
        ("sig=",),
        _credential_value,
    ),
    _token(
        "github_token",
        ("gh",),
        (("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), "[A-Za-z0-9]{36,251}"),
        (("github_pat_",), "[A-Za-z0-9_]{22,247}"),
    ),
    _token(
        "gitlab_token",
        ("gl",),
        (("glpat-", "glcbt-", "glptt-", "gloas-", "glimt-"), r"[A-Za-z0-9_.\-]{20,256}"),
        (("gldt-", "glrt-", "glft-"), r"[A-Za-z0-9_.\-]{20,256}"),
        (("glsoat-",), r"[A-Za-z0-9_.\-]{20,256}"),
        (("glagent-",), r"[A-Za-z0-9_.\-]{20,256}"),
        alphabet=r"A-Za-z0-9_.\-",
        check=lambda match: looks_like_credential(match.group().partition("-")[2]),
    ),
    _token(
        "slack_token",
        ("xox", "xapp"),
        (("xoxa-", "xoxb-", "xoxp-", "xoxo-", "xoxs-", "xoxr-", "xoxe-"), r"\d{1,20}-[A-Za-z0-9\-]{8,256}"),
        (("xoxe.xox",), r"[abposr]-\d{1,20}-[A-Za-z0-9\-]{8,256}"),
        (("xapp-",), r"\d{1,20}-[A-Za-z0-9\-]{8,256}"),
        alphabet=r"A-Za-z0-9_.\-",
    ),
    Detector(
        "slack_webhook",
        re.compile(
            r"https://hooks\.slack\.com/(?:services|workflows|triggers)/T[A-Za-z0-9_]{1,20}/[A-Za-z0-9_/]{8,128}"
        ),
        ("ks.slack.com",),
    ),
    _token(
        "stripe_key",
        ("k_", "whsec_"),
        (("sk_live_", "rk_live_", "sk_test_", "rk_test_"), "[A-Za-z0-9]{16,247}"),
        (("whsec_",), "[A-Za-z0-9]{32,128}"),
    ),
    _token("google_api_key", ("za",), (("AIza",), r"[0-9A-Za-z_\-]{35}")),
    _token(
        "google_oauth_token",
        ("x-", "ya29."),
        (("GOCSPX-",), r"[A-Za-z0-9_\-]{28}"),
        (("ya29.",), r"[0-9A-Za-z_\-]{20,2048}"),
        alphabet=r"A-Za-z0-9_.\-",
    ),
    _token("anthropic_api_key", ("k-",), (("sk-ant-",), r"(?:api|admin|oat)\d{2}-[A-Za-z0-9_\-]{20,256}")),
    _token(
        "openai_api_key",
        ("k-",),
        (("sk-",), r"(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,256}"),
        check=_after_prefix(3),
    ),
    _token("npm_token", ("pm_",), (("npm_",), "[A-Za-z0-9]{36}")),
    _token("pypi_token", ("ypi-",), (("pypi-AgE",), r"[A-Za-z0-9_\-]{50,1024}")),
    _token("vault_token", ("vs.", "vb.", "vr."), (("hvs.", "hvb.", "hvr."), r"[A-Za-z0-9_\-]{24,256}")),
    _token(
        "grafana_token",
        ("gl",),
        (("glc_",), "[A-Za-z0-9+/]{32,400}={0,2}"),
        (("glsa_",), "[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}"),
        alphabet=r"A-Za-z0-9_+/=\-",
    ),
    _token(
        "sendgrid_api_key",
        ("g.",),
        (("SG.",), r"[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}"),
        alphabet=r"A-Za-z0-9_.\-",
    ),
    _token(
        "mailchimp_api_key",
        ("-us",),
        (tuple("0123456789abcdef"), r"[0-9a-f]{31}-us\d{1,2}"),
        alphabet="A-Za-z0-9",
    ),
    _token("twilio_api_key", ("sk",), (("SK",), "[0-9a-fA-F]{32}"), alphabet="A-Za-z0-9"),
    _token("square_token", ("q0",), (("sq0atp-", "sq0csp-", "sq0idp-"), r"[0-9A-Za-z_\-]{22,60}")),
    _token(
        "artifactory_token",
        ("kcp", "vmd"),
        (("AKCp",), "[A-Za-z0-9]{60,80}"),
        (("cmVmdGtuOjAx",), "[A-Za-z0-9]{40,80}"),
        alphabet="A-Za-z0-9",
    ),
    Detector(
        "discord_webhook",
        re.compile(r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d{1,20}/[A-Za-z0-9_\-]{60,68}"),
        ("cord",),
    ),
    # No fixed prefix: only looked for in text that mentions Discord.
    _token(
        "discord_bot_token",
        ("cord",),
        (("M", "N", "O"), r"[A-Za-z0-9_\-]{23,25}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,38}"),
        alphabet=r"A-Za-z0-9_.\-",
        check=_after_prefix(0),
    ),
    Detector(
        "telegram_bot_token",
        # Also right after `bot`, as in https://api.telegram.org/bot<token>/sendMessage.
        re.compile(r"\d(?:(?<=bot\d)|(?<![A-Za-z0-9_:\-]\d))\d{4,15}:A[A-Za-z0-9_\-]{32,35}(?![A-Za-z0-9_\-])"),
        ("gram",),
    ),
    _named(
        "authorization_header",
        ("authorization",),
        r"""\\?["']?[ \t]{0,8}[:=][ \t]{0,8}\\?["']?"""
        # Digest: every parameter (the response is derived from the password), quoted or not.
        r"(?:(?i:digest)[ \t]{1,8}(?P<s2>(?:[A-Za-z\-]{1,32}="
        r"""(?:\\?"[^"\\\r\n]{0,256}\\?"|[^\s,"\\]{1,256}),?[ \t]{0,4}){1,16})"""
        r"|(?:(?i:basic|bearer|token|negotiate|ntlm|ssws|api-?key|key|hmac|aws4-hmac-sha256)[ \t]{1,8})?"
        r"""(?P<s>[^\s"',;\\]{8,4096}))""",
        ("za",),
        _credential_value,
        before="(?:proxy-)?",
    ),
    _named(
        "bearer_token",
        ("bearer",),
        r"[ \t]{1,8}(?P<s>[A-Za-z0-9\-._~+/]{16,4096}={0,2})(?![A-Za-z0-9\-._~+/=])",
        ("bearer",),
        _credential_value,
    ),
    Detector(
        "url_password",
        # Anchored on `://`; the password runs to the last `@` before the host, so it may contain `@`.
        re.compile(
            r"://(?<=[A-Za-z0-9+.\-]://)[^\s:/?#\"'<>\[\]]{0,256}"
            r":(?P<s>[^\s/?#\"'<>]{1,256})@(?=[A-Za-z0-9\[_])"
        ),
        ("@",),
        _not_placeholder,
    ),
    Detector(
        "card_number",
        re.compile(
            r"\d(?<![0-9A-Za-z_.\-].)"
            r"(?:\d{12,18}"  # contiguous
            r"|\d{3}(?P<g>[ \-])\d{4}(?P=g)\d{4}(?P=g)\d{4}(?:(?P=g)\d{3})?"  # 4-4-4-4 and 4-4-4-4-3
            r"|\d{3}(?P<h>[ \-])\d{6}(?P=h)\d{4,5})"  # 4-6-5 and 4-6-4
            r"(?![0-9A-Za-z_\-]|\.\d)"
        ),
        ("card", "cc_", "ccn", "visa", "cvv"),
        _card,
        woken_by=_has_card_groups,
    ),
    # Names followed by a value: the specific kinds above win ties, being listed first.
    _assignment("password", (r"pass(?:word|wd|phrase)?", "pwd"), ("pass", "pwd"), _password_value),
    _assignment("api_key", ("key",), ("key",), _credential_value, before=r"(?:api|app(?:lication)?)[_.\-]?"),
    _assignment(
        "token",
        ("token",),
        ("ken",),
        _token_value,
        before="(?:auth|access|refresh|api|bot|id|session|csrf|xsrf)?",
    ),
    _assignment(
        "secret",
        (r"secret(?:[_.\-]?(?:access[_.\-]?)?key)?",),
        ("cret",),
        _credential_value,
        before="(?:client|app|shared|consumer|webhook|signing|jwt|session|encryption|master|api)?",
    ),
    _assignment("secret", ("key",), ("key",), _credential_value, before=rf"(?:{'|'.join(_KEY_WORDS)})[_.\-]?"),
)


def _trigger_index(detectors: tuple[Detector, ...]) -> dict[str, frozenset[int]]:
    """Trigger string -> the detectors it wakes; a trigger containing another is folded into it."""
    wakes: dict[str, set[int]] = {}
    for index, detector in enumerate(detectors):
        for trigger in detector.triggers:
            wakes.setdefault(trigger, set()).add(index)
    shortest_first = sorted(wakes, key=len)
    for position, trigger in enumerate(shortest_first):
        inner = next((t for t in shortest_first[:position] if t in trigger and t in wakes), None)
        if inner is not None:
            wakes[inner] |= wakes.pop(trigger)
    return {trigger: frozenset(ids) for trigger, ids in wakes.items()}


def _trie_pattern(words: Iterable[str]) -> str:
    """One regex for a set of literals, shaped as a trie so each position costs one branch, not one per word."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + emit(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(root)


_WAKES = _trigger_index(DETECTORS)
_ANY_TRIGGER = re.compile(_trie_pattern(_WAKES))
_WOKEN_BY = tuple((index, d.woken_by) for index, d in enumerate(DETECTORS) if d.woken_by is not None)


def _detected(text: str, lowered: str) -> list[Span]:
    """Spans of every detector woken by a trigger in `text` (`lowered` is text.lower()).

    Digits alone (trace and span ids) never hold a secret a detector can see: a card needs a word
    or groups beside it.
    """
    if text.isdigit():
        return []
    awake: set[int] = set()
    # Triggers may overlap ("key-----" holds "key" and "y-----"): search again from the next character.
    found = _ANY_TRIGGER.search(lowered)
    while found is not None:
        awake |= _WAKES[found.group()]
        found = _ANY_TRIGGER.search(lowered, found.start() + 1)
    for index, wakes in _WOKEN_BY:
        if index not in awake and wakes(text):
            awake.add(index)
    spans: list[Span] = []
    for index in awake:
        spans.extend(DETECTORS[index].spans(text, rank=index + 1))
    return spans


# -- this server's own keys -----------------------------------------------------------------------

_GRAM = 6  # characters looked up at once; every form's anchor is at least this long
_SEPARATOR_LIMIT = 16  # whitespace and escaped line breaks allowed between two characters of a key


@dataclass(frozen=True)
class _Form:
    """One encoding of a key, lower-cased; `anchor` is the shortest unbroken piece looked up, `least` the
    shortest matched length that is masked (both worth 12 key characters, or half a short key)."""

    text: str
    anchor: int
    least: int


def _forms(key: str) -> list[_Form]:
    """Every encoding of `key` this module masks (see the module docstring)."""
    raw = key.encode()
    anchor, least = min(12, len(key) // 2), 12
    forms = [
        _Form(key.lower(), anchor, least),
        _Form(raw.hex(), 2 * anchor, 2 * least),
        _Form("".join(f"%{byte:02x}" for byte in raw), 3 * anchor, 3 * least),
    ]
    b64_anchor, b64_least = max(_GRAM, 4 * anchor // 3), 4 * least // 3
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        forms.append(_Form(encode(raw).decode().lower(), b64_anchor, b64_least))
        for shift in (1, 2):  # the key inside a longer blob, starting 1 or 2 bytes into a 3-byte group
            blob = encode(bytes(shift) + raw + bytes(3)).decode()
            first, end = -(-8 * shift // 6), 8 * (shift + len(raw)) // 6
            forms.append(_Form(blob[first:end].lower(), b64_anchor, b64_least))
    return forms


def _after_separator(text: str, i: int) -> int:
    """Index just past the whitespace and escaped `\\n` `\\r` `\\t` starting at i (i when there are none)."""
    j, limit = i, min(len(text), i + _SEPARATOR_LIMIT)
    while j < limit:
        if text[j] in " \t\r\n\f\v":
            j += 1
        elif text[j] == "\\" and j + 1 < len(text) and text[j + 1] in "nrt":
            j += 2
        else:
            break
    return j


def _before_separator(text: str, i: int) -> int:
    """Index where the separators ending just before i start (i when there are none)."""
    j, limit = i, max(0, i - _SEPARATOR_LIMIT)
    while j > limit:
        if text[j - 1] in " \t\r\n\f\v":
            j -= 1
        elif text[j - 1] in "nrt" and j >= 2 and text[j - 2] == "\\":
            j -= 2
        else:
            break
    return j


def _stretch(text: str, form: str, at: int, offset: int) -> tuple[int, int, int]:
    """Grow the piece at text[at:at+_GRAM] == form[offset:offset+_GRAM] both ways, across separators.

    Returns the text span and how many characters of the form it covers.
    """
    end, k = at + _GRAM, offset + _GRAM
    while k < len(form):
        if end < len(text) and text[end].lower() == form[k]:
            end, k = end + 1, k + 1
            continue
        after = _after_separator(text, end)
        if after == end or after >= len(text) or text[after].lower() != form[k]:
            break
        end = after
    start, h = at, offset
    while h > 0:
        if start > 0 and text[start - 1].lower() == form[h - 1]:
            start, h = start - 1, h - 1
            continue
        before = _before_separator(text, start)
        if before == start or before == 0 or text[before - 1].lower() != form[h - 1]:
            break
        start = before
    return start, end, k - h


class _KnownKeys:
    """Finds the configured keys in all their forms. One 6-character piece in every `step` of the
    text is looked up (enough to meet every anchor: any anchor-long piece of a form holds one); a
    text with no hit is done, and each hit is stretched both ways to see how much of a form it covers."""

    def __init__(self, keys: Iterable[str]) -> None:
        unique = {form.text: form for key in keys for form in _forms(key)}
        self.forms = list(unique.values())
        self.grams: dict[str, list[tuple[int, int]]] = {}
        for index, form in enumerate(self.forms):
            for offset in range(len(form.text) - _GRAM + 1):
                self.grams.setdefault(form.text[offset : offset + _GRAM], []).append((index, offset))
        self.gram_set = frozenset(self.grams)
        self.step = min(form.anchor - _GRAM + 1 for form in self.forms)
        # The pieces at 0, step, 2*step...: findall collects them in C.
        if self.step >= _GRAM:
            self.samples = re.compile(rf"(?s)(.{{{_GRAM}}}).{{0,{self.step - _GRAM}}}")
        else:
            self.samples = re.compile(rf"(?s)(?=(.{{{_GRAM}}})).{{1,{self.step}}}")
        self.shortest = min(form.anchor for form in self.forms)
        # Trace and span ids are digits: skip them unless some form has a long enough run of digits.
        self.in_digits = any(len(run) >= form.anchor for form in self.forms for run in re.findall("[0-9]+", form.text))

    def suspected(self, lowered: str) -> bool:
        """Whether any sampled piece of `lowered` belongs to a form: no key can be in it otherwise."""
        if len(lowered) < self.shortest or (not self.in_digits and lowered.isdigit()):
            return False
        return not self.gram_set.isdisjoint(self.samples.findall(lowered))

    def spans(self, text: str) -> list[Span]:
        grams, done = self.grams, 0
        found: list[Span] = []
        sampled = range(0, len(text) - _GRAM + 1, self.step)
        for at in [at for at in sampled if text[at : at + _GRAM].lower() in grams]:
            span = self._widest(text, at, grams[text[at : at + _GRAM].lower()]) if at >= done else None
            if span is not None:
                found.append((span[0], span[1], 0, KNOWN_KIND))
                done = span[1]
        return found

    def _widest(self, text: str, at: int, hits: list[tuple[int, int]]) -> tuple[int, int] | None:
        """The longest stretch over the forms the piece belongs to, if it is long enough to mask."""
        best: tuple[int, int, int] | None = None
        for index, offset in hits:
            start, end, covered = _stretch(text, self.forms[index].text, at, offset)
            if covered >= self.forms[index].least and (best is None or covered > best[2]):
                best = (start, end, covered)
        return None if best is None else (best[0], best[1])


# -- putting it together --------------------------------------------------------------------------


_ALPHANUMERIC = re.compile("[A-Za-z0-9]")


def _outside_masks(spans: list[Span], text: str) -> list[Span]:
    """Spans with the masks already in `text` cut out: a mask is never masked again, swallowed or
    nested, and what a span held around one is still masked (if it has a letter or digit)."""
    masks = [match.span() for match in MASK.finditer(text)]
    if not masks:
        return spans
    mask_ends = [end for _, end in masks]
    pieces: list[Span] = []
    for start, end, rank, kind in spans:
        at = start
        for mask_start, mask_end in masks[bisect.bisect_right(mask_ends, start) :]:
            if mask_start >= end:
                break
            if mask_start > at:
                pieces.append((at, mask_start, rank, kind))
            at = mask_end
        if at < end:
            pieces.append((at, end, rank, kind))
    return [piece for piece in pieces if _ALPHANUMERIC.search(text, piece[0], piece[1])]


def _merged(spans: list[Span], text: str) -> list[Span]:
    """Spans outside existing masks, sorted, and merged where they overlap."""
    if "[REDACTED:" in text:
        spans = _outside_masks(spans, text)
    spans.sort(key=lambda span: (span[0], span[2], -span[1]))
    merged: list[Span] = []
    for span in spans:
        if merged and span[0] < merged[-1][1]:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], span[1]), last[2], last[3])
        else:
            merged.append(span)
    return merged


def _replaced(text: str, spans: list[Span]) -> str:
    pieces, done = [], 0
    for start, end, _, kind in spans:
        pieces.append(text[done:start])
        pieces.append(f"[REDACTED:{kind}]")
        done = end
    pieces.append(text[done:])
    return "".join(pieces)


class Redactor:
    """Masks secrets in text. Built once per process: everything is compiled here.

    `known` are this server's own keys (shorter than MIN_KEY_CHARS are ignored), masked always;
    `detect` adds the detector table (DD_MCP_REDACT=on). Short strings found clean are remembered
    (Datadog answers repeat tags, names and hosts in every event); the memory is bounded and never
    holds a string that had a secret in it.
    """

    _REMEMBER_UP_TO = 256  # characters
    _REMEMBERED = 8192  # strings, then the memory starts over

    def __init__(self, known: Iterable[str] = (), *, detect: bool = True) -> None:
        keys = [key for key in dict.fromkeys(known) if len(key) >= MIN_KEY_CHARS]
        self._known = _KnownKeys(keys) if keys else None
        self._detect = detect
        self._clean: set[str] = set()

    def text(self, text: str) -> str:
        """`text` with every secret replaced by `[REDACTED:<kind>]`; the same object when none was found."""
        if len(text) < _SHORTEST or text in self._clean:
            return text
        masked = self._masked(text)
        if masked is text and len(text) <= self._REMEMBER_UP_TO:
            if len(self._clean) >= self._REMEMBERED:
                self._clean.clear()
            self._clean.add(text)
        return masked

    def field(self, name: str, value: str) -> str:
        """The string value of an object member named `name`, masked whole when the name says it is a secret.

        A decoded JSON object has lost the `"password": "…"` text the detectors read; the member is
        framed that way again, so `{"password": "hunter2"}` is masked like its text form.
        """
        if self._detect and _SECRET_NAME.search(name):
            framed = f'"{name}": "{value}"'
            masked = self.text(framed)
            head = framed[: len(name) + 5]
            if masked.startswith(head) and masked.endswith('"'):
                return masked[len(head) : -1]
        return self.text(value)

    def _masked(self, text: str) -> str:
        """Mask until nothing new is found: in practice one pass (see the module docstring)."""
        while True:
            spans = self._spans(text)
            if not spans:
                return text
            text = _replaced(text, spans)

    def _spans(self, text: str) -> list[Span]:
        lowered = text.lower()
        known = self._known
        spans = known.spans(text) if known is not None and known.suspected(lowered) else []
        if self._detect:
            spans.extend(_detected(text, lowered))
        return _merged(spans, text) if spans else spans


def count_masks(text: str) -> Counter[str]:
    """How many `[REDACTED:<kind>]` tokens of each kind `text` holds."""
    if "[REDACTED:" not in text:
        return Counter()
    return Counter(match.group()[10:-1] for match in MASK.finditer(text))
