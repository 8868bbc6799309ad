"""Benchmark of the local model server (local_models/), printed as a table.

Run with the server's own venv from the repository root:

    local_models/.venv/bin/python bench/local_models.py [--quick]

It starts `bentoml serve` itself twice, with adaptive batching and without it,
both up at once, and for each task measures throughput and p50/p99
latency at concurrency 1 and throughput at 16 in flight (and 64 for the batchable
tasks; `--batchable` measures only those), a batchable task on both servers
one right after the other, so both see the same load. For the batchable tasks a second table
puts batched against unbatched at 1, 16 and 64 in flight (the ratio of their
throughputs: above 1, batching pays). Each measurement is bounded in
requests and seconds, so the whole run stays under ~5 minutes on the 2-core
machine. `capabilities` is answered by the entry service alone (cached): it is
the baseline, the HTTP floor of the server itself.

Server and load generator share the machine's 2 cores (pinning the four
server processes to one core would halve the capacity being measured); the
load generator is a single aiohttp client, ~0.2 ms CPU per request.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "local_models" / "tests"))

import serverproc  # noqa: E402
from inputs import SENTENCE, b64_png, sample, text_image  # noqa: E402

BATCHABLE = {"vision.labels", "vision.moderation", "text.moderation", "text.sentiment"}
COMPLAINT = "The service was slow and the food was cold."  # VADER neutral: scored by e5


@dataclass
class Row:
    task: str
    mode: str
    n1: int
    rps1: float
    p50: float
    p99: float
    n16: int
    rps: float
    errors: int
    rps64: float = 0.0


def payloads(audio_b64: str) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        "capabilities": ("/capabilities", {}),
        "vision.labels": ("/vision/labels", {"image": b64_png(sample("chelsea"))}),
        "vision.faces": ("/vision/faces", {"image": b64_png(sample("astronaut"))}),
        "vision.ocr": ("/vision/ocr", {"image": b64_png(text_image()), "language": "en"}),
        "vision.moderation": ("/vision/moderation", {"image": b64_png(sample("chelsea"))}),
        "text.sentiment": ("/text/sentiment", {"text": "I love this phone, it is great!", "language": "en"}),
        "sentiment (e5)": ("/text/sentiment", {"text": COMPLAINT, "language": "en"}),
        "sentiment (de)": ("/text/sentiment", {"text": "Der Service war langsam.", "language": "de"}),
        "text.language": ("/text/language", {"text": "Ich gehe heute Abend ins Kino."}),
        "text.moderation": ("/text/moderation", {"text": "You are a stupid idiot and a complete moron."}),
        "text.entities": ("/text/entities", {"text": "Tim Cook met Angela Merkel in Berlin."}),
        "text.key_phrases": ("/text/key_phrases", {"text": "The new car has a long range."}),
        "text.translate": (
            "/text/translate",
            {"text": "The cat sleeps on the table.", "target_language": "es", "source_language": "en"},
        ),
        "translate fr>es>en": (
            "/text/translate",
            {"text": "Le chat dort sur la table.", "target_language": "en", "source_language": "fr"},
        ),
        "speech.synthesize": ("/speech/synthesize", {"text": SENTENCE}),
        "speech.transcribe": ("/speech/transcribe", {"audio": audio_b64}),
    }


FAILURES: collections.Counter[str] = collections.Counter()


async def call(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> tuple[float, bool]:
    """One request: (seconds, ok). A 503 (batch queue full) is retried once."""
    start = time.perf_counter()
    status = 0
    for _ in range(2):
        try:
            async with session.post(url, json=body) as resp:
                text = await resp.read()
                status = resp.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            FAILURES[f"{url.rsplit('/', 1)[-1]}: {type(exc).__name__}"] += 1
            return time.perf_counter() - start, False
        if status != 503:
            break
    if status != 200:
        FAILURES[f"{url.rsplit('/', 1)[-1]}: HTTP {status} {text[:80]!r}"] += 1
    return time.perf_counter() - start, status == 200


async def sequential(
    session: aiohttp.ClientSession, url: str, body: dict[str, Any], max_n: int, max_s: float
) -> tuple[list[float], int]:
    times: list[float] = []
    errors = 0
    deadline = time.perf_counter() + max_s
    while len(times) < max_n and (time.perf_counter() < deadline or len(times) < 3):
        dt, ok = await call(session, url, body)
        times.append(dt)
        errors += not ok
    return times, errors


async def concurrent(
    session: aiohttp.ClientSession, url: str, body: dict[str, Any], workers: int, max_n: int, max_s: float
) -> tuple[int, float, int]:
    """(requests done, requests per second, errors) with `workers` in flight."""
    done = errors = 0
    deadline = time.perf_counter() + max_s
    start = time.perf_counter()

    async def worker() -> None:
        nonlocal done, errors
        while done < max_n and (time.perf_counter() < deadline or done < workers):
            done += 1
            _, ok = await call(session, url, body)
            errors += not ok

    await asyncio.gather(*(worker() for _ in range(workers)))
    return done, done / (time.perf_counter() - start), errors


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure_one(session: aiohttp.ClientSession, base: str, task: str, mode: str, quick: bool) -> Row:
    path, body = PAYLOADS[task]
    url = base + path
    await call(session, url, body)  # warm-up
    times, err1 = await sequential(session, url, body, 15 if quick else 30, 3 if quick else 5)
    n16, rps, err16 = await concurrent(session, url, body, 16, 64 if quick else 160, 4 if quick else 6)
    rps64, err64 = 0.0, 0
    if task in BATCHABLE:  # 64 in flight: where batching should pay most
        _, rps64, err64 = await concurrent(session, url, body, 64, 128 if quick else 320, 4 if quick else 6)
    print(f"  measured {task} ({mode})", file=sys.stderr, flush=True)
    n1, p50, p99 = len(times), statistics.median(times) * 1000, percentile(times, 0.99) * 1000
    return Row(task, mode, n1, n1 / sum(times), p50, p99, n16, rps, err1 + err16 + err64, rps64)


async def measure(servers: dict[str, str], tasks: list[str], quick: bool) -> list[Row]:
    """Each task on the batching server, and a batchable one right after on the unbatched server
    too: the two measurements of a pair are minutes apart at most, under the same load."""
    rows = []
    limit = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=limit, timeout=aiohttp.ClientTimeout(total=300)) as session:
        for task in tasks:
            for mode, base in servers.items():
                if task in BATCHABLE or mode == "batched":
                    row = await measure_one(session, base, task, mode, quick)
                    row.mode = mode if task in BATCHABLE else "-"
                    rows.append(row)
    return rows


async def synthesize_audio(base: str) -> str:
    async with (
        aiohttp.ClientSession() as session,
        session.post(base + "/speech/synthesize", json={"text": SENTENCE}) as resp,
    ):
        data = await resp.json()
        return str(data["audio"])


def run_servers(only: set[str] | None, quick: bool, logdir: Path) -> list[Row]:
    """Both servers up at once (batching on and off), measured task by task, in turns."""
    procs: dict[str, Any] = {}
    try:
        for mode, flag in (("batched", "1"), ("unbatched", "0")):
            port = serverproc.free_port()
            t0 = time.perf_counter()
            procs[mode] = (serverproc.start(port, logdir / f"serve-{mode}.log", LOCAL_MODELS_BATCHING=flag), port)
            rss = tree_rss_mb(procs[mode][0].pid)
            STARTUP.append(f"server ({mode}): ready in {time.perf_counter() - t0:.1f} s, RSS {rss}")
        servers = {mode: f"http://127.0.0.1:{port}" for mode, (_, port) in procs.items()}
        PAYLOADS.update(payloads(asyncio.run(synthesize_audio(servers["batched"]))))
        rows = asyncio.run(measure(servers, [k for k in PAYLOADS if only is None or k in only], quick))
        for mode, (proc, _) in procs.items():
            STARTUP.append(f"server ({mode}): RSS after the run {tree_rss_mb(proc.pid)}")
        return rows
    finally:
        for proc, _ in procs.values():
            serverproc.stop(proc)


PAYLOADS: dict[str, tuple[str, dict[str, Any]]] = {}
STARTUP: list[str] = []


def tree_rss_mb(pid: int) -> str:
    """Resident memory of the server's whole process tree (entry, family workers)."""
    import psutil

    root = psutil.Process(pid)
    procs = [root, *root.children(recursive=True)]
    total = sum(p.memory_info().rss for p in procs if p.is_running())
    return f"{total / 2**20:.0f} MB in {len(procs)} processes"


