"""Who is calling over HTTP: bearer tokens checked against a token file or an OIDC issuer.

Two verifiers plug into the SDK's bearer middleware (its `TokenVerifier` protocol). Each answers an
`Identity` (an `AccessToken` that also names the caller and their groups) or None, which the SDK
turns into a 401. Every refusal is logged on one line with its reason, never with the token, nor
with any text taken from it.

- `TokenFile` (DD_MCP_HTTP_TOKENS_FILE): lines `name:sha256-hex-of-token`. The file holds digests,
  not tokens, so whoever may read the server's configuration learns no secret from it. Revoking a
  token is deleting its line: the file is looked at (one stat) at most once a second and re-read
  when it changed, with no restart.
- `OidcVerifier` (DD_MCP_OIDC_ISSUER, DD_MCP_OIDC_AUDIENCE): JWT access tokens, checked by PyJWT
  against the keys the issuer publishes, found through its discovery document, cached, and
  fetched again on an unknown key id (at most every REFETCH_SECONDS), so rotated keys need no
  restart either.

This module is imported only when serving HTTP, so PyJWT and its cryptography stay out of the stdio
start-up.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import anyio
import httpx
import jwt
from mcp.server.auth.provider import AccessToken, TokenVerifier
from pydantic import Field

from dd_mcp_server.config import ConfigError, proxy_for, validate_api_url

log = logging.getLogger(__name__)

TOKENS_FILE_VAR = "DD_MCP_HTTP_TOKENS_FILE"
# Tokens start with it: recognisable in a leaked paste, to a secret scanner and to a person.
TOKEN_PREFIX = "ddmcp_"
# How often, at most, the token file is stat()ed: a revoked token works for at most this long.
RECHECK_SECONDS = 1.0
# How often, at most, the issuer's keys are fetched again for a token signed by an unknown key: a
# stream of forged key ids must not become a stream of requests to the issuer.
REFETCH_SECONDS = 30.0
# Clock skew tolerated on exp, nbf and iat.
LEEWAY_SECONDS = 30
# Seconds for one request to the issuer.
FETCH_TIMEOUT = 10.0

_NAME = re.compile(r"[A-Za-z0-9._@-]{1,128}")
_DIGEST = re.compile(r"[0-9a-fA-F]{64}")
_NOT_SHOWN = "(the line is not shown: it may hold a token)"

# Signature algorithms accepted, by key type: asymmetric only. `none` and HS* never verify a token,
# so a public key can never be used as an HMAC secret.
_RSA = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
_EC_CURVES = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
_OKP_CURVES = ("Ed25519", "Ed448")
ALGORITHMS = (*_RSA, *_EC_CURVES.values(), "EdDSA")
# JWK members read here; a key whose members are not strings is not used.
_JWK_MEMBERS = ("kty", "kid", "alg", "crv", "use")

_K = TypeVar("_K")


class Identity(AccessToken):
    """A verified bearer token and who presented it.

    `identity` names the caller in the audit trail, the rate limit and the roles; `groups` are the
    groups the issuer says they belong to (none for a token file). The SDK hands this object back
    unchanged (`get_access_token()`, `AuthenticatedUser.access_token`). The bearer token itself is
    kept out of `repr`, so logging this object cannot leak it.
    """

    token: str = Field(repr=False)
    identity: str
    groups: tuple[str, ...] = ()


def identity_of(token: AccessToken) -> str:
    """The caller's name for the audit record and the roles: what the verifier found, else the
    token's subject or client id (a token made by another verifier)."""
    if isinstance(token, Identity):
        return token.identity
    return token.subject or token.client_id


def groups_of(token: AccessToken) -> tuple[str, ...]:
    """The caller's groups from the configured groups claim; none for a token-file identity."""
    return token.groups if isinstance(token, Identity) else ()


