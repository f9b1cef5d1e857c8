"""One MCP session against an installed `dd-mcp-server --demo`, the way a host runs it: start the
script over stdio with the SDK's client, initialize, list the tools, call one, and check the answers.

    python tests/smoke_session.py /path/to/bin/dd-mcp-server

It imports only the MCP SDK and the standard library, so it runs with the Python of any
environment the package was installed into: .ci/packaging runs it in a clean virtual environment
holding nothing but the built wheel. tests/test_hosts.py runs it against this checkout's console
script, so the check CI relies on is itself tested. Exit status 0 and one summary line on stdout
when all holds; otherwise the first thing that did not, on stderr, and status 1.
"""

from __future__ import annotations

import sys

import anyio
from mcp import Client, StdioServerParameters
from mcp.types import TextContent

# A monitor of the demo organisation, and the text its answer holds.
MONITOR_ID = 1000001
MONITOR_NAME = "Payments error rate above 5%"
# A monitor the demo organisation does not have: its call must come back as an error.
MISSING_MONITOR_ID = 7


class SmokeFailure(Exception):
    """What did not hold."""


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SmokeFailure(what)


async def session(script: str) -> str:
    """Run the session against `script`; the summary line. Checked once the session is over: a
    failure raised inside the client's task group would come out wrapped in an exception group."""
    # env=None: the SDK passes the server only a safe default environment, as hosts do, so no
    # Datadog key of the calling shell reaches it.
    params = StdioServerParameters(command=script, args=["--demo"])
    async with Client(params, read_timeout_seconds=60) as client:
        info = client.server_info
        listed = await client.list_tools()
        answer = await client.call_tool("get_monitor", {"monitor_id": MONITOR_ID})
        missing = await client.call_tool("get_monitor", {"monitor_id": MISSING_MONITOR_ID})

    check(info is not None and info.name == "dd-mcp-server", f"the server names itself {info!r}")
    assert info is not None
    names = [tool.name for tool in listed.tools]
    check("get_monitor" in names, f"no get_monitor among the tools: {names}")
    unmarked = [tool.name for tool in listed.tools if not (tool.annotations and tool.annotations.read_only_hint)]
    check(not unmarked, f"tools not marked read-only: {unmarked}")
    text = "".join(part.text for part in answer.content if isinstance(part, TextContent))
    check(not answer.is_error, f"get_monitor({MONITOR_ID}) answered an error: {text[:300]}")
    check(MONITOR_NAME in text, f"get_monitor({MONITOR_ID}) does not name {MONITOR_NAME!r}: {text[:300]}")
    check(missing.is_error is True, f"get_monitor({MISSING_MONITOR_ID}) was not answered as an error")
    return (
        f"{info.name} {info.version}: {len(names)} tools, get_monitor({MONITOR_ID}) answered {len(text)} characters, "
        f"get_monitor({MISSING_MONITOR_ID}) an error"
    )


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} /path/to/dd-mcp-server", file=sys.stderr)
        return 2
    try:
        summary = anyio.run(session, argv[1])
    except SmokeFailure as failure:
        print(f"smoke session failed: {failure}", file=sys.stderr)
        return 1
    print(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
