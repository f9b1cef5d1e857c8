"""Time fit_budget on the results that used to block the event loop, and on a big search page.

Run: .venv/bin/python bench/budget.py [runs]
Each row is one result cut to the default budget (40,000 characters): its size, the time of the
first call and the median over the runs (milliseconds), the size of the answer and what was cut.
Before the linear rewrite the first two rows took 35 s and 93 s in one trial (issue 12, item 4).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from dd_mcp_server.common.budget import NOTE, compact_json, fit_budget

BUDGET = 40_000
SECRET = "[REDACTED:datadog_api_key]"


def tag_keys() -> dict[str, Any]:
    """get_metric_metadata for a metric with 4,000 tag keys, five sample values each."""
    tags = {f"tag_key_{n}": [f"value-{n}-{m}" for m in range(5)] for n in range(4000)}
    return {"metric_name": "system.cpu.user", "type": "gauge", "unit": "percent", "tags": tags}


def monitor_groups() -> dict[str, Any]:
    """get_monitor whose upstream object holds 6,000 one-item lists next to its fields."""
    groups = {f"host:web-{n}": [{"status": "Alert", "last_triggered_ts": 1_795_521_600 + n}] for n in range(6000)}
    return {"id": 7, "name": "CPU high", "query": "avg(last_5m):avg:system.cpu.user{*} by {host} > 90", **groups}


def log_page() -> dict[str, Any]:
    """search_logs: 1,000 logs of about 4 KB each (a long message, nested attributes, tags)."""
    logs = [
        {
            "id": f"AQAAAYz{n:08d}",
            "timestamp": f"2026-11-24T11:{n % 60:02d}:00Z",
            "service": "checkout",
            "status": "error",
            "message": f'request {n} failed: "upstream timeout"\n' + f"at frame {n} {SECRET} " * 60,
            "attributes": {"http": {"status_code": 504, "headers": {f"h{k}": "v" * 20 for k in range(30)}}},
            "tags": [f"pod:checkout-{n % 5}", "env:prod", "team:payments"],
        }
        for n in range(1000)
    ]
    return {"from": "2026-11-24T11:00:00Z", "to": "2026-11-24T12:00:00Z", "logs": logs, "next_cursor": "eyJhZnRlciI6"}


def one_huge_line() -> dict[str, Any]:
    """One log whose message is 5 MB of text with masks and escapes: only strings can be cut."""
    return {"logs": [{"id": "AQAA", "message": f'line "quoted"\t{SECRET} ' * 120_000}]}


def nested_records() -> dict[str, Any]:
    """A record of 30 records of 30 strings of 1,000 characters: 900 strings to shorten to one length."""
    return {f"field{i}": {f"sub{j}": f'{i}-{j} "{SECRET}" ' + "x" * 960 for j in range(30)} for i in range(30)}


def hopeless() -> dict[str, Any]:
    """100,000 short strings in records of records: nothing can fit, the note alone is the answer."""
    return {f"k{i}": {f"j{j}": {f"m{m}": f'{i}-{j}-{m} "q"' for m in range(50)} for j in range(50)} for i in range(40)}


CASES: list[tuple[str, Callable[[], dict[str, Any]]]] = [
    ("4,000 tag keys", tag_keys),
    ("6,000 one-item lists", monitor_groups),
    ("1,000-log page", log_page),
    ("one 5 MB log line", one_huge_line),
    ("900 strings in records", nested_records),
    ("100,000 strings, no fit", hopeless),
]


def timed(result: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    began = time.perf_counter()
    fitted = fit_budget(result, BUDGET)
    return (time.perf_counter() - began) * 1000, fitted


def main(runs: int) -> None:
    print(f"{'result':<26} {'chars':>10} {'first ms':>9} {'median ms':>10} {'answer':>7}  cut")
    for name, make in CASES:
        result = make()
        first, fitted = timed(result)
        median = statistics.median(timed(result)[0] for _ in range(runs))
        cut = "; ".join(f"{k}: {v}" for k, v in fitted.get(NOTE, {}).items() if k != "hint")
        size = len(compact_json(result))
        print(f"{name:<26} {size:>10,} {first:>9.1f} {median:>10.1f} {len(compact_json(fitted)):>7,}  {cut}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
