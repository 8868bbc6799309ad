"""Start-up time and memory with all four clouds configured: vendor SDKs load lazily, per service.

    python bench/startup.py [--rounds 3]

Serves a policy naming ``aws``, ``google``, ``azure`` and ``local`` (the local provider
pointed at the instant fake upstream, so no model server starts) with ``omnisense serve``,
and prints:

- start-up: launch to the first answer of ``/healthz`` (median of ``--rounds`` starts);
- RSS right after start-up, when no vendor SDK has been imported yet;
- RSS after one request per (cloud, task) below, each pinned to that cloud: every SDK a
  policy can reach is then imported. The machine has no route to the vendors, so the
  calls fail (that is fine: the SDK was loaded to make them); credentials are dummies.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository first

from bench.overhead import free_port, pinned, process_tree, rss_mb, running

POLICY = """version: 1
providers:
  aws: {{kind: aws, region: us-east-1, timeout_s: 2}}
  gcp: {{kind: google, location: global, api_key: dummy-google-key-0123456789, timeout_s: 2}}
  azure: {{kind: azure, endpoint: "https://bench.cognitiveservices.azure.com", key: dummy-azure-key-0123456789,
          region: westeurope, timeout_s: 2}}
  local: {{kind: local, url: "{upstream}"}}
defaults: {{retries: {{attempts: 1}}, deadline_s: 5}}
routes:
  "*": {{strategy: cheapest, candidates: [aws, gcp, azure], fallback: [local]}}
"""
CLOUDS = ("aws", "gcp", "azure")
ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_EC2_METADATA_DISABLED": "true"}


def png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def touch_every_sdk(base: str) -> None:
    """One request per (cloud, task family), pinned to the cloud: each imports its SDK."""
    image = png()
    with httpx.Client(base_url=base, timeout=30) as http:
        for cloud in CLOUDS:
            pin = {"X-Omnisense-Provider": cloud}
            http.post("/v1/text/sentiment", json={"text": "What a lovely day"}, headers=pin)
            http.post("/v1/text/translate", json={"text": "Good morning", "target_language": "es"}, headers=pin)
            http.post("/v1/vision/labels", content=image, headers={**pin, "Content-Type": "image/png"})
            http.post("/v1/speech/synthesize", json={"text": "Hello"}, headers=pin)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="omnisense-startup-"))
    upstream_port = free_port()
    upstream = f"http://127.0.0.1:{upstream_port}"
    (tmp / "policy.yaml").write_text(POLICY.format(upstream=upstream))
    (tmp / "gateway.yaml").write_text(f"policy: {tmp / 'policy.yaml'}\nlogs: {{sink: sqlite, path: {tmp / 'r.db'}}}\n")
    starts: list[float] = []
    idle = loaded = 0.0
    with ExitStack() as stack:
        fake = [sys.executable, "bench/fake_upstream.py", str(upstream_port)]
        stack.enter_context(running(pinned("0", fake), f"{upstream}/readyz"))
        for i in range(args.rounds):
            port = free_port()
            cmd = [sys.executable, "-m", "gateway.cli", "serve", "--config", str(tmp / "gateway.yaml"),
                   "--port", str(port), "--log-level", "warning"]  # fmt: skip
            begin = time.perf_counter()
            with running(pinned("1", cmd), f"http://127.0.0.1:{port}/healthz", ENV) as proc:
                starts.append(time.perf_counter() - begin)
                if i == args.rounds - 1:
                    idle = rss_mb(process_tree(proc.pid))
                    touch_every_sdk(f"http://127.0.0.1:{port}")
                    loaded = rss_mb(process_tree(proc.pid))
    print("\npolicy: aws, google, azure and local (at a fake upstream); omnisense serve, SQLite log\n")
    print("| start-up (median) | RSS after start-up | RSS with every SDK loaded (text, translate, vision, speech) |")
    print("|---|---|---|")
    print(f"| {statistics.median(starts):.2f} s (of {len(starts)}) | {idle:.0f} MB | {loaded:.0f} MB |")


if __name__ == "__main__":
    main()
