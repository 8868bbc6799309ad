"""The task endpoints: one generic handler, specialized per row of the task table.

Whatever happens to a request, it leaves exactly one RequestLog: the trace is opened
first and submitted in ``finally`` (also when the client goes away mid-request).

Each endpoint is a litestar ASGI route (``TaskRoute``): litestar routes the request to it
and handles whatever escapes it, and the handler reads the request through litestar's
``Request`` itself. An HTTP route handler would also build a signature model, resolve
keyword arguments and convert the answer on every request, some 7 % of a request's
instructions (``bench/instructions.py``), for a handler that takes only the request and
answers with a ready ASGI app.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections.abc import Awaitable, Mapping
from random import getrandbits
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import InternalServerException, MethodNotAllowedException
from litestar.handlers import ASGIRouteHandler
from litestar.types import Receive, Scope, Send

from gateway.cache.replays import check_header
from gateway.cache.response import bypass_requested, ttl_for
from gateway.logs.record import PayloadSample, summarize_input
from gateway.server.config import Limits
from gateway.server.dialect import NATIVE, Dialect
from gateway.server.disconnect import ClientGone, until_disconnected
from gateway.server.inputs import max_body_bytes
from gateway.server.jobs import checked_webhook, enqueue, long_video, refuse_long_audio
from gateway.server.problems import framework_error
from gateway.server.quote import quote, wants_quote
from gateway.server.responses import AnswerResponse, trace_headers
from gateway.server.runtime import Runtime
from gateway.server.scope import RouteChoice, route_choice
from gateway.server.synth_stream import SENT, serve_stream, streamed
from gateway.trace import RequestTrace
from omnisense.schema import (
    TABLE,
    Envelope,
    InternalError,
    MethodNotAllowed,
    OmnisenseError,
    PayloadTooLarge,
    ShuttingDown,
    Task,
    TaskRequest,
    TaskResult,
    spec_of,
)
from policies.fanout import fanout_of

log = logging.getLogger("omnisense.server")
# what a native call may say it came through (``omnisense mcp`` sends X-Omnisense-Dialect: mcp)
_CLIENT_DIALECTS = {"mcp": "mcp"}
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_of(request: Request[Any, Any, Any]) -> str:
    return request_id_from(request.headers)


def request_id_from(headers: Mapping[str, str]) -> str:
    """The caller's ``X-Request-Id`` when it is sane, else a new one (``new_request_id``)."""
    given = headers.get("x-request-id")
    return given if given and _REQUEST_ID.match(given) else new_request_id()