def verifier_for(
    tokens_file: str | None,
    oidc_issuer: str | None,
    oidc_audience: str | None,
    identity_claim: str = "sub",
    groups_claim: str = "groups",
) -> TokenVerifier | None:
    """The verifier the settings ask for, or None when they configure no authentication.

    The token file is read now, so a malformed one stops the start. Both sources at once are refused:
    one source of identities keeps a name in the audit trail and the roles file meaning one caller
    (a token-file `alice` and an OIDC `alice` would otherwise be the same person to both), and a
    machine can get its token from the issuer too (client credentials).
    """
    if bool(oidc_issuer) != bool(oidc_audience):
        raise ConfigError("DD_MCP_OIDC_ISSUER and DD_MCP_OIDC_AUDIENCE go together: set both, or neither")
    if tokens_file and oidc_issuer:
        raise ConfigError(
            f"{TOKENS_FILE_VAR} and DD_MCP_OIDC_ISSUER are both set: choose one source of identities "
            "(machines can get tokens from the issuer with client credentials)"
        )
    if tokens_file:
        return TokenFile(tokens_file)
    if oidc_issuer and oidc_audience:
        validate_api_url(oidc_issuer, "DD_MCP_OIDC_ISSUER", "give the issuer URL its tokens carry in iss")
        return OidcVerifier(oidc_issuer, oidc_audience, identity_claim=identity_claim, groups_claim=groups_claim)
    return None


# -- token file ------------------------------------------------------------------------------------


class TokenFileError(ConfigError):
    """The token file cannot be used; the message names the file and line, never a line's content."""


def new_token(name: str) -> tuple[str, str]:
    """A fresh token for `name`, and the line that lets it in: (token, `name:sha256-hex`).

    The token is shown once to whoever runs `token new`; only the line goes into the file.
    """
    if not _NAME.fullmatch(name):
        raise ValueError("a token's name is 1 to 128 letters, digits or . _ @ - (no colon, no space), e.g. alice")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, f"{name}:{hashlib.sha256(token.encode()).hexdigest()}"


class TokenFile:
    """The TokenVerifier of DD_MCP_HTTP_TOKENS_FILE.

    A changed file (inode, modification time or size) is re-read on the first request at least
    RECHECK_SECONDS after the last look. A file that has become unreadable or malformed refuses
    every token until it is fixed (logged once): keeping the old entries would keep a token working
    that the edit meant to revoke.
    """

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = Path(path).expanduser()
        self.clock = clock
        self.stamp = _stamp(self.path)
        self.entries = _read(self.path)
        self.checked_at = clock()
        if not self.entries:
            raise TokenFileError(
                f"{TOKENS_FILE_VAR}: {_printable(self.path)} holds no token: add the line "
                "`dd-mcp-server token new NAME` prints"
            )

    async def verify_token(self, token: str) -> AccessToken | None:
        self._recheck()
        name = _match(self.entries, hashlib.sha256(token.encode()).digest())
        if name is None:
            log.info("bearer token refused: it matches no line of %s", _printable(self.path))
            return None
        return Identity(token=token, client_id=name, subject=name, scopes=[], identity=name)

    def _recheck(self) -> None:
        """Re-read the file if it changed since the last look, looking at most every RECHECK_SECONDS."""
        now = self.clock()
        if now - self.checked_at < RECHECK_SECONDS:
            return
        self.checked_at = now
        stamp = _stamp(self.path)
        if stamp == self.stamp:
            return
        self.stamp = stamp
        try:
            self.entries = _read(self.path)
        except TokenFileError as exc:
            self.entries = ()
            log.error("%s; every token is refused until it is fixed", exc)
            return
        log.info("re-read %s: %d tokens", _printable(self.path), len(self.entries))


