"""What the request log costs, per sink. Prints a table.

    python bench/logging_sinks.py [--records 20000] [--rate 1000] [--seconds 3] [--pg-dsn DSN] [--cpu 0]

For each sink (none = the baseline that discards records; jsonl; sqlite; postgres when
reachable):

- ``keeps up with``: records per second the LogWriter + sink absorb, sustained —
  ``--records`` realistic records submitted at once, timed until all are written. A
  gateway serving below this rate never grows its queue.
- ``p50/p99 at R/s``: the gateway (litestar app on scripted providers, called in-process
  through ASGI, no network) under an open-loop load of ``--rate`` requests per second
  for ``--seconds``; latency is counted from each request's scheduled start, so a
  stalled loop shows. ``+p99`` is the difference against the ``none`` baseline measured
  in the same run, which is what the sink adds (DESIGN §8: this machine drifts, so
  compare within a run, never across runs).

(The issue asked for ``bench/logging.py``; that name shadows the standard library's
``logging`` for every script in bench/, so this file is called logging_sinks.py.)

Everything runs in one process and one event loop, like one gateway worker; PostgreSQL
is a separate server process. ``--cpu`` pins this process to a core.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # ``adapters`` is the package, not bench/adapters.py

from gateway.logs import LogSink, LogWriter, OutputSummary, RequestLog
from gateway.logs.query import percentile
from gateway.logs.registry import make_sink
from gateway.server import create_app
from gateway.server.config import GatewayConfig, LogSettings
from omnisense.schema import Attempt

SCRIPTED = "contract_tests.scripted_provider:ScriptedProvider"
POLICY = f"""
version: 1
providers:
  primary:   {{kind: "{SCRIPTED}", label: primary, price_usd: 0.002}}
  secondary: {{kind: "{SCRIPTED}", label: secondary, price_usd: 0.001}}
defaults: {{timeout_s: 2.0, retries: {{attempts: 2, backoff_s: 0.01}}}}
routes:
  "*": {{candidates: [primary, secondary]}}
"""
BODY = b'{"text": "What a lovely day it is to benchmark a request log"}'
ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def sample_record(i: int) -> RequestLog:
    return RequestLog(
        request_id=uuid.uuid4().hex, time=time.time(), task="text.sentiment", status="ok", http_status=200,
        latency_ms=3.2, overhead_ms=0.6, key_id="team-a", policy="bench", route="*", strategy="priority",
        provider="primary", model="scripted-1", units=1, unit="100 characters", cost_usd=0.002,
        attempts=[Attempt(provider="primary", outcome="ok", latency_ms=2.6)],
        output=OutputSummary(top="positive", confidence=0.9), decisions=[f"secondary: rank {i % 3}"],
    )  # fmt: skip


def settings_for(kind: str, tmp: Path, dsn: str | None, schema: str) -> LogSettings:
    if kind == "postgres":
        return LogSettings(sink="postgres", dsn=dsn, schema=schema)
    suffix = {"jsonl": "jsonl", "sqlite": "db"}.get(kind, "none")
    return LogSettings(sink=kind, path=str(tmp / f"{kind}-{uuid.uuid4().hex[:6]}.{suffix}"))  # type: ignore[arg-type]


async def started(sink: LogSink) -> LogSink:
    start = getattr(sink, "start", None)
    if start is not None:
        await start()
    return sink


async def sustained_rate(settings: LogSettings, records: int) -> float:
    writer = LogWriter(await started(make_sink(settings)), max_queue=records + 1, batch_size=settings.batch_size)
    batch = [sample_record(i) for i in range(records)]
    writer.start()
    t0 = time.perf_counter()
    for r in batch:
        writer.submit(r)
    await writer.flush()
    elapsed = time.perf_counter() - t0
    await writer.aclose()
    assert writer.written == records, (writer.written, writer.dropped, writer.failed)
    return records / elapsed


class Lifespan:
    """Drive an ASGI app's lifespan protocol by hand (startup, later shutdown)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Lifespan:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self.task = asyncio.create_task(self.app(scope, self.inbox.get, self.outbox.put))
        await self.inbox.put({"type": "lifespan.startup"})
        message = await self.outbox.get()
        assert message["type"] == "lifespan.startup.complete", message
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.inbox.put({"type": "lifespan.shutdown"})
        message = await self.outbox.get()
        assert message["type"] == "lifespan.shutdown.complete", message
        assert self.task is not None
        await self.task


