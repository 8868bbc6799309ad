"""Scale-out: gateway throughput with 1, 2 and 4 workers (`omnisense serve --workers N`)
against an instant fake model server, with the routing state in memory and in Redis; and
the cost of each shared-state operation a request makes, in memory vs Redis.

    python bench/scale.py [--requests 3000] [--workers 1,2,4] [--redis redis://127.0.0.1:6379/0]

Every request carries an API key with a rate limit and a budget, so each one takes a
token from the key's bucket, reads the key's spend and charges it: with Redis those are
three round trips (a Lua script, an MGET, a pipelined INCRBYFLOAT+EXPIRE) plus the
circuit and latency events, which are queued and sent in batches off the request path.
The fake upstream and the load generator share the machine with the gateway (this box
has 2 cores: more workers than cores cannot scale, and the load generator competes).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository first

from bench.overhead import free_port, pct, running

BODY = b'{"text": "What a lovely day at the beach"}'
KEY = "bench-key"


def write_config(upstream: str, redis_url: str | None, prefix: str) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix="omnisense-scale-"))
    policy = tmp / "policy.yaml"
    policy.write_text(
        "version: 1\nproviders:\n"
        f"  local: {{kind: local, url: '{upstream}', prices: {{text.sentiment: {{usd: 0.000001, unit: character}}}}}}\n"
        "routes:\n  '*': {candidates: [local]}\n"
        f"budgets:\n  - {{key: bench, usd_per_day: 1000000}}\n"
    )
    digest = hashlib.sha256(KEY.encode()).hexdigest()
    state = f"state: {{redis: '{redis_url}', prefix: '{prefix}'}}\n" if redis_url else ""
    config = tmp / "gateway.yaml"
    config.write_text(
        f"policy: {policy}\npolicy_watch_s: null\nlogs: {{sink: none}}\n{state}"
        f"keys:\n  - {{id: bench, sha256: {digest}, rate_per_second: 1000000}}\n"
    )
    return config


async def run_load(url: str, requests: int, concurrency: int) -> tuple[list[float], float]:
    """Latencies (ms) and throughput (req/s) of ``requests`` at ``concurrency`` in flight."""
    latencies: list[float] = []
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"}
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as http:
        for _ in range(200):  # warm-up: connections, caches
            async with http.post(url, data=BODY, headers=headers) as r:
                await r.read()
        remaining = requests

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                start = time.perf_counter()
                async with http.post(url, data=BODY, headers=headers) as r:
                    await r.read()
                    assert r.status == 200, (r.status, await r.text())
                latencies.append((time.perf_counter() - start) * 1000)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    return latencies, len(latencies) / elapsed


def gateway(config: Path, port: int, workers: int) -> list[str]:
    return [sys.executable, "-m", "gateway.cli", "serve", "--config", str(config), "--port", str(port),
            "--workers", str(workers), "--log-level", "warning"]  # fmt: skip


async def op_costs(redis_url: str, rounds: int) -> list[tuple[str, float, float]]:
    """Microseconds per shared-state operation, in memory vs Redis (sequential, one process)."""
    from policies.budgets import BudgetBook, MemorySpendStore
    from policies.model import Budget
    from policies.shared.backend import open_backend
    from policies.shared.ratelimit import Limit, MemoryRateLimiter

    prefix = f"omnisense-bench:{uuid.uuid4().hex}:"
    shared = await open_backend(redis_url, prefix=prefix)
    assert shared.spend is not None
    limits = [Limit("second", 1e9, 1.0)]
    budget = [Budget(key="k", usd_per_day=1e9)]
    memory_book, redis_book = BudgetBook(budget, MemorySpendStore()), BudgetBook(budget, shared.spend)
    memory_limiter = MemoryRateLimiter()

    async def timed(call: object) -> float:
        start = time.perf_counter()
        for _ in range(rounds):
            await call()  # type: ignore[operator]
        return (time.perf_counter() - start) / rounds * 1e6

    rows = [
        ("rate limit: take a token", await timed(lambda: memory_limiter.take("k", limits)),
         await timed(lambda: shared.limiter.take("k", limits))),
        ("budget: spend left", await timed(lambda: memory_book.left("k")), await timed(lambda: redis_book.left("k"))),
        ("budget: charge", await timed(lambda: memory_book.charge("k", 0.001)),
         await timed(lambda: redis_book.charge("k", 0.001))),
    ]  # fmt: skip
    assert shared.link is not None
    names = [n async for n in shared.link.redis.scan_iter(f"{prefix}*")]
    if names:
        await shared.link.redis.delete(*names)
    await shared.aclose()
    return rows


def forget(redis_url: str, prefix: str) -> None:
    """Delete what the gateways wrote (spend counters would otherwise live for days)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    names = list(client.scan_iter(f"{prefix}*"))
    if names:
        client.delete(*names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; each row keeps its best")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    upstream_port = free_port()
    upstream = f"http://127.0.0.1:{upstream_port}"
    prefix = f"omnisense-bench:{uuid.uuid4().hex}:"
    targets: list[tuple[str, int, str]] = []  # (row name, workers, url)
    best: dict[tuple[str, int], tuple[float, float, float]] = {}  # req/s, p50, p99
    with contextlib.ExitStack() as stack:
        stack.enter_context(
            running([sys.executable, "bench/fake_upstream.py", str(upstream_port)], f"{upstream}/readyz")
        )
        targets.append(("fake upstream, direct", 0, f"{upstream}/text/sentiment"))
        for state, redis_url in (("memory", None), ("redis", args.redis)):
            config = write_config(upstream, redis_url, prefix)
            for workers in (int(w) for w in args.workers.split(",")):
                port = free_port()
                stack.enter_context(running(gateway(config, port, workers), f"http://127.0.0.1:{port}/healthz"))
                targets.append((f"gateway, state in {state}", workers, f"http://127.0.0.1:{port}/v1/text/sentiment"))
        for _ in range(args.rounds):  # interleaved: a slow minute on this shared box hits every row alike
            for name, workers, url in targets:
                seq, _ = asyncio.run(run_load(url, min(500, args.requests), 1))
                _, rps = asyncio.run(run_load(url, args.requests, args.concurrency))
                old = best.get((name, workers), (0.0, float("inf"), float("inf")))
                best[(name, workers)] = (
                    max(old[0], rps),
                    min(old[1], statistics.median(seq)),
                    min(old[2], pct(seq, 99)),
                )
    rows = [(name, workers, *best[(name, workers)]) for name, workers, _ in targets]
    forget(args.redis, prefix)
    ops = asyncio.run(op_costs(args.redis, 2000))
    print(f"\nload average before the tables: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print_tables(rows, ops, args)


def print_tables(
    rows: list[tuple[str, int, float, float, float]], ops: list[tuple[str, float, float]], args: argparse.Namespace
) -> None:
    base = {state: rps for state, workers, rps, *_ in rows if workers == 1}
    print(f"\nthroughput at {args.concurrency} in flight ({args.requests} requests), latency one at a time;")
    print(f"best of {args.rounds} interleaved rounds\n")
    print("| target                   | workers | req/s  | vs 1 worker | p50 ms (c=1) | p99 ms (c=1) |")
    print("|--------------------------|---------|--------|-------------|--------------|--------------|")
    for name, workers, rps, p50, p99 in rows:
        ratio = f"{rps / base[name]:.2f}x" if name in base else "-"
        print(f"| {name:<24} | {workers or '-':>7} | {rps:6.0f} | {ratio:>11} | {p50:12.2f} | {p99:12.2f} |")
    print(
        "\nshared-state operations (µs each, sequential, one process;"
        " a request with a budget and a rate limit makes all three)\n"
    )
    print("| operation                | memory µs | redis µs |")
    print("|--------------------------|-----------|----------|")
    for name, memory, redis in ops:
        print(f"| {name:<24} | {memory:9.1f} | {redis:8.1f} |")


if __name__ == "__main__":
    main()
