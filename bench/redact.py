"""Redaction throughput: ordinary Datadog log text, and hostile inputs aimed at each detector.

Run: .venv/bin/python bench/redact.py [--quick]   (--quick: 256 KB hostile inputs instead of 1 MB)
Prints MB/s (millions of characters per CPU second of this process, best of several runs) for:
- 1000 realistic log events (messages, hosts, tags, trace and span ids, HTTP attributes), redacted
  as one JSON line each, as the decoded strings one by one (a fresh Redactor each run, so its memory
  of clean short strings starts empty), as their messages alone (ordinary log text), and through
  map_json as the service does;
- adversarial inputs (`a://` repeated, digits, `password=`, the base64 alphabet, `-----BEGIN`...)
  through the whole Redactor;
- every detector alone, with no trigger shortcut, on its slowest adversarial input, and how its time
  grows when that input is 4 times longer (linear: about x4; the old quadratic url_password pattern,
  printed for reference, grows about x16).
The targets are in the report of issue 12, not in tests: timings depend on the machine.
"""

from __future__ import annotations

import functools
import json
import random
import re
import string
import sys
import time
from collections.abc import Callable
from typing import Any

from dd_mcp_server.common.redact import DETECTORS, Detector, Redactor
from dd_mcp_server.common.text import map_json

# What url_password was before issue 12: quadratic on long runs of scheme characters.
OLD_URL_PASSWORD = r"\b[a-z][a-z0-9+.-]*://[^\s:/@]+:([^\s@/]+)@"
API_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
APP_KEY = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"


def log_event(rng: random.Random, i: int) -> dict[str, Any]:
    """One log event shaped like Datadog's search answer, with the attribute noise real services add."""
    user = rng.choice(["alice", "bob", "carol", "dave"])
    message = rng.choice(
        [
            f"GET /api/v2/users/{rng.randint(1, 99999)} 200 {rng.randint(1, 900)}ms",
            f"Processing order {rng.randint(10**6, 10**7)} for customer cust_{rng.randint(1, 9999)}",
            'Traceback (most recent call last):\n  File "/app/handlers/checkout.py", line '
            f"{rng.randint(1, 400)}, in handle\n    raise PaymentError('declined')\nPaymentError: declined",
            f"connection to redis-master.default.svc.cluster.local:6379 established in {rng.random():.3f}s",
            f"user {user} logged in from 10.0.{rng.randint(0, 255)}.{rng.randint(0, 255)}",
            f"retrying request to https://payments.internal/charge (attempt {rng.randint(1, 3)} of 3)",
            f"cache miss for key session:{rng.getrandbits(64):x}, loading from postgres",
        ]
    )
    return {
        "id": f"AY{rng.getrandbits(120):030x}",
        "attributes": {
            "timestamp": f"2024-11-24T09:{i % 60:02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}Z",
            "host": f"ip-10-0-{rng.randint(0, 255)}-{rng.randint(0, 255)}.ec2.internal",
            "service": rng.choice(["checkout", "web-store", "payments", "auth"]),
            "status": rng.choice(["info", "warn", "error"]),
            "message": message,
            "tags": ["env:prod", "kube_namespace:shop", f"pod_name:checkout-{rng.getrandbits(32):08x}", "version:1.42"],
            "attributes": {
                "dd": {"trace_id": str(rng.getrandbits(64)), "span_id": str(rng.getrandbits(63))},
                "http": {"method": "GET", "status_code": 200, "url": f"https://shop.example.com/cart/{i}?ref=email"},
                "duration": rng.randint(1, 10**9),
                "usr": {"id": f"{rng.getrandbits(128):032x}", "name": user},
                "network": {"client": {"ip": f"10.0.{rng.randint(0, 255)}.{rng.randint(0, 255)}"}},
            },
        },
    }


def strings_of(value: Any) -> list[str]:
    found: list[str] = []
    map_json(value, lambda s: found.append(s) or s)  # type: ignore[func-returns-value]
    return found


