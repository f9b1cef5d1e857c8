"""`dd-mcp-server audit show PATH...`: the recorded calls as a reviewer reads them, one line each.

Filters narrow the calls to one session (an id or its start), one tool, one identity (any part
of `user@host` or of the key fingerprint) or those since a time (the forms the tools take:
`now-1d`, ISO 8601, epoch seconds); `--full` prints under each call the answer or the error it
recorded. `audit verify` is what says whether the trail can be trusted; this only reads it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dd_mcp_server.audit.chain import parse
from dd_mcp_server.common.errors import InvalidArgument
from dd_mcp_server.common.timeparse import iso, parse_time

ARGUMENT_CHARS = 80


@dataclass(frozen=True)
class Filters:
    session: str | None = None
    tool: str | None = None
    identity: str | None = None
    since: str | None = None  # ISO 8601 UTC, compared with each record's time

    @classmethod
    def read(cls, session: str | None, tool: str | None, identity: str | None, since: str | None) -> Filters:
        """The filters as given on the command line; a `since` that is not a time raises ValueError."""
        when = None
        if since is not None:
            try:
                when = iso(parse_time(since, argument="--since", now=time.time()))
            except InvalidArgument as exc:
                raise ValueError(str(exc).replace("Invalid argument '--since'", "--since")) from None
        return cls(session, tool, identity, when)

    def keep(self, call: dict[str, Any], who: str) -> bool:
        return (
            (self.session is None or str(call.get("session", "")).startswith(self.session))
            and (self.tool is None or call.get("tool") == self.tool)
            and (self.identity is None or self.identity in who)
            and (self.since is None or str(call.get("time", "")) >= self.since)
        )


def show(paths: list[Path], filters: Filters, full: bool) -> Iterator[str]:
    """The lines to print: a header, then each kept call, oldest first."""
    found = sorted(_records(paths), key=lambda record: str(record.get("time", "")))
    identities = {r.get("session"): _identity(r) for r in found if r.get("event") == "session_start"}
    yield "time                      session   identity  tool  outcome  seconds  requests  arguments"
    for record in found:
        who = str(record.get("caller") or identities.get(record.get("session"), "?"))
        if record.get("event") != "call" or not filters.keep(record, who):
            continue
        arguments = json.dumps(record.get("arguments"), separators=(",", ":"), ensure_ascii=False)
        if len(arguments) > ARGUMENT_CHARS:
            arguments = arguments[:ARGUMENT_CHARS] + "…"
        yield "  ".join(
            str(part)
            for part in (
                record.get("time", "?"),
                str(record.get("session", "?"))[:8],
                who,
                record.get("tool", "?"),
                record.get("outcome", "?"),
                record.get("seconds", "?"),
                len(record.get("requests") or []),
                arguments,
            )
        )
        if full:
            recorded = record.get("error") or record.get("response")
            said = recorded if isinstance(recorded, str) else f"(not recorded; sha256 {record.get('sha256')})"
            yield from ("    " + text for text in said.splitlines() or [""])


def _identity(start: dict[str, Any]) -> str:
    found = start.get("identity")
    who: dict[str, Any] = found if isinstance(found, dict) else {}
    return f"{who.get('user', '?')}@{who.get('host', '?')} {who.get('app_key', '?')}"


def _records(paths: list[Path]) -> Iterator[dict[str, Any]]:
    for path in paths:
        with path.open("rb") as lines:
            for raw in lines:
                record = parse(raw.rstrip(b"\n"))
                if record is not None:
                    yield record