async def call(app: ASGIApp, n: int) -> int:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/v1/text/sentiment", "raw_path": b"/v1/text/sentiment", "query_string": b"", "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode()),
                    (b"x-request-id", f"b{n}".encode())],
        "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8080), "state": {},
    }  # fmt: skip
    done = asyncio.Event()
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": BODY, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif not message.get("more_body", False):
            done.set()

    await app(scope, receive, send)
    return status


async def latency_at(settings: LogSettings, policy: Path, rate: float, seconds: float) -> tuple[float, float, float]:
    """(p50 ms, p99 ms, achieved requests/s) under an open-loop load of ``rate``."""
    app: Any = create_app(GatewayConfig(policy=str(policy), logs=settings))
    latencies: list[float] = []
    tasks: set[asyncio.Task[None]] = set()
    async with Lifespan(app):
        for i in range(200):  # warm up
            await call(app, -i - 1)
        total = int(rate * seconds)
        t0 = time.perf_counter()

        async def one(i: int, due: float) -> None:
            status = await call(app, i)
            assert status == 200, status
            latencies.append((time.perf_counter() - due) * 1000.0)

        for i in range(total):
            due = t0 + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(i, due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*list(tasks))
        elapsed = time.perf_counter() - t0
    latencies.sort()
    return percentile(latencies, 0.5), percentile(latencies, 0.99), total / elapsed


async def pg_reachable(dsn: str | None) -> bool:
    if not dsn:
        return False
    try:
        import asyncpg

        conn = await asyncpg.connect(dsn, timeout=3)
    except Exception:
        return False
    await conn.close()
    return True


async def drop_schema(dsn: str, schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


async def main(args: argparse.Namespace) -> None:
    kinds = ["none", "jsonl", "sqlite"] + (["postgres"] if await pg_reachable(args.pg_dsn) else [])
    schema = f"omnisense_bench_{uuid.uuid4().hex[:8]}"
    rows: list[tuple[str, float, float, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        policy = Path(tmp) / "policy.yaml"
        policy.write_text(POLICY)
        try:
            await latency_at(settings_for("none", Path(tmp), None, schema), policy, args.rate, 1.0)  # warm up
            runs: dict[str, list[tuple[float, float, float, float]]] = {k: [] for k in kinds}
            for round_ in range(args.repeat):  # interleaved, so that drift hits every sink alike
                for kind in kinds:
                    settings = settings_for(kind, Path(tmp), args.pg_dsn, schema)
                    keeps_up = await sustained_rate(settings, args.records)
                    gc.collect()  # start every latency run from the same heap state
                    p50, p99, achieved = await latency_at(settings, policy, args.rate, args.seconds)
                    runs[kind].append((keeps_up, p50, p99, achieved))
                    print(f"  round {round_ + 1}, {kind}: p99 {p99:.2f} ms", file=sys.stderr)
            for kind in kinds:  # the median run (by p99) of each sink
                keeps_up, p50, p99, achieved = sorted(runs[kind], key=lambda r: r[2])[len(runs[kind]) // 2]
                rows.append((kind, sorted(r[0] for r in runs[kind])[len(runs[kind]) // 2], p50, p99, achieved))
        finally:
            if "postgres" in kinds:
                await drop_schema(args.pg_dsn, schema)
    print_table(rows, args)


def print_table(rows: list[tuple[str, float, float, float, float]], args: argparse.Namespace) -> None:
    base_p99 = rows[0][3]
    rate = f"{args.rate:g}/s"
    head = (
        "sink",
        "keeps up with (rec/s)",
        f"p50 at {rate} (ms)",
        f"p99 at {rate} (ms)",
        "+p99 vs none (ms)",
        "achieved (req/s)",
    )
    lines = [head]
    for kind, keeps_up, p50, p99, achieved in rows:
        delta = "-" if kind == "none" else f"{p99 - base_p99:+.2f}"
        lines.append((kind, f"{keeps_up:,.0f}", f"{p50:.2f}", f"{p99:.2f}", delta, f"{achieved:,.0f}"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    for n, line in enumerate(lines):
        print("  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(line, widths, strict=True))))
        if n == 0:
            print("  ".join("-" * w for w in widths))
    print(f"\nmedian of {args.repeat} interleaved rounds; {args.records:,} records per throughput run;"
          f" {args.rate:g} req/s for {args.seconds:g} s per latency run;"
          f" one process, one event loop (cpu {args.cpu if args.cpu is not None else 'any'})")  # fmt: skip


def run() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the table shows each sink's median")
    parser.add_argument(
        "--pg-dsn", default=os.environ.get("OMNISENSE_LOG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
    )
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to one core")
    args = parser.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    logging.getLogger("omnisense").setLevel(logging.WARNING)
    asyncio.run(main(args))


if __name__ == "__main__":
    run()
