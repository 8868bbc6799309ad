"""The cost of routing: planning (microseconds per decision) and a full fallback.

    python bench/routing.py [--rounds 7] [--plans 20000] [--runs 3000]

Everything runs in one process against instant scripted providers, so the numbers are
the gateway's own work. Each table has its baseline measured in the same run (this
machine drifts by tens of percent between minutes): planning is compared with a
one-candidate priority route, a dispatch with calling the provider directly. Every row
is the median over ``--rounds`` interleaved rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters import registry
from adapters.base import CallContext
from contract_tests.scripted_provider import Fail, ScriptedProvider
from gateway.dispatch import Dispatcher
from gateway.trace import RequestTrace
from omnisense.schema import Task, TextRequest, UpstreamBadResponse, UpstreamUnavailable
from policies.loader import LoadedPolicy, parse_policy
from policies.plan import RequestMeta
from policies.planner import Planner

SCRIPTED = "contract_tests.scripted_provider:ScriptedProvider"
REQUEST = TextRequest(text="What a lovely day at the beach", language="en")
TASK = Task.TEXT_SENTIMENT
NAMES = ["p1", "p2", "p3", "p4"]


def policy(route: str, defaults: str = "{retries: {attempts: 1}}") -> LoadedPolicy:
    providers = "\n".join(f'  {n}: {{kind: "{SCRIPTED}", price_usd: 0.00{i + 1}}}' for i, n in enumerate(NAMES))
    text = f'version: 1\nproviders:\n{providers}\ndefaults: {defaults}\nroutes:\n  "*": {route}\n'
    return LoadedPolicy(name="bench", source="<bench>", policy=parse_policy(text))


def dispatcher(route: str, defaults: str = "{retries: {attempts: 1, backoff_s: 0}}") -> Dispatcher:
    loaded = policy(route, defaults)
    providers = {n: registry.build(n, loaded.policy.providers[n]) for n in NAMES}
    return Dispatcher(Planner(loaded, {n: p.info for n, p in providers.items()}), providers)


PLAN_CASES: list[tuple[str, str]] = [
    ("priority, 1 candidate (baseline)", "{candidates: [p1]}"),
    ("priority, 4 candidates", "{candidates: [p1, p2, p3, p4]}"),
    ("cheapest, 4", "{strategy: cheapest, candidates: [p4, p3, p2, p1]}"),
    ("fastest, 4 (measured)", "{strategy: fastest, candidates: [p1, p2, p3, p4]}"),
    ("weighted, 4", "{strategy: weighted, candidates: [{provider: p1, weight: 5}, p2, p3, p4]}"),
    ("round_robin, 4", "{strategy: round_robin, candidates: [p1, p2, p3, p4]}"),
]


def time_plans(route: str, n: int) -> float:
    d = dispatcher(route)
    if "fastest" in route:  # give it measurements, so it sorts by them
        from omnisense.schema import Attempt

        for i, name in enumerate(NAMES):
            for _ in range(20):
                d.state.observe(name, TASK, Attempt(provider=name, outcome="ok", latency_ms=10.0 * (4 - i)))
    planner, state = d.planner, d.state
    meta = RequestMeta(key_id="k", draw=0.3, tick=1)
    start = time.perf_counter()
    for _ in range(n):
        planner.plan(TASK, REQUEST, meta, state)
    return (time.perf_counter() - start) / n * 1e6


async def time_dispatch_plan(route: str, n: int) -> float:
    d = dispatcher(route)
    start = time.perf_counter()
    for _ in range(n):
        await d.plan(TASK, REQUEST, "k")
    return (time.perf_counter() - start) / n * 1e6


async def time_runs(make: Callable[[], Awaitable[Any]], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        await make()
    return (time.perf_counter() - start) / n * 1e6


def run_cases() -> list[tuple[str, Dispatcher | None, Callable[[Dispatcher], None]]]:
    def nothing(d: Dispatcher) -> None:
        return None

    def first_fails(err: Any) -> Callable[[Dispatcher], None]:
        def script(d: Dispatcher) -> None:
            p1 = d.providers["p1"]
            assert isinstance(p1, ScriptedProvider)
            p1.default = Fail(err)

        return script

    chain = "{candidates: [p1, p2]}"
    no_circuit = "{retries: {attempts: 1}, circuit: {failures: 0}}"  # every request does the whole fallback
    return [
        ("provider called directly (baseline)", None, nothing),
        ("dispatch, served by the first", dispatcher(chain), nothing),
        ("dispatch, hedging armed, first answers", dispatcher("{candidates: [p1, p2], hedge_after_ms: 1000}"), nothing),
        ("fallback: first fails (no retry)", dispatcher(chain, no_circuit), first_fails(UpstreamBadResponse)),
        (
            "fallback after a retry (backoff 0)",
            dispatcher(chain, "{retries: {attempts: 2, backoff_s: 0, max_backoff_s: 0}, circuit: {failures: 0}}"),
            first_fails(UpstreamUnavailable),
        ),
        ("first's circuit open: skipped by the plan", dispatcher(chain), first_fails(UpstreamBadResponse)),
    ]


async def measure_runs(rounds: int, n: int) -> list[tuple[str, float]]:
    cases = run_cases()
    direct = registry.build("direct", {"kind": SCRIPTED})
    samples: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    for _ in range(rounds):
        for name, d, script in cases:
            if d is None:
                ctx = CallContext(request_id="r", deadline=time.monotonic() + 60)
                samples[name].append(await time_runs(lambda ctx=ctx: direct.run(TASK, REQUEST, ctx), n))
                continue
            script(d)

            async def one(disp: Dispatcher = d) -> None:
                await disp.run(TASK, REQUEST, RequestTrace(request_id="r", task=TASK.value, key_id="k"))

            samples[name].append(await time_runs(one, n))
            for p in d.providers.values():
                assert isinstance(p, ScriptedProvider)
                p.calls.clear()
    return [(name, statistics.median(v)) for name, v in samples.items()]


def table(title: str, rows: list[tuple[str, float]], unit: str) -> None:
    base = rows[0][1]
    width = max(len(r[0]) for r in rows)
    print(f"\n{title}")
    print(f"{'case':<{width}}  {unit:>10}  {'vs baseline':>12}  {'ratio':>6}")
    for name, value in rows:
        print(f"{name:<{width}}  {value:>10.1f}  {value - base:>+12.1f}  {value / base:>6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--plans", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3_000)
    args = parser.parse_args()
    plan_samples: dict[str, list[float]] = {name: [] for name, _ in PLAN_CASES}
    for _ in range(args.rounds):
        for name, route in PLAN_CASES:
            plan_samples[name].append(time_plans(route, args.plans))
    rows = [(name, statistics.median(v)) for name, v in plan_samples.items()]
    full = statistics.median(
        asyncio.run(time_dispatch_plan("{candidates: [p1, p2, p3, p4]}", args.plans)) for _ in range(args.rounds)
    )
    rows.append(("priority, 4 + request meta (budget, draws)", full))
    table("Planning: one decision (Planner.plan with live facts)", rows, "us/plan")
    table("Dispatch: one request end to end in-process (instant providers)", asyncio.run(
        measure_runs(args.rounds, args.runs)), "us/request")  # fmt: skip


if __name__ == "__main__":
    main()