def table(rows: list[Row]) -> str:
    head = (
        f"| {'task':<20} | {'batching':<9} | {'n':>3} | {'req/s @1':>8} | {'p50 ms':>8} | {'p99 ms':>8} "
        f"| {'n':>4} | {'req/s @16':>9} | {'req/s @64':>9} | {'errors':>6} |"
    )
    sep = "|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|"
    lines = [head, sep]
    for r in rows:
        lines.append(
            f"| {r.task:<20} | {r.mode:<9} | {r.n1:>3} | {r.rps1:>8.1f} | {r.p50:>8.1f} | {r.p99:>8.1f} "
            f"| {r.n16:>4} | {r.rps:>9.1f} | {r.rps64 or float('nan'):>9.1f} | {r.errors:>6} |"
        )
    return "\n".join(lines)


def comparison(rows: list[Row]) -> str:
    """Batched against unbatched, per batchable task: throughput at 1, 16 and 64 in flight and its ratio."""
    by = {(r.task, r.mode): r for r in rows}
    lines = [
        "| task | req/s @1 batched / unbatched | req/s @16 batched / unbatched | req/s @64 batched / unbatched "
        "| p50 ms @1 batched / unbatched |",
        "|---|---|---|---|---|",
    ]
    for task in sorted(BATCHABLE):
        b, u = by.get((task, "batched")), by.get((task, "unbatched"))
        if b is None or u is None:
            continue
        cells = [f"{x:.1f} / {y:.1f} (x{x / y:.2f})" for x, y in ((b.rps1, u.rps1), (b.rps, u.rps), (b.rps64, u.rps64))]
        lines.append(f"| {task} | {' | '.join(cells)} | {b.p50:.1f} / {u.p50:.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests per task")
    parser.add_argument("--batchable", action="store_true", help="only the batchable tasks, batched and not")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        rows = run_servers(BATCHABLE if args.batchable else None, args.quick, Path(tmp))
    rows.sort(key=lambda r: (r.task != "capabilities", r.task, r.mode))
    print("throughput and p50/p99 at concurrency 1 (n requests); throughput at 16 (n requests) and 64 in flight")
    print(table(rows))
    print("\nbatched against unbatched, the same run (x: batched / unbatched)")
    print(comparison(rows))
    for line in STARTUP:
        print(line)
    for failure, count in FAILURES.most_common():
        print(f"failed x{count}: {failure}")
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
