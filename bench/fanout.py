"""The gateway's CPU per request for a fan-out to 2, 3 and 4 providers against a single call.

    python bench/fanout.py [--rounds 7] [--requests 2000]

The whole gateway app (litestar routing, decoding, keys, the dispatcher, the fan-out with its
merge and agreement figures, the envelope's encoding, the request log record, metrics) runs
in this process, called as ASGI directly (no sockets, no HTTP client), on instant scripted
``text.sentiment`` providers, with the request log's sink off. A case's figure is the process
CPU time (user + system) over ``--requests`` sequential requests, divided by them; every case
is measured in each of ``--rounds`` interleaved rounds and the median is shown, with its ratio
to the single call measured in the same run (this machine drifts between minutes), and what
the last provider added (against the row above: the fan-out to one provider fewer; the first
fan-out row against the single call holds the fan-out's fixed cost as well).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.server import GatewayConfig, create_app
from gateway.server.config import LogSettings

SCRIPTED = "contract_tests.scripted_provider:ScriptedProvider"
NAMES = ["p1", "p2", "p3", "p4"]
TEXT = "What a lovely day at the beach"
CASES: list[tuple[str, list[str] | None]] = [
    ("single call (baseline)", None),
    ("fan-out to 2", NAMES[:2]),
    ("fan-out to 3", NAMES[:3]),
    ("fan-out to 4", NAMES[:4]),
]


def policy_file(folder: Path) -> Path:
    providers = {n: {"kind": SCRIPTED, "tasks": ["text.sentiment"], "price_usd": 0.0001} for n in NAMES}
    policy = {"version": 1, "providers": providers, "routes": {"*": {"candidates": ["p1"]}}}
    path = folder / "policy.yaml"
    path.write_text(json.dumps(policy))
    return path


def scope(body: bytes) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/v1/text/sentiment", "raw_path": b"/v1/text/sentiment", "root_path": "", "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
    }  # fmt: skip


async def call(app: Any, body: bytes) -> int:
    """One request through the app as a server would make it; answers the status."""
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)  # the client stays: no disconnect while the answer is made
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope(body), receive, send)
    return status


async def cpu_per_request(app: Any, body: bytes, n: int) -> float:
    start = time.process_time()
    for _ in range(n):
        status = await call(app, body)
        assert status == 200, status
    return (time.process_time() - start) / n * 1e6


async def measure(rounds: int, n: int) -> list[tuple[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        config = GatewayConfig(policy=str(policy_file(Path(tmp))), logs=LogSettings(sink="none"), policy_watch_s=None)
        app = create_app(config)
        bodies = {name: json.dumps({"text": TEXT, **({"providers": p} if p else {})}).encode() for name, p in CASES}
        samples: dict[str, list[float]] = {name: [] for name, _ in CASES}
        async with app.lifespan():
            for body in bodies.values():  # warm up: imports, caches, first-call paths
                await cpu_per_request(app, body, 200)
            for _ in range(rounds):
                for name, body in bodies.items():
                    samples[name].append(await cpu_per_request(app, body, n))
    return [(name, statistics.median(v)) for name, v in samples.items()]


def print_table(rows: list[tuple[str, float]], rounds: int, n: int) -> None:
    base = rows[0][1]
    print(f"\nGateway CPU per request, in-process ASGI, instant providers (median of {rounds} rounds x {n} requests)")
    print("| case | CPU µs/request | vs single | ratio | vs one provider fewer |")
    print("|---|---:|---:|---:|---:|")
    previous = base
    for name, value in rows:
        step = f"{value - previous:+,.0f} µs" if value is not base else "-"
        print(f"| {name} | {value:,.0f} | {value - base:+,.0f} | {value / base:.2f} | {step} |")
        previous = value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    print_table(asyncio.run(measure(args.rounds, args.requests)), args.rounds, args.requests)


if __name__ == "__main__":
    main()
