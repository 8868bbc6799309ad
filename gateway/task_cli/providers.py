"""``omnisense providers``: a running gateway's providers in the CLI's table style.

The title names the policy and where the shared state lives (Redis lost: local state).
Per provider: kind, region (and jurisdiction), health (and the probe's latency and detail), the worst circuit state
over its tasks, the mean latency the routing observed, and how many tasks it serves.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

import httpx

from gateway.terminal import console, table
from omnisense.client.transport import error_from, settings

# routing_ms: the mean latency the routing observed (a failed attempt counts its penalty, 5 s by default)
# region: where it processes requests / its jurisdiction ("-": none: global or undeclared)
COLUMNS = ["provider", "kind", "health", "probe_ms", "circuit", "routing_ms", "tasks", "region", "detail"]


def circuit_of(circuits: dict[str, Any]) -> str:
    states = [str(c.get("state")) for c in circuits.values()]
    open_, half = states.count("open"), sum(1 for s in states if s.startswith("half"))
    return f"open ({open_} tasks)" if open_ else f"half-open ({half} tasks)" if half else "closed"


def mean_ms(latency: dict[str, Any]) -> str:
    samples = sum(int(v.get("samples", 0)) for v in latency.values())
    if not samples:
        return "-"
    return f"{sum(float(v['mean_ms']) * int(v.get('samples', 0)) for v in latency.values()) / samples:.1f}"


def row(p: dict[str, Any]) -> list[str]:
    health = p.get("health") or {}
    return [
        p["name"],
        p.get("kind", "-"),
        "ok" if health.get("ok") else "DOWN",
        f"{float(health.get('latency_ms', 0.0)):.1f}",
        circuit_of(p.get("circuits") or {}),
        mean_ms(p.get("latency") or {}),
        str(len(p.get("tasks") or {})),
        f"{p.get('region') or '-'}/{p.get('jurisdiction') or '-'}",
        str(health.get("detail", "")),
    ]


def providers_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    url, headers = settings(args.url, None)
    try:
        response = httpx.get(f"{url}/v1/providers", headers=headers, timeout=args.timeout)
    except httpx.TransportError as exc:
        print(f"omnisense providers: cannot reach the gateway at {url}: {exc}", file=sys.stderr)
        return 2
    if response.status_code != 200:
        err = error_from(response)
        print(f"omnisense providers: {err.title}: {err.detail}", file=sys.stderr)
        return 1
    body = response.json()
    if args.json:
        out.write(json.dumps(body, indent=2) + "\n")
        return 0
    rows = [row(p) for p in body["providers"]]
    numeric = ["probe_ms", "routing_ms", "tasks"]
    title = f"policy: {body['policy']} · state: {state_of(body.get('state') or {})}"
    console(out).print(table(COLUMNS, rows, title=title, numeric=numeric))
    return 0


def state_of(state: dict[str, Any]) -> str:
    """Where circuits, budgets and rate limits live: "memory", "redis", or "redis LOST (local state)"."""
    backend = str(state.get("backend", "memory"))
    return (
        backend if state.get("connected", True) else f"{backend} LOST for {state.get('down_since_s')} s (local state)"
    )
