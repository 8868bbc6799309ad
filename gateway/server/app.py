"""The litestar application factory. No module-level state: everything hangs off
``app.state.runtime``, built in the lifespan from the config given to ``create_app``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, Response
from litestar.exceptions import HTTPException

from gateway.logs import LogSink
from gateway.schema import InternalError, InvalidInput, NotFound, OmnisenseError, UnsupportedMediaType
from gateway.schema.errors import PayloadTooLarge
from gateway.server.config import GatewayConfig
from gateway.server.jobs import JOB_HANDLERS
from gateway.server.meta import META_HANDLERS
from gateway.server.observability import OBSERVABILITY_HANDLERS
from gateway.server.responses import problem_response
from gateway.server.routing_routes import ROUTING_HANDLERS
from gateway.server.runtime import build_runtime
from gateway.server.tasks import TASK_HANDLERS, request_id_of

log = logging.getLogger("omnisense.server")

_STATUS_ERRORS: dict[int, type[OmnisenseError]] = {
    400: InvalidInput,
    404: NotFound,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
}


def _problem(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    if isinstance(exc, OmnisenseError):
        err = exc
    elif isinstance(exc, HTTPException) and exc.status_code < 500:
        cls = _STATUS_ERRORS.get(exc.status_code, InvalidInput)
        err = cls(exc.detail)
        response = problem_response(err, None, request_id_of(request))
        response.status_code = exc.status_code
        return response
    else:
        log.error("unhandled error on %s", request.url.path, exc_info=exc)
        err = InternalError("an internal error occurred; the request id names it in the logs")
    return problem_response(err, None, request_id_of(request))


def create_app(config: GatewayConfig, *, sink: LogSink | None = None) -> Litestar:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        runtime = await build_runtime(config, sink=sink)
        app.state.runtime = runtime
        try:
            yield
        finally:
            await runtime.aclose()

    return Litestar(
        route_handlers=[*TASK_HANDLERS, *META_HANDLERS, *ROUTING_HANDLERS, *OBSERVABILITY_HANDLERS, *JOB_HANDLERS],
        lifespan=[lifespan],
        exception_handlers={Exception: _problem},
        openapi_config=None,
        request_max_body_size=64 * 1024 * 1024,
        debug=False,
    )
