"""Secret redaction: each detector masks its secrets and leaves look-alikes alone; the server's own keys
never survive in any form computable from them; masking is idempotent and never nests."""

from __future__ import annotations

import base64
import json
import string
from collections import Counter
from typing import Any

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from dd_mcp_server.common.redact import (
    _SECRET_NAME,
    DETECTORS,
    MIN_KEY_CHARS,
    Redactor,
    _detected,
    count_masks,
    luhn_valid,
)
from dd_mcp_server.common.text import MASK, map_json

API_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"  # 32 hex, as Datadog issues them
APP_KEY = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"  # 40 hex
KEYS = (API_KEY, APP_KEY)

B64_40 = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
HEX32 = "0123456789abcdef0123456789abcdef"
TOKEN44 = "a1B2c3D4e5a1B2c3D4e5a1B2c3D4e5a1B2c3D4e5abcd"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
MCP_TOKEN = (
    "ddmcp_" + "Xq3-v9_Lk2Pz8RtY0bWc4NdE6fGhJ1mA5sUoTiKlQnB"
)  # as `token new` makes them: 43 url-safe characters
ALNUM = "Zx9Qw2Er5Ty8Ui1Op4As7Df0Gh3Jk6Lz9Xc2Vb5Nm8P"  # 43 mixed characters to cut tokens from

