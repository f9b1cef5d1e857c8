"""What the recording (DD_MCP_AUDIT_LOG) says of a session and of each call, for an auditor.

Who asked what, when, and what came back: a session's start names the server, the site, the
toolsets, the client (from `initialize`) and the identity (the OS user and host under stdio, and
a fingerprint of the application key that identifies it without revealing it); each call names
the tool, who called it over HTTP, its arguments (cleaned and masked like every result), the
outcome, the Datadog requests it made and the SHA-256 of the text the model read (the text itself
with DD_MCP_AUDIT_RESPONSES=full). No key ever appears: arguments and errors are masked as results are.
"""

from __future__ import annotations

import getpass
import hashlib
import socket
from typing import Any

from dd_mcp_server import __version__
from dd_mcp_server.common.redact import Redactor
from dd_mcp_server.common.text import clean_text, map_json
from dd_mcp_server.config import Settings


def session_start(session: str, settings: Settings, client: dict[str, Any] | None) -> dict[str, Any]:
    """The first record of a session."""
    return {
        "event": "session_start",
        "session": session,
        "server": f"dd-mcp-server {__version__}",
        "site": settings.site,
        "toolsets": list(settings.toolsets),
        "client": {k: client.get(k) for k in ("name", "version") if isinstance(client.get(k), str)} if client else None,
        "identity": {"user": _user(), "host": socket.gethostname(), "app_key": fingerprint(settings.app_key)},
    }


def session_end(session: str, calls: int) -> dict[str, Any]:
    return {"event": "session_end", "session": session, "calls": calls}


def call(
    *,
    session: str,
    request_id: str | int | None,
    tool: str,
    arguments: dict[str, Any],
    redactor: Redactor,
    text: str,
    error: bool,
    seconds: float,
    requests: list[dict[str, Any]],
    full: bool,
    caller: str | None = None,
) -> dict[str, Any]:
    """One tool call: what was asked, what Datadog was asked, and what the model read (or its digest).

    Over HTTP one server serves many people: `caller` is the identity the request's bearer token
    proved, and names the call's author where the session's start names only the server's host.
    """
    record: dict[str, Any] = {
        "event": "call",
        "session": session,
        **({"caller": caller} if caller else {}),
        "request_id": request_id,
        "tool": tool,
        "arguments": masked(arguments, redactor),
        "outcome": "error" if error else "ok",
        "seconds": round(seconds, 3),
        "requests": requests,
        "bytes": len(text.encode()),
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
    }
    if error:
        record["error"] = text
    elif full:
        record["response"] = text
    return record


def decision(session: str, request_id: str | int | None, tool: str, decided: str, rule: str) -> dict[str, Any]:
    """A policy's decision on a call (refused, asked, approved, declined, cannot ask) and the rule that made it."""
    return {
        "event": "policy",
        "session": session,
        "request_id": request_id,
        "tool": tool,
        "decision": decided,
        "rule": rule,
    }


def masked(value: dict[str, Any], redactor: Redactor) -> dict[str, Any]:
    """Arguments as the recording keeps them: cleaned (encodable) and masked like every result."""
    cleaned, _ = map_json(value, clean_text)
    shaped, _ = map_json(cleaned, redactor.text, member=redactor.field)
    return shaped  # type: ignore[no-any-return]


def fingerprint(key: str) -> str:
    """Names a key without revealing it: the first 16 hex digits of its SHA-256."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()[:16]


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return "unknown"
