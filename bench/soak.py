"""Soak: a bounded steady-rate run against the gateway and the model server it supervises.

    python bench/soak.py                      # 30 min at 10 req/s, a row per minute
    python bench/soak.py --minutes 2 --window-s 20 --rate 3 --check   # CI's short version (tests/test_soak.py)

It starts ``omnisense serve`` on the default config (the SQLite request log, its spool, jobs
on) with the ``local`` preset (so the gateway starts and supervises the real BentoML model
server) plus a cloud fake (``FlakyCloud``: 20 ms, 1 % of calls fail, the local models are its
fallback) for the tasks the local models do not offer, and sends a steady mix at ``--rate``
per second: every local task (text, images, speech synthesis), the cloud fake's tasks, cache
hits (``text.language`` caches; the texts repeat) and, every ``--job-every-s``, a batch job.
It prints one row per window: requests, errors, latency p50/p95/p99, jobs finished, log
records against the requests and job items answered so far, the spool's size, and for the
gateway and for each model-server process (the BentoML root, the entry worker
``omnisense_local``, the family workers) the resident memory and open file descriptors at the
window's end. Then each process's RSS growth over the last two thirds of the run (the issue's
"last 20 minutes" of 30), which must stay within 5 %, and each process's RSS growth per 1,000
requests, window by window: a process that leaks keeps growing at a steady rate; one that
warms up levels off. With ``--check`` it exits 1, naming what failed, when a request got an error,
the log's records fall short of (or exceed) the requests and job items answered, the spool is
not empty at the end, a process grew past the limit, or a process was left behind.

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
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # ``adapters`` is the package, not bench/adapters.py

from contract_tests.scripted_provider import Fail, ScriptedProvider
from omnisense.schema import UpstreamUnavailable

ROOT = Path(__file__).resolve().parents[1]
CLOUD_TASKS = ["vision.objects", "text.moderation"]
GROWTH_LIMIT = 0.05  # RSS growth allowed over the last two thirds of the run
TEXTS = [
    "What a lovely day in Paris with Marie and the team from Acme Corp.",
    "The service was slow and the food was cold, but the staff apologised.",
    "Quarterly revenue grew 12 percent while costs fell in Berlin and Madrid.",
    "I can't believe how good this new phone is! 😀",
]
JSON_REQUESTS = [
    ("/v1/text/sentiment", lambda t: {"text": t}),
    ("/v1/text/language", lambda t: {"text": t}),  # cached: the texts repeat, so mostly hits
    ("/v1/text/entities", lambda t: {"text": t, "language": "en"}),
    ("/v1/text/key-phrases", lambda t: {"text": t, "language": "en"}),
    ("/v1/text/translate", lambda t: {"text": t, "source_language": "en", "target_language": "es"}),
    ("/v1/text/moderation", lambda t: {"text": t}),  # the cloud fake
    ("/v1/speech/synthesize", lambda t: {"text": t[:40]}),
]
IMAGE_PATHS = ["/v1/vision/labels", "/v1/vision/ocr", "/v1/vision/faces", "/v1/vision/moderation", "/v1/vision/objects"]


class FlakyCloud(ScriptedProvider):
    """The cloud fake: a scripted provider (20 ms) whose calls fail 1 % of the time."""

    async def run(self, task, request, ctx):  # type: ignore[no-untyped-def]
        if random.random() < 0.01:
            self.script(Fail(UpstreamUnavailable))
        return await super().run(task, request, ctx)


def png() -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (160, 60), "white")
    ImageDraw.Draw(img).text((10, 20), "HELLO 42", fill="black")
    buf = __import__("io").BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@dataclass
class Window:
    index: int
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    memory: dict[str, tuple[float, int]] = field(default_factory=dict)  # process -> (RSS MB, fds)
    jobs_done: int = 0
    answered: int = 0  # requests and job items answered so far (each owes one record)
    records: int = 0  # rows in the request log at the window's end
    spool_bytes: float = 0.0


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
            if name != "gateway" and not name.startswith("models:"):
                continue  # the reaper, a shell, a translation pipeline's short-lived helpers
            rss, fds = proc.memory_info().rss / 2**20, proc.num_fds()
        except psutil.Error:
            continue
        old = out.get(name, (0.0, 0))
        out[name] = (old[0] + rss, old[1] + fds)
    return out


def start_gateway(port: int, log_path: Path, db: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BENTOML_DO_NOT_TRACK": "True"}
    models_port = free_port()
    policy = Path(tempfile.mkdtemp()) / "soak.yaml"
    preset = (ROOT / "policies" / "presets" / "local.yaml").read_text()
    preset = preset.replace("{kind: local", f"{{kind: local, port: {models_port}")
    preset = preset.replace(
        "providers:\n",
        f"providers:\n  cloud: {{kind: 'bench.soak:FlakyCloud', latency_ms: 20, tasks: {CLOUD_TASKS}}}\n",
    )
    preset += "  text.language: {candidates: [local], cache: {ttl_s: 3600}}\n"
    preset += "".join(f"  {t}: {{candidates: [cloud, local]}}\n" for t in CLOUD_TASKS)
    policy.write_text(preset)
    config = policy.with_name("config.yaml")  # the default config, but for where the log and spool live
    config.write_text(f"policy: {policy}\nlogs: {{path: {db}, spool: {{dir: {db.parent / 'spool'}}}}}\n")
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


@dataclass
class Counts:
    answered: int = 0
    jobs: list[str] = field(default_factory=list)
    jobs_done: int = 0


async def close_window(window: Window, gateway_pid: int, http: httpx.AsyncClient, counts: Counts, db: Path) -> None:
    window.memory = snapshot(gateway_pid)
    window.answered = counts.answered
    window.jobs_done = counts.jobs_done
    with contextlib.suppress(sqlite3.Error), sqlite3.connect(db, timeout=5) as conn:
        window.records = int(conn.execute("SELECT count(*) FROM request_log").fetchone()[0])
    with contextlib.suppress(httpx.HTTPError):
        for line in (await http.get("/metrics")).text.splitlines():
            if line.startswith("omnisense_log_spool_bytes "):
                window.spool_bytes = float(line.split()[1])


async def drive(args: argparse.Namespace, url: str, gateway_pid: int, db: Path) -> list[Window]:
    rate, seconds, window_s = args.rate, args.minutes * 60, args.window_s
    windows = [Window(0)]
    counts = Counts()
    image = png()
    start = time.monotonic()
    pending: set[asyncio.Task[None]] = set()
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:

        async def one(window: Window) -> None:
            t0 = time.perf_counter()
            try:
                if random.random() < 0.25:
                    r = await http.post(
                        random.choice(IMAGE_PATHS), content=image, headers={"Content-Type": "image/png"}
                    )
                else:
                    path, body = random.choice(JSON_REQUESTS)
                    r = await http.post(path, json=body(random.choice(TEXTS)))
                ok = r.status_code == 200
                counts.answered += 1  # an answer, error or not, leaves a record
            except httpx.HTTPError:
                ok = False
            window.latencies.append((time.perf_counter() - t0) * 1000)
            window.errors += not ok

        async def job() -> None:
            body = {"task": "text.sentiment", "inputs": [{"text": t} for t in TEXTS[:3]]}
            with contextlib.suppress(httpx.HTTPError):
                r = await http.post("/v1/jobs", json=body)
                if r.status_code == 202:
                    job_id = r.json()["id"]
                    counts.jobs.append(job_id)
                    status = "queued"
                    for _ in range(1200):  # polled as a client does, for up to 10 minutes
                        status = (await http.get(f"/v1/jobs/{job_id}")).json()["status"]
                        if status not in ("queued", "running"):
                            break
                        await asyncio.sleep(0.5)
                    counts.jobs_done += 1
                    counts.answered += 3 if status == "succeeded" else 0

        sent = 0
        next_job = 0.0
        while (now := time.monotonic() - start) < seconds:
            if now >= (windows[-1].index + 1) * window_s:
                await close_window(windows[-1], gateway_pid, http, counts, db)
                windows.append(Window(windows[-1].index + 1))
            if now >= next_job:
                next_job = now + args.job_every_s
                task = asyncio.ensure_future(job())
                pending.add(task)
                task.add_done_callback(pending.discard)
            task = asyncio.ensure_future(one(windows[-1]))
            pending.add(task)
            task.add_done_callback(pending.discard)
            sent += 1
            await asyncio.sleep(max(0.0, start + sent / rate - time.monotonic()))
        await asyncio.gather(*pending)
        await asyncio.sleep(1)  # the log's linger and batch: the last records are written
        await close_window(windows[-1], gateway_pid, http, counts, db)
    return [w for w in windows if w.latencies]


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) >= 2 else (values[0] if values else 0.0)


def report(windows: list[Window], window_s: float) -> list[str]:
    """Print the tables; what went wrong (``--check`` fails on it)."""
    names = sorted({n for w in windows for n in w.memory}, key=lambda n: (n != "gateway", n))
    print(f"\n### Per {window_s / 60:g}-minute window\n")
    head = ["window", "requests", "errors", "p50 ms", "p95 ms", "p99 ms", "jobs done", "records / answered",
            "spool KB"] + [f"{n} RSS MB / fds" for n in names]  # fmt: skip
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---:" for _ in head) + "|")
    for w in windows:
        cells = [str(w.index + 1), str(len(w.latencies)), str(w.errors)]
        cells += [f"{pct(w.latencies, q):.1f}" for q in (50, 95, 99)]
        cells += [str(w.jobs_done), f"{w.records} / {w.answered}", f"{w.spool_bytes / 1024:.0f}"]
        cells += [f"{w.memory[n][0]:.0f} / {w.memory[n][1]}" if n in w.memory else "-" for n in names]
        print("| " + " | ".join(cells) + " |")
    grown = growth(windows, names)
    print("\n### RSS growth per 1,000 requests (MB), window over window\n")
    print("| window | " + " | ".join(names) + " |")
    print("|---:|" + "|".join("---:" for _ in names) + "|")
    for before, after in itertools.pairwise(windows):
        per_k = 1000 / max(1, len(after.latencies))
        cells = [f"{(after.memory.get(n, (0, 0))[0] - before.memory.get(n, (0, 0))[0]) * per_k:+.1f}" for n in names]
        print(f"| {before.index + 1}->{after.index + 1} | " + " | ".join(cells) + " |")
    last = windows[-1]
    failures = [f"{n} grew {g:+.1%}" for n, g in grown.items() if g > GROWTH_LIMIT]
    if errors := sum(w.errors for w in windows):
        failures.append(f"{errors} requests failed")
    if last.records != last.answered:
        failures.append(f"{last.records} log records for {last.answered} answered requests and job items")
    if last.spool_bytes:
        failures.append(f"{last.spool_bytes:.0f} bytes left in the spool")
    return failures


def growth(windows: list[Window], names: list[str]) -> dict[str, float]:
    """RSS growth of each process over the last two thirds of the run (the first third warms up)."""
    if len(windows) < 3:
        return {}
    first, last = windows[len(windows) // 3], windows[-1]
    print(f"\n### RSS growth from window {first.index + 1} to {last.index + 1} (limit {GROWTH_LIMIT:.0%})\n")
    print("| process | RSS MB then | RSS MB at the end | growth | within limit |")
    print("|---|---:|---:|---:|---|")
    grown: dict[str, float] = {}
    for n in names:
        before, after = first.memory.get(n, (0.0, 0))[0], last.memory.get(n, (0.0, 0))[0]
        g = grown[n] = (after - before) / before if before else 0.0
        print(f"| {n} | {before:.0f} | {after:.0f} | {g:+.1%} | {'yes' if g <= GROWTH_LIMIT else 'NO'} |")
    return grown


def processes(pids: set[int]) -> list[psutil.Process]:
    out = []
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            out.append(psutil.Process(pid))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--window-s", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=10.0, help="requests per second")
    parser.add_argument("--job-every-s", type=float, default=10.0, help="a 3-input batch job this often")
    parser.add_argument("--check", action="store_true", help="exit 1 when the run failed (see above)")
    args = parser.parse_args()
    cores = sorted(os.sched_getaffinity(0))
    port = free_port()
    log_path = Path(tempfile.mkdtemp()) / "gateway.log"
    db = log_path.with_name("requests.db")
    gateway = start_gateway(port, log_path, db)
    if len(cores) > 1:
        os.sched_setaffinity(0, {cores[-1]})  # the load generator; the servers keep every core
    try:
        before = snapshot(gateway.pid)
        print(f"soak: {args.minutes:g} min at {args.rate:g} req/s against the gateway (pid {gateway.pid})")
        print("at start (RSS MB / fds): " + ", ".join(f"{n} {m:.0f}/{f}" for n, (m, f) in sorted(before.items())))
        windows = asyncio.run(drive(args, f"http://127.0.0.1:{port}", gateway.pid, db))
        failures = report(windows, args.window_s)
    finally:
        tree = {gateway.pid, *(c.pid for c in psutil.Process(gateway.pid).children(recursive=True))}
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(60)
        _, alive = psutil.wait_procs(processes(tree), timeout=30)
        print(f"\nstopped: {len(alive)} process(es) left behind" + (f": {[p.pid for p in alive]}" if alive else ""))
    if alive:
        failures.append(f"{len(alive)} processes left behind")
    if args.check and failures:
        raise SystemExit("soak failed: " + "; ".join(failures))


if __name__ == "__main__":
    main()
