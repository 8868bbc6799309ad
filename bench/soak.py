"""Soak: a bounded steady-rate run against the gateway and the model server it supervises.

    python bench/soak.py                      # 30 min at 10 req/s, a row per 5-minute window
    python bench/soak.py --minutes 4 --window-s 60

It starts ``omnisense serve`` with the ``local`` preset (so the gateway starts and
supervises the real BentoML model server), sends a steady mix of text requests
(sentiment, language, entities, key phrases) at ``--rate`` per second, and prints one row
per window: requests, errors, latency p50/p95/p99, and for the gateway and for each
model-server process (the BentoML root, the entry worker ``omnisense_local``, the family
workers) the resident memory and open file descriptors at the window's end. The last
table is each process's RSS growth per 1,000 requests, window by window: a process that
leaks keeps growing at a steady rate; one that warms up levels off.

The load generator runs on the last core (``taskset`` style, via sched_setaffinity) and
the servers on the others, so the load does not steal the servers' CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
TEXTS = [
    "What a lovely day in Paris with Marie and the team from Acme Corp.",
    "The service was slow and the food was cold, but the staff apologised.",
    "Quarterly revenue grew 12 percent while costs fell in Berlin and Madrid.",
    "I can't believe how good this new phone is! 😀",
]
REQUESTS = [
    ("/v1/text/sentiment", lambda t: {"text": t}),
    ("/v1/text/language", lambda t: {"text": t}),
    ("/v1/text/entities", lambda t: {"text": t, "language": "en"}),
    ("/v1/text/key-phrases", lambda t: {"text": t, "language": "en"}),
]


@dataclass
class Window:
    index: int
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    memory: dict[str, tuple[float, int]] = field(default_factory=dict)  # process -> (RSS MB, fds)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def label(proc: psutil.Process, gateway_pid: int) -> str:
    if proc.pid == gateway_pid:
        return "gateway"
    cmd = " ".join(proc.cmdline())
    if "--service-name" in cmd:
        return cmd.split("--service-name", 1)[1].split()[0].replace("omnisense_", "models:")
    if "bentoml serve" in cmd:
        return "models:root"
    if "reaper.py" in cmd:
        return "reaper"
    return proc.name()


def snapshot(gateway_pid: int) -> dict[str, tuple[float, int]]:
    out: dict[str, tuple[float, int]] = {}
    root = psutil.Process(gateway_pid)
    for proc in [root, *root.children(recursive=True)]:
        try:
            name = label(proc, gateway_pid)
            if name in ("bash", "reaper"):
                continue
            rss, fds = proc.memory_info().rss / 2**20, proc.num_fds()
        except psutil.Error:
            continue
        old = out.get(name, (0.0, 0))
        out[name] = (old[0] + rss, old[1] + fds)
    return out


def start_gateway(port: int, log_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BENTOML_DO_NOT_TRACK": "True"}
    models_port = free_port()
    policy = Path(tempfile.mkdtemp()) / "soak.yaml"
    preset = (ROOT / "policies" / "presets" / "local.yaml").read_text()
    policy.write_text(preset.replace("{kind: local", f"{{kind: local, port: {models_port}"))
    config = policy.with_name("config.yaml")
    config.write_text(f"policy: {policy}\nlogs: {{sink: none}}\n")
    argv = [sys.executable, "-m", "gateway.cli", "serve", "--config", str(config), "--port", str(port)]
    proc = subprocess.Popen(
        [*argv, "--log-level", "warning"], env=env, stdout=log_path.open("wb"), stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the gateway exited ({proc.returncode}); see {log_path}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(1)
    proc.send_signal(signal.SIGTERM)
    raise SystemExit(f"the gateway was not ready in 300 s; see {log_path}")


async def drive(url: str, rate: float, seconds: float, window_s: float, gateway_pid: int) -> list[Window]:
    windows = [Window(0)]
    start = time.monotonic()
    pending: set[asyncio.Task[None]] = set()
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:

        async def one(window: Window) -> None:
            path, body = random.choice(REQUESTS)
            t0 = time.perf_counter()
            try:
                r = await http.post(path, json=body(random.choice(TEXTS)))
                ok = r.status_code == 200
            except httpx.HTTPError:
                ok = False
            window.latencies.append((time.perf_counter() - t0) * 1000)
            window.errors += not ok

        sent = 0
        while (now := time.monotonic() - start) < seconds:
            if now >= (windows[-1].index + 1) * window_s:
                windows[-1].memory = snapshot(gateway_pid)
                windows.append(Window(windows[-1].index + 1))
            task = asyncio.ensure_future(one(windows[-1]))
            pending.add(task)
            task.add_done_callback(pending.discard)
            sent += 1
            await asyncio.sleep(max(0.0, start + sent / rate - time.monotonic()))
        await asyncio.gather(*pending)
    windows[-1].memory = snapshot(gateway_pid)
    return [w for w in windows if w.latencies]


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) >= 2 else (values[0] if values else 0.0)


def report(windows: list[Window], window_s: float) -> None:
    names = sorted({n for w in windows for n in w.memory}, key=lambda n: (n != "gateway", n))
    print(f"\n### Per {window_s / 60:g}-minute window\n")
    head = ["window", "requests", "errors", "p50 ms", "p95 ms", "p99 ms"] + [f"{n} RSS MB / fds" for n in names]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---:" for _ in head) + "|")
    for w in windows:
        cells = [str(w.index + 1), str(len(w.latencies)), str(w.errors)]
        cells += [f"{pct(w.latencies, q):.1f}" for q in (50, 95, 99)]
        cells += [f"{w.memory[n][0]:.0f} / {w.memory[n][1]}" if n in w.memory else "-" for n in names]
        print("| " + " | ".join(cells) + " |")
    print("\n### RSS growth per 1,000 requests (MB), window over window\n")
    print("| window | " + " | ".join(names) + " |")
    print("|---:|" + "|".join("---:" for _ in names) + "|")
    for before, after in itertools.pairwise(windows):
        per_k = 1000 / max(1, len(after.latencies))
        cells = [f"{(after.memory.get(n, (0, 0))[0] - before.memory.get(n, (0, 0))[0]) * per_k:+.1f}" for n in names]
        print(f"| {before.index + 1}->{after.index + 1} | " + " | ".join(cells) + " |")


def processes(pids: set[int]) -> list[psutil.Process]:
    out = []
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            out.append(psutil.Process(pid))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--window-s", type=float, default=300.0)
    parser.add_argument("--rate", type=float, default=10.0, help="requests per second")
    args = parser.parse_args()
    cores = sorted(os.sched_getaffinity(0))
    port = free_port()
    log_path = Path(tempfile.mkdtemp()) / "gateway.log"
    gateway = start_gateway(port, log_path)
    if len(cores) > 1:
        os.sched_setaffinity(0, {cores[-1]})  # the load generator; the servers keep every core
    try:
        before = snapshot(gateway.pid)
        print(f"soak: {args.minutes:g} min at {args.rate:g} req/s against the gateway (pid {gateway.pid})")
        print("at start (RSS MB / fds): " + ", ".join(f"{n} {m:.0f}/{f}" for n, (m, f) in sorted(before.items())))
        windows = asyncio.run(
            drive(f"http://127.0.0.1:{port}", args.rate, args.minutes * 60, args.window_s, gateway.pid)
        )
        report(windows, args.window_s)
    finally:
        tree = {gateway.pid, *(c.pid for c in psutil.Process(gateway.pid).children(recursive=True))}
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(60)
        _, alive = psutil.wait_procs(processes(tree), timeout=30)
        print(f"\nstopped: {len(alive)} process(es) left behind" + (f": {[p.pid for p in alive]}" if alive else ""))


if __name__ == "__main__":
    main()