def seconds(run: Callable[[], object], repeat: int) -> float:
    """The best of `repeat` CPU times of this process: the least disturbed by other work on the machine."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return max(best, 1e-9)


def redact_each(make: Callable[[], Redactor], strings: list[str]) -> Callable[[], object]:
    """Redact every string with a fresh redactor (its memory of short strings starts empty)."""

    def run() -> object:
        redactor = make()
        return [redactor.text(s) for s in strings]

    return run


def scan(detector: Detector, text: str) -> Callable[[], object]:
    return lambda: detector.spans(text, 1)


def adversarial(size: int) -> dict[str, str]:
    """Inputs that make a careless pattern backtrack or restart at every position."""
    b64 = string.ascii_letters + string.digits + "+/"
    units = {
        "a:// repeated": "a://",
        "dotted word": "a.",
        "digits": "4111111111111111",
        "digits and spaces": "4111 ",
        "password= repeated": "password=",
        'JSON "password": "': '"password": "',
        "token: repeated": "token: ",
        "base64 alphabet": b64,
        "-----BEGIN repeated": "-----BEGIN RSA PRIVATE KEY-----",
        "eyJ. repeated": "eyJ.",
        "eyJ run with dots": "eyJhbGciOiJIUzI1NiJ9.",
        "authorization: repeated": "authorization: ",
        "digest parameters": "authorization: Digest a=b=c,",
        "bearer repeated": "bearer ",
        "@ and :// repeated": "x://u:p@",
        "user:pass without @": "x://u:" + "p" * 50,
        "xoxb-1- repeated": "xoxb-1-",
        "sk- repeated": "sk-",
        "key fragments": API_KEY[:11] + " ",
        "escaped newlines": "\\n",
        "masks": "[REDACTED:password]",
        "card word and digits": "card 4111111111111111 ",
        "id= and 32 hex": "id=deadbeef4111111111111111deadbeef ",
    }
    return {name: (unit * (size // len(unit) + 1))[:size] for name, unit in units.items()}


def main(quick: bool) -> None:
    repeat = 3 if quick else 7
    rng = random.Random(12)
    events = [log_event(rng, i) for i in range(1000)]
    lines = [json.dumps(event) for event in events]
    values = strings_of(events)
    messages = [event["attributes"]["message"] for event in events]
    line_chars = sum(map(len, lines))

    def on() -> Redactor:
        return Redactor([API_KEY, APP_KEY])

    def off() -> Redactor:
        return Redactor([API_KEY, APP_KEY], detect=False)

    build = seconds(on, repeat)
    print(f"Redactor built in {build * 1e3:.1f} ms (two keys, once per process)")
    print(f"realistic: 1000 log events; {line_chars / 1e6:.2f} MB as JSON lines; {len(values)} decoded strings")
    print(f"{'':37}{'JSON lines':>12}{'decoded strings':>17}{'messages':>10}  (MB/s)")
    for name, make in (("DD_MCP_REDACT=on (keys + detectors)", on), ("DD_MCP_REDACT=off (keys only)", off)):
        figures = [
            sum(map(len, strings)) / max(seconds(redact_each(make, strings), repeat) - build, 1e-9) / 1e6
            for strings in (lines, values, messages)
        ]
        print(f"  {name:35}{figures[0]:12.1f}{figures[1]:17.1f}{figures[2]:10.1f}")
    redactor = on()
    walk = line_chars / seconds(lambda: map_json(events, on().text), repeat) / 1e6
    bare = line_chars / seconds(lambda: map_json(events, str), repeat) / 1e6
    print(f"  map_json(events, Redactor(...).text): {walk:.1f} MB/s of JSON (map_json alone: {bare:.1f} MB/s)")

    size = 256 * 1024 if quick else 1024 * 1024
    hostile, small = adversarial(size), adversarial(size // 4)
    print(f"\nadversarial inputs of {size // 1024} KB, whole Redactor (keys + detectors):")
    for name, text in hostile.items():
        print(f"  {name:28} {size / seconds(functools.partial(redactor.text, text), 2) / 1e6:8.1f} MB/s")

    print("\nevery detector alone (no triggers) on every adversarial input: its slowest input, and how its")
    print("time grows from 1/4 of that input to all of it (linear: about x4, cache effects up to ~x8; quadratic: x16)")
    worst = (float("inf"), "", "")
    for detector in DETECTORS:
        slowest = max((seconds(scan(detector, text), 2), name) for name, text in hostile.items())
        growth = seconds(scan(detector, hostile[slowest[1]]), 3) / seconds(scan(detector, small[slowest[1]]), 3)
        mbs = size / slowest[0] / 1e6
        print(f"  {detector.kind:22} {mbs:8.1f} MB/s on {slowest[1]!r:28} x{growth:.1f}")
        worst = min(worst, (mbs, detector.kind, slowest[1]))
    print(f"slowest detector: {worst[1]} on {worst[2]!r} at {worst[0]:.1f} MB/s")
    old = re.compile(OLD_URL_PASSWORD)
    dotted = [("a." * 16384)[: 8192 * n] for n in (1, 4)]
    steps = [seconds(functools.partial(old.findall, text), 2) for text in dotted]
    print(f"for reference, the old url_password pattern on 8 KB -> 32 KB of 'a.': x{steps[1] / steps[0]:.1f}")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