def _match(entries: tuple[tuple[str, bytes], ...], digest: bytes) -> str | None:
    """The name whose digest is `digest`, comparing every entry in constant time: how long it takes
    does not tell which entry matched, nor how much of a digest did."""
    found = None
    for name, expected in entries:
        if hmac.compare_digest(expected, digest):
            found = name
    return found


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """What changes when the file is edited or replaced; None when it cannot be looked at."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_ino, info.st_mtime_ns, info.st_size


def _read(path: Path) -> tuple[tuple[str, bytes], ...]:
    """The (name, digest) entries of the token file; TokenFileError naming the file and line at fault."""
    shown = _printable(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TokenFileError(f"{TOKENS_FILE_VAR}: {shown} cannot be read ({exc.strerror or 'error'})") from None
    except UnicodeDecodeError:
        raise TokenFileError(f"{TOKENS_FILE_VAR}: {shown} is not UTF-8 text") from None
    entries: list[tuple[str, bytes]] = []
    names: dict[str, int] = {}
    digests: dict[bytes, int] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line and not line.startswith("#"):
            where = f"{TOKENS_FILE_VAR}: {shown}:{number}"
            name, digest = _entry(where, line)
            _first(where, names, name, number, "name")
            _first(where, digests, digest, number, "digest (one token for two names)")
            entries.append((name, digest))
    return tuple(entries)


def _entry(where: str, line: str) -> tuple[str, bytes]:
    """One `name:sha256-hex` line, read; messages say what is wrong without showing the line."""
    name, colon, digest = (part.strip() for part in line.partition(":"))
    if not colon:
        raise TokenFileError(f"{where}: expected name:sha256-hex, found no ':' {_NOT_SHOWN}")
    if not _NAME.fullmatch(name):
        raise TokenFileError(f"{where}: a name is 1 to 128 letters, digits or . _ @ - {_NOT_SHOWN}")
    if digest.startswith(TOKEN_PREFIX):
        raise TokenFileError(
            f"{where}: holds a token where its sha256 belongs: put the line `token new` printed instead, "
            f"and treat that token as exposed {_NOT_SHOWN}"
        )
    if not _DIGEST.fullmatch(digest):
        raise TokenFileError(f"{where}: after the name comes the token's sha256 as 64 hex digits {_NOT_SHOWN}")
    return name, bytes.fromhex(digest)


def _first(where: str, seen: dict[_K, int], key: _K, number: int, what: str) -> None:
    """Refuse a second line with the same `key`, naming the first (lines only: no content shown)."""
    if key in seen:
        raise TokenFileError(f"{where}: the same {what} as line {seen[key]}")
    seen[key] = number


def _printable(path: Path) -> str:
    """A path as it may appear in a one-line message: quoted and escaped if it holds odd characters."""
    text = str(path)
    return text if text.isprintable() else repr(text)


# -- OIDC ------------------------------------------------------------------------------------------


class _FetchError(Exception):
    """The issuer's discovery document or keys could not be fetched or used."""


