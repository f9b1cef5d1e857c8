"""`dd-mcp-server audit verify PATH...`: the auditor's check that a trail is exactly as it was written.

Exit 0 when every chain is intact, 1 on any break (each printed with its file and line), 2 on a
usage error (argparse's own, or a path that is not a file).
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


def run(args: argparse.Namespace) -> int:
    from dd_mcp_server.audit.verify import check

    paths: list[Path] = args.paths
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        print(f"dd-mcp-server audit verify: not a file: {', '.join(missing)}", file=sys.stderr)
        return 2
    verdict = check(paths)
    for problem in verdict.problems:
        print(problem)
    if verdict.problems:
        return 1
    files = "file" if verdict.files == 1 else "files"
    print(f"ok: {verdict.records} records in {verdict.files} {files}, chain intact")
    return 0