# (kind, text, the secret in it): at least two forms per kind.
POSITIVE = [
    (
        "private_key",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
        "MIIEowIBAAKCAQEA",
    ),
    ("private_key", "key: -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbm", "b3BlbnNzaC1rZXkt"),
    (
        "private_key",
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF3kX1cBCAC\n-----END PGP PRIVATE KEY BLOCK-----",
        "lQOYBF3kX1",
    ),
    (
        "private_key",
        '{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBg\\n-----END PRIVATE KEY-----\\n"}',
        "MIIEvQIBADANBg",
    ),
    ("jwt", f"token={JWT}", JWT),
    ("jwt", f"session {JWT.replace('HS', 'RS')} ok", JWT.split(".")[2]),
    ("dd_mcp_token", f"curl -H 'Authorization: Bearer {MCP_TOKEN}' ok", MCP_TOKEN),
    ("dd_mcp_token", f"pasted {MCP_TOKEN}.", MCP_TOKEN[6:]),
    ("aws_access_key", "creds AKIAIOSFODNN7EXAMPLE loaded", "AKIAIOSFODNN7EXAMPLE"),
    ("aws_access_key", '{"AccessKeyId": "ASIAY34FZKBOKMUTVV7A"}', "ASIAY34FZKBOKMUTVV7A"),
    ("aws_secret_key", f"aws_secret_access_key = {B64_40}", B64_40),
    ("aws_secret_key", f'{{"SecretAccessKey": "{B64_40}"}}', B64_40),
    ("datadog_api_key", f'DD_API_KEY="{HEX32}"', HEX32),
    ("datadog_api_key", f'{{"dd_api_key": "{HEX32}"}}', HEX32),
    ("datadog_api_key", f"DD-API-KEY: {HEX32}", HEX32),
    ("datadog_app_key", f"datadog-application-key: {HEX32}01234567", HEX32),
    ("datadog_app_key", f"DD_APP_KEY='{HEX32}abcdef01'", HEX32),
    ("ibm_cloud_api_key", f"IBM_CLOUD_API_KEY={TOKEN44}", TOKEN44),
    ("ibm_cloud_api_key", f'{{"ibmcloud_apikey": "{TOKEN44}"}}', TOKEN44),
    (
        "azure_storage_key",
        f"DefaultEndpointsProtocol=https;AccountName=shop;AccountKey={ALNUM * 2}==;EndpointSuffix=core.windows.net",
        ALNUM,
    ),
    (
        "azure_storage_key",
        f"Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey={ALNUM}=",
        ALNUM,
    ),
    (
        "azure_sas_token",
        "https://acct.blob.core.windows.net/c/b.txt?sv=2021-06-08&sr=b&sp=r&sig=Zx1%2FabcDEF0123456789ghijKLmn%3D",
        "Zx1%2FabcDEF0123456789ghijKLmn",
    ),
    (
        "azure_sas_token",
        "SharedAccessSignature sr=x&sig=abcdEFGH1234ijklMNOP5678qrst%3D&se=1700000000",
        "abcdEFGH1234ijkl",
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
    ("gitlab_token", "PRIVATE-TOKEN: glpat-Zx9Qw2Er5Ty8Ui1Op4As", "glpat-Zx9Qw2Er5Ty8Ui1Op4As"),
    ("gitlab_token", "deploy gldt-Ab1Cd2Ef3Gh4Ij5Kl6Mn7O ok", "gldt-Ab1Cd2Ef3Gh4Ij5Kl6Mn7O"),
    ("slack_token", "bot xoxb-2401234567-abcdefghijKLMN", "xoxb-2401234567-abcdefghijKLMN"),
    ("slack_token", "app xapp-1-A0123456789-1234567890123-abcdef0123456789", "xapp-1-A0123456789-1234567890123-abcdef"),
    ("slack_token", "user xoxp-1234-5678-91011-abcdef0123456789abcdef", "xoxp-1234-5678-91011-abcdef0123456789abcdef"),
    (
        "slack_webhook",
        "post to https://hooks.slack.com/services/T0123ABCD/B0123ABCD/abcdefghijklmnop now",
        "abcdefghijklmnop",
    ),
    ("slack_webhook", "https://hooks.slack.com/workflows/T0123ABCD/A0123/45678/AbCdEf0123", "AbCdEf0123"),
    ("stripe_key", "charge with sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("stripe_key", "STRIPE=rk_test_51H8abcdefghijklmnopqrstuv", "rk_test_51H8abcdefghijklmnopqrstuv"),
    ("stripe_key", f"webhook whsec_{ALNUM[:32]}", ALNUM[:32]),
    ("google_api_key", f"maps AIza{ALNUM[:35]} loaded", ALNUM[:35]),
    ("google_api_key", f"https://maps.googleapis.com/maps/api/js?key=AIzaSy{ALNUM[:33]}&v=3", ALNUM[:33]),
    ("google_oauth_token", f"client secret GOCSPX-{ALNUM[:28]}", ALNUM[:28]),
    ("google_oauth_token", f"access ya29.a0{ALNUM}", ALNUM),
    ("anthropic_api_key", f"x-api: sk-ant-api03-{ALNUM}", ALNUM),
    ("anthropic_api_key", f"sk-ant-admin01-{ALNUM[:30]}AA", ALNUM[:30]),
    ("openai_api_key", f"OPENAI sk-proj-{ALNUM}", ALNUM),
    ("openai_api_key", f"key sk-{ALNUM[:20]}T3BlbkFJ{ALNUM[20:40]}", ALNUM[:20]),
    ("npm_token", f"//registry.npmjs.org/:_authToken=npm_{ALNUM[:36]}", ALNUM[:36]),
    ("npm_token", f"publish with npm_{ALNUM[1:37]} ok", ALNUM[1:37]),
    ("pypi_token", f"password = pypi-AgEIcHlwaS5vcmc{ALNUM}{ALNUM}", ALNUM),
    ("pypi_token", f"twine pypi-AgENdGVzdC5weXBpLm9yZw{ALNUM}{ALNUM[:20]}", ALNUM),
    ("vault_token", f"X-Vault-Token: hvs.{ALNUM[:30]}", ALNUM[:30]),
    ("vault_token", f"batch hvb.{ALNUM[:26]} expired", ALNUM[:26]),
    ("grafana_token", f"glc_{ALNUM}{ALNUM[:10]}==", ALNUM),
    ("grafana_token", f"sa glsa_{ALNUM[:32]}_0a1b2c3d ok", ALNUM[:32]),
    ("sendgrid_api_key", f"apikey: SG.{ALNUM[:22]}.{ALNUM}", ALNUM),
    ("sendgrid_api_key", f"SG.{ALNUM[5:27]}.{ALNUM}", ALNUM),
    ("mailchimp_api_key", f"mc {HEX32}-us6 ok", HEX32),
    ("mailchimp_api_key", f'{{"apikey": "{HEX32}-us21"}}', HEX32),
    ("twilio_api_key", f"twilio SK{HEX32}", HEX32),
    ("twilio_api_key", f'{{"sid": "SK{HEX32.upper()}"}}', HEX32.upper()),
    ("square_token", f"sq0atp-{ALNUM[:22]}", ALNUM[:22]),
    ("square_token", f"secret: sq0csp-{ALNUM}", ALNUM),
    ("artifactory_token", f"X-JFrog-Art-Api: AKCp{ALNUM}{ALNUM[:26]}", ALNUM),
    ("artifactory_token", f"ref cmVmdGtuOjAx{ALNUM}{ALNUM[:9]}", ALNUM),
    ("discord_webhook", f"https://discord.com/api/webhooks/123456789012345678/{ALNUM}{ALNUM[:25]}", ALNUM),
    ("discord_webhook", f"https://discordapp.com/api/webhooks/1/{ALNUM}{ALNUM[:17]}", ALNUM),
    ("discord_bot_token", f"discord bot MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.{ALNUM[:30]}", ALNUM[:30]),
    ("discord_bot_token", f"DISCORD_TOKEN=ODk4NzY1NDMyMTA5ODc2NTQz.Xy_z-1.{ALNUM[:27]}", ALNUM[:27]),
    (
        "telegram_bot_token",
        "https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage",
        "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
    ),
    ("telegram_bot_token", "TELEGRAM_BOT_TOKEN=4839574812:AAFD39kkdpWt3ywyRZergyOLMaJhac60qc", "AAFD39kkdpWt3ywyRZe"),
    ("authorization_header", "Authorization: Bearer abcdef0123456789xyz", "abcdef0123456789xyz"),
    ("authorization_header", '{"authorization": "Basic dXNlcjpwYXNzd29yZA=="}', "dXNlcjpwYXNzd29yZA=="),
    ("authorization_header", "Authorization: Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnag", "YIIGhgYGKwYBBQUCoIIGejCCBnag"),
    ("authorization_header", "proxy-authorization=Token 9f8e7d6c5b4a3928", "9f8e7d6c5b4a3928"),
    (
        "authorization_header",
        'Authorization: Digest username="bob", realm="api", nonce="dcd98b71", response="6629fae49393a0539745"',
        "6629fae49393a0539745",
    ),
    ("bearer_token", "sent bearer QWxhZGRpbjpvcGVuIHNlc2FtZQ123 upstream", "QWxhZGRpbjpvcGVuIHNlc2FtZQ123"),
    ("bearer_token", "curl -H 'X-Token: Bearer abc.def-ghi_0123456789'", "abc.def-ghi_0123456789"),
    ("url_password", "dsn postgres://admin:s3cr3t-pw@db.internal:5432/app", "s3cr3t-pw"),
    ("url_password", "redis://:pw0rd-x@cache:6379/0", "pw0rd-x"),
    ("url_password", "https://bob:p@ss@w0rd@example.com/x", "ss@w0rd"),
    ("card_number", "paid with 4111 1111 1111 1111 today", "4111 1111 1111 1111"),
    ("card_number", "card=5555555555554444;", "5555555555554444"),
    ("card_number", "visa 4012-8888-8888-1881", "4012-8888-8888-1881"),
    ("card_number", "charged 3782 822463 10005", "3782 822463 10005"),
    ("card_number", '{"cc_number": "6011111111111117"}', "6011111111111117"),
    ("password", "login password=hunter2 ok", "hunter2"),
    ("password", '{"password": "correct horse battery"}', "correct horse battery"),
    ("password", "DB_PASSWORD: 's3cr3t pass'", "s3cr3t pass"),
    ("password", "<password>hunter2</password>", "hunter2"),
    ("password", "dbPassword=x9!kq", "x9!kq"),
    ("password", "mysql -u root --password=Sup3r", "Sup3r"),
    ("password", "ODBC Driver=x;Server=db;Uid=app;Pwd=abc123;", "abc123"),
    ("password", '{\\"password\\":\\"hunter2\\"}', "hunter2"),
    ("api_key", "x-api-key: 9f8e7d6c5b4a39281706f5e4", "9f8e7d6c5b4a39281706f5e4"),
    ("api_key", '"apiKey": "Zm9vYmFyYmF6cXV4MTIz"', "Zm9vYmFyYmF6cXV4MTIz"),
    ("api_key", "app_key=0123abcd4567efgh", "0123abcd4567efgh"),
    ("token", "GET /cb?access_token=ya1234567890abcdef&state=x", "ya1234567890abcdef"),
    ("token", "X-Auth-Token: 0123abcdef4567ghij", "0123abcdef4567ghij"),
    ("token", '{"refreshToken":"def50200a1b2c3d4e5"}', "def50200a1b2c3d4e5"),
    ("secret", "client_secret=s3cr3tValue99", "s3cr3tValue99"),
    ("secret", "clientSecret: 'abcDEF123456'", "abcDEF123456"),
    ("secret", "private_key: abcdef123456XYZ", "abcdef123456XYZ"),
    ("secret", "SECRET_KEY='django-insecure-8f7a6b5c'", "django-insecure-8f7a6b5c"),
]

# (kind, harmless text that looks like it): at least one per kind.
NEGATIVE = [
    ("private_key", "-----BEGIN PUBLIC KEY-----\nMIIBIjANBg\n-----END PUBLIC KEY-----"),
    ("private_key", "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIE\n-----END CERTIFICATE-----"),
    ("jwt", "eyJhbGciOiJIUzI1NiJ9 is only a header"),
    ("dd_mcp_token", f"ddmcp_short, xddmcp_{MCP_TOKEN[6:]}, {MCP_TOKEN}x"),
    ("aws_access_key", "AKIA is a prefix, AKIASHORT is short, XAKIAIOSFODNN7EXAMPLE is glued"),
    ("aws_secret_key", "aws_secret_access_key = ${AWS_SECRET_ACCESS_KEY}"),
    ("datadog_api_key", "DD_API_KEY=<your api key>, dd_api_key_id=12345"),
    ("datadog_app_key", "dd_app_key_name: default"),
    ("ibm_cloud_api_key", "ibm_api_key: none"),
    ("azure_storage_key", "AccountKey=short;"),
    ("azure_sas_token", "sig=short and sig=approved_by_reviewer"),
    ("github_token", "ghp_short gho_"),
    ("gitlab_token", "glpat-is-the-prefix-of-gitlab-tokens"),
    ("slack_token", "xoxo-hugs and xoxb-not-a-token"),
    ("slack_webhook", "see https://hooks.slack.com/ for details"),
    ("stripe_key", "sk_live_short pk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("google_api_key", "AIzaShort"),
    ("google_oauth_token", "ya29.short GOCSPX-short"),
    ("anthropic_api_key", "sk-ant-short"),
    ("openai_api_key", "sk-learn-compatible-estimator-for-pipelines"),
    ("npm_token", "npm_config_cache=/tmp/npm"),
    ("pypi_token", "pypi-AgE and pypi-simple"),
    ("vault_token", "hvs.short"),
    ("grafana_token", "glc_short and glsa_"),
    ("sendgrid_api_key", "SG.short.value"),
    ("mailchimp_api_key", f"{HEX32}-usa"),
    ("twilio_api_key", f"SK{HEX32[:31]} is one short"),
    ("square_token", "sq0atp-short"),
    ("artifactory_token", "AKCp short"),
    ("discord_webhook", "https://discord.com/api/webhooks/ docs"),
    ("discord_bot_token", "discord 1.2.3 on N.abcdef.xyz"),
    ("telegram_bot_token", "telegram 12345678:Abc"),
    ("authorization_header", "authorization: rejected_by_policy"),
    ("authorization_header", "Authorization failed for user, authorization=RejectedByPolicy"),
    ("bearer_token", "bearer Kubernetes-aware proxies forward it"),
    ("bearer_token", "bearer of bad news"),
    ("url_password", "https://example.com:8443/path@v2 and https://user@example.com"),
    ("url_password", "postgres://user:${DB_PASSWORD}@db/app"),
    ("card_number", "span_id: 4111111111111111"),
    ("card_number", "4111111111111111"),
    ("card_number", "deadbeef4111111111111111deadbeef"),
    ("card_number", "card 4111111111111112 fails the checksum"),
    ("card_number", "order 4111111111111111111 is a 19-digit id"),
    ("card_number", "card_id=4111111111111111"),
    ("card_number", "card 1000 0000 0000 0008 passes Luhn but no brand starts with 1"),
    ("card_number", "card ref abcd4111111111111111 and card 4111111111111111abcd are glued to letters"),
    ("card_number", "version 4.111.1111.1111 and ip 10.0.0.1"),
    ("password", "password: incorrect"),
    ("password", "password=${DB_PASSWORD} password: **** password=null"),
    ("password", "passwordless login, bypass=cache"),
    ("api_key", "api_key_id=123456 api_key: required"),
    ("token", "next_token=eyabc123def456ghi pageToken=CAEQAhgB2kI"),
    ("token", "token_type: bearer, max_tokens=4096, token: expired_or_revoked"),
    ("secret", "secret_name: my-app-secret, cache_key=abcdef123456XYZ, secret: none"),
    ("secret", "secret: v1.2.3 is too short to be one"),
]

# The false alarms issue 12 found, and their kin.
FALSE_ALARMS = [
    "trace_id 7216538916512283041 span 1234567890123456789",
    '{"span_id": "4532015112830366", "trace_id": "4916338506082832"}',
    "at 1732406400000 ms, epoch 1732406400",
    "md5 0123456789abcdef0123456789abcdef and sha1 0123456789abcdef0123456789abcdef01234567",
    "request 3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "https://app.datadoghq.com/logs?query=service:web",
    "authorization: rejected_by_policy",
    "bearer Kubernetes-native controllers are described below",
    "xoxo-hugs from the team",
    "id=deadbeefdeadbeefdeadbeefdeadbeef",
]

KINDS = sorted({detector.kind for detector in DETECTORS})


@pytest.mark.parametrize(("kind", "text", "secret"), POSITIVE)
def test_each_detector_masks_its_forms(kind: str, text: str, secret: str) -> None:
    masked = Redactor().text(text)
    assert secret not in masked
    assert count_masks(masked) == Counter({kind: 1}), masked


@pytest.mark.parametrize(("kind", "text"), NEGATIVE)
def test_look_alikes_are_left_alone(kind: str, text: str) -> None:
    assert Redactor().text(text) == text


@pytest.mark.parametrize("text", FALSE_ALARMS)
def test_false_alarms_of_the_past_stay_unmasked(text: str) -> None:
    assert Redactor(KEYS).text(text) == text


def test_every_kind_has_two_positive_forms_and_a_negative() -> None:
    positives = Counter(kind for kind, _, _ in POSITIVE)
    assert {kind: positives[kind] for kind in KINDS if positives[kind] < 2} == {}
    assert set(KINDS) - {kind for kind, _ in NEGATIVE} == set()
    assert {kind for kind, _, _ in POSITIVE} <= set(KINDS)


def test_detect_off_masks_only_the_known_keys() -> None:
    text = f"deploy used AKIAIOSFODNN7EXAMPLE, password=hunter2 and {API_KEY}"
    masked = Redactor(KEYS, detect=False).text(text)
    assert masked == "deploy used AKIAIOSFODNN7EXAMPLE, password=hunter2 and [REDACTED:datadog_key]"


def test_keys_shorter_than_the_minimum_are_not_secrets() -> None:
    assert MIN_KEY_CHARS == 16
    assert Redactor(["demo", "x" * 15], detect=False).text("demo: x" + "x" * 15) == "demo: x" + "x" * 15


# -- overlaps, idempotence, counting ---------------------------------------------------------------


def test_overlapping_matches_are_masked_once() -> None:
    r = Redactor(KEYS)
    # The password value holds a URL password and an AWS key; one mask, named by the earliest span.
    assert r.text("password=https://user:AKIAIOSFODNN7EXAMPLE@host") == "password=[REDACTED:password]"
    assert (
        r.text("Authorization: Bearer abcdef0123456789xyz") == "Authorization: Bearer [REDACTED:authorization_header]"
    )
    # The known key wins a tie with the detector that also sees it.
    assert r.text(f"DD-API-KEY: {API_KEY}") == "DD-API-KEY: [REDACTED:datadog_key]"


def test_masks_in_the_text_are_kept_and_what_surrounds_them_still_masked() -> None:
    r = Redactor(KEYS)
    block = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow[REDACTED:jwt]IBAAKCAQ\n-----END RSA PRIVATE KEY-----"
    assert r.text(block) == "[REDACTED:private_key][REDACTED:jwt][REDACTED:private_key]"
    assert r.text('{"password": "[REDACTED:password]"}') == '{"password": "[REDACTED:password]"}'


def test_a_masked_text_is_not_masked_again() -> None:
    r = Redactor(KEYS)
    for _, text, _ in POSITIVE:
        once = r.text(text)
        assert r.text(once) == once
    assert r.text("password=[REDACTED:password] redis://:[REDACTED:url_password]@h") == (
        "password=[REDACTED:password] redis://:[REDACTED:url_password]@h"
    )


def test_the_same_text_is_masked_every_time() -> None:
    """The redactor remembers clean strings only: a secret is masked the second time too."""
    r = Redactor(KEYS)
    for _, text, secret in POSITIVE:
        first = r.text(text)
        assert r.text(text) == first
        assert secret not in first
    clean = "GET /api/v2/users/123 200 12ms"
    assert r.text(clean) is clean
    assert r.text(clean) is clean


def test_count_masks_counts_every_kind() -> None:
    assert count_masks("a [REDACTED:jwt] b [REDACTED:jwt] [REDACTED:password] [REDACTED:") == Counter(
        {"jwt": 2, "password": 1}
    )
    assert count_masks("nothing") == Counter()


def test_unchanged_text_is_the_same_object() -> None:
    text = "GET /api/v2/users/123 200 12ms from ip-10-0-1-12.ec2.internal"
    assert Redactor(KEYS).text(text) is text


def test_luhn() -> None:
    assert luhn_valid("4111111111111111")
    assert luhn_valid("4111 1111 1111 1111")
    assert not luhn_valid("4111111111111112")
    assert not luhn_valid("411111111111")  # too short to be a card


# -- the server's own keys in every form ------------------------------------------------------------


def b64_core(key: str, before: bytes, after: bytes, encode: Any = base64.b64encode) -> tuple[str, str]:
    """A blob holding the key, and the part of its base64 that depends on the key bytes alone."""
    raw = key.encode()
    blob = encode(before + raw + after).decode()
    first = -(-8 * len(before) // 6)
    end = 8 * (len(before) + len(raw)) // 6
    return blob, blob[first:end]


def encodings(key: str) -> list[tuple[str, str, str]]:
    """(name, the encoded key as it would appear, the part that must not survive)."""
    raw = key.encode()
    found = [
        ("as is", key, key),
        ("upper case", key.upper(), key.upper()),
        ("percent upper", "".join(f"%{b:02X}" for b in raw), "".join(f"%{b:02X}" for b in raw)),
        ("percent lower", "".join(f"%{b:02x}" for b in raw), "".join(f"%{b:02x}" for b in raw)),
        ("hex", raw.hex(), raw.hex()),
        ("hex upper", raw.hex().upper(), raw.hex().upper()),
        ("12-character fragment", key[7:19], key[7:19]),
        ("30 of 32", key[:30], key[:30]),
        ("last 12", key[-12:], key[-12:]),
    ]
    for before, after in ((b"", b""), (b"x", b"yz"), (b"xy", b"z"), (b"xyz", b"!"), (b"user:", b"\n")):
        for name, encode in (("base64", base64.b64encode), ("url-safe base64", base64.urlsafe_b64encode)):
            blob, core = b64_core(key, before, after, encode)
            found.append((f"{name} after {len(before)} bytes", blob, core))
    for at in (1, 8, 16, len(key) - 1):
        for sep in ("\n", "\r\n", "\\n", "\\r\\n", " ", "\n        "):
            found.append((f"split at {at} by {sep!r}", key[:at] + sep + key[at:], key))
    return found


ENCODINGS = [(key, *case) for key in KEYS for case in encodings(key)]


def survivors(masked: str, secret: str, window: int) -> list[str]:
    """Pieces of `secret` (without separators, any case) at least `window` long still in `masked`."""
    flat = secret.replace("\\r", "").replace("\\n", "")
    flat = "".join(flat.split()).lower()
    text = masked.lower()
    return [flat[i : i + window] for i in range(len(flat) - window + 1) if flat[i : i + window] in text]


def window_for(name: str) -> int:
    """How many characters of an encoding are worth 12 characters of the key."""
    if name.startswith("percent"):
        return 36
    if name.startswith("hex"):
        return 24
    if "base64" in name:
        return 16
    return 12


@pytest.mark.parametrize(
    ("key", "name", "encoded", "secret"), ENCODINGS, ids=[f"{k[:4]} {n}" for k, n, _, _ in ENCODINGS]
)
def test_known_key_is_masked_in_every_encoding(key: str, name: str, encoded: str, secret: str) -> None:
    r = Redactor(KEYS, detect=False)
    for text in (encoded, f"seen {encoded} in a log line", f'{{"k":"x{encoded}y"}}', f"https://h/?q={encoded}&a=1"):
        masked = r.text(text)
        assert "[REDACTED:datadog_key]" in masked
        assert survivors(masked, secret, window_for(name)) == []
    if encoded == secret or name.startswith("split"):
        # The whole encoding is one mask, both sides of a break included.
        assert r.text(encoded) == "[REDACTED:datadog_key]"


def test_a_key_of_the_minimum_length_is_masked_in_its_forms() -> None:
    key = "9a8b7c6d5e4f3a2b"
    r = Redactor([key], detect=False)
    for text in (
        key,
        key.upper(),
        f"{key[:8]}\n{key[8:]}",
        base64.b64encode(key.encode()).decode(),
        key.encode().hex(),
    ):
        assert r.text(f"x {text} y") == "x [REDACTED:datadog_key] y"
    assert r.text(f"cut {key[2:14]} here") == "cut [REDACTED:datadog_key] here"
    assert r.text(f"short {key[:11]} piece") == f"short {key[:11]} piece"


def test_split_key_pieces_merge_into_one_mask() -> None:
    masked = Redactor(KEYS, detect=False).text(f"key {API_KEY[:20]}\n    {API_KEY[20:]} end")
    assert masked == "key [REDACTED:datadog_key] end"


def test_known_keys_are_masked_even_with_detection_off_and_inside_words() -> None:
    masked = Redactor(KEYS, detect=False).text(f"x-{API_KEY}-y{APP_KEY}z")
    assert count_masks(masked) == Counter({"datadog_key": 2})
    assert API_KEY not in masked
    assert APP_KEY not in masked


TEXT_AROUND = st.text(alphabet=string.ascii_letters + string.digits + " \n\t\\\"'=:/+-_%.,[]{}@", max_size=40)


@given(
    st.sampled_from(ENCODINGS),
    TEXT_AROUND,
    TEXT_AROUND,
    st.booleans(),
)
def test_known_keys_never_survive_whatever_surrounds_them(
    case: tuple[str, str, str, str], before: str, after: str, detect: bool
) -> None:
    _, name, encoded, secret = case
    masked = Redactor(KEYS, detect=detect).text(before + encoded + after)
    assert survivors(masked, secret, window_for(name)) == []


# -- properties -------------------------------------------------------------------------------------

# Pieces that make detectors fire, overlap and meet masks.
PIECES = (
    [text for _, text, _ in POSITIVE]
    + [text for _, text in NEGATIVE]
    + [
        API_KEY,
        APP_KEY[:20],
        "[REDACTED:password]",
        "[REDACTED:",
        "]",
        "password",
        "=",
        ": ",
        "://",
        "@",
        "\n",
        "\\n",
        " ",
        "card ",
        "4111 1111 1111 1111",
        "4111111111111111",
        "token",
        "Bearer ",
        '"',
        "'",
    ]
)
TRICKY = st.lists(
    st.sampled_from(PIECES) | st.text(alphabet=string.printable, max_size=12),
    max_size=8,
).map("".join)


@given(TRICKY)
def test_masking_is_idempotent(text: str) -> None:
    r = Redactor(KEYS)
    once = r.text(text)
    assert r.text(once) == once


@given(TRICKY)
def test_masks_never_nest(text: str) -> None:
    assume("[REDACTED" not in text)
    masked = Redactor(KEYS).text(text)
    starts = [i for i in range(len(masked)) if masked.startswith("[REDACTED:", i)]
    assert all(MASK.match(masked, i) for i in starts), masked


@given(TRICKY)
def test_masks_already_there_are_kept(text: str) -> None:
    before, after = count_masks(text), count_masks(Redactor(KEYS).text(text))
    assert all(after[kind] >= count for kind, count in before.items())


@given(TRICKY)
def test_masking_adds_no_more_than_the_masks(text: str) -> None:
    assume("[REDACTED" not in text)
    masked = Redactor(KEYS).text(text)
    added = sum(len(token) - 1 for token in MASK.findall(masked))
    assert len(masked) <= len(text) + added


@given(TRICKY)
def test_triggers_wake_every_detector_that_would_match(text: str) -> None:
    """The trigger shortcut changes nothing: every detector run on the text finds what the woken ones find."""
    everything = sorted(span for index, d in enumerate(DETECTORS) for span in d.spans(text, rank=index + 1))
    assert sorted(_detected(text, text.lower())) == everything


# Nothing here can form a trigger (no k, y, z, @...), a card group (no space or dash) or a key.
QUIET = st.text(alphabet="adefhijlnortu0123456789.,;:=/()ADEFHIJLNORTU\n", max_size=200)


@given(QUIET)
def test_text_without_a_trigger_is_returned_unchanged(text: str) -> None:
    assert Redactor(KEYS).text(text) is text


ID_CONTEXT = ["id=", "trace_id: ", "span_id=", '"trace_id": "', "dd.trace_id=", "request id #", "usr.id:", ""]


@given(st.text(alphabet="0123456789abcdef", min_size=32, max_size=32), st.sampled_from(ID_CONTEXT))
@example("deadbeefdeadbeefdeadbeefdeadbeef", "id=")
@example("deadbeef4111111111111111deadbeef", "id=")  # masked as a card number before issue 12
@example("00000000000000004111111111111111", "id=")
def test_a_32_hex_id_is_never_masked(identifier: str, context: str) -> None:
    text = f"{context}{identifier}"
    assert Redactor(KEYS).text(text) == text


@given(st.integers(min_value=10**15, max_value=10**16 - 1), st.sampled_from(ID_CONTEXT))
@example(4111111111111111, "span_id=")
@example(4532015112830366, "trace_id: ")
def test_a_16_digit_id_with_id_context_survives(identifier: int, context: str) -> None:
    text = f"{context}{identifier}"
    assert Redactor(KEYS).text(text) == text


@given(st.integers(min_value=10**17, max_value=2**64 - 1))
def test_decimal_trace_and_span_ids_survive(identifier: int) -> None:
    for text in (f"trace_id:{identifier}", str(identifier), f"span {identifier} took 3ms"):
        assert Redactor(KEYS).text(text) == text


def card_with_check_digit(body: str) -> str:
    for digit in string.digits:
        if luhn_valid(body + digit):
            return body + digit
    raise AssertionError("one check digit always fits")


@given(st.text(alphabet=string.digits, min_size=14, max_size=14), st.sampled_from(["card ", "cc_number=", "visa: "]))
def test_luhn_valid_visa_numbers_near_a_card_word_are_masked(middle: str, word: str) -> None:
    card = card_with_check_digit("4" + middle)
    assert Redactor().text(f"{word}{card} end") == f"{word}[REDACTED:card_number] end"
    wrong = card[:-1] + str((int(card[-1]) + 1) % 10)
    assert Redactor().text(f"{word}{wrong} end") == f"{word}{wrong} end"


# -- the functions the callers used before Redactor --------------------------------------------------

# Ordinary JSON: no ':' '=' '@' or upper case in values, so no key assignment, header, URL credential
# or token; and no member named like a secret (`SECRET`, `pwd`), whose value is masked by its name.
NAMES = st.text(string.ascii_letters, max_size=8).filter(lambda name: not _SECRET_NAME.search(name))
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(alphabet=string.ascii_lowercase + string.digits + " .-/", max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(NAMES, children, max_size=4),
    max_leaves=20,
)


def masked_json(value: Any, redactor: Redactor) -> Any:
    masked, _ = map_json(value, redactor.text, member=redactor.field)
    return masked


@given(JSON, st.sampled_from(POSITIVE), st.integers(min_value=0, max_value=3))
def test_a_secret_planted_anywhere_in_json_is_masked_and_counted(
    value: Any, case: tuple[str, str, str], depth: int
) -> None:
    kind, text, secret = case
    planted: Any = {"message": text, "rest": value}
    for _ in range(depth):
        planted = {"nested": [planted]}
    masked = json.dumps(masked_json(planted, Redactor()), ensure_ascii=False)
    assert secret not in masked
    assert count_masks(masked) == Counter({kind: 1})


@given(JSON)
@example({"Note": {"count": "00000000"}})
def test_json_without_secrets_is_unchanged(value: Any) -> None:
    assert masked_json(value, Redactor(KEYS)) == value


@pytest.mark.parametrize(
    ("member", "kind"),
    [
        ({"password": "hunter2"}, "password"),
        ({"db_password": "s3cr3t-Pa55"}, "password"),
        ({"client_secret": "9f8e7d6c5b4a39281706"}, "secret"),
        ({"access_token": "ya29.a0AfH6SMBx3kq9Zx1"}, "token"),
        ({"api_key": "a1b2c3d4e5f6g7h8i9j0"}, "api_key"),
        ({"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9abcdefgh"}, "authorization_header"),
    ],
)
def test_a_decoded_member_whose_name_says_secret_is_masked(member: dict[str, str], kind: str) -> None:
    ((name, value),) = member.items()
    masked = masked_json({"attributes": {"usr": "jane", **member}}, Redactor())
    assert masked["attributes"]["usr"] == "jane"
    assert value not in json.dumps(masked)
    assert count_masks(masked["attributes"][name]) == Counter({kind: 1})


@pytest.mark.parametrize(
    "member",
    [
        {"token_type": "bearer"},
        {"next_token": "eyJwYWdlIjoyfQ"},
        {"key": "service"},
        {"monkey": "banana-bread"},
        {"password_policy": "length"},
        {"auth": "rejected_by_policy"},
    ],
)
def test_a_decoded_member_with_a_harmless_value_survives(member: dict[str, str]) -> None:
    assert masked_json(member, Redactor()) == member


def test_with_redaction_off_a_member_keeps_its_value_but_not_the_keys() -> None:
    off = Redactor(KEYS, detect=False)
    assert masked_json({"password": "hunter2", "k": API_KEY}, off) == {
        "password": "hunter2",
        "k": "[REDACTED:datadog_key]",
    }
