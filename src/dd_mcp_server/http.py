"""Serving MCP over Streamable HTTP, for a team: one server behind the load balancer and identity
provider they already have.

The SDK's own transport does the protocol, in its stateless mode with JSON responses: no session
lives in a replica, so any replica answers any request and replicas scale behind any HTTP load
balancer without sticky sessions. The SDK's bearer middleware checks tokens (auth.py's verifiers)
and answers 401 with `WWW-Authenticate` pointing at the protected-resource metadata it serves; its
transport security checks Host and Origin (DNS rebinding) and the body size. This module adds what
an operator needs around it: `/healthz` and `/readyz` for orchestrators, a rate limit per identity,
and one JSON access-log line per request on stderr.

State that is per replica, by design: the rate limit's counters (N replicas allow up to N times
DD_MCP_HTTP_RATE to one identity) and the readiness cache.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
import httpx
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dd_mcp_server.auth import identity_of
from dd_mcp_server.config import HttpSettings, Settings
from dd_mcp_server.services.datadog import DatadogClient, DatadogError

if TYPE_CHECKING:
    from dd_mcp_server.audit.trail import Trail

log = logging.getLogger(__name__)

MCP_PATH = "/mcp"
READY_SECONDS = 30.0  # how long /readyz trusts its last look at Datadog
# Hosts and origins a loopback server answers when none are configured: what the SDK allows itself.
LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
# Request body bytes read to name the JSON-RPC method and tool in the access log.
LOGGED_BODY = 64 * 1024


def http_app(
    server: MCPServer[Any],
    settings: Settings,
    http: HttpSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Starlette:
    """The ASGI app: MCP at /mcp (stateless, JSON), /healthz, /readyz, the rate limit and access log."""
    ready = Readiness(settings, transport, clock)
    server.custom_route("/healthz", methods=["GET"])(healthz)
    server.custom_route("/readyz", methods=["GET"])(ready.answer)
    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        json_response=True,
        stateless_http=True,
        max_request_body_size=http.max_body,
        transport_security=transport_security(http),
        host=http.host,
    )
    for route in app.router.routes:
        if isinstance(route, Route) and route.path == MCP_PATH:
            # Inside the bearer middleware, which has set the caller's identity, around the 401 check.
            route.app = Gate(route.app, RateLimit(http.rate, clock), AccessLog(sys.stderr))
    return app


def transport_security(http: HttpSettings) -> TransportSecuritySettings:
    """Host and Origin checks against DNS rebinding: the names configured, else loopback's own.

    Bound beyond loopback with no DD_MCP_ALLOWED_HOSTS, the Host header is not checked (a load
    balancer's name is not known here; every request carries a bearer token anyway, which a
    rebinding page cannot), and a browser Origin is refused unless DD_MCP_ALLOWED_ORIGINS names it.
    """
    loopback = http.host in ("127.0.0.1", "localhost", "::1")
    hosts = list(http.allowed_hosts) or (LOOPBACK_HOSTS if loopback else [])
    origins = list(http.allowed_origins) or (LOOPBACK_ORIGINS if loopback else [])
    if not hosts:
        log.warning("DD_MCP_ALLOWED_HOSTS is unset: the Host header is not checked; set it to the names clients use")
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    return TransportSecuritySettings(allowed_hosts=hosts, allowed_origins=origins)


async def healthz(_: Request) -> Response:
    """The process is up and serving HTTP: nothing else is looked at, nothing is revealed."""
    return JSONResponse({"status": "ok"})


class Readiness:
    """/readyz: whether Datadog is reachable and takes the keys, looked at most every READY_SECONDS.

    An orchestrator polls it; without the cache every poll would be a Datadog request. The answer
    says ready or not and nothing else: the reason goes to the log, never to an unauthenticated caller.
    """

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None, clock: Callable[[], float]):
        self.settings, self.transport, self.clock = settings, transport, clock
        self.checked_at = -math.inf
        self.ready = False
        self.looking = anyio.Lock()  # probes arriving together share one look

    async def answer(self, _: Request) -> Response:
        async with self.looking:
            if self.clock() - self.checked_at >= READY_SECONDS:
                self.ready = await self.look()
                self.checked_at = self.clock()
        return JSONResponse({"ready": self.ready}, status_code=200 if self.ready else 503)

    async def look(self) -> bool:
        client = DatadogClient(self.settings, transport=self.transport)
        try:
            validation = await client.validate_keys()
        except DatadogError as exc:
            log.warning("not ready: %s", exc)
            return False
        finally:
            await client.aclose()
        if not validation.valid:
            log.warning("not ready: Datadog refuses the API key or the application key on %s", self.settings.site)
        return validation.valid


def caller(scope: Scope) -> str:
    """Who sent a request: the identity its bearer token proves, else (no auth, on loopback) its address."""
    user = scope.get("user")
    if isinstance(user, AuthenticatedUser):
        return identity_of(user.access_token)
    client = scope.get("client")
    return f"anonymous@{client[0]}" if client else "anonymous"  # a loopback server without tokens


@dataclass
class RateLimit:
    """A token bucket per identity: `per_minute` requests a minute, in bursts of as many; 0 is no limit."""

    per_minute: int
    clock: Callable[[], float]
    buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # identity -> (tokens, when)

    MAX_IDENTITIES = 10_000

    def wait(self, identity: str) -> float:
        """0 when the request may go now (and it is counted), else the seconds until it may."""
        if not self.per_minute:
            return 0.0
        now = self.clock()
        tokens, then = self.buckets.get(identity, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - then) * self.per_minute / 60)
        if tokens < 1:
            self.buckets[identity] = (tokens, now)
            return (1 - tokens) * 60 / self.per_minute
        if identity not in self.buckets and len(self.buckets) >= self.MAX_IDENTITIES:
            self.buckets.clear()  # many identities, each idle or full: forgetting them only refills them
        self.buckets[identity] = (tokens - 1, now)
        return 0.0


class AccessLog:
    """One JSON line per request on stderr: when, who, what (method, tool), the status, how long.
    Never a header: the bearer token and the keys stay out."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, identity: str, body: bytes, status: int, seconds: float) -> None:
        method, tool = rpc_of(body)
        line = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "identity": identity,
            "method": method,
            "tool": tool,
            "status": status,
            "ms": round(seconds * 1000, 1),
        }
        self.stream.write(json.dumps({k: v for k, v in line.items() if v is not None}, ensure_ascii=False) + "\n")


