"""Command line: `dd-mcp-server` serves MCP over stdio; `--demo` serves the built-in sample organisation."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Sequence

from dd_mcp_server import __version__

log = logging.getLogger("dd_mcp_server")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="dd-mcp-server",
        description=(
            "Read-only MCP server for investigating a Datadog organisation. Serves MCP over stdio; "
            "configure with DD_API_KEY, DD_APP_KEY and DD_SITE (see the README)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"dd-mcp-server {__version__}")
    parser.add_argument("--demo", action="store_true", help="serve a built-in sample organisation: no keys, no network")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # stdout carries JSON-RPC: every log line goes to stderr.
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="dd-mcp-server: %(levelname)s %(message)s")

    from dd_mcp_server.config import ConfigError, load_settings

    try:
        settings = load_settings(os.environ, demo=args.demo)
    except ConfigError as exc:
        print(f"dd-mcp-server: {exc}", file=sys.stderr)
        return 2
    for warning in settings.warnings:
        log.warning(warning)

    from dd_mcp_server.server import build_server

    transport = None
    if args.demo:
        from dd_mcp_server.demo import demo_transport

        transport = demo_transport()
    import anyio

    from dd_mcp_server.stdio import serve_stdio

    with contextlib.suppress(KeyboardInterrupt):
        anyio.run(serve_stdio, build_server(settings, transport=transport))
    return 0
