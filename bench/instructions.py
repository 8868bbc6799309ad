"""The gateway's own cost in CPU instructions per request, against the floor: a figure that a
busy machine does not change (``bench/overhead.py`` measures seconds, which it does).

    python bench/instructions.py [--requests 600]      # needs valgrind (apt-get install valgrind)

Each target is the ASGI app itself, driven in process (no HTTP server: uvicorn's share
is the same for every target and is left out), 16 requests in flight, one
``text.sentiment`` request each, against the instant fake model server
(``bench/fake_upstream.py``, another process, not counted):

- floor: the thinnest litestar + aiohttp passthrough (``bench/passthrough.py``);
- omnisense: the gateway's app as ``omnisense serve`` builds it, default SQLite request
  log and metrics on, routing to a ``local``-kind provider;
- omnisense, logging off: the same with ``logs.sink: none``.

Every target runs twice under ``valgrind --tool=callgrind`` (Python's start-up and a
warm-up included), once with N and once with 4N requests; the difference divided by 3N
is the cost of one request, start-up cancelled out. A count still moves by about 2 %
from run to run (how many events the event loop finds ready at each turn depends on
timing), far less than seconds do on a busy machine; read the ratio to the floor measured
in the same run. A run takes a few minutes per target.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.overhead import BODY, PATH, free_port, running  # noqa: E402

TARGETS = {
    "floor": "floor: litestar+aiohttp",
    "sqlite": "omnisense (SQLite log, metrics)",
    "none": "omnisense, logging off",
}


def _scope() -> dict[str, Any]:
    headers = [(b"host", b"bench"), (b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))]
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": PATH, "raw_path": PATH.encode(), "query_string": b"", "root_path": "", "headers": headers,
            "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 2), "state": {}}  # fmt: skip


async def _one(app: Any) -> None:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": BODY, "more_body": False}
        await asyncio.Event().wait()  # nobody disconnects
        raise AssertionError

    status: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app(_scope(), receive, send)
    if status != [200]:
        raise RuntimeError(f"the app answered {status}")


async def _load(app: Any, requests: int, in_flight: int = 16) -> None:
    left = iter(range(requests))

    async def worker() -> None:
        for _ in left:
            await _one(app)

    await asyncio.gather(*(worker() for _ in range(in_flight)))


def _app(target: str, upstream: str, tmp: Path) -> Any:
    if target == "floor":
        os.environ["UPSTREAM"] = upstream
        from bench.passthrough import app

        return app
    from gateway.jobs.settings import JobSettings
    from gateway.server import GatewayConfig, create_app
    from gateway.server.config import LogSettings, ProbeSettings

    # Under valgrind everything runs some 50 times slower: timeouts that no request reaches,
    # and no background work (probes, the jobs poll, the policy watch) that would count
    # instructions by the second rather than by the request.
    policy = tmp / "policy.yaml"
    provider = f"{{kind: local, url: '{upstream}', timeout_s: 900}}"
    routes = "defaults: {timeout_s: 900, deadline_s: 900}\nroutes:\n  '*': {candidates: [local]}\n"
    policy.write_text(f"version: 1\nproviders:\n  local: {provider}\n{routes}")
    logs = LogSettings(sink="sqlite", path=str(tmp / "requests.db")) if target == "sqlite" else LogSettings(sink="none")
    config = GatewayConfig(
        policy=str(policy), logs=logs, policy_watch_s=None, jobs=JobSettings(enabled=False),
        probes=ProbeSettings(interval_s=86_400, timeout_s=900),
    )  # fmt: skip
    return create_app(config, tune_gc=True)


async def _drive(target: str, requests: int, upstream: str) -> None:
    """In the child under valgrind: start the app, warm it up, serve ``requests``, stop it."""
    app = _app(target, upstream, Path(tempfile.mkdtemp(prefix="omnisense-bench-")))
    to_app: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    from_app: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    await to_app.put({"type": "lifespan.startup"})
    life = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, to_app.get,
                                   from_app.put))  # fmt: skip
    if (await from_app.get())["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"{target} did not start")
    await _load(app, 300)
    await _load(app, requests)
    await to_app.put({"type": "lifespan.shutdown"})
    await from_app.get()
    await life


def _instructions(target: str, requests: int, upstream: str, out: Path) -> int:
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, __file__,
           "--child", target, "--requests", str(requests), "--upstream", upstream]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(cmd, check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    match = re.search(r"^summary: (\d+)", out.read_text(errors="replace"), re.M)
    if match is None:
        raise RuntimeError(f"no instruction count in {out}")
    return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200, help="N: the runs serve N and 4N requests")
    parser.add_argument("--child", choices=sorted(TARGETS), help=argparse.SUPPRESS)
    parser.add_argument("--upstream", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import uvloop

        uvloop.run(_drive(args.child, args.requests, args.upstream))
        return
    port = free_port()
    upstream = f"http://127.0.0.1:{port}"
    per_request: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, running([sys.executable, "bench/fake_upstream.py", str(port)],
                                                       f"{upstream}/readyz"):  # fmt: skip
        for target in TARGETS:
            small = _instructions(target, args.requests, upstream, Path(tmp) / f"{target}.1")
            large = _instructions(target, 4 * args.requests, upstream, Path(tmp) / f"{target}.4")
            per_request[target] = (large - small) / (3 * args.requests)
            print(f"{TARGETS[target]}: {per_request[target]:,.0f} instructions per request", file=sys.stderr)
    floor = per_request["floor"]
    print("\n| target | instructions per request | vs the floor | added by the gateway |")
    print("|---|---|---|---|")
    for target, label in TARGETS.items():
        value = per_request[target]
        print(f"| {label} | {value:,.0f} | {value / floor:.2f}x | {value - floor:+,.0f} |")


if __name__ == "__main__":
    main()