def new_request_id() -> str:
    """A UUIDv7 in hex (RFC 9562): 48 bits of unix milliseconds, then 74 random bits.

    Time first, so that ids made one after the other sort together: the request log's index on
    ``request_id`` grows at its end, where a random id (uuid4) dirtied a different page of it
    for nearly every record (each a page written to SQLite's WAL: about 13 of the sink's
    23 us of CPU per record at 50,000 rows, and more as the log grows).
    ``random.getrandbits`` rather than ``uuid``: an id needs uniqueness, not secrecy, and
    ``uuid4`` costs a system call per request. ``random`` reseeds itself in a forked child."""
    bits = getrandbits(74)
    value = (time.time_ns() // 1_000_000) << 80 | 0x7000 << 64 | (bits >> 62) << 64 | 0x8 << 60 | (bits & _LOW_62)
    return f"{value:032x}"


_LOW_62 = (1 << 62) - 1


def header_map(scope: Scope) -> dict[str, str]:
    """The request's headers by lower-case name; of a repeated one, the first (as litestar's
    ``Headers.get``). A plain dict: litestar's ``Headers`` builds a case-insensitive multidict
    (and checks what it was given against ``typing.Mapping``) on every request."""
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return headers


async def serve_task(
    task: Task, request: Request[Any, Any, Any], runtime: Runtime, dialect: Dialect = NATIVE
) -> AnswerResponse:
    """Serve one call of ``task``; ``dialect`` reads the body and writes the answer (native: the task table's)."""
    headers = header_map(request.scope)
    trace = RequestTrace(request_id=request_id_from(headers), task=task.value)
    status, detail = 500, None
    error_type: str | None = "InternalError"
    sample: PayloadSample | None = None
    dispatcher = runtime.dispatcher
    with runtime.tracing.request_span(trace.record.task, trace.record.request_id) as span:
        try:
            key = runtime.keys.authenticate(headers)  # None: an open gateway, nothing more to check
            if key is not None:
                trace.record.key_id = key.id
                runtime.keys.check_task(key, task)
                await runtime.keys.check_rate(key)
            call = await dialect.decode(task, request, runtime, headers)
            task_request = call.request
            trace.record.input = summarize_input(task_request)
            sample = runtime.sample_payload(task_request)
            for also in call.also if key is not None else ():
                runtime.keys.check_task(key, also)
            choice = route_choice(runtime, headers, key, task_request.routing)
            dispatcher = choice.dispatcher
            refuse_long_audio(task_request, runtime.config.limits)
            if idempotency := headers.get("idempotency-key"):
                check_header(idempotency)
            query = request.scope.get("query_string", b"")
            if query and wants_quote(query.decode("latin-1")):  # the price, nothing called
                status, error_type = 200, None
                return await _quote(choice, task, task_request, trace)
            if long_video(task_request, runtime.config.limits):
                hook = request.query_params.get("webhook_url") if query else None
                accepted = await _video_job(runtime, task, task_request, choice, trace, headers, hook)
                status, error_type = 202, None
                return accepted
            if streamed(task_request):  # sent while produced: the outcome is known once it is all out
                status, error_type, detail = await serve_stream(runtime, choice, trace, task_request, request, headers)
                return SENT
            run = dialect.run(task, call, functools.partial(_run_one, runtime, choice, trace, headers))
            answer = await until_disconnected(runtime.disconnects, request.receive, run)
            status, error_type = 200, None
            return dialect.answer(task, answer, call, trace, headers)
        except ClientGone as gone:
            status, error_type, detail = 499, "ClientClosedRequest", str(gone)
            return _GONE  # nobody reads it
        except asyncio.CancelledError:
            stopped = _stopped()
            status, error_type, detail = stopped.status, type(stopped).__name__, stopped.detail
            return dialect.problem(stopped, trace, trace.record.request_id, {})
        except Exception as exc:
            if isinstance(exc, InternalServerException) and "disconnected" in str(exc.detail):  # during the upload
                status, error_type, detail = 499, "ClientClosedRequest", "the client went away during the upload"
                return _GONE
            err, extra = framework_error(exc, request) or (_internal(exc, trace), {})
            status, error_type = err.status, type(err).__name__
            detail = err.detail if err.status < 500 else f"{type(exc).__name__}: {exc}"[:300]
            return dialect.problem(err, trace, trace.record.request_id, extra)
        finally:
            record = trace.to_record(http_status=status, error_type=error_type, detail=detail)
            spoken = dialect.name or _CLIENT_DIALECTS.get(headers.get("x-omnisense-dialect", ""))
            if spoken is not None:
                record.decisions.append(f"dialect: {spoken}")
            record.payload = sample
            runtime.tracing.finish(span, record)
            dispatcher.shadows.submit_when_done(record, runtime.submit)  # waits for shadows, if any


async def _video_job(
    runtime: Runtime,
    task: Task,
    task_request: TaskRequest,
    choice: RouteChoice,
    trace: RequestTrace,
    headers: Mapping[str, str],
    webhook_url: str | None,
) -> AnswerResponse:
    """A clip over ``limits.max_sync_video_s``: a job of this request, 202 + ``Location`` (or 413 without jobs);
    ``webhook_url`` (the endpoint's query parameter) is announced the finished job, as a job submitted so."""
    limits = runtime.config.limits
    if runtime.jobs is None:
        seconds = getattr(getattr(task_request, "video", None), "duration_s", 0.0) or 0.0
        raise PayloadTooLarge(
            f"the video is {seconds:.1f} s long; this endpoint answers up to {limits.max_sync_video_s:g} s in the"
            " request, and this gateway runs no jobs (jobs.enabled: false)",
            field="video",
        )
    hook = checked_webhook(webhook_url, runtime.config.jobs.webhook_hosts)
    accepted = await enqueue(
        runtime, trace.record.key_id, task, [task_request], choice, hook, False,
        idempotency=headers.get("idempotency-key"),
    )  # fmt: skip
    out = {**trace_headers(trace), **{k: str(v) for k, v in accepted.headers.items()}}
    return AnswerResponse(bytes(accepted.content), "application/json", out, accepted.status_code or 202)


def _stopped() -> ShuttingDown:
    """The server cancels a handler only when its shutdown grace period has run out (a client
    that leaves is ClientGone): the client still gets a problem+json with its request id, and
    the record says so."""
    current = asyncio.current_task()
    if current is not None:
        current.uncancel()
    return ShuttingDown("the gateway stopped before the answer was ready: retry", retry_after_s=1)


def _run_one(
    runtime: Runtime, choice: RouteChoice, trace: RequestTrace, headers: Mapping[str, str], task: Task, req: TaskRequest
) -> Awaitable[Envelope[TaskResult]]:
    """One task request through the chosen dispatcher, through the route's response cache (a
    fan-out never: it measures the vendors), through the stored answers of its ``Idempotency-Key``."""
    dispatcher = choice.dispatcher
    fans_out = fanout_of(dispatcher.planner, task, req, choice.pinned) is not None
    run: Awaitable[Envelope[TaskResult]]
    if fans_out or ttl_for(dispatcher.planner, task) is None or choice.residency is not None:
        # a caller's own residency requirement is not answered from the cache: an entry may have
        # been computed outside it for another caller (docs/data-protection.md)
        run = dispatcher.run(task, req, trace, pinned=choice.pinned, allowed=choice.allowed, residency=choice.residency)
    else:
        run = runtime.cache.serve(
            dispatcher.planner, task, req, trace,
            lambda: dispatcher.run(task, req, trace, pinned=choice.pinned, allowed=choice.allowed),
            pinned=choice.pinned, allowed=choice.allowed, bypass=bypass_requested(headers.get("cache-control")),
        )  # fmt: skip
    if idempotency := headers.get("idempotency-key"):  # a retry gets the stored answer, paid once
        run = runtime.cache.replays.serve(trace.record.key_id, idempotency, task, req, trace, run)
    return run


async def _quote(choice: RouteChoice, task: Task, task_request: TaskRequest, trace: RequestTrace) -> AnswerResponse:
    body = await quote(choice, task, task_request, trace.record.key_id)
    trace.record.decisions = ["dry run: quoted, nothing called", *body.get("decisions", [])]
    return AnswerResponse(_QUOTE_ENCODER.encode(body), "application/json", {})


def _internal(exc: Exception, trace: RequestTrace) -> OmnisenseError:
    log.error("request %s failed", trace.record.request_id, exc_info=exc)
    return InternalError("an internal error occurred; the request id names it in the logs")


_GONE = AnswerResponse(b"", "text/plain", {}, 499)
_QUOTE_ENCODER = msgspec.json.Encoder()
_ALLOW = "POST, OPTIONS"


class TaskRoute(ASGIRouteHandler):
    """A task's endpoint: ``POST`` serves the task, ``OPTIONS`` lists the methods, any other is a 405."""

    def __init__(self, task: Task, max_body: int, *, path: str | None = None, dialect: Dialect = NATIVE) -> None:
        """``path`` and ``dialect``: another dialect's endpoint for ``task`` (``gateway.server.openai``)."""
        name = task.value if path is None else f"{dialect.name}:{path}"
        super().__init__(path or spec_of(task).path, name=name, copy_scope=False)
        self.task = task
        self.max_body = max_body
        self.dialect = dialect
        self(self.handle)

    def resolve_request_max_body_size(self) -> int:
        """The body limit, as an HTTP route has it: ``Request.body()`` and ``form()`` read it here
        (a chunked body over it is cut off while read: 413)."""
        return self.max_body

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]  # type: ignore[typeddict-item]
        if method == "POST":
            request: Request[Any, Any, Any] = Request(scope, receive, send)
            answer = await serve_task(self.task, request, request.app.state.runtime, self.dialect)
        elif method == "OPTIONS":
            await send({"type": "http.response.start", "status": 204, "headers": [(b"allow", _ALLOW.encode())]})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        elif self.dialect is NATIVE:  # the app's exception handler answers (as for a wrong method anywhere)
            raise MethodNotAllowedException(headers={"Allow": _ALLOW})
        else:  # another dialect's endpoint answers in its own error shape
            wrong = MethodNotAllowed(f"this endpoint does not take {method}; the Allow header lists what it takes")
            answer = self.dialect.problem(wrong, None, request_id_from(header_map(scope)), {"Allow": _ALLOW})
        await answer(scope, receive, send)


def task_handlers(limits: Limits) -> list[TaskRoute]:
    """One route per task, each with its body limit."""
    return [TaskRoute(task, max_body_bytes(task, limits)) for task in TABLE]
