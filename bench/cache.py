"""The response cache: a hit's latency against a miss and against no cache at all.

    python bench/cache.py [--requests 1000] [--redis redis://127.0.0.1:6379/0]

One gateway (uvicorn, pinned to core 1) serves text.sentiment from an instant fake model
server (core 0, with the load generator). Its main policy caches the route; a named policy
(``X-Omnisense-Policy: nocache``) routes the same without cache. Rows, at concurrency 1
and 32, all from the same run:

- no cache: the route does not cache (the baseline);
- miss: a new text every request (lookup, dispatch, store);
- bypass: ``Cache-Control: no-cache`` (dispatch and store, no lookup);
- hit: the same text every request (lookup only; no upstream call).

With ``--redis`` the gateway runs again with the Redis store. ``vs no cache`` is the p50
difference against the baseline at the same concurrency: what caching adds to a miss and
what a hit saves. The upstream here answers instantly, so the saving on a real vendor is
that vendor's latency (tens to hundreds of ms) plus its price.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository first

from bench.overhead import free_port, pct, pinned, running, uvicorn_cmd

Row = tuple[str, str, int, float, float, float, float]


def configs(upstream: str, redis: str | None) -> tuple[Path, Path | None]:
    tmp = Path(tempfile.mkdtemp(prefix="omnisense-bench-cache-"))
    provider = f"version: 1\nproviders:\n  local: {{kind: local, url: '{upstream}'}}\n"
    (tmp / "cached.yaml").write_text(provider + "routes:\n  '*': {candidates: [local], cache: {ttl_s: 3600}}\n")
    (tmp / "nocache.yaml").write_text(provider + "routes:\n  '*': {candidates: [local]}\n")
    base = f"policy: {tmp / 'cached.yaml'}\npolicies: {{nocache: {tmp / 'nocache.yaml'}}}\n"
    base += f"logs: {{sink: sqlite, path: {tmp / 'requests.db'}}}\njobs: {{enabled: false}}\n"
    (tmp / "memory.yaml").write_text(base + "cache: {store: memory}\n")
    redis_config = None
    if redis:
        redis_config = tmp / "redis.yaml"
        redis_config.write_text(
            base + f"cache: {{store: redis, url: '{redis}', prefix: 'bench-{uuid.uuid4().hex[:8]}:'}}\n"
        )
    return tmp / "memory.yaml", redis_config


async def load(url: str, kind: str, requests: int, concurrency: int) -> tuple[list[float], list[float]]:
    counter = itertools.count()
    run = uuid.uuid4().hex[:8]
    headers = {"Content-Type": "application/json"}
    if kind == "no cache":
        headers["X-Omnisense-Policy"] = "nocache"
    if kind == "bypass":
        headers["Cache-Control"] = "no-cache"
    latencies: list[float] = []
    overheads: list[float] = []

    def body() -> bytes:
        text = f"What a lovely day {run} {next(counter)}" if kind == "miss" else "What a lovely day"
        return f'{{"text": "{text}"}}'.encode()

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:
        for _ in range(20):  # warm-up (and, for hits, the first fill)
            async with http.post(url, data=body(), headers=headers) as r:
                await r.read()
        remaining = requests

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                start = time.perf_counter()
                async with http.post(url, data=body(), headers=headers) as r:
                    await r.read()
                    assert r.status == 200, r.status
                    cache = r.headers.get("X-Omnisense-Cache")
                    assert cache == {"no cache": None}.get(kind, kind), (kind, cache)
                    timing = r.headers.get("Server-Timing", "")
                latencies.append((time.perf_counter() - start) * 1000)
                overheads.append(float(timing.split(";dur=")[1].split(",")[0]))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, overheads


KINDS = ("no cache", "miss", "bypass", "hit")
ROUNDS = 3  # the kinds take turns, so that the machine's drift spreads over all of them


def measure(store: str, url: str, requests: int) -> list[Row]:
    rows: list[Row] = []
    for conc in (1, 32):
        lat: dict[str, list[float]] = {k: [] for k in KINDS}
        over: dict[str, list[float]] = {k: [] for k in KINDS}
        for _ in range(ROUNDS):
            for kind in KINDS:
                a, b = asyncio.run(load(url, kind, max(1, requests // ROUNDS), conc))
                lat[kind] += a
                over[kind] += b
        for k in KINDS:
            rows.append((store, k, conc, pct(lat[k], 50), pct(lat[k], 99), pct(over[k], 50), pct(over[k], 99)))
    return rows


def print_table(rows: list[Row], requests: int) -> None:
    print(f"\n{requests} requests per row; times in ms; 'vs no cache' is the p50 difference at the same concurrency\n")
    print("| store  | request  | conc | p50   | p99   | vs no cache | gateway p50 / p99 (Server-Timing) |")
    print("|--------|----------|------|-------|-------|-------------|-----------------------------------|")
    base = {(s, c): p50 for s, k, c, p50, *_ in rows if k == "no cache"}
    for store, kind, conc, p50, p99, o50, o99 in rows:
        diff = p50 - base[(store, conc)]
        cells = f"| {store:<6} | {kind:<8} | {conc:>4} | {p50:5.2f} | {p99:5.2f} | {diff:+11.2f} "
        print(cells + f"| {o50:>15.3f} / {o99:<15.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--redis", help="also measure the Redis store at this URL")
    args = parser.parse_args()
    upstream_port = free_port()
    upstream = f"http://127.0.0.1:{upstream_port}"
    memory, redis = configs(upstream, args.redis)
    rows: list[Row] = []
    with running(pinned("0", [sys.executable, "bench/fake_upstream.py", str(upstream_port)]), f"{upstream}/readyz"):
        for store, config in (("memory", memory), ("redis", redis)):
            if config is None:
                continue
            port = free_port()
            cmd = uvicorn_cmd(port, "gateway.asgi:app_from_env", "--factory")
            with running(pinned("1", cmd), f"http://127.0.0.1:{port}/healthz", {"OMNISENSE_CONFIG": str(config)}):
                rows += measure(store, f"http://127.0.0.1:{port}/v1/text/sentiment", args.requests)
    print_table(rows, args.requests)


if __name__ == "__main__":
    main()
