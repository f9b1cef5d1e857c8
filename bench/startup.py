"""Start-up time: spawn `dd-mcp-server --demo` over stdio, initialize, list tools, call one tool.

Run: .venv/bin/python bench/startup.py [runs]
Prints the median and worst of each phase over the runs, in milliseconds.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters


def script() -> str:
    beside = Path(sys.executable).with_name("dd-mcp-server")
    return str(beside) if beside.exists() else shutil.which("dd-mcp-server") or "dd-mcp-server"


async def one_run() -> tuple[float, float, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "DATADOG_"))}
    params = StdioServerParameters(command=script(), args=["--demo"], env=env)
    began = time.perf_counter()
    async with Client(params) as client:
        ready = time.perf_counter()
        await client.list_tools()
        listed = time.perf_counter()
        await client.call_tool("get_monitors", {})
        called = time.perf_counter()
    return (ready - began) * 1000, (listed - ready) * 1000, (called - listed) * 1000


async def main(runs: int) -> None:
    results = [await one_run() for _ in range(runs)]
    for index, phase in enumerate(("spawn+initialize", "tools/list", "first tool call")):
        values = [r[index] for r in results]
        print(f"{phase:<18} median {statistics.median(values):7.1f} ms   worst {max(values):7.1f} ms")


if __name__ == "__main__":
    anyio.run(main, int(sys.argv[1]) if len(sys.argv) > 1 else 5)
