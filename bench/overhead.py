"""The gateway's own cost, against the floor of its own stack, measured in one run.

    python bench/overhead.py [--quick] [--rounds 3] [--control] [--workers] [--granian] [--baseline DIR]

Targets, every one started at once and measured in interleaved rounds (medians shown):

- floor: the thinnest litestar + uvicorn + aiohttp passthrough (``bench/passthrough.py``);
- omnisense: ``omnisense serve`` as users run it: the default SQLite request log, metrics
  on, one ``text.sentiment`` request routed to a ``local``-kind provider;
- omnisense, logging off: the same with ``logs.sink: none`` (records still built,
  redacted and counted in the metrics; nothing written);
- with ``--control``: a second "logging off" server, identical to the first: how far two
  equal servers differ in the same run (the noise floor of every other row's difference);
- with ``--workers``: ``omnisense serve --workers 1`` and ``--workers 2``, each allowed
  both cores (on a 2-core machine they share them with the load generator);
- with ``--granian``: the gateway's app on granian instead of uvicorn;
- with ``--baseline DIR``: the gateway of another checkout (``git worktree add --detach
  DIR <rev>``), default and logging off, measured in the same rounds: a change's before and
  after on the same busy machine.

The upstream is an instant fake model server (``bench/fake_upstream.py``). Servers are
pinned to core 1; the upstream and the load generator to core 0 (``taskset``), so they
do not steal each other's CPU. Columns:

- added p50 / p99: latency at 1 in flight minus the latency of calling the upstream
  directly, measured in the same round (the cost of the extra hop plus the server's work).
  The targets and the direct calls take turns in blocks of 100 requests, so that a noisy
  stretch of the machine lands on all of them alike;
- req/s at 64 in flight, and the share of the floor's;
- CPU per request: user + system time of the server's processes over the 64-in-flight
  phase, divided by the requests served (load-independent, unlike req/s on a busy machine);
  with several rounds, the lowest and highest round follow the median;
- RSS of the server's processes after the run, and start-up: launch to the first answer
  of ``/healthz``.

The 64-in-flight phase uses ``wrk`` when it is installed (``apt-get install wrk``): a
load generator in Python costs more CPU per request than the floor does, and on one core
it, not the server, would set the pace. Without wrk the aiohttp generator is used and
the table says so.
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
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
BODY = b'{"text": "What a lovely day at the beach"}'
PATH = "/v1/text/sentiment"
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(cores: str, cmd: list[str]) -> list[str]:
    return ["taskset", "-c", cores, *cmd] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else cmd


# --- the server's processes, read from /proc ----------------------------------------------


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (uvicorn's workers are its children)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = [pid], [pid]
    while frontier:
        children = [p for p, parent in parents.items() if parent in frontier]
        tree += children
        frontier = children
    return tree


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLK_TCK


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return total / 1024


# --- targets ------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    cmd: list[str]
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    cwd: Path = ROOT  # the checkout whose code it runs
    proc: subprocess.Popen[bytes] | None = None
    startup_s: float = 0.0
    samples: dict[str, list[float]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    def note(self, **values: float) -> None:
        for key, value in values.items():
            self.samples.setdefault(key, []).append(value)

    def median(self, key: str) -> float:
        values = self.samples.get(key)
        return statistics.median(values) if values else float("nan")


def gateway_config(tmp: Path, upstream: str, sink: str) -> Path:
    """A policy with one `local` provider at the fake upstream, and a config that uses it."""
    policy = tmp / "policy.yaml"
    routes = "routes:\n  '*': {candidates: [local]}\n"
    policy.write_text(f"version: 1\nproviders:\n  local: {{kind: local, url: '{upstream}'}}\n{routes}")
    config = tmp / f"gateway-{sink}.yaml"
    config.write_text(f"policy: {policy}\nlogs: {{sink: {sink}, path: {tmp / 'requests.db'}}}\n")
    return config


def serve_cmd(port: int, config: Path, workers: int = 1) -> list[str]:
    return [sys.executable, "-m", "gateway.cli", "serve", "--config", str(config), "--port", str(port),
            "--workers", str(workers), "--log-level", "warning"]  # fmt: skip


def uvicorn_cmd(port: int, app: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "uvicorn", *extra, "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop",
            "--http", "httptools", "--no-access-log", "--log-level", "warning", app]  # fmt: skip


def granian_cmd(port: int) -> list[str]:
    return [sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--host", "127.0.0.1", "--port",
            str(port), "--loop", "uvloop", "--log-level", "warning", "gateway.asgi:app_from_env"]  # fmt: skip


def targets(args: argparse.Namespace, tmp: Path, upstream: str) -> list[Target]:
    default, quiet = gateway_config(tmp, upstream, "sqlite"), gateway_config(tmp, upstream, "none")
    ports = iter(free_port() for _ in range(10))
    out = [
        Target("floor: litestar+uvicorn+aiohttp", pinned("1", uvicorn_cmd(p := next(ports), "bench.passthrough:app")),
               {"UPSTREAM": upstream}, p),
        Target("omnisense (SQLite log, metrics)", pinned("1", serve_cmd(p := next(ports), default)), {}, p),
        Target("omnisense, logging off", pinned("1", serve_cmd(p := next(ports), quiet)), {}, p),
    ]  # fmt: skip
    if args.control:
        out.append(Target("omnisense, logging off (control)", pinned("1", serve_cmd(p := next(ports), quiet)), {}, p))
    if args.baseline:
        base = Path(args.baseline).resolve()
        own = tmp / "baseline"  # its own request log: the two checkouts may not share a schema version
        own.mkdir(exist_ok=True)
        configs = (gateway_config(own, upstream, "sqlite"), gateway_config(own, upstream, "none"))
        for label, config in zip(("", ", logging off"), configs, strict=True):
            env = {"PYTHONPATH": str(base)}
            out.append(Target(f"omnisense at {base.name}{label}", pinned("1", serve_cmd(p := next(ports), config)), env,
                              p, cwd=base))  # fmt: skip
    if args.granian:
        env = {"OMNISENSE_CONFIG": str(default)}
        out.append(Target("omnisense on granian", pinned("1", granian_cmd(p := next(ports))), env, p))
    if args.workers:
        for n in (1, 2):
            cmd = pinned("0,1", serve_cmd(p := next(ports), default, n))
            out.append(Target(f"omnisense --workers {n} (cores 0-1)", cmd, {}, p))
    return out


# --- running them ---------------------------------------------------------------------------


def wait_up(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answers: that is all we wait for
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def running(
    cmd: list[str], health: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> Iterator[subprocess.Popen[bytes]]:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    proc = subprocess.Popen(cmd, cwd=cwd, env=full_env, stdout=subprocess.DEVNULL)
    try:
        wait_up(health, proc)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def start(stack: ExitStack, target: Target) -> None:
    begin = time.perf_counter()
    health = f"http://127.0.0.1:{target.port}/healthz"
    target.proc = stack.enter_context(running(target.cmd, health, target.env, target.cwd))
    target.startup_s = time.perf_counter() - begin


# --- load -------------------------------------------------------------------------------------


BLOCK = 100  # requests in a row to one target at 1 in flight, before the next target's turn
WARM = 10  # of each block, not counted: the target's first requests after the others ran


async def one_by_one(urls: list[str], requests: int) -> dict[str, list[float]]:
    """Latencies (ms) of ``requests`` requests to each of ``urls``, one in flight.

    The targets take turns in blocks of ``BLOCK`` requests, so a noisy stretch of the machine
    (a virtual machine's stolen time, another process) falls on every target alike instead of
    on whichever one was measuring then; each target still serves a run of requests at its
    own pace, as it would alone."""
    headers = {"Content-Type": "application/json"}
    latencies: dict[str, list[float]] = {url: [] for url in urls}
    async with aiohttp.ClientSession() as http:
        for _ in range(max(1, requests // BLOCK)):
            for url in urls:
                for i in range(WARM + min(BLOCK, requests)):
                    begin = time.perf_counter()
                    async with http.post(url, data=BODY, headers=headers) as r:
                        await r.read()
                        if r.status != 200:
                            raise RuntimeError(f"{url} answered {r.status}")
                    if i >= WARM:
                        latencies[url].append((time.perf_counter() - begin) * 1000)
    return latencies


async def in_flight_py(url: str, requests: int, concurrency: int) -> tuple[int, float]:
    """(requests served, seconds) with ``concurrency`` requests in flight, by aiohttp."""
    headers = {"Content-Type": "application/json"}
    remaining = requests
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                async with http.post(url, data=BODY, headers=headers) as r:
                    await r.read()
                    if r.status != 200:
                        raise RuntimeError(f"{url} answered {r.status}")

        begin = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return requests, time.perf_counter() - begin


WRK_SCRIPT = f"""wrk.method = "POST"
wrk.body = '{BODY.decode()}'
wrk.headers["Content-Type"] = "application/json"
"""


def in_flight_wrk(url: str, seconds: float, concurrency: int, script: Path) -> tuple[int, float]:
    """(requests served, seconds) with ``concurrency`` connections, by wrk on core 0."""
    cmd = pinned("0", ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds:g}s", "-s", str(script), url])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors against {url}:\n{out}")
    line = next(x for x in out.splitlines() if " requests in " in x)
    count, took = line.split(" requests in ")
    took = took.split(",")[0].strip()
    scale = 1e-3 if took.endswith("ms") else 60.0 if took.endswith("m") else 1.0
    return int(count.strip()), float(took.rstrip("ms")) * scale


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


# --- the run -------------------------------------------------------------------------------------


@dataclass
class Plan:
    rounds: int
    sequential: int  # requests at 1 in flight, per target and round
    loaded: int  # requests at 64 in flight (aiohttp), per target and round
    seconds: float  # seconds at 64 in flight (wrk), per target and round
    wrk: Path | None  # the wrk script, when wrk is installed


def measure(rows: list[Target], direct: str, plan: Plan) -> None:
    """One round: every target at 1 in flight (in turns, against calling the upstream directly), then each at 64."""
    lat = asyncio.run(one_by_one([direct, *(t.url for t in rows)], plan.sequential))
    base = lat[direct]
    for target in rows:
        mine = lat[target.url]
        target.note(added50=pct(mine, 50) - pct(base, 50), added99=pct(mine, 99) - pct(base, 99))
    for target in rows:
        assert target.proc is not None
        pids = process_tree(target.proc.pid)
        cpu = cpu_seconds(pids)
        if plan.wrk is not None:
            served, took = in_flight_wrk(target.url, plan.seconds, 64, plan.wrk)
        else:
            served, took = asyncio.run(in_flight_py(target.url, plan.loaded, 64))
        target.note(rps=served / took, cpu_us=(cpu_seconds(pids) - cpu) / served * 1e6)


def print_table(rows: list[Target], plan: Plan) -> None:
    gen = "wrk, 1 thread" if plan.wrk else "aiohttp (wrk not installed: the generator may set the pace)"
    print(f"\n{plan.rounds} round(s), medians; per round {plan.sequential} requests at 1 in flight to each target,")
    print(f"in turns of {BLOCK} (the upstream called directly taking its turn too);")
    print(f"64 in flight: {gen}; servers on core 1, upstream and load generator on core 0\n")
    print("| target | added p50 / p99 at 1 in flight | req/s at 64 in flight | CPU per request | RSS | start-up |")
    print("|---|---|---|---|---|---|")
    floor = rows[0].median("rps")
    for t in rows:
        share = "" if t is rows[0] else f" ({t.median('rps') / floor:.0%} of the floor)"
        added = f"+{t.median('added50'):.2f} / +{t.median('added99'):.2f} ms"
        cpu = t.samples.get("cpu_us", [])
        spread = f" ({min(cpu):,.0f}-{max(cpu):,.0f})" if len(cpu) > 1 else ""
        print(f"| {t.name} | {added} | {t.median('rps'):,.0f}{share} | {t.median('cpu_us'):,.0f} µs{spread} "
              f"| {t.median('rss'):.0f} MB | {t.startup_s:.2f} s |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one short round (under a minute)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sequential", type=int, default=5000, help="requests at 1 in flight per target and round")
    parser.add_argument("--control", action="store_true", help="add a second logging-off server (the noise floor)")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds at 64 in flight per round (wrk)")
    parser.add_argument("--workers", action="store_true", help="add --workers 1 and 2 rows (cores 0-1)")
    parser.add_argument("--granian", action="store_true", help="add the gateway on granian")
    parser.add_argument("--baseline", metavar="DIR", help="add the gateway of another checkout (before a change)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="omnisense-bench-"))
    script = None
    if shutil.which("wrk"):
        script = tmp / "post.lua"
        script.write_text(WRK_SCRIPT)
    plan = Plan(args.rounds, args.sequential, args.sequential * 5, args.seconds, script)
    if args.quick:
        plan = Plan(1, 300, 2000, 2.0, script)
    upstream_port = free_port()
    upstream = f"http://127.0.0.1:{upstream_port}"
    rows = targets(args, tmp, upstream)
    with ExitStack() as stack:
        stack.enter_context(running(pinned("0", [sys.executable, "bench/fake_upstream.py", str(upstream_port)]),
                                    f"{upstream}/readyz"))  # fmt: skip
        for t in rows:
            start(stack, t)
        for _ in range(plan.rounds):
            measure(rows, f"{upstream}/text/sentiment", plan)
        for t in rows:
            assert t.proc is not None
            t.note(rss=rss_mb(process_tree(t.proc.pid)))
    print_table(rows, plan)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
