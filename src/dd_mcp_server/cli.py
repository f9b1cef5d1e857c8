"""Command line: `dd-mcp-server` serves MCP over stdio (`--transport http`: Streamable HTTP, http.py);
`--demo` serves the built-in sample organisation; `doctor` checks a setup (doctor.py); `token new`
makes a bearer token; `audit verify|show PATH...` reads an audit trail (audit/command.py).

stdout carries JSON-RPC only; stderr is the other output channel, and the keys must never appear
there either. Once the keys are known, `sys.stderr` is replaced by a writer that masks them in
every encoding before anything (a log line, a traceback, a library's warning) reaches the terminal
or the host's log file, and logging is configured on that writer.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

from dd_mcp_server import __version__
from dd_mcp_server.audit.command import add_parser as add_audit_parser
from dd_mcp_server.audit.command import run as run_audit
from dd_mcp_server.common.redact import Redactor
from dd_mcp_server.config import (
    API_KEY_VARS,
    APP_KEY_VARS,
    LOG_LEVELS,
    TRANSPORTS,
    ConfigError,
    Settings,
    load_http_settings,
    load_settings,
)
from dd_mcp_server.doctor import add_parser as add_doctor_parser
from dd_mcp_server.doctor import run as run_doctor

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

log = logging.getLogger("dd_mcp_server")

LOG_FORMAT = "dd-mcp-server: %(levelname)s %(message)s"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="dd-mcp-server",
        description=(
            "Read-only MCP server for investigating a Datadog organisation. Serves MCP over stdio (or, for a "
            "team, Streamable HTTP); configure with DD_API_KEY, DD_APP_KEY and DD_SITE (see the README)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"dd-mcp-server {__version__}")
    parser.add_argument("--demo", action="store_true", help="serve a built-in sample organisation: no keys, no network")
    parser.add_argument(
        "--check-config",
        action="store_true",
        help="check the configuration and exit: 0 when the server would start, 2 with the problem on stderr "
        "(no network; `doctor` checks the keys against Datadog). Without it a misconfigured server still "
        "starts and answers every tool call with the problem and its fix",
    )
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        help="what to log on stderr (overrides DD_MCP_LOG_LEVEL; default WARNING)",
    )
    parser.add_argument(
        "--transport",
        choices=TRANSPORTS,
        help="stdio (default; overrides DD_MCP_TRANSPORT), or http: Streamable HTTP at /mcp for a team",
    )
    parser.add_argument("--host", help="address to serve HTTP on (DD_MCP_HOST; default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to serve HTTP on (DD_MCP_PORT; default 8000)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_audit_parser(commands)
    add_doctor_parser(commands)
    token = commands.add_parser("token", help="bearer tokens for HTTP (DD_MCP_HTTP_TOKENS_FILE)")
    token_actions = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    fresh = token_actions.add_parser("new", help="print a fresh token and its line for the tokens file")
    fresh.add_argument("name", help="whom the token identifies: letters, digits, . _ @ -")
    return parser.parse_args(argv)


class MaskedStream(io.TextIOBase):
    """A text stream that writes everything through `mask`, a whole line at a time.

    Text is held until its newline (or flush()), so a key written in two pieces by two write()
    calls is masked as one. What flush() writes early is masked too (the redactor masks any
    12-character piece of a key on its own). No file descriptor is exposed: nothing can write
    around the mask through this object.
    """

    def __init__(self, inner: TextIO, mask: Callable[[str], str]) -> None:
        super().__init__()
        self.inner = inner
        self.mask = mask
        self.pending = ""
        self.lock = threading.Lock()

    def write(self, text: str) -> int:
        with self.lock:
            self.pending += text
            if "\n" in text:
                lines, newline, self.pending = self.pending.rpartition("\n")
                self.inner.write(self.mask(lines + newline))
        return len(text)

    def flush(self) -> None:
        with self.lock:
            if self.pending:
                self.inner.write(self.mask(self.pending))
                self.pending = ""
            self.inner.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.inner.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.inner.encoding


def configure_stderr(keys: Sequence[str], level: str) -> None:
    """Mask `keys` in everything written to stderr, then log there at `level`.

    The guard comes first: logging.basicConfig keeps the stream object it is given.
    """
    sys.stderr = cast(TextIO, MaskedStream(sys.stderr, Redactor(keys, detect=False).text))
    logging.basicConfig(stream=sys.stderr, level=level, format=LOG_FORMAT)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "audit":
        return run_audit(args)
    if args.command == "doctor":
        return run_doctor(args)
    if args.command == "token":
        return new_token(args.name)
    try:
        http = load_http_settings(os.environ, transport=args.transport, host=args.host, port=args.port)
    except ConfigError as exc:
        return refuse(str(exc))
    # A team's HTTP server that cannot run as configured must not start: nobody reads its chat answers
    # but the caller, and an orchestrator shows the exit and its one line.
    strict = args.check_config or http.transport == "http"
    try:
        settings = load_settings(os.environ, demo=args.demo)
    except ConfigError as exc:
        problem = config_problem(exc)
        return refuse(problem) if strict else serve_unconfigured(problem, args.log_level)
    if args.check_config:
        return check_config(settings)
    configure_stderr((settings.api_key, settings.app_key), args.log_level or settings.log_level)
    for warning in settings.warnings:
        log.warning(warning)
    from dd_mcp_server.otel import configure_tracing

    configure_tracing(os.environ)

    trail = None
    if settings.audit_log:
        from dd_mcp_server.audit.trail import AuditError, Trail

        sink = None
        if settings.audit_sink:
            from dd_mcp_server.audit.sink import LogsSink

            sink = LogsSink(settings.audit_sink, settings.api_key, proxy=settings.audit_sink_proxy)
        try:
            trail = Trail.open(Path(settings.audit_log).expanduser(), settings.audit_max_bytes, sink)
        except AuditError as exc:
            if sink:
                sink.close(0)
            problem = f"DD_MCP_AUDIT_LOG: {exc}"
            return refuse(problem) if strict else serve_unconfigured(problem, args.log_level, settings)

    transport = None
    if args.demo:
        from dd_mcp_server.demo import demo_transport

        transport = demo_transport()
    try:
        if http.transport == "http":
            from dd_mcp_server.http import build_http_app, run_http

            app = build_http_app(settings, http, transport=transport, trail=trail)
            freeze_startup_heap()
            run_http(app, http)
        else:
            from dd_mcp_server.server import build_server

            serve(build_server(settings, transport=transport, trail=trail))
    except ConfigError as exc:
        return refuse(str(exc)) if strict else serve_unconfigured(str(exc), args.log_level, settings)
    finally:
        if trail:
            trail.close()
    return 0


def freeze_startup_heap() -> None:
    """Leave what start-up built (the SDK, pydantic's schemas, the tools: some 95,000 objects) out of
    every later garbage collection. A call allocates thousands of small objects (a metric answer's
    points), and each collection they set off would otherwise walk that whole heap again: measured,
    it halved the time to read a 90 KB answer."""
    import gc

    gc.freeze()


def refuse(problem: str) -> int:
    print(f"dd-mcp-server: {problem}", file=sys.stderr)
    return 2


def new_token(name: str) -> int:
    """`token new NAME`: a fresh bearer token for DD_MCP_HTTP_TOKENS_FILE, and the line to add there.

    The token is printed once, here, for its owner; the file keeps only its digest.
    """
    from dd_mcp_server.auth import new_token as minted

    try:
        token, line = minted(name)
    except ValueError as exc:
        return refuse(f"token new: {exc}")
    print(f"token (give it to {name}; it is not stored anywhere): {token}")
    print(f"line for DD_MCP_HTTP_TOKENS_FILE: {line}")
    return 0


def config_problem(exc: ConfigError) -> str:
    """What is wrong with the configuration: `exc`, and another setting at fault beside the keys.

    Missing keys are found first; a user who fixes them should not then discover the next problem
    only on the next start.
    """
    try:
        load_settings(os.environ, demo=True)
    except ConfigError as other:
        if str(other) != str(exc):
            return f"{exc}; also, {other}"
    return str(exc)


def serve(server: MCPServer[Any]) -> None:
    """Serve MCP over stdio until the client goes away (or Ctrl-C, once a line ends)."""
    import anyio

    from dd_mcp_server.stdio import serve_stdio

    freeze_startup_heap()
    with contextlib.suppress(KeyboardInterrupt):
        anyio.run(serve_stdio, server)


def serve_unconfigured(problem: str, level: str | None, settings: Settings | None = None) -> int:
    """Serve even though the configuration is unusable, so that the user reads why in the chat.

    A server that exits before `initialize` shows in the host only as "connection closed", its
    reason hidden in a log file. This one starts, lists the tools it would serve, says in its
    instructions what is wrong, and answers every tool call with the problem and its fix
    (server.Unconfigured). The problem also goes to stderr, for the host's log. `--check-config`
    keeps the strict exit for scripts.
    """
    keys = [os.environ.get(name, "") for name in (*API_KEY_VARS, *APP_KEY_VARS)]
    configure_stderr(keys, level or "WARNING")
    log.error("%s (serving anyway: every tool call answers with this)", problem)
    from dd_mcp_server.server import build_server

    # The tools listed are those the settings read (keys aside) would serve; when even those cannot
    # be read, the default ones. With no keys and no network, no call ever reaches Datadog.
    try:
        server = build_server(_unkeyed(settings or load_settings(os.environ, demo=True)), problem=problem)
    except ConfigError:
        server = build_server(_unkeyed(load_settings({}, demo=True)), problem=problem)
    serve(server)
    return 0


def _unkeyed(settings: Settings) -> Settings:
    return dataclasses.replace(settings, api_key="", app_key="", audit_log=None, audit_sink=None)


def check_config(settings: Settings) -> int:
    """--check-config: 0 when the server would start as configured, else 2 with the problem (no network)."""
    from dd_mcp_server.server import build_server

    try:
        build_server(settings)
    except ConfigError as exc:
        return refuse(str(exc))
    print(
        f"dd-mcp-server: configuration ok (site {settings.site}; toolsets {','.join(settings.toolsets)})",
        file=sys.stderr,
    )
    return 0
