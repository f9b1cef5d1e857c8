"""Who is calling over HTTP (auth.py): the token file, and OIDC against a real issuer on 127.0.0.1.

The issuer is a small HTTP server in a thread serving a discovery document and a JWKS whose keys a
test swaps; tokens are signed with RSA and EC keys made here. Every refusal must come back as None
(the SDK's 401), never as an exception, and no log line or error may show a token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from dd_mcp_server.auth import (
    REFETCH_SECONDS,
    Identity,
    OidcVerifier,
    TokenFile,
    TokenFileError,
    groups_of,
    identity_of,
    new_token,
    verifier_for,
)
from dd_mcp_server.config import ConfigError

AUDIENCE = "https://mcp.example.com/mcp"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ROTATED_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())

pytestmark = pytest.mark.anyio


class Clock:
    """A monotonic clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- token file ------------------------------------------------------------------------------------


def write_tokens(path: Path, *lines: str) -> Path:
    path.write_text("# who may call this server\n\n" + "".join(f"{line}\n" for line in lines))
    return path


@pytest.fixture
def alice_and_bob(tmp_path: Path) -> tuple[Path, str, str, str, str]:
    """A token file letting alice and bob in: (path, alice's token, her line, bob's token, his line)."""
    alice, alice_line = new_token("alice")
    bob, bob_line = new_token("bob")
    return write_tokens(tmp_path / "tokens", alice_line, bob_line), alice, alice_line, bob, bob_line


async def test_a_token_in_the_file_is_its_holder(alice_and_bob: tuple[Path, str, str, str, str]) -> None:
    path, _, _, bob, _ = alice_and_bob
    found = await TokenFile(path).verify_token(bob)
    assert isinstance(found, Identity)
    assert (identity_of(found), found.client_id, found.subject, found.scopes) == ("bob", "bob", "bob", [])
    assert groups_of(found) == ()
    assert bob not in repr(found)


