"""Secret redaction: each detector masks what it must and leaves alone what it must not."""

from __future__ import annotations

import json
import string
from collections import Counter
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dd_mcp_server.common.redact import DETECTORS, luhn_valid, redact, redact_text

# (kind, text containing one secret, the secret itself)
MUST_MATCH = [
    ("aws_access_key", "creds AKIAIOSFODNN7EXAMPLE loaded", "AKIAIOSFODNN7EXAMPLE"),
    ("aws_access_key", "session ASIAY34FZKBOKMUTVV7A", "ASIAY34FZKBOKMUTVV7A"),
    (
        "aws_secret_key",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    ("datadog_api_key", 'DD_API_KEY="0123456789abcdef0123456789abcdef"', "0123456789abcdef0123456789abcdef"),
    (
        "datadog_app_key",
        "datadog-application-key: 0123456789abcdef0123456789abcdef01234567",
        "0123456789abcdef0123456789abcdef01234567",
    ),
    (
        "github_token",
        "push with ghp_0123456789abcdefghijABCDEFGHIJ0123456789",
        "ghp_0123456789abcdefghijABCDEFGHIJ0123456789",
    ),
    (
        "github_token",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
    ),
    ("slack_token", "bot xoxb-2401234567-abcdefghijKLMN", "xoxb-2401234567-abcdefghijKLMN"),
    (
        "slack_webhook",
        "post to https://hooks.slack.com/services/T0123ABCD/B0123ABCD/abcdefghijklmnop now",
        "https://hooks.slack.com/services/T0123ABCD/B0123ABCD/abcdefghijklmnop",
    ),
    ("stripe_key", "charge with sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("authorization_header", "Authorization: Bearer abcdef0123456789xyz", "abcdef0123456789xyz"),
    ("authorization_header", '{"authorization": "Basic dXNlcjpwYXNzd29yZA=="}', "dXNlcjpwYXNzd29yZA=="),
    ("bearer_token", "sent bearer QWxhZGRpbjpvcGVuIHNlc2FtZQ123 upstream", "QWxhZGRpbjpvcGVuIHNlc2FtZQ123"),
    (
        "jwt",
        "token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    ),
    ("private_key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK\n-----END RSA PRIVATE KEY-----", "MIIEow"),
    ("private_key", "key: -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbm…", "b3BlbnNzaC1rZXkt"),
    ("url_password", "dsn postgres://admin:s3cr3t-pw@db.internal:5432/app", "s3cr3t-pw"),
    ("card_number", "paid with 4111 1111 1111 1111 today", "4111 1111 1111 1111"),
    ("card_number", "card=5555555555554444;", "5555555555554444"),
    ("card_number", "amex 378282246310005", "378282246310005"),
]

MUST_NOT_MATCH = [
    "trace_id 7216538916512283041 span 1234567890123456789",
    "at 1732406400000 ms, epoch 1732406400",
    "md5 0123456789abcdef0123456789abcdef and sha1 0123456789abcdef0123456789abcdef01234567",
    "request 3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "card 4111111111111112 fails the checksum",
    "version 4.111.1111.1111 and ip 10.0.0.1",
    "https://app.datadoghq.com/logs?query=service:web",
    "Authorization failed for user",
    "bearer of bad news",
    "AKIA is a prefix, AKIASHORT is short",
    "order 4111111111111111111 is a 19-digit id",
]


@pytest.mark.parametrize(("kind", "text", "secret"), MUST_MATCH)
def test_detector_masks_its_secret(kind: str, text: str, secret: str) -> None:
    counts: Counter[str] = Counter()
    masked = redact_text(text, counts=counts)
    assert secret not in masked
    assert f"[REDACTED:{kind}]" in masked
    assert counts == Counter({kind: 1})


@pytest.mark.parametrize("text", MUST_NOT_MATCH)
def test_ordinary_values_are_left_alone(text: str) -> None:
    counts: Counter[str] = Counter()
    assert redact_text(text, counts=counts) == text
    assert not counts


def test_every_detector_has_a_must_match_case() -> None:
    assert {d.kind for d in DETECTORS} <= {kind for kind, _, _ in MUST_MATCH}


def test_known_secrets_are_masked_anywhere_even_inside_words() -> None:
    counts: Counter[str] = Counter()
    masked = redact_text("x-fakekey123456789012-y fakekey123456789012", ["fakekey123456789012"], counts)
    assert "fakekey123456789012" not in masked
    assert counts["datadog_key"] == 2


def card_with_check_digit(body: str) -> str:
    for digit in string.digits:
        if luhn_valid(body + digit):
            return body + digit
    raise AssertionError("one check digit always fits")


@given(st.text(alphabet=string.digits, min_size=14, max_size=14))
def test_luhn_valid_visa_numbers_are_masked_and_a_changed_digit_is_not(middle: str) -> None:
    card = card_with_check_digit("4" + middle)
    assert redact_text(f"card {card} end") == "card [REDACTED:card_number] end"
    wrong = card[:-1] + str((int(card[-1]) + 1) % 10)
    assert redact_text(f"card {wrong} end") == f"card {wrong} end"


@given(st.integers(min_value=10**17, max_value=2**64 - 1))
def test_decimal_trace_and_span_ids_survive(identifier: int) -> None:
    text = f"trace_id:{identifier}"
    assert redact_text(text) == text


@given(st.text(alphabet="0123456789abcdef", min_size=32, max_size=40))
def test_bare_hex_without_key_context_survives(value: str) -> None:
    assert redact_text(f"id={value}") == f"id={value}"


# Ordinary text: no ':' '=' or upper case, so no key assignment, header, URL credential or token prefix.
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(alphabet=string.ascii_lowercase + string.digits + " .-/", max_size=30),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(string.ascii_letters, max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(JSON, st.sampled_from(MUST_MATCH), st.integers(min_value=0, max_value=3))
def test_a_secret_planted_anywhere_in_a_result_is_masked_and_counted(
    value: Any, case: tuple[str, str, str], depth: int
) -> None:
    kind, text, secret = case
    planted: Any = {"message": text, "rest": value}
    for _ in range(depth):
        planted = {"nested": [planted]}
    counts: Counter[str] = Counter()
    masked = redact(planted, (), counts)
    assert secret not in json.dumps(masked)
    assert counts[kind] >= 1


@given(JSON)
def test_values_without_secrets_are_unchanged(value: Any) -> None:
    counts: Counter[str] = Counter()
    assert redact(value, (), counts) == value
    assert not counts
