"""The gateway's own overhead: the same request sent directly to an instant upstream,
through a bare litestar+aiohttp passthrough, and through the gateway (on uvicorn and
on granian), at concurrency 1 and 64. Prints p50/p99 and the differences.

    python bench/overhead.py [--requests 2000]

Servers are pinned to core 1 and the upstream and load generator to core 0 (taskset),
so they do not steal each other's CPU on this 2-core machine. Each row reports the
difference against "direct" measured in the same run: that difference is the cost of
one extra hop plus the server's work; the passthrough row is the cost of the hop alone.
"in-process" is the gateway's own Server-Timing figure: handler time minus upstream time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
BODY = b'{"text": "What a lovely day at the beach"}'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(cores: str, cmd: list[str]) -> list[str]:
    return ["taskset", "-c", cores, *cmd] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else cmd


@contextmanager
def process(cmd: list[str], url: str, env: dict[str, str] | None = None) -> Iterator[None]:
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL)
    try:
        wait_up(url, proc)
        yield
    finally:
        proc.terminate()
        proc.wait(20)


def wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answers: that is all we wait for
        except Exception:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def load(url: str, requests: int, concurrency: int) -> tuple[list[float], list[float]]:
    """Latencies (ms) and, where present, the gateway's own Server-Timing overhead (ms)."""
    latencies: list[float] = []
    overheads: list[float] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=connector) as http:
        for _ in range(min(200, requests)):  # warm-up
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
                    assert r.status == 200, r.status
                    timing = r.headers.get("Server-Timing", "")
                latencies.append((time.perf_counter() - start) * 1000)
                if timing.startswith("gateway;dur="):
                    overheads.append(float(timing.split(";dur=")[1].split(",")[0]))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, overheads


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def gateway_cmd(server: str, port: int) -> list[str]:
    if server == "granian":
        return [sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--host", "127.0.0.1", "--port",
                str(port), "--loop", "uvloop", "--log-level", "warning", "gateway.asgi:app_from_env"]  # fmt: skip
    return uvicorn_cmd(port, "gateway.asgi:app_from_env", "--factory")


Row = tuple[str, int, float, float, float, float, tuple[float, float] | None]


def uvicorn_cmd(port: int, app: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "uvicorn", *extra, "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop",
            "--http", "httptools", "--no-access-log", "--log-level", "warning", app]  # fmt: skip


def gateway_config(upstream: str) -> Path:
    """A policy with one `local` provider at the fake upstream, and a config that uses it."""
    tmp = Path(tempfile.mkdtemp(prefix="omnisense-bench-"))
    policy = tmp / "policy.yaml"
    routes = "routes:\n  '*': {candidates: [local]}\n"
    policy.write_text(f"version: 1\nproviders:\n  local: {{kind: local, url: '{upstream}'}}\n{routes}")
    config = tmp / "gateway.yaml"
    config.write_text(f"policy: {policy}\nlogs: {{sink: sqlite, path: {tmp / 'requests.db'}}}\n")
    return config


def measure(name: str, url: str, requests: int, base: dict[int, tuple[float, float]]) -> list[Row]:
    rows: list[Row] = []
    for conc in (1, 64):
        lat, over = asyncio.run(load(url, requests, conc))
        p50, p99 = pct(lat, 50), pct(lat, 99)
        if conc not in base:
            base[conc] = (p50, p99)
        in_process = (pct(over, 50), pct(over, 99)) if over else None
        rows.append((name, conc, p50, p99, p50 - base[conc][0], p99 - base[conc][1], in_process))
    return rows


def print_table(rows: list[Row], requests: int) -> None:
    print(f"\n{requests} requests per row; times in ms; 'added' is against 'direct' at the same concurrency\n")
    print(f"| {'path':<32} | conc | p50    | p99    | added p50 | added p99 | in-process p50 / p99 |")
    print(f"|{'-' * 34}|------|--------|--------|-----------|-----------|----------------------|")
    for name, conc, p50, p99, a50, a99, over in rows:
        o = f"{over[0]:.3f} / {over[1]:.3f}" if over is not None else "-"
        print(f"| {name:<32} | {conc:>4} | {p50:6.2f} | {p99:6.2f} | {a50:9.2f} | {a99:9.2f} | {o:>20} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--servers", default="uvicorn,granian")
    args = parser.parse_args()
    upstream_port = free_port()
    upstream = f"http://127.0.0.1:{upstream_port}"
    config = gateway_config(upstream)
    targets = [("passthrough (litestar+aiohttp)", free_port(), "passthrough", {"UPSTREAM": upstream})]
    targets += [(f"gateway on {s}", free_port(), s, {"OMNISENSE_CONFIG": str(config)}) for s in args.servers.split(",")]
    rows: list[Row] = []
    base: dict[int, tuple[float, float]] = {}
    with process(pinned("0", [sys.executable, "bench/fake_upstream.py", str(upstream_port)]), f"{upstream}/readyz"):
        rows += measure("direct to upstream", f"{upstream}/text/sentiment", args.requests, base)
        for name, port, server, env in targets:
            cmd = uvicorn_cmd(port, "bench.passthrough:app") if server == "passthrough" else gateway_cmd(server, port)
            with process(pinned("1", cmd), f"http://127.0.0.1:{port}/healthz", env):
                rows += measure(name, f"http://127.0.0.1:{port}/v1/text/sentiment", args.requests, base)
    print_table(rows, args.requests)


if __name__ == "__main__":
    main()
