"""Per-identity toolsets for a team's HTTP server (DD_MCP_HTTP_ROLES_FILE).

The file is JSON, so that an identity may hold any character an identity provider puts in a claim:

    {"identities": {"alice@example.com": ["all"], "ci-bot": ["metrics", "monitors"]},
     "groups": {"sre": ["all"], "support": ["logs", "rum"]},
     "default": ["metrics"]}

An identity may use the toolsets listed under its name, under each of its groups (the OIDC groups
claim), and under "default" (none when absent). A call to a tool outside them is refused with a
message naming the tool's toolset and the file; a recording (DD_MCP_AUDIT_LOG) keeps it as the call's answer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

from dd_mcp_server.audit.policy import refusal
from dd_mcp_server.auth import groups_of, identity_of
from dd_mcp_server.config import TOOLSETS, ConfigError

VARIABLE = "DD_MCP_HTTP_ROLES_FILE"


@dataclass(frozen=True)
class Roles:
    identities: Mapping[str, frozenset[str]]
    groups: Mapping[str, frozenset[str]]
    default: frozenset[str]

    @classmethod
    def load(cls, path: str) -> Roles:
        """The roles file, checked whole at start: a typo in a toolset must not silently grant nothing."""
        try:
            document = json.loads(Path(path).expanduser().read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ConfigError(f"{VARIABLE}={path}: cannot read it as JSON ({type(exc).__name__})") from None
        if not isinstance(document, dict) or set(document) - {"identities", "groups", "default"}:
            raise ConfigError(f'{VARIABLE}={path}: expected an object with "identities", "groups" and "default"')
        return cls(
            identities=_grants(document.get("identities", {}), path, "identities"),
            groups=_grants(document.get("groups", {}), path, "groups"),
            default=_toolsets(document.get("default", []), path, "default"),
        )

    def allowed(self, identity: str, groups: tuple[str, ...]) -> frozenset[str]:
        granted = set(self.default) | set(self.identities.get(identity, ()))
        for group in groups:
            granted |= self.groups.get(group, frozenset())
        return frozenset(granted)


def _grants(value: Any, path: str, where: str) -> dict[str, frozenset[str]]:
    if not isinstance(value, dict):
        raise ConfigError(f'{VARIABLE}={path}: "{where}" must map names to lists of toolsets')
    return {str(name): _toolsets(sets, path, f"{where}.{name}") for name, sets in value.items()}


def _toolsets(value: Any, path: str, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise ConfigError(f'{VARIABLE}={path}: "{where}" must be a list of toolset names')
    unknown = sorted(set(value) - set(TOOLSETS) - {"all"})
    if unknown:
        raise ConfigError(
            f'{VARIABLE}={path}: "{where}" names unknown toolsets {", ".join(unknown)}; '
            f"choose from {', '.join(TOOLSETS)}, or all"
        )
    return frozenset(TOOLSETS) if "all" in value else frozenset(value)


class RoleGate:
    """A server middleware: a tool call outside the caller's toolsets is refused, saying which and why."""

    def __init__(self, roles: Roles, toolset_of: Mapping[str, str]) -> None:
        self.roles, self.toolset_of = roles, toolset_of

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        params = ctx.params if isinstance(ctx.params, dict) else {}
        toolset = self.toolset_of.get(str(params.get("name"))) if ctx.method == "tools/call" else None
        if toolset is None:
            return await call_next(ctx)
        token = get_access_token()
        identity = identity_of(token) if token else "anonymous"
        allowed = self.roles.allowed(identity, groups_of(token) if token else ())
        if toolset in allowed:
            return await call_next(ctx)
        mine = ", ".join(sorted(allowed)) or "none"
        text = (
            f"Refused: {params.get('name')} is in the {toolset} toolset, and {identity} may use only: {mine} "
            f"({VARIABLE}). Do not retry it; use a tool of those toolsets, or ask an administrator for {toolset}."
        )
        return refusal(text)
