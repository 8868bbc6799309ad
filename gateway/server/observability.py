"""Reading what the gateway observed: ``GET /v1/logs``, ``GET /v1/stats``, ``GET /metrics``.

``/v1/logs`` and ``/v1/stats`` need an admin key on a protected gateway (any caller on
an open one). Filters: ``task``, ``provider``, ``region``, ``status`` (ok, error or an HTTP code),
``key`` (a key id), ``request_id``, ``since``/``until`` (unix seconds, ISO 8601 or a
duration ago such as ``15m``), ``limit`` (1-1000, default 100) and ``cursor`` (the
previous page's ``next_cursor``). Records come newest first.

``/metrics`` is the Prometheus exposition of this app's own registry. It is open, as
scrapers expect: it holds counts and timings labelled by task, provider and status,
never a key, a credential or a payload.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get

from gateway.logs.query import LogQuery, LogStore, parse_duration, parse_limit, parse_time, with_comparisons
from gateway.server.budget_forecast import forecast
from gateway.server.runtime import Runtime
from omnisense.schema import InvalidInput, NotFound

_encoder = msgspec.json.Encoder()


async def _store(request: Request[Any, Any, Any]) -> LogStore:
    """The queryable sink, once it holds every record of the requests answered so far."""
    runtime: Runtime = request.app.state.runtime
    key = runtime.keys.authenticate(request.headers)
    runtime.keys.require_admin(key, runtime.keys.protected)
    sink = runtime.writer.sink
    if not isinstance(sink, LogStore):
        raise NotFound(f"the request log is not queryable here (logs.sink: {runtime.config.logs.sink})")
    await runtime.writer.caught_up()  # the writer batches: write what is waiting before reading
    return sink


def log_query(params: Any) -> LogQuery:
    """A LogQuery from query parameters; InvalidInput names the bad one."""

    def one(name: str) -> str | None:
        value = params.get(name)
        return str(value) if value not in (None, "") else None

    try:
        since, until, status = one("since"), one("until"), one("status")
        if status not in (None, "ok", "error") and not (status.isascii() and status.isdigit() and len(status) == 3):
            raise ValueError(f"status must be ok, error or an HTTP status code such as 502, got {status!r}")
        limit = params.get("limit")  # an integer: an empty value is not one (the text filters' can be)
        return LogQuery(
            task=one("task"),
            provider=one("provider"),
            status=status,
            key_id=one("key"),
            request_id=one("request_id"),
            since=parse_time(since) if since else None,
            until=parse_time(until) if until else None,
            limit=parse_limit(None if limit is None else str(limit)),
            cursor=one("cursor"),
            region=one("region"),
        )
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


@get("/v1/logs", include_in_schema=False)
async def list_logs(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The request log, filtered and paged (admin key)."""
    store = await _store(request)
    filters = log_query(request.query_params)
    try:
        page = await store.query(filters)
    except ValueError as exc:  # a malformed cursor
        raise InvalidInput(str(exc)) from None
    return Response(_encoder.encode(page), media_type="application/json")


@get("/v1/stats", include_in_schema=False)
async def stats(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Per provider and task over ``window`` (default 1h): requests, errors, p50/p95, cost, outputs, drift;
    ``comparisons``: shadow agreement per (task, served, shadow), of ``task`` when given; and
    ``budgets``: every key's budget windows and when each runs out at the current rate."""
    store = await _store(request)
    try:
        window = parse_duration(request.query_params.get("window") or "1h")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    stats = await with_comparisons(store, await store.stats(window), request.query_params.get("task") or None)
    body = msgspec.to_builtins(stats)
    runtime: Runtime = request.app.state.runtime
    body["budgets"] = await forecast(runtime.dispatcher.state.budgets)  # when each runs out at the current rate
    return Response(_encoder.encode(body), media_type="application/json")


@get("/metrics", include_in_schema=False)
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    runtime: Runtime = request.app.state.runtime
    body, content_type = runtime.metrics.render()
    return Response(body, headers={"Content-Type": content_type})  # as a media type, litestar would add a charset again


OBSERVABILITY_HANDLERS = [list_logs, stats, metrics]
