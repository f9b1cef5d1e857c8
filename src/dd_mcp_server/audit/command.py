"""`dd-mcp-server audit verify PATH...`: the auditor's check that a trail is exactly as it was written;
`dd-mcp-server audit show PATH...`: its calls, as a reviewer reads them (audit/show.py).

verify exits 0 when every chain is intact, 1 on any break (each printed with its file and line);
both exit 2 on a usage error (argparse's own, a path that is not a file, a `--since` that is not a time).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = commands.add_parser("audit", help="check the audit trail (DD_MCP_AUDIT_LOG)")
    actions = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = actions.add_parser(
        "verify",
        help="check every chain across the trail's files; exit 1 on any edited, missing or moved record",
    )
    verify.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="the trail and its rotated files")
    show = actions.add_parser("show", help="the recorded calls, one line each, oldest first")
    show.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="the trail and its rotated files")
    show.add_argument("--session", help="only this session (its id, or the start of it)")
    show.add_argument("--tool", help="only calls of this tool")
    show.add_argument("--identity", help="only calls by this identity (any part of user@host or key fingerprint)")
    show.add_argument("--since", help="only calls since this time: now-1d, ISO 8601 or epoch seconds")
    show.add_argument("--full", action="store_true", help="print each recorded answer or error under its call")


def run(args: argparse.Namespace) -> int:
    paths: list[Path] = args.paths
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        print(f"dd-mcp-server audit {args.audit_command}: not a file: {', '.join(missing)}", file=sys.stderr)
        return 2
    return show(args, paths) if args.audit_command == "show" else verify(paths)


def show(args: argparse.Namespace, paths: list[Path]) -> int:
    from dd_mcp_server.audit.show import Filters
    from dd_mcp_server.audit.show import show as lines

    try:
        filters = Filters.read(args.session, args.tool, args.identity, args.since)
    except ValueError as exc:
        print(f"dd-mcp-server audit show: {exc}", file=sys.stderr)
        return 2
    for text in lines(paths, filters, args.full):
        print(text)
    return 0


def verify(paths: list[Path]) -> int:
    from dd_mcp_server.audit.verify import check

    verdict = check(paths)
    for problem in verdict.problems:
        print(problem)
    if verdict.problems:
        return 1
    files = "file" if verdict.files == 1 else "files"
    print(f"ok: {verdict.records} records in {verdict.files} {files}, chain intact")
    return 0
