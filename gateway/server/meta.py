"""Health, readiness, provider listing and the OpenAPI document."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get

from adapters.base import Replicated
from gateway.server.openapi import openapi_document
from gateway.server.runtime import Runtime

_encoder = msgspec.json.Encoder()


def _json(value: Any, status: int = 200) -> Response[bytes]:
    return Response(_encoder.encode(value), status_code=status, media_type="application/json")


@get("/healthz", include_in_schema=False)
async def healthz() -> Response[bytes]:
    """Liveness: the process answers."""
    return _json({"status": "ok"})


@get("/readyz", include_in_schema=False)
async def readyz(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Readiness: at least one route can be served, from the background prober's cached
    results (a hit never calls the providers)."""
    runtime: Runtime = request.app.state.runtime
    ready = runtime.ready()
    body = {"status": "ready" if ready else "not ready", "providers": {n: h.ok for n, h in runtime.health.items()}}
    body["log"] = log_status(runtime)  # a degraded log still serves: records wait in the spool
    return _json(body, 200 if ready else 503)


def log_status(runtime: Runtime) -> dict[str, Any]:
    """The request log: "ok", or "degraded" while its sink fails or records wait in the spool."""
    w = runtime.writer
    return {"status": "degraded" if w.degraded else "ok", "spooled": w.spool_records, "spool_bytes": w.spool_bytes}


@get("/v1/providers", include_in_schema=False)
async def providers(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Each configured provider: kind, capabilities per task, prices and health."""
    runtime: Runtime = request.app.state.runtime
    runtime.keys.authenticate(request.headers)
    health = runtime.health  # the background prober's latest results
    circuits, latency = runtime.dispatcher.state.circuits.snapshot(), runtime.dispatcher.state.latencies.snapshot()
    out = []
    for name, provider in runtime.providers.items():
        info = provider.info
        entry: dict[str, Any] = {
            "name": name,
            "kind": info.kind,
            "region": info.region,  # where it processes requests (docs/data-protection.md)
            "jurisdiction": info.jurisdiction,  # null: unknown or global, satisfies no residency
            "health": health.get(name),
            "tasks": {str(t): s for t, s in info.capabilities.items()},
            "prices": {str(t): p for t, p in info.prices.items()},
            "circuits": circuits.get(name, {}),  # per task: state, failures, cooldown left
            "latency": latency.get(name, {}),  # per task: mean_ms over the sliding window
        }
        if isinstance(provider, Replicated):  # a provider that spreads over replicas
            entry["replicas"] = provider.replica_status()  # each: url, ready, in_flight, answered (error, down_s)
        out.append(entry)
    # Where circuits, latency, budgets and rate limits live; "connected": false is a replica
    # serving on its local state because Redis is unreachable (it rejoins by itself).
    state = runtime.shared.status()
    return _json({"policy": runtime.policy.name, "providers": out, "state": state, "log": log_status(runtime)})


_DOC: bytes | None = None


@get("/schema/openapi.json", include_in_schema=False)
async def openapi_json() -> Response[bytes]:
    global _DOC
    if _DOC is None:
        _DOC = _encoder.encode(openapi_document())
    return Response(_DOC, media_type="application/vnd.oai.openapi+json")


META_HANDLERS = [healthz, readyz, providers, openapi_json]