def rpc_of(body: bytes) -> tuple[str | None, str | None]:
    """The JSON-RPC method of a request body, and the tool a tools/call names (None when unreadable)."""
    try:
        message = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(message, dict) or not isinstance(message.get("method"), str):
        return None, None
    params = message.get("params")
    name = params.get("name") if isinstance(params, dict) and message["method"] == "tools/call" else None
    return message["method"][:100], name[:100] if isinstance(name, str) else None


class Gate:
    """Around the MCP endpoint: the rate limit per identity (429 with Retry-After), and the access log."""

    def __init__(self, app: ASGIApp, limit: RateLimit, access: AccessLog) -> None:
        self.app, self.limit, self.access = app, limit, access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.monotonic()
        identity = caller(scope)
        body = bytearray()
        status = 0

        async def receiving() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(body) < LOGGED_BODY:
                body.extend(message.get("body", b"")[: LOGGED_BODY - len(body)])
            return message

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            wait = self.limit.wait(identity)
            if scope.get("method") == "GET":
                # Stateless: there is no stream of server messages to open. The SDK would hold the GET
                # open, sending nothing, until a timeout; the spec lets a server answer 405 instead.
                await Response(status_code=405, headers={"Allow": "POST, DELETE"})(scope, receiving, sending)
            elif wait:
                refused = JSONResponse(
                    {"error": f"rate limited: at most {self.limit.per_minute} requests a minute (DD_MCP_HTTP_RATE)"},
                    status_code=429,
                    headers={"Retry-After": str(math.ceil(wait))},
                )
                await refused(scope, receiving, sending)
            else:
                await self.app(scope, receiving, sending)
        finally:
            self.access.write(identity, bytes(body), status, time.monotonic() - started)


def build_http_app(
    settings: Settings,
    http: HttpSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    trail: Trail | None = None,
) -> Starlette:
    """The server for HTTP callers, as the ASGI app uvicorn serves."""
    server = build_http_server(settings, http, transport=transport, trail=trail)
    return http_app(server, settings, http, transport=transport)


def run_http(app: Starlette, http: HttpSettings) -> None:
    """Serve `app` with uvicorn until stopped (SIGINT, SIGTERM).

    log_config=None: uvicorn logs through the logging set up on the guarded stderr, and writes no
    access lines of its own (Gate writes them, without headers).
    """
    import uvicorn

    config = uvicorn.Config(app, host=http.host, port=http.port, log_config=None, access_log=False)
    uvicorn.Server(config).run()


def build_http_server(
    settings: Settings,
    http: HttpSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    trail: Trail | None = None,
) -> MCPServer[Any]:
    """The MCP server as HTTP callers reach it: who they are (auth.py's verifiers, through the SDK's
    AuthSettings, so clients discover it in the protected-resource metadata) and what each may use."""
    from mcp.server.request_state import RequestStateSecurity

    from dd_mcp_server.auth import verifier_for
    from dd_mcp_server.roles import Roles
    from dd_mcp_server.server import build_server

    verifier = verifier_for(
        http.tokens_file, http.oidc_issuer, http.oidc_audience, http.oidc_identity_claim, http.oidc_groups_claim
    )
    resource = http.public_url or f"http://{http.host}:{http.port}{MCP_PATH}"
    issuer = AnyHttpUrl(http.oidc_issuer or resource)
    # The verifiers check the audience themselves (OIDC's aud; a token file has none): the SDK's own
    # resource check would refuse every static token.
    auth = (
        AuthSettings(issuer_url=issuer, resource_server_url=AnyHttpUrl(resource), validate_token_resource=False)
        if verifier
        else None
    )
    return build_server(
        settings,
        transport=transport,
        trail=trail,
        auth=auth,
        token_verifier=verifier,
        roles=Roles.load(http.roles_file) if http.roles_file else None,
        request_state_security=RequestStateSecurity(keys=list(http.state_keys)) if http.state_keys else None,
    )
