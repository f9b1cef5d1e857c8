"""Time `mine` and `compare` on synthetic log messages of about 200 characters, and masking on hostile lines.

Run: .venv/bin/python bench/patterns.py
First the one-off cost of importing drain3, paid by the first call in a process. Then, for 2,000
and 10,000 messages: the milliseconds to mine them (best of three runs), the number of patterns,
and the milliseconds to compare them with a baseline window of the same size. Four inputs:
- realistic: a dozen kinds of message with ids, hosts, durations and numbers, a few stack traces;
- unmasked: the same with a word that differs in every message (a host, a user): Drain's `<*>`
  does what masking cannot;
- distinct: 30 random words each, no two alike: Drain's worst case (every line a cluster of the same
  length), bounded by MAX_TEMPLATES;
- json: one-token JSON objects with random keys, the likeliest real form of that worst case.
Last, microseconds per line to mask 500-character runs of what each mask's regex starts with.
The targets are in the task's report, not in tests: timings depend on the machine.
"""

from __future__ import annotations

import functools
import random
import string
import time
import uuid
from collections.abc import Callable

from dd_mcp_server.common.patterns import MAX_LINE, Log, compare, masked, mine

HOSTS = ["payments.internal", "inventory.internal", "shipping.internal", "auth.internal", "search.internal"]
PADDING = "while handling the checkout request from the storefront for a customer in region eu-west-1 (retry policy)"
HOSTILE = ["a" * 499 + "@", "1." * 250, "f" * 500, "0x" * 250, "1:" * 250, "-1" * 250, "https://" * 62, "::" * 250]


def realistic(rng: random.Random, n: int) -> str:
    """One message of a dozen kinds (31 variants), most padded to about 200 characters."""
    kind = n % 31
    order, ms, ip = rng.randint(10**5, 10**7), rng.randint(1, 5000), ".".join(str(rng.randint(0, 255)) for _ in "1234")
    if kind == 0:
        return (
            "Traceback (most recent call last):\n"
            f'  File "/app/checkout.py", line {rng.randint(1, 400)}, in handle\n'
            f"PaymentError: card declined for order {order}"
        )
    if kind == 1:
        return f"java.lang.IllegalStateException: pool exhausted after {ms} tries\n\tat com.shop.Pool.get(Pool.java:41)"
    shapes = [
        f"Timeout after {ms}ms calling {rng.choice(HOSTS)} for order {order} {PADDING}",
        f"upstream {ip}:8080 returned 502 Bad Gateway for request {uuid.UUID(int=rng.getrandbits(128))} {PADDING}",
        f"user u{rng.randint(1, 999)}@example.com logged in from {ip} using session {rng.getrandbits(64):x} {PADDING}",
        f"GET /api/v2/orders/{order}?expand=items&page={rng.randint(1, 9)} 200 {ms}ms {PADDING}",
        f"cache miss for key session:{rng.getrandbits(64):016x}, loading from postgres {PADDING}",
        f"event processed {order} items in {ms / 1000:.2f}s at 2026-11-24T09:{n % 60:02d}:00Z {PADDING}",
    ]
    return shapes[n % len(shapes)] if kind < 7 else f"kind {kind}: {shapes[kind % len(shapes)]}"


def unmasked(rng: random.Random, n: int) -> str:
    """Realistic, with a word that varies in every message (a host name, a user) kept in place."""
    return f"{realistic(rng, n)} on host {''.join(rng.choices(string.ascii_lowercase, k=8))}"


def distinct(rng: random.Random, n: int) -> str:
    """30 random words: no two messages share a template."""
    return " ".join("".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 9))) for _ in range(30))


def json_blob(rng: random.Random, n: int) -> str:
    """A JSON object with no space in it: one token, with keys that differ from message to message."""
    fields = (f'"{"".join(rng.choices("abcdefgh", k=4))}":{rng.randint(0, 99)}' for _ in range(rng.randint(5, 20)))
    return "{" + ",".join(fields) + "}"


def logs(make: Callable[[random.Random, int], str], count: int, seed: int) -> list[Log]:
    rng = random.Random(seed)
    statuses = ["info", "warn", "error"]
    return [(make(rng, n), rng.choice(statuses), f"2026-11-24T09:00:{n % 60:02d}.000Z") for n in range(count)]


def best_ms(action: Callable[[], object], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def mask_many(line: str, times: int) -> None:
    for _ in range(times):
        masked(line)


def main() -> None:
    start = time.perf_counter()
    import drain3  # type: ignore[import-untyped]  # noqa: F401  (timed here, cached for the runs below)

    print(f"import drain3: {(time.perf_counter() - start) * 1000:.0f} ms, once per process\n")
    print(f"{'input':<12}{'messages':>10}{'avg chars':>11}{'mine ms':>10}{'patterns':>10}{'compare ms':>12}")
    inputs = {"realistic": realistic, "unmasked": unmasked, "distinct": distinct, "json": json_blob}
    for name, make in inputs.items():
        for count in (2_000, 10_000):
            current, baseline = logs(make, count, seed=1), logs(make, count, seed=2)
            found = mine(current)
            chars = sum(len(message) for message, _, _ in current) / count
            mine_ms = best_ms(functools.partial(mine, current))
            compare_ms = best_ms(functools.partial(compare, found, baseline))
            print(f"{name:<12}{count:>10,}{chars:>11.0f}{mine_ms:>10.0f}{len(found):>10}{compare_ms:>12.0f}")
    print(f"\nmasking a {MAX_LINE}-character hostile line (µs, best of three runs of 200)")
    for line in HOSTILE:
        micros = best_ms(functools.partial(mask_many, line, 200)) * 1000 / 200
        print(f"{line[:12]!r:<18}{micros:>8.0f}")


if __name__ == "__main__":
    main()
