"""Streamed against whole synthesis on the local models: when does the first audio arrive?

    python bench/synth_stream.py [--rounds 3] [--sentences 1,2,4,8]

Starts the local model server (``adapters.local.supervisor``, as ``omnisense serve`` does)
and a gateway on it (uvicorn), then for texts of 1, 2, 4 and 8 sentences measures, at the
client, the time until the first byte of audio and until the last, for a whole answer
(``stream: false``: the first byte is the last) and for a streamed one (``stream: true``),
with the gateway's own ``ttfb`` (Server-Timing) beside it. The baseline is the whole
answer in the same run: the table's ratio is the streamed first byte over the whole answer's
time (how much sooner a player can start). Medians of ``--rounds`` rounds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.local.supervisor import BackgroundModelServer, ModelServer, default_command  # noqa: E402
from bench.overhead import free_port, running, uvicorn_cmd  # noqa: E402

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "It was a bright cold day in April.",
    "The clocks were striking thirteen.",
    "Then the fox ran home across the fields.",
    "Nobody saw it go, and nobody asked where.",
    "The farmer counted his hens in the morning.",
    "All of them were there, as they always were.",
    "So the day began like any other day.",
]


def once(http: httpx.Client, text: str, stream: bool) -> tuple[float, float, float]:
    """(first byte ms, last byte ms, gateway ttfb ms) at the client."""
    start = time.perf_counter()
    first = None
    with http.stream("POST", "/v1/speech/synthesize", json={"text": text, "stream": stream}) as r:
        assert r.status_code == 200, r.read()
        for chunk in r.iter_raw():
            if chunk and first is None:
                first = time.perf_counter()
        timing = dict(p.strip().split(";dur=") for p in r.headers.get("server-timing", "").split(",") if ";dur=" in p)
    end = time.perf_counter()
    assert first is not None
    return (first - start) * 1000, (end - start) * 1000, float(timing.get("ttfb", "nan"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sentences", default="1,2,4,8")
    args = parser.parse_args()
    counts = [int(n) for n in args.sentences.split(",")]
    models_port, gateway_port = free_port(), free_port()
    models_url = f"http://127.0.0.1:{models_port}"
    server = BackgroundModelServer(ModelServer(default_command("127.0.0.1", models_port), models_url, 300))
    server.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            policy, config = Path(tmp) / "policy.yaml", Path(tmp) / "gateway.yaml"
            policy.write_text(
                f"version: 1\nproviders:\n  local: {{kind: local, url: '{models_url}', timeout_s: 120}}\n"
                "defaults: {deadline_s: 180}\nroutes:\n  '*': {candidates: [local]}\n"
            )
            config.write_text(f"policy: {policy}\nlogs: {{sink: none}}\n")
            cmd = uvicorn_cmd(gateway_port, "gateway.asgi:app_from_env", "--factory")
            url = f"http://127.0.0.1:{gateway_port}"
            with running(cmd, f"{url}/healthz", env={"OMNISENSE_CONFIG": str(config)}):
                table(url, counts, args.rounds)
    finally:
        server.stop()


def table(url: str, counts: list[int], rounds: int) -> None:
    print("| sentences | characters | whole: audio at (ms) | stream: first byte (ms) | stream: gateway ttfb (ms) "
          "| stream: last byte (ms) | first byte / whole |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    with httpx.Client(base_url=url, timeout=300) as http:
        once(http, SENTENCES[0], False)  # warm up: the models' first call
        for n in counts:
            text = " ".join(SENTENCES[:n])
            whole = [once(http, text, False)[1] for _ in range(rounds)]
            streamed = [once(http, text, True) for _ in range(rounds)]
            w = statistics.median(whole)
            first = statistics.median(s[0] for s in streamed)
            ttfb = statistics.median(s[2] for s in streamed)
            last = statistics.median(s[1] for s in streamed)
            print(f"| {n} | {len(text)} | {w:.0f} | {first:.0f} | {ttfb:.0f} | {last:.0f} | {first / w:.2f} |")


if __name__ == "__main__":
    main()