class OidcVerifier:
    """The TokenVerifier of an OIDC issuer's JWT access tokens, for one audience.

    Tokens must be signed by a key the issuer publishes, with an asymmetric algorithm that key
    supports, and carry `iss` (exactly the configured issuer), `aud` (including the audience) and
    `exp`; exp, nbf and iat are checked with LEEWAY_SECONDS of clock skew. The caller is the
    `identity_claim` (`sub`, or e.g. `email`). The issuer is asked nothing until the first token:
    starting does not depend on it being reachable.
    """

    def __init__(
        self,
        issuer: str,
        audience: str,
        *,
        identity_claim: str = "sub",
        groups_claim: str = "groups",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer, self.audience = issuer, audience
        self.identity_claim, self.groups_claim = identity_claim, groups_claim
        self.clock = clock
        self.discovery_url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        self.keys: tuple[dict[str, Any], ...] = ()
        self.fetched_at: float | None = None
        self.lock = anyio.Lock()

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            key = await self._key(jwt.get_unverified_header(token))
            if key is None:
                return None
            claims = jwt.decode(
                token,
                key,
                algorithms=[key.algorithm_name],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            # The exception's name only: some PyJWT messages quote parts of the token.
            _refused(type(exc).__name__)
            return None
        return self._identity(token, claims)

    async def _key(self, header: dict[str, Any]) -> jwt.PyJWK | None:
        """The issuer's key for this token's header, bound to its algorithm; None (logged) when none fits."""
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
            _refused(f"its algorithm is not one of {', '.join(ALGORITHMS)}")
            return None
        jwk = await self._jwk(header.get("kid"))
        if jwk is None:
            _refused("the issuer publishes no key with its key id")
            return None
        if algorithm not in _algorithms(jwk):
            _refused("its key does not sign with its algorithm")
            return None
        return jwt.PyJWK(jwk, algorithm)

    async def _jwk(self, kid: str | None) -> dict[str, Any] | None:
        """The published key with id `kid`, fetching the keys again if it is not known yet."""
        found = self._pick(kid)
        if found is None:
            await self._refresh()
            found = self._pick(kid)
        return found

    def _pick(self, kid: str | None) -> dict[str, Any] | None:
        """The key with id `kid`; a token naming no key id may use the issuer's only key."""
        if kid is None:
            return self.keys[0] if len(self.keys) == 1 else None
        return next((key for key in self.keys if key.get("kid") == kid), None)

    async def _refresh(self) -> None:
        """Fetch the issuer's keys again, unless that was tried less than REFETCH_SECONDS ago.

        A failed fetch keeps the keys known before (an unreachable issuer does not revoke them), is
        logged as a warning, and is not tried again before REFETCH_SECONDS either.
        """
        async with self.lock:
            if self.fetched_at is not None and self.clock() - self.fetched_at < REFETCH_SECONDS:
                return
            self.fetched_at = self.clock()
            try:
                self.keys = await self._fetch_keys()
            except _FetchError as exc:
                log.warning("OIDC keys not fetched: %s; tokens signed by keys not known yet are refused", exc)
                return
            log.info("OIDC keys fetched from %s: %d usable", self.issuer, len(self.keys))

    async def _fetch_keys(self) -> tuple[dict[str, Any], ...]:
        """The issuer's signing keys: its discovery document (naming this very issuer), then its JWKS."""
        document = await _get_json(self.discovery_url)
        if document.get("issuer") != self.issuer:
            raise _FetchError(f"{self.discovery_url} names another issuer than {self.issuer} (compared exactly)")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not _secure(jwks_uri):
            raise _FetchError(f"{self.discovery_url} gives no https jwks_uri")
        keys = (await _get_json(jwks_uri)).get("keys")
        if not isinstance(keys, list):
            raise _FetchError(f"{jwks_uri} holds no list of keys")
        return tuple(key for key in keys if isinstance(key, dict) and _algorithms(key))

    def _identity(self, token: str, claims: dict[str, Any]) -> Identity | None:
        """The Identity a verified token's claims describe; None (logged) without the identity claim."""
        who = claims.get(self.identity_claim)
        if not isinstance(who, str) or not who:
            _refused(f"it has no {self.identity_claim} claim, or not as text")
            return None
        client = claims.get("azp") or claims.get("client_id")
        return Identity(
            token=token,
            client_id=client if isinstance(client, str) and client else who,
            subject=who,
            scopes=_scopes(claims),
            expires_at=int(claims["exp"]),
            resource=self.audience,
            claims=claims,
            identity=who,
            groups=tuple(_strings(claims.get(self.groups_claim))),
        )


def _refused(reason: str) -> None:
    log.info("OIDC token refused: %s", reason)


def _algorithms(jwk: Mapping[str, Any]) -> tuple[str, ...]:
    """The accepted algorithms this published key verifies: by its type and curve, narrowed to its
    `alg` when it names one. None for a symmetric, encryption or malformed key."""
    if any(not isinstance(jwk.get(member, ""), str) for member in _JWK_MEMBERS) or jwk.get("use", "sig") != "sig":
        return ()
    kty, crv, declared = jwk.get("kty"), jwk.get("crv", ""), jwk.get("alg")
    if kty == "RSA":
        family: tuple[str, ...] = _RSA
    elif kty == "EC" and crv in _EC_CURVES:
        family = (_EC_CURVES[crv],)
    elif kty == "OKP" and crv in _OKP_CURVES:
        family = ("EdDSA",)
    else:
        family = ()
    return tuple(name for name in family if declared in (None, name))


def _scopes(claims: Mapping[str, Any]) -> list[str]:
    """Scopes from `scope` (space-separated, RFC 9068) or `scp` (a list, as Okta and Entra write it)."""
    raw = claims.get("scope", claims.get("scp"))
    return raw.split() if isinstance(raw, str) else _strings(raw)


def _strings(raw: Any) -> list[str]:
    """A claim holding one string or a list of them, as a list (anything else ignored)."""
    if isinstance(raw, str):
        return [raw]
    return [item for item in raw if isinstance(item, str)] if isinstance(raw, list) else []


def _secure(url: str) -> bool:
    """https, or plain http to this machine only (a test or local issuer)."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return bool(parts.hostname)
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "::1", "localhost")


async def _get_json(url: str) -> dict[str, Any]:
    """GET a JSON object from the issuer, through the proxy the environment gives for it.

    The proxy follows the server's own rules (config.proxy_for: HTTPS_PROXY, ALL_PROXY, NO_PROXY),
    not httpx's. Redirects are not followed.
    """
    try:
        proxy = proxy_for(url, os.environ)
        async with httpx.AsyncClient(timeout=FETCH_TIMEOUT, proxy=proxy, trust_env=False) as client:
            response = await client.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            body = response.json()
    except httpx.HTTPStatusError as exc:
        raise _FetchError(f"GET {url} answered HTTP {exc.response.status_code}") from None
    except (httpx.HTTPError, ValueError) as exc:
        raise _FetchError(f"GET {url} failed ({type(exc).__name__})") from None
    except ConfigError as exc:
        raise _FetchError(str(exc)) from None
    if not isinstance(body, dict):
        raise _FetchError(f"GET {url} answered no JSON object")
    return body