async def test_a_wrong_token_is_refused(
    alice_and_bob: tuple[Path, str, str, str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dd_mcp_server.auth")
    path, alice, alice_line, _, _ = alice_and_bob
    verifier = TokenFile(path)
    for wrong in (new_token("alice")[0], alice + "x", alice[:-1], "", alice_line.partition(":")[2]):
        assert await verifier.verify_token(wrong) is None
    assert "matches no line" in caplog.text
    assert alice[:-1] not in caplog.text


async def test_a_removed_line_stops_its_token_without_a_restart(
    alice_and_bob: tuple[Path, str, str, str, str],
) -> None:
    path, alice, _, bob, bob_line = alice_and_bob
    clock = Clock()
    verifier = TokenFile(path, clock=clock)
    assert await verifier.verify_token(alice) is not None
    write_tokens(path, bob_line)
    assert await verifier.verify_token(alice) is not None  # the file is looked at once a second at most
    clock.now += 1.0
    assert await verifier.verify_token(alice) is None
    assert await verifier.verify_token(bob) is not None


async def test_a_broken_or_deleted_file_refuses_every_token_until_fixed(
    alice_and_bob: tuple[Path, str, str, str, str], caplog: pytest.LogCaptureFixture
) -> None:
    path, _, alice_line, bob, bob_line = alice_and_bob
    clock = Clock()
    verifier = TokenFile(path, clock=clock)
    write_tokens(path, bob_line, "bob-again")
    clock.now += 1.0
    assert await verifier.verify_token(bob) is None
    assert f"{path}:4: expected name:sha256-hex" in caplog.text
    path.unlink()
    clock.now += 1.0
    assert await verifier.verify_token(bob) is None
    assert "cannot be read" in caplog.text
    write_tokens(path, alice_line, bob_line)
    clock.now += 1.0
    assert await verifier.verify_token(bob) is not None


SECRET = new_token("mallory")[0]
DIGEST = hashlib.sha256(b"x").hexdigest()
OTHER_DIGEST = hashlib.sha256(b"y").hexdigest()


@pytest.mark.parametrize(
    ("lines", "line", "problem"),
    [
        ([SECRET], 3, "found no ':'"),
        ([f"alice:{SECRET}"], 3, "holds a token where its sha256 belongs"),
        ([f"{SECRET}:{DIGEST[:20]}"], 3, "64 hex digits"),
        ([f"al ice:{DIGEST}"], 3, "a name is 1 to 128 letters"),
        ([f":{DIGEST}"], 3, "a name is 1 to 128 letters"),
        ([f"alice:{SECRET.removeprefix('ddmcp_')}"], 3, "64 hex digits"),
        ([f"alice:{DIGEST[:-1]}"], 3, "64 hex digits"),
        ([f"alice:{'g' * 64}"], 3, "64 hex digits"),
        ([f"alice:{DIGEST}", f"alice:{OTHER_DIGEST}"], 4, "the same name as line 3"),
        ([f"alice:{DIGEST}", f"bob:{DIGEST}"], 4, "the same digest (one token for two names) as line 3"),
    ],
)
def test_a_malformed_file_names_its_line_and_never_shows_it(
    tmp_path: Path, lines: list[str], line: int, problem: str
) -> None:
    path = write_tokens(tmp_path / "tokens", *lines)
    with pytest.raises(TokenFileError) as raised:
        TokenFile(path)
    message = str(raised.value)
    assert message.startswith(f"DD_MCP_HTTP_TOKENS_FILE: {path}:{line}: ")
    assert problem in message
    assert SECRET not in message
    assert SECRET.removeprefix("ddmcp_") not in message
    assert raised.value.__cause__ is None


def test_an_empty_unreadable_or_binary_file_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(TokenFileError, match="holds no token"):
        TokenFile(write_tokens(tmp_path / "empty"))
    with pytest.raises(TokenFileError, match="cannot be read"):
        TokenFile(tmp_path / "missing")
    (tmp_path / "binary").write_bytes(b"alice:\xff\n")
    with pytest.raises(TokenFileError, match="is not UTF-8 text"):
        TokenFile(tmp_path / "binary")


async def test_a_new_token_is_let_in_by_its_line(tmp_path: Path) -> None:
    token, line = new_token("ci-bot.eu@team_1")
    assert token.startswith("ddmcp_")
    assert len(token) > 40
    assert token not in line
    assert line == f"ci-bot.eu@team_1:{hashlib.sha256(token.encode()).hexdigest()}"
    assert new_token("ci-bot.eu@team_1")[0] != token
    found = await TokenFile(write_tokens(tmp_path / "tokens", line)).verify_token(token)
    assert found is not None
    assert identity_of(found) == "ci-bot.eu@team_1"


@pytest.mark.parametrize("name", ["", "a:b", "a b", "x" * 129, "é", "a\nb"])
def test_a_new_token_needs_a_plain_name(name: str) -> None:
    with pytest.raises(ValueError, match="letters, digits"):
        new_token(name)


# -- choosing a verifier ---------------------------------------------------------------------------


def test_the_settings_choose_one_verifier(alice_and_bob: tuple[Path, str, str, str, str]) -> None:
    path = str(alice_and_bob[0])
    assert verifier_for(None, None, None) is None
    assert isinstance(verifier_for(path, None, None), TokenFile)
    oidc = verifier_for(None, "https://idp.example.com/", AUDIENCE, "email", "roles")
    assert isinstance(oidc, OidcVerifier)
    assert (oidc.issuer, oidc.identity_claim, oidc.groups_claim) == ("https://idp.example.com/", "email", "roles")


@pytest.mark.parametrize(
    ("tokens", "issuer", "audience", "problem"),
    [
        (None, "https://idp.example.com", None, "go together"),
        (None, None, AUDIENCE, "go together"),
        ("tokens", "https://idp.example.com", AUDIENCE, "choose one source of identities"),
        (None, "http://idp.example.com", AUDIENCE, "must be an https:// URL"),
    ],
)
def test_the_settings_that_cannot_work_are_refused(
    tokens: str | None, issuer: str | None, audience: str | None, problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem):
        verifier_for(tokens, issuer, audience)


# -- OIDC ------------------------------------------------------------------------------------------


class Issuer:
    """An OIDC issuer on 127.0.0.1: its discovery document and JWKS, the keys swappable, requests counted."""

    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.named_issuer = self.url
        self.keys: list[dict[str, Any]] = [public_jwk(KEY, "k1")]
        self.requests: list[str] = []

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.requests.append(self.path)
                documents = {
                    "/.well-known/openid-configuration": {
                        "issuer": issuer.named_issuer,
                        "jwks_uri": f"{issuer.url}/jwks",
                    },
                    "/jwks": {"keys": issuer.keys},
                }
                body = json.dumps(documents.get(self.path, {})).encode()
                self.send_response(200 if self.path in documents else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test output is not the place for an access log."""

        return Handler


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    running = Issuer()
    thread = threading.Thread(target=running.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield running
    running.server.shutdown()
    running.server.server_close()


def public_jwk(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, kid: str) -> dict[str, Any]:
    if isinstance(key, rsa.RSAPrivateKey):
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    else:
        jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "use": "sig"}


def claims(issuer: Issuer, **changes: Any) -> dict[str, Any]:
    """A valid access token's claims for `issuer`, with `changes` (None removes a claim)."""
    now = int(time.time())
    base = {
        "iss": issuer.url,
        "aud": AUDIENCE,
        "sub": "00u1abc",
        "email": "alice@example.com",
        "azp": "claude-desktop",
        "scope": "mcp:read offline",
        "groups": ["sre", "oncall", 7],
        "iat": now,
        "nbf": now,
        "exp": now + 300,
    }
    return {name: value for name, value in {**base, **changes}.items() if value is not None}


def sign(
    payload: dict[str, Any],
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = KEY,
    kid: str | None = "k1",
    algorithm: str = "RS256",
) -> str:
    return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": kid} if kid else None)


def hs256_with_public_key(payload: dict[str, Any]) -> str:
    """The key-confusion forgery: HMAC-signed with the issuer's public key as the shared secret."""
    secret = KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "typ": "JWT", "kid": "k1"}
    signing_input = b".".join(encode(part) for part in (header, payload))
    return (signing_input + b"." + b64(hmac.new(secret, signing_input, hashlib.sha256).digest())).decode()


def unsigned(payload: dict[str, Any]) -> str:
    """A token with `alg: none` and no signature."""
    return (encode({"alg": "none", "typ": "JWT", "kid": "k1"}) + b"." + encode(payload) + b".").decode()


def encode(part: dict[str, Any]) -> bytes:
    return b64(json.dumps(part).encode())


def b64(raw: bytes) -> bytes:
    return base64.urlsafe_b64encode(raw).rstrip(b"=")


async def test_a_valid_token_is_its_subject(issuer: Issuer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="dd_mcp_server.auth")
    payload = claims(issuer)
    token = sign(payload)
    found = await OidcVerifier(issuer.url, AUDIENCE).verify_token(token)
    assert isinstance(found, Identity)
    assert identity_of(found) == found.subject == "00u1abc"
    assert found.client_id == "claude-desktop"
    assert found.scopes == ["mcp:read", "offline"]
    assert found.expires_at == payload["exp"]
    assert found.claims is not None
    assert found.claims["iss"] == issuer.url
    assert found.resource == AUDIENCE
    assert groups_of(found) == ("sre", "oncall")
    assert token not in repr(found)
    assert token not in caplog.text


async def test_the_identity_claim_can_be_the_email(issuer: Issuer) -> None:
    verifier = OidcVerifier(issuer.url, AUDIENCE, identity_claim="email", groups_claim="roles")
    found = await verifier.verify_token(sign(claims(issuer, azp=None, scope=None, scp=["a", "b"], roles="admin")))
    assert found is not None
    assert (identity_of(found), found.subject, found.client_id) == ("alice@example.com",) * 3
    assert found.scopes == ["a", "b"]
    assert groups_of(found) == ("admin",)
    assert await verifier.verify_token(sign(claims(issuer, email=None))) is None
    assert await verifier.verify_token(sign(claims(issuer, email=["alice@example.com"]))) is None


async def test_an_audience_list_holding_ours_is_accepted(issuer: Issuer) -> None:
    token = sign(claims(issuer, aud=["https://other.example.com", AUDIENCE]))
    assert await OidcVerifier(issuer.url, AUDIENCE).verify_token(token) is not None


async def test_clock_skew_within_the_leeway_is_tolerated(issuer: Issuer) -> None:
    now = int(time.time())
    token = sign(claims(issuer, nbf=now + 10, iat=now + 10))
    assert await OidcVerifier(issuer.url, AUDIENCE).verify_token(token) is not None


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"exp": int(time.time()) - 120}, id="expired"),
        pytest.param({"exp": None}, id="no expiry"),
        pytest.param({"nbf": int(time.time()) + 120}, id="not yet valid"),
        pytest.param({"iat": int(time.time()) + 120}, id="issued in the future"),
        pytest.param({"aud": "https://other.example.com"}, id="wrong audience"),
        pytest.param({"aud": None}, id="no audience"),
        pytest.param({"iss": "https://evil.example.com"}, id="wrong issuer"),
        pytest.param({"iss": None}, id="no issuer"),
    ],
)
async def test_claims_that_do_not_fit_are_refused(
    issuer: Issuer, changes: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dd_mcp_server.auth")
    assert await OidcVerifier(issuer.url, AUDIENCE).verify_token(sign(claims(issuer, **changes))) is None
    assert "OIDC token refused" in caplog.text


NOT_ACCEPTED = "its algorithm is not one of"


@pytest.mark.parametrize(
    ("forge", "reason"),
    [
        pytest.param(lambda payload: sign(payload, key=OTHER_KEY), "InvalidSignatureError", id="another key, same kid"),
        pytest.param(lambda payload: sign(payload)[:-4] + "AAAA", "InvalidSignatureError", id="signature altered"),
        pytest.param(
            lambda payload: sign(payload, kid="k9"), "the issuer publishes no key with its key id", id="unknown kid"
        ),
        # Refused by the allow-list itself, before PyJWT (which would refuse them too) sees a key.
        pytest.param(unsigned, NOT_ACCEPTED, id="alg none"),
        pytest.param(hs256_with_public_key, NOT_ACCEPTED, id="HS256 with the public key"),
        pytest.param(
            lambda payload: sign(payload, key=EC_KEY, algorithm="ES256"),
            "its key does not sign with its algorithm",
            id="ES256 naming an RSA key",
        ),
        pytest.param(lambda payload: "not.a.jwt", "DecodeError", id="garbage"),
        pytest.param(lambda payload: new_token("alice")[0], "DecodeError", id="a token-file token"),
    ],
)
async def test_a_forged_token_is_refused(
    issuer: Issuer, forge: Any, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="dd_mcp_server.auth")
    token = forge(claims(issuer))
    assert await OidcVerifier(issuer.url, AUDIENCE).verify_token(token) is None
    assert f"OIDC token refused: {reason}" in caplog.text
    assert token not in caplog.text


async def test_only_the_algorithms_a_key_supports_verify(issuer: Issuer) -> None:
    issuer.keys = [public_jwk(KEY, "k1"), {**public_jwk(OTHER_KEY, "k2"), "alg": "RS512"}, public_jwk(EC_KEY, "e1")]
    verifier = OidcVerifier(issuer.url, AUDIENCE)
    assert await verifier.verify_token(sign(claims(issuer), algorithm="PS256")) is not None
    assert await verifier.verify_token(sign(claims(issuer), key=EC_KEY, kid="e1", algorithm="ES256")) is not None
    assert await verifier.verify_token(sign(claims(issuer), key=OTHER_KEY, kid="k2", algorithm="RS512")) is not None
    assert await verifier.verify_token(sign(claims(issuer), key=OTHER_KEY, kid="k2", algorithm="RS256")) is None


async def test_a_token_without_kid_uses_the_only_key(issuer: Issuer) -> None:
    verifier = OidcVerifier(issuer.url, AUDIENCE)
    assert await verifier.verify_token(sign(claims(issuer), kid=None)) is not None
    issuer.keys.append(public_jwk(OTHER_KEY, "k2"))
    verifier = OidcVerifier(issuer.url, AUDIENCE)
    assert await verifier.verify_token(sign(claims(issuer), kid=None)) is None


async def test_the_keys_are_fetched_once_and_again_for_a_rotated_key(issuer: Issuer) -> None:
    clock = Clock()
    verifier = OidcVerifier(issuer.url, AUDIENCE, clock=clock)
    for _ in range(3):
        assert await verifier.verify_token(sign(claims(issuer))) is not None
    assert issuer.requests == ["/.well-known/openid-configuration", "/jwks"]

    issuer.keys = [public_jwk(ROTATED_KEY, "k2")]
    rotated = sign(claims(issuer), key=ROTATED_KEY, kid="k2")
    clock.now += REFETCH_SECONDS - 1
    assert await verifier.verify_token(rotated) is None  # fetched too recently: a forged kid costs no request
    assert len(issuer.requests) == 2
    clock.now += 1
    assert await verifier.verify_token(rotated) is not None
    assert len(issuer.requests) == 4
    assert await verifier.verify_token(sign(claims(issuer))) is None  # the retired key no longer verifies


async def test_an_unreachable_issuer_refuses_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    verifier = OidcVerifier(url, AUDIENCE)
    token = jwt.encode({"iss": url, "aud": AUDIENCE, "exp": int(time.time()) + 60}, KEY, "RS256", {"kid": "k1"})
    assert await verifier.verify_token(token) is None
    assert any(record.levelno == logging.WARNING and "ConnectError" in record.message for record in caplog.records)
    assert token not in caplog.text


async def test_a_discovery_document_naming_another_issuer_is_not_trusted(
    issuer: Issuer, caplog: pytest.LogCaptureFixture
) -> None:
    issuer.named_issuer = "https://evil.example.com"
    assert await OidcVerifier(issuer.url, AUDIENCE).verify_token(sign(claims(issuer))) is None
    assert "names another issuer" in caplog.text
    assert issuer.requests == ["/.well-known/openid-configuration"]


async def test_keys_known_before_survive_a_failed_fetch(issuer: Issuer) -> None:
    clock = Clock()
    verifier = OidcVerifier(issuer.url, AUDIENCE, clock=clock)
    assert await verifier.verify_token(sign(claims(issuer))) is not None
    issuer.keys = "not a list"  # type: ignore[assignment]
    clock.now += REFETCH_SECONDS
    assert await verifier.verify_token(sign(claims(issuer), kid="k9")) is None
    assert await verifier.verify_token(sign(claims(issuer))) is not None
