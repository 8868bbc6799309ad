"""Each cloud adapter's own CPU per call, side by side in one run.

    python bench/adapters.py [--calls 200] [--rounds 5]

For each vendor, the real adapter (its SDK included) calls that vendor's wire fake, which
runs in a **child process** pinned away from this one when ``taskset`` is available, so
``time.process_time()`` around N calls counts the adapter's CPU only (event loop, pool
threads, SDK, our to_vendor/from_vendor), not the fake's. The baseline, measured in the
same rounds, is one bare aiohttp POST per call to the same fake: the floor for one HTTP
exchange in this process. Rows are medians over ``--rounds`` interleaved rounds (this
machine drifts by tens of percent between minutes).

Vendors: ``VENDORS`` below (one entry per vendor: its fake, its provider block, its calls).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters import registry
from adapters.base import CallContext, Provider
from contract_tests import samples
from contract_tests.abstract.base import image_request
from omnisense.schema import Task, TaskRequest, TextRequest, TranslateRequest

IMAGE = image_request(samples.jpeg(128, 96))
TEXT = TextRequest(text=samples.ENTITIES, language="en")
TRANSLATE = TranslateRequest(text=samples.SENTENCES["en"], target_language="es", source_language="en")
CALLS: list[tuple[Task, TaskRequest]] = [
    (Task.VISION_FACES, IMAGE),
    (Task.TEXT_ENTITIES, TEXT),
    (Task.TEXT_TRANSLATE, TRANSLATE),
]


def _aws_fake() -> Any:
    from contract_tests.fakes.aws_json import AwsJsonFake

    return AwsJsonFake(upstream="http://127.0.0.1:9")  # the benched operations never forward


def _aws_block(url: str) -> dict[str, Any]:
    from contract_tests.conftest_aws import FAKE_SERVICES

    return {
        "kind": "aws",
        "region": "eu-west-1",
        "access_key_id": "bench",
        "secret_access_key": "bench",
        "endpoints": dict.fromkeys(FAKE_SERVICES, url),
    }


def _azure_fake() -> Any:
    from contract_tests.fakes.azure import AzureFake

    return AzureFake(key="bench")


def _azure_block(url: str) -> dict[str, Any]:
    return {"kind": "azure", "endpoint": url, "key": "bench", "region": "westeurope"}


def _google_fake() -> Any:
    from contract_tests.fakes.google import GoogleFake

    return GoogleFake()


def _google_block(url: str) -> dict[str, Any]:
    return {"kind": "google", "project": "bench", "endpoint": url, "credentials": "anonymous"}


# vendor -> (fake factory, provider block for the fake's URL)
VENDORS: dict[str, tuple[Callable[[], Any], Callable[[str], dict[str, Any]]]] = {
    "aws": (_aws_fake, _aws_block),
    "google": (_google_fake, _google_block),
    "azure": (_azure_fake, _azure_block),
}


def _serve(vendor: str, conn: Any) -> None:
    """Child process: start the vendor's fake, send its URL, wait to be told to stop."""
    fake = VENDORS[vendor][0]().start()
    conn.send(fake.url)
    conn.recv()
    fake.stop()


def _pin(pid: int, cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(pid, {cpu})


async def _cpu_per_call(fn: Callable[[], Any], calls: int) -> float:
    await fn()  # warm: clients built, connections open
    start = time.process_time()
    for _ in range(calls):
        await fn()
    return (time.process_time() - start) / calls * 1000.0


async def _bench_vendor(vendor: str, url: str, calls: int, rounds: int) -> dict[str, list[float]]:
    import aiohttp

    provider: Provider = registry.build(f"{vendor}-bench", VENDORS[vendor][1](url))
    rows: dict[str, list[float]] = {"baseline: bare aiohttp POST": []}
    async with aiohttp.ClientSession() as session:

        async def bare() -> None:
            async with session.post(f"{url}/bench-baseline", data=b"{}") as resp:
                await resp.read()

        for _ in range(rounds):
            rows["baseline: bare aiohttp POST"].append(await _cpu_per_call(bare, calls))
            for task, request in CALLS:

                async def call(task: Task = task, request: TaskRequest = request) -> None:
                    ctx = CallContext(request_id="bench", deadline=time.monotonic() + 30)
                    await provider.run(task, request, ctx)

                rows.setdefault(task.value, []).append(await _cpu_per_call(call, calls))
    await provider.aclose()
    return rows


def run(vendor: str, calls: int, rounds: int) -> dict[str, list[float]]:
    parent, child = mp.Pipe()
    proc = mp.get_context("spawn").Process(target=_serve, args=(vendor, child), daemon=True)
    proc.start()
    try:
        _pin(proc.pid or 0, 1)
        _pin(0, 0)
        url = parent.recv()
        return asyncio.run(_bench_vendor(vendor, url, calls, rounds))
    finally:
        parent.send("stop")
        proc.join(10)
        if proc.is_alive():
            proc.terminate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--vendors", default=",".join(VENDORS))
    args = parser.parse_args()
    vendors = [v for v in args.vendors.split(",") if v]
    results = {v: run(v, args.calls, args.rounds) for v in vendors}
    names = list(dict.fromkeys(name for rows in results.values() for name in rows))
    print(f"adapter CPU per call, ms (median of {args.rounds} rounds x {args.calls} calls; fake in another process)")
    print(f"| {'call':<28} | " + " | ".join(f"{v:>12}" for v in vendors) + " |")
    print(f"|{'-' * 30}|" + "|".join("-" * 14 for _ in vendors) + "|")
    for name in names:
        cells = [f"{statistics.median(results[v][name]):12.3f}" if name in results[v] else " " * 12 for v in vendors]
        print(f"| {name:<28} | " + " | ".join(cells) + " |")
    for v in vendors:
        base = statistics.median(results[v]["baseline: bare aiohttp POST"])
        over = {n: statistics.median(r) / base for n, r in results[v].items() if not n.startswith("baseline")}
        print(f"{v}: x baseline " + ", ".join(f"{n} {ratio:.1f}" for n, ratio in over.items()))


if __name__ == "__main__":
    main()
