"""Bytes of tools/list as the model receives it (compact JSON, UTF-8): per tool, and the total.

Run: .venv/bin/python bench/toollist.py
Issue 13 asks for at most 12,000 bytes (tests/test_server.py holds it).
"""

from __future__ import annotations

import json
from typing import Any

import anyio
from mcp import Client

from dd_mcp_server.config import load_settings
from dd_mcp_server.server import build_server


def size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


async def main() -> None:
    async with Client(build_server(load_settings({}, demo=True))) as c:
        tools = [t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in (await c.list_tools()).tools]
    for tool in tools:
        print(f"{tool['name']:<22} {size(tool):>6}")
    print(f"{'total':<22} {size(tools):>6}")


anyio.run(main)
