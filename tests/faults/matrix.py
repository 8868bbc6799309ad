"""The fault matrix: every fault kind x every strategy, with one healthy candidate.

A route has two candidates: ``bad``, which fails in the scenario's way, and ``good``, a
scripted provider that answers. ``bad`` is the real ``local`` adapter talking HTTP to a
scripted fake of the model server (so resets, truncated bodies and Retry-After headers
cross a real socket), except for ``crash`` (an adapter bug, in-process). For each cell
the whole gateway runs in-process and we count what a user and an operator see:
answered requests, calls ``bad`` received per request (the fake's own count, so a retry
hidden under the dispatcher would show), log records.

``python -m tests.faults.matrix`` prints the table; ``test_fault_matrix.py`` asserts it.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from litestar.testing import TestClient

from contract_tests.fakes import Reply, ScriptedVendor
from contract_tests.scripted_provider import Crash, ScriptedProvider
from gateway.logs import MemorySink
from gateway.server import GatewayConfig, create_app
from gateway.server.config import LogSettings

SCRIPTED = "contract_tests.scripted_provider:ScriptedProvider"
STRATEGIES = ("priority", "cheapest", "fastest", "weighted", "round_robin")
ATTEMPTS = 3
DEADLINE_S = 4.0
TIMEOUT_S = 2.0
HANG_TIMEOUT_S = 0.3  # `bad`'s timeout in the hang scenario (a slow machine never trips 2 s elsewhere)
CAPABILITIES = {"tasks": {"text.sentiment": {"model": "vader", "languages": None}}, "device": "cpu"}
SENTIMENT = {"label": "positive", "scores": {"positive": 0.8, "negative": 0.0, "neutral": 0.2, "mixed": 0.0}}

# scenario -> the reply `bad` gives to every call (None: the in-process adapter crash)
SCENARIOS: dict[str, Callable[[], Reply] | None] = {
    "5xx": lambda: Reply(status=500, body=b"Internal Server Error", content_type="text/plain"),
    "503 overloaded": lambda: Reply(status=503, json={"error": "overloaded"}),
    "429 Retry-After 0.05s": lambda: Reply(status=429, json={}, headers={"Retry-After": "0.05"}),
    "429 Retry-After 30s": lambda: Reply(status=429, json={}, headers={"Retry-After": "30"}),
    "hang": lambda: Reply(hang=True),
    "connection reset": Reply.connection_reset,
    "malformed 200": Reply.malformed,
    "truncated 200": lambda: Reply.truncated(SENTIMENT),
    "error inside 200": lambda: Reply(json={"label": "positive", "scores": {"positive": 80}}),
    "adapter crash": None,
}


@dataclass
class Cell:
    scenario: str
    strategy: str
    requests: int
    answered: int
    bad_calls: list[int]  # per request, as the fake (or the scripted adapter) counted them
    recorded_bad_attempts: list[int]  # per request, from the log record's attempts
    records: int
    max_latency_s: float

    @property
    def max_calls(self) -> int:
        return max(self.bad_calls, default=0)


def policy(strategy: str, bad_block: str, bad_timeout_s: float = TIMEOUT_S) -> str:
    return f"""
version: 1
providers:
  bad:  {bad_block}
  good: {{kind: "{SCRIPTED}", label: good, price_usd: 0.002}}
defaults:
  timeout_s: {TIMEOUT_S}
  deadline_s: {DEADLINE_S}
  retries: {{attempts: {ATTEMPTS}, backoff_s: 0.01, max_backoff_s: 0.05}}
  circuit: {{failures: 0}}
  fastest: {{explore: 0.5}}
routes:
  "*": {{strategy: {strategy}, candidates: [{{provider: bad, timeout_s: {bad_timeout_s}}}, good]}}
"""


def fake_model_server() -> ScriptedVendor:
    vendor = ScriptedVendor().start()
    vendor.route("POST", "/capabilities", lambda _: Reply(json=CAPABILITIES))
    vendor.route("GET", "/readyz", lambda _: Reply(body=b"ok", content_type="text/plain"))
    return vendor


def run_cell(scenario: str, strategy: str, requests: int = 8) -> Cell:
    make_reply = SCENARIOS[scenario]
    vendor = fake_model_server() if make_reply is not None else None
    if vendor is not None and make_reply is not None:
        vendor.route("POST", "/text/sentiment", lambda _: make_reply())
        bad_block = f'{{kind: local, url: "{vendor.url}"}}'
    else:
        bad_block = f'{{kind: "{SCRIPTED}", label: bad, price_usd: 0.001}}'
    sink = MemorySink()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "policy.yaml"
        path.write_text(policy(strategy, bad_block, HANG_TIMEOUT_S if scenario == "hang" else TIMEOUT_S))
        config = GatewayConfig(policy=str(path), logs=LogSettings(sink="none"), policy_watch_s=None)
        try:
            with TestClient(create_app(config, sink=sink)) as client:
                bad = client.app.state.runtime.providers["bad"]
                if isinstance(bad, ScriptedProvider):
                    bad.default = Crash()
                cell = _drive(client, bad, vendor, scenario, strategy, requests)
        finally:
            if vendor is not None:
                vendor.stop()
    cell.records = len(sink.records)
    cell.recorded_bad_attempts = [
        sum(1 for a in r.attempts if a.provider == "bad" and a.outcome != "skipped") for r in sink.records
    ]
    return cell


def _drive(
    client: TestClient,  # type: ignore[type-arg]
    bad: object,
    vendor: ScriptedVendor | None,
    scenario: str,
    strategy: str,
    requests: int,
) -> Cell:
    cell = Cell(scenario, strategy, requests, 0, [], [], 0, 0.0)
    for i in range(requests):
        before = _bad_calls(bad, vendor)
        start = time.monotonic()
        r = client.post("/v1/text/sentiment", json={"text": f"request {i} is fine"})
        cell.max_latency_s = max(cell.max_latency_s, time.monotonic() - start)
        cell.answered += r.status_code == 200 and r.json()["provider"] == "good"
        cell.bad_calls.append(_bad_calls(bad, vendor) - before)
    return cell


def _bad_calls(bad: object, vendor: ScriptedVendor | None) -> int:
    if vendor is not None:
        return sum(1 for r in vendor.requests if r.path == "/text/sentiment")
    assert isinstance(bad, ScriptedProvider)
    return len(bad.calls)


def table(cells: list[Cell]) -> str:
    head = f"| {'scenario':<22} | {'strategy':<11} | answered | bad calls/req (max) | records | max latency s |"
    rows = [head, "|" + "|".join("-" * (len(c) - 0) for c in head.split("|")[1:-1]) + "|"]
    for c in cells:
        rows.append(
            f"| {c.scenario:<22} | {c.strategy:<11} | {c.answered:>3}/{c.requests:<4} | "
            f"{sum(c.bad_calls) / c.requests:>8.2f} ({c.max_calls})      | {c.records:>7} | {c.max_latency_s:>13.2f} |"
        )
    return "\n".join(rows)


def main() -> None:
    cells = [run_cell(s, st) for s in SCENARIOS for st in STRATEGIES]
    print(table(cells))


if __name__ == "__main__":
    main()
