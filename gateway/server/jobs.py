"""The jobs API: ``POST /v1/jobs``, ``GET /v1/jobs/{id}``, ``DELETE /v1/jobs/{id}``, ``GET /v1/jobs``.

A job is submitted like a task request, with the task named:

- JSON: ``{"task": "speech.transcribe", "input": {<the task's JSON body>}, "webhook_url": ...}``,
  or ``"inputs": [{...}, ...]`` for a batch (one job, one result per input);
- raw body or multipart upload (audio, images): ``POST /v1/jobs?task=speech.transcribe&webhook_url=...``
  with the body or form exactly as the task's own endpoint takes it.

Inputs are decoded and checked now (a bad input is a 4xx now, not a failed job later), with
the task's own limits except the synchronous endpoint's audio length. The answer is 202,
the job and ``Location: /v1/jobs/{id}``. A key sees and cancels only its own jobs.

The submission takes no rate-limit token: each item takes its own when it runs
(``gateway.jobs.runner``). With an ``Idempotency-Key`` header, the job's id is derived from
the key's id and that header: a repeat answers the job already submitted (202, the same id,
nothing run twice); the same header with other inputs is a 422 naming it.
While the job store is unreachable every endpoint answers 503 with ``Retry-After``
(``JobStoreUnavailable``): a job is accepted only once it is stored.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Awaitable
from typing import Any, ClassVar, TypeVar

import msgspec
from litestar import Request, Response, delete, get, post

from gateway.jobs.model import Job, cancelled, view
from gateway.jobs.runner import encode_inputs
from gateway.jobs.webhook_guard import WebhookRefused, check_url
from gateway.logs.query import parse_limit, parse_time
from gateway.server.config import Limits
from gateway.server.inputs import decode_body, decode_request
from gateway.server.options import allow
from gateway.server.runtime import Runtime
from gateway.server.scope import RouteChoice, route_choice
from omnisense.schema import (
    InvalidInput,
    NoProvider,
    NotFound,
    OmnisenseError,
    PayloadTooLarge,
    Task,
    TaskRequest,
    TranscribeRequest,
    UnprocessableInput,
)
from policies.plan import RESIDENCY
from policies.refusal import refusal

_encoder = msgspec.json.Encoder()
QUERY = frozenset({"task", "webhook_url"})  # the jobs API's own query parameters on an upload
STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")


class JobBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    task: str
    input: dict[str, Any] | None = None
    inputs: list[dict[str, Any]] | None = None
    webhook_url: str | None = None


def refuse_long_audio(request: TaskRequest, limits: Limits) -> None:
    """Audio longer than ``limits.max_sync_audio_s`` on a synchronous endpoint: 413 naming the jobs API."""
    if isinstance(request, TranscribeRequest) and (request.audio.duration_s or 0.0) > limits.max_sync_audio_s:
        raise PayloadTooLarge(
            f"the audio is {request.audio.duration_s:.0f} s long; this endpoint takes up to "
            f"{limits.max_sync_audio_s:.0f} s. Submit long audio as a job: POST /v1/jobs "
            "with ?task=speech.transcribe (the answer is in GET /v1/jobs/{id} or your webhook)",
            field="audio",
        )


def _task(name: str | None) -> Task:
    try:
        return Task(name or "")
    except ValueError:
        known = ", ".join(t.value for t in Task)
        raise UnprocessableInput(f"task: unknown task {name!r} (one of: {known})", field="task") from None


def _webhook(url: str | None, hosts: list[str] | None) -> str | None:
    """The webhook URL if it may be called (its addresses are checked again at each delivery)."""
    if url is None:
        return None
    try:
        check_url(url, hosts)
    except WebhookRefused as exc:
        raise UnprocessableInput(str(exc), field="webhook_url") from None
    return url


async def _decode(
    request: Request[Any, Any, Any], runtime: Runtime
) -> tuple[Task, list[TaskRequest], str | None, bool]:
    limits = runtime.config.limits
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype != "application/json":
        task = _task(request.query_params.get("task"))
        return (
            task,
            [await decode_request(task, request, limits, runtime.fetcher, reserved=QUERY)],
            _webhook(request.query_params.get("webhook_url"), runtime.config.jobs.webhook_hosts),
            False,
        )
    try:
        body = msgspec.json.decode(await request.body(), type=JobBody)
    except msgspec.ValidationError as exc:
        raise UnprocessableInput(f"the job body is not valid: {exc}") from None
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}") from None
    task = _task(body.task)
    if (body.input is None) == (body.inputs is None):
        raise UnprocessableInput("give exactly one of 'input' (one) or 'inputs' (a batch)", field="input")
    items = body.inputs if body.inputs is not None else [body.input or {}]
    if not items or len(items) > runtime.config.jobs.max_items:
        raise UnprocessableInput(f"inputs: 1 to {runtime.config.jobs.max_items} items", field="inputs")
    decoded = []
    for i, item in enumerate(items):
        try:
            decoded.append(await decode_body(task, msgspec.json.encode(item), limits, runtime.fetcher))
        except (InvalidInput, UnprocessableInput) as exc:
            where = "input" if body.input is not None else f"inputs[{i}]"
            exc.detail, exc.field = f"{where}: {exc.detail}", f"{where}.{exc.field}" if exc.field else where
            raise
    return task, decoded, _webhook(body.webhook_url, runtime.config.jobs.webhook_hosts), body.inputs is not None


T = TypeVar("T")
log = logging.getLogger("omnisense.jobs")
STORE_RETRY_AFTER_S = 5.0


class JobStoreUnavailable(OmnisenseError):
    """The job store (SQLite file or PostgreSQL) did not answer: nothing was accepted or changed."""

    status: ClassVar[int] = 503
    slug: ClassVar[str] = "job-store-unavailable"
    title: ClassVar[str] = "The job store is unavailable"


async def _stored(call: Awaitable[T]) -> T:
    """A job store call; its failure (the database down) is a 503 with Retry-After, not a 500."""
    try:
        return await call
    except OmnisenseError:
        raise
    except Exception as exc:
        log.warning("jobs: the store failed (%s); answering 503", exc)
        raise JobStoreUnavailable(
            "the job store is unreachable; nothing was accepted, try again later", retry_after_s=STORE_RETRY_AFTER_S
        ) from exc


def _runtime(request: Request[Any, Any, Any]) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    if runtime.jobs is None:
        raise NotFound("async jobs are turned off on this gateway (jobs.enabled: false)")
    return runtime


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(_encoder.encode(body), status_code=status, media_type="application/json", headers=headers)


async def _check_residency(choice: RouteChoice, task: Task, first: TaskRequest, key_id: str | None) -> None:
    plan = await choice.dispatcher.plan(
        task, first, key_id, choice.pinned, dry_run=True, allowed=choice.allowed, residency=choice.residency
    )
    if not plan.steps and any(d.kind == RESIDENCY for d in plan.decisions):
        raise refusal(task, plan, key_id)


def _job_providers(choice: RouteChoice, task: Task) -> list[str] | None:
    """The providers the job may use: the key's, narrowed (when the caller asked for residency)
    to those that process ``task`` within it -- a job keeps only this list, so the requirement
    holds when it runs later, on any replica."""
    allowed = choice.allowed
    if choice.residency is not None:
        placements, required = choice.dispatcher.planner.placements, choice.residency.allowed
        inside = frozenset(p for p in choice.dispatcher.providers if placements.excluded(p, task, required) is None)
        allowed = inside if allowed is None else allowed & inside
        if not allowed:
            why = f"no provider of this policy processes {task} within the residency required"
            why += f" ({', '.join(sorted(choice.residency.allowed))})"
            if choice.residency.field is None:  # the key's requirement: the operator's to fix
                raise NoProvider(why)
            raise UnprocessableInput(why, field=choice.residency.field)
    return sorted(allowed) if allowed is not None else None


@post("/v1/jobs", include_in_schema=False, status_code=202)
async def submit_job(request: Request[Any, Any, Any]) -> Response[bytes]:
    runtime = _runtime(request)
    key = runtime.keys.authenticate(request.headers)
    task, requests, webhook_url, batch = await _decode(request, runtime)
    runtime.keys.check_task(key, task)
    choice = route_choice(runtime, request.headers, key, requests[0].routing)  # unknown policy or provider: now
    if choice.residency is not None:  # no provider left for the caller's residency: refused now, not later
        await _check_residency(choice, task, requests[0], key.id if key else None)
    assert runtime.jobs is not None
    key_id, inputs = key.id if key else None, encode_inputs(requests)
    job_id, request_hash = uuid.uuid4().hex, None
    if idempotency := request.headers.get("idempotency-key"):
        job_id = hashlib.sha256(f"{key_id}\x00{idempotency}".encode()).hexdigest()[:32]
        request_hash = hashlib.sha256(task.value.encode() + b"\x00" + inputs).hexdigest()
        if (before := await _stored(runtime.jobs.store.get(job_id))) is not None:
            return _repeat(before, request_hash)
    now = time.time()
    job = Job(
        id=job_id, request_hash=request_hash, task=task.value, status="queued", created=now, updated=now,
        items=len(requests),
        batch=batch, key_id=key_id, policy=choice.policy, pinned=choice.pinned,
        allowed=_job_providers(choice, task), webhook_url=webhook_url,
    )  # fmt: skip
    try:
        await _stored(runtime.jobs.store.create(job, inputs))
    except JobStoreUnavailable:
        if request_hash is None or (before := await _stored(runtime.jobs.store.get(job_id))) is None:
            raise
        return _repeat(before, request_hash)  # the same Idempotency-Key submitted at the same time
    runtime.jobs.notify()
    return _json(view(job), 202, {"Location": f"/v1/jobs/{job.id}"})


def _repeat(job: Job, request_hash: str) -> Response[bytes]:
    """A repeated Idempotency-Key: the job it submitted, or 422 when the inputs differ."""
    if job.request_hash != request_hash:
        raise UnprocessableInput(
            f"Idempotency-Key already submitted job {job.id} with other inputs", field="Idempotency-Key"
        )
    return _json(view(job), 202, {"Location": f"/v1/jobs/{job.id}", "Idempotent-Replayed": "true"})


async def _own(request: Request[Any, Any, Any], runtime: Runtime, job_id: str) -> Job:
    key = runtime.keys.authenticate(request.headers)
    assert runtime.jobs is not None
    job = await _stored(runtime.jobs.store.get(job_id))
    if job is None or (job.key_id != (key.id if key else None) and not (key and key.admin)):
        raise NotFound(f"no job {job_id!r}")
    return job


@get("/v1/jobs/{job_id:str}", include_in_schema=False)
async def get_job(request: Request[Any, Any, Any]) -> Response[bytes]:
    runtime = _runtime(request)
    job_id = str(request.path_params["job_id"])
    return _json(view(await _own(request, runtime, job_id)))


@delete("/v1/jobs/{job_id:str}", include_in_schema=False, status_code=200)
async def cancel_job(request: Request[Any, Any, Any]) -> Response[bytes]:
    runtime = _runtime(request)
    job_id = str(request.path_params["job_id"])
    job = await _own(request, runtime, job_id)
    assert runtime.jobs is not None
    done = await _stored(runtime.jobs.store.update(job.id, cancelled(runtime.config.jobs.keep_s)))
    if done is None:
        raise UnprocessableInput(f"job {job_id} is already {job.status}: nothing to cancel")
    runtime.jobs.cancel_here(job.id)
    return _json(view(done))


@get("/v1/jobs", include_in_schema=False)
async def list_jobs(request: Request[Any, Any, Any]) -> Response[bytes]:
    runtime = _runtime(request)
    key = runtime.keys.authenticate(request.headers)
    params = request.query_params
    status: Any = params.get("status")
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", field="status")
    try:
        since = parse_time(params["since"]) if params.get("since") else None
    except ValueError as exc:
        raise InvalidInput(str(exc), field="since") from None
    try:
        limit = parse_limit(params.get("limit"))
    except ValueError as exc:
        raise InvalidInput(str(exc), field="limit") from None
    assert runtime.jobs is not None
    jobs = await _stored(runtime.jobs.store.list_jobs(key.id if key else None, status, since, limit))
    return _json({"jobs": [view(j) for j in jobs]})


JOB_HANDLERS = [
    allow("/v1/jobs", "GET, OPTIONS, POST"),
    allow("/v1/jobs/{job_id:str}", "DELETE, GET, OPTIONS"),
    submit_job,
    get_job,
    cancel_job,
    list_jobs,
]
