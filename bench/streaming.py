"""Live sessions: 100 at once at real-time pace through ``WS /v1/speech/transcribe/stream``.

    python bench/streaming.py [--sessions 100] [--seconds 10]

Targets, one after the other, each a server process pinned to core 1 (``taskset``), the load
generator in this process pinned to core 0:

- floor: the thinnest litestar + uvicorn WebSocket answering a partial per 200 ms block
  (``bench/ws_floor.py``): the stack's own cost, no session engine;
- omnisense: ``omnisense serve`` with a scripted streaming provider
  (``contract_tests/scripted_stream.py``: it answers a partial the moment a 200 ms block is
  complete, so what is measured is the gateway), request log on (SQLite), metrics on.

Each session sends 16 kHz PCM in 100 ms frames at real-time pace (frame n at n x 100 ms) for
``--seconds``, then ``end``; the sessions start spread over one second. Columns:

- partial p50 / p99: from sending the frame that completes a block to receiving its partial;
  "added" is omnisense's minus the floor's (the latency the gateway adds to partials);
- CPU / audio s: the server process's user + system CPU over the run, per second of audio
  received (all sessions together);
- RSS / session: the server's RSS with every session open minus its RSS before, per session;
- failed: sessions that did not end with 1000 and ``done``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from contract_tests.scripted_stream import VOCAB, speech_pcm  # noqa: E402

FRAME_S = 0.1
STREAMER = "contract_tests.scripted_stream:ScriptedStreamer"


@dataclass
class Result:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    cpu_s: float = 0.0
    audio_s: float = 0.0
    rss_before: int = 0
    rss_peak: int = 0
    failed: int = 0
    failovers: int = 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(argv: list[str], core: int) -> list[str]:
    many = (os.cpu_count() or 1) > 1 and not os.environ.get("BENCH_NO_PIN")
    return ["taskset", "-c", str(core), *argv] if shutil.which("taskset") and many else argv


def audio(seconds: float) -> bytes:
    """Words with a pause every ten (finals), 200 ms each."""
    blocks = int(seconds / 0.2)
    return speech_pcm([None if i % 10 == 9 else VOCAB[i % len(VOCAB)] for i in range(blocks)])


async def session(url: str, pcm: bytes, delay: float, result: Result) -> None:
    await asyncio.sleep(delay)
    frame = int(16000 * FRAME_S) * 2
    sent: dict[int, float] = {}
    loop = asyncio.get_running_loop()
    ok = False
    async with connect(url, max_size=None) as ws:
        await ws.send(json.dumps({"type": "start", "sample_rate": 16000}))

        async def send() -> None:
            began = loop.time()
            for n, i in enumerate(range(0, len(pcm), frame)):
                await asyncio.sleep(max(0.0, began + n * FRAME_S - loop.time()))
                sent[n] = time.perf_counter()
                await ws.send(pcm[i : i + frame])
            await ws.send('{"type": "end"}')

        sender = asyncio.create_task(send())
        async for message in ws:
            now = time.perf_counter()
            event = json.loads(message)
            if event["type"] == "partial":
                n = round(event["end_s"] / FRAME_S) - 1  # the frame that completed the block
                if n in sent:
                    result.latencies_ms.append((now - sent[n]) * 1000.0)
            elif event["type"] == "done":
                ok = True
                result.failovers += int(event.get("failovers", 0))
        await sender
    result.audio_s += len(pcm) / 32000
    if not ok or ws.close_code != 1000:
        result.failed += 1


async def load(url: str, sessions: int, seconds: float, proc: psutil.Process, result: Result) -> None:
    pcm = audio(seconds)
    cpu = proc.cpu_times()
    result.rss_before = proc.memory_info().rss

    async def watch() -> None:
        while True:
            result.rss_peak = max(result.rss_peak, proc.memory_info().rss)
            await asyncio.sleep(0.25)

    watcher = asyncio.create_task(watch())
    await asyncio.gather(*(session(url, pcm, i / sessions, result) for i in range(sessions)))
    watcher.cancel()
    after = proc.cpu_times()
    result.cpu_s = (after.user + after.system) - (cpu.user + cpu.system)


def start(argv: list[str], port: int, cwd: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(pinned(argv, 1), cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                time.sleep(0.5)
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{argv} did not start")


def serving(proc: subprocess.Popen[bytes]) -> psutil.Process:
    """The process that serves (taskset execs the server in place)."""
    return psutil.Process(proc.pid)


def run_target(name: str, argv: list[str], port: int, tmp: Path, args: argparse.Namespace) -> Result:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = start(argv, port, tmp, env)
    result = Result(name)
    try:
        url = f"ws://127.0.0.1:{port}/v1/speech/transcribe/stream"
        asyncio.run(load(url, args.sessions, args.seconds, serving(proc), result))
    finally:
        proc.terminate()
        proc.wait(30)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2, help="floor and omnisense alternately, this many times")
    args = parser.parse_args()
    if shutil.which("taskset") and (os.cpu_count() or 1) > 1 and not os.environ.get("BENCH_NO_PIN"):
        os.sched_setaffinity(0, {0})
    tmp = Path(tempfile.mkdtemp(prefix="bench-streaming-"))
    policy = tmp / "policy.yaml"
    policy.write_text(f'version: 1\nproviders:\n  scripted: {{kind: "{STREAMER}", price_usd: 0.0001}}\n'
                      "routes:\n  speech.transcribe: {candidates: [scripted]}\n")  # fmt: skip
    config = tmp / "config.yaml"
    config.write_text(f"policy: {policy}\nlogs: {{sink: sqlite, path: {tmp / 'requests.db'}}}\n"
                      f"streaming: {{max_sessions: {args.sessions * 2}}}\n")  # fmt: skip
    py = sys.executable
    floors, gateways = [], []
    for n in range(args.rounds):  # alternately: a busy minute hits both targets alike
        port = free_port()
        floor_argv = [py, "-m", "uvicorn", "bench.ws_floor:app", "--port", str(port), "--log-level", "warning"]
        floors.append(run_target(f"floor (litestar + uvicorn WS), round {n + 1}", floor_argv, port, tmp, args))
        port = free_port()
        serve = [
            py,
            "-m",
            "gateway.cli",
            "serve",
            "--config",
            str(config),
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
        gateways.append(run_target(f"omnisense (scripted provider), round {n + 1}", serve, port, tmp, args))
    shutil.rmtree(tmp, ignore_errors=True)
    table(args, floors, gateways)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def table(args: argparse.Namespace, floors: list[Result], gateways: list[Result]) -> None:
    print(f"\n{args.sessions} sessions at once, {args.seconds:g} s of 16 kHz audio each at real-time pace, "
          "server on one core\n")  # fmt: skip
    columns = ["target", "partial p50 ms", "partial p99 ms", "CPU ms / audio s", "RSS / session KiB", "partials",
               "failed", "failovers"]  # fmt: skip
    print("| " + " | ".join(columns) + " |")
    print("|---|---|---|---|---|---|---|---|")
    for r in [x for pair in zip(floors, gateways, strict=True) for x in pair]:
        per_session = (r.rss_peak - r.rss_before) / 1024 / max(1, args.sessions)
        cpu = r.cpu_s * 1000 / max(r.audio_s, 1e-9)
        print(f"| {r.name} | {_pct(r.latencies_ms, 0.5):.2f} | {_pct(r.latencies_ms, 0.99):.2f} | "
              f"{cpu:.3f} | {per_session:.0f} | {len(r.latencies_ms)} | {r.failed} | {r.failovers} |")  # fmt: skip
    added50 = statistics.median(
        _pct(g.latencies_ms, 0.5) - _pct(f.latencies_ms, 0.5) for f, g in zip(floors, gateways, strict=True)
    )
    added99 = statistics.median(
        _pct(g.latencies_ms, 0.99) - _pct(f.latencies_ms, 0.99) for f, g in zip(floors, gateways, strict=True)
    )
    cpu = statistics.median(g.cpu_s * 1000 / max(g.audio_s, 1e-9) for g in gateways)
    print(
        f"\nmedian over rounds: the gateway adds {added50:.2f} ms (p50) and {added99:.2f} ms (p99) to partials "
        f"over the floor; gateway CPU {cpu:.3f} ms per audio second ({cpu / 10:.3f} % of a core per live session)"
    )


if __name__ == "__main__":
    main()
