"""The litestar application factory. No module-level state: everything hangs off
``app.state.runtime``, built in the lifespan from the config given to ``create_app``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, Response

from gateway.logs import LogSink
from gateway.logs.redact import scrubbed_logging
from gateway.metric_share import shared_metrics
from gateway.server.config import GatewayConfig
from gateway.server.dashboard import DASHBOARD_HANDLERS
from gateway.server.gc_tuning import tune_after_startup
from gateway.server.jobs import JOB_HANDLERS
from gateway.server.live import LIVE_HANDLERS
from gateway.server.meta import META_HANDLERS
from gateway.server.observability import OBSERVABILITY_HANDLERS
from gateway.server.openai import openai_handlers
from gateway.server.problems import framework_error
from gateway.server.quality_routes import QUALITY_HANDLERS
from gateway.server.responses import problem_response
from gateway.server.routing_routes import ROUTING_HANDLERS
from gateway.server.runtime import build_runtime
from gateway.server.tasks import request_id_of, task_handlers
from omnisense.schema import InternalError

log = logging.getLogger("omnisense.server")


def _problem(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    known = framework_error(exc, request)
    if known is not None:
        return problem_response(known[0], None, request_id_of(request), known[1])
    log.error("unhandled error on %s", request.url.path, exc_info=exc)
    err = InternalError("an internal error occurred; the request id names it in the logs")
    return problem_response(err, None, request_id_of(request))


def create_app(config: GatewayConfig, *, sink: LogSink | None = None, tune_gc: bool = False) -> Litestar:
    """The gateway's app; ``tune_gc`` (``omnisense serve``) tunes the process's collector once started."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        runtime = await build_runtime(config, sink=sink)
        app.state.runtime = runtime
        if tune_gc:
            tune_after_startup()
        runtime.sessions.hook_signals()  # SIGTERM: every live session gets 1001 and leaves its record first
        try:
            with scrubbed_logging(runtime.scrub):  # log lines lose credentials too, not only records
                await runtime.start_probing()
                try:
                    async with shared_metrics(runtime.metrics.families):  # serve --workers N: totals of all
                        yield
                finally:
                    await runtime.stop_probing()
        finally:
            await runtime.aclose()

    return Litestar(
        route_handlers=[
            *task_handlers(config.limits),
            *openai_handlers(config.limits),
            *META_HANDLERS,
            *ROUTING_HANDLERS,
            *OBSERVABILITY_HANDLERS,
            *QUALITY_HANDLERS,
            *JOB_HANDLERS,
            *DASHBOARD_HANDLERS,
            *LIVE_HANDLERS,
        ],
        lifespan=[lifespan],
        exception_handlers={Exception: _problem},
        openapi_config=None,
        request_max_body_size=64 * 1024 * 1024,
        debug=False,
    )
