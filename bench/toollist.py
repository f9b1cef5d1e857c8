"""Bytes of tools/list as the model receives it (compact JSON, UTF-8): per tool, and the total.

Run: .venv/bin/python bench/toollist.py (bench/overhead.py imports `listed` and `size`)
Issue 13 asks for at most 12,000 bytes for the default toolsets (tests/test_server.py holds it);
the investigations toolset (DD_MCP_TOOLSETS=all) is measured beside them.
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


async def listed(toolsets: str) -> list[dict[str, Any]]:
    async with Client(build_server(load_settings({"DD_MCP_TOOLSETS": toolsets}, demo=True))) as c:
        return [t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in (await c.list_tools()).tools]


async def main() -> None:
    tools, every = await listed(""), await listed("all")
    for tool in every:
        print(f"{tool['name']:<22} {size(tool):>6}")
    print(f"{'total, default toolsets':<22} {size(tools):>6} ({len(tools)} tools)")
    print(f"{'total, all toolsets':<22} {size(every):>6} ({len(every)} tools)")


if __name__ == "__main__":
    anyio.run(main)
