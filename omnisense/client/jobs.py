"""``client.jobs``: submit, get, wait for, cancel and list async jobs, written once for both clients.

Each method is a *flow*: a generator that yields the HTTP exchanges (``Http``) and pauses
(``Sleep``) it needs and returns the answer. The sync client drives a flow with
``httpx.Client`` and ``time.sleep``, the async one with ``httpx.AsyncClient`` and
``asyncio.sleep`` (``drive_sync`` / ``drive_async``), so ``wait``'s polling loop exists once.

    job = omni.jobs.submit("speech.transcribe", "meeting.wav", webhook_url="https://me/hook")
    done = omni.jobs.wait(job.id, timeout=1800)
    print(done.envelope().result.text)
"""

from __future__ import annotations

import base64
import contextlib
import functools
import time
from collections.abc import Callable, Coroutine, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, ParamSpec, TypeVar, overload

import httpx
import msgspec

from omnisense.client.calls import Source, read_source
from omnisense.client.methods import Async, Namespace, Sync
from omnisense.client.transport import decode, problem_error
from omnisense.schema import InputKind, InternalError, Problem, Task, spec_of
from omnisense.schema.jobs import JobView

P = ParamSpec("P")
R = TypeVar("R")
M = TypeVar("M")


@dataclass(frozen=True)
class Http:
    method: str
    path: str
    params: dict[str, str] | None = None
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Sleep:
    seconds: float


Flow = Generator[Http | Sleep, httpx.Response | None, R]


class JobsTimeout(TimeoutError):
    """``wait`` gave up before the job finished (the job itself keeps running)."""

    def __init__(self, job: JobView) -> None:
        super().__init__(f"job {job.id} is still {job.status} ({job.done}/{job.items} done)")
        self.job = job


def drive_sync(http: httpx.Client, flow: Flow[R]) -> R:
    try:
        step = next(flow)
        while True:
            if isinstance(step, Sleep):
                time.sleep(step.seconds)
                step = flow.send(None)
            else:
                response = http.request(step.method, step.path, params=step.params, json=step.json,
                                        content=step.content, headers=step.headers)  # fmt: skip
                step = flow.send(response)
    except StopIteration as stop:
        result: R = stop.value
        return result


async def drive_async(http: httpx.AsyncClient, flow: Flow[R]) -> R:
    import asyncio

    try:
        step = next(flow)
        while True:
            if isinstance(step, Sleep):
                await asyncio.sleep(step.seconds)
                step = flow.send(None)
            else:
                response = await http.request(step.method, step.path, params=step.params, json=step.json,
                                              content=step.content, headers=step.headers)  # fmt: skip
                step = flow.send(response)
    except StopIteration as stop:
        result: R = stop.value
        return result


def _answer(response: httpx.Response | None) -> JobView:
    assert response is not None
    return decode(response, JobView)


def _item(task: Task, value: Source | str | Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """One input as the task's JSON body: text, a media source (sent as base64) or a ready body."""
    if isinstance(value, Mapping):
        return {**options, **value}
    spec = spec_of(task)
    if spec.input is InputKind.TEXT:
        if not isinstance(value, str):
            raise TypeError(f"{task} takes text, not {type(value).__name__}")
        return {**options, "text": value}
    media = spec.media_field or "image"
    return {**options, media: {"base64": base64.b64encode(read_source(value)).decode()}}


def submit(
    task: Task | str,
    data: Source | str | Mapping[str, Any] | None = None,
    *,
    inputs: Sequence[Source | str | Mapping[str, Any]] | None = None,
    webhook_url: str | None = None,
    provider: str | None = None,
    **options: Any,
) -> Flow[JobView]:
    """Submit one input (``data``: text, or an image/audio path, bytes or file) or a batch (``inputs``)."""
    task = Task(task)
    headers = {"X-Omnisense-Provider": provider} if provider else {}
    options = {k: v for k, v in options.items() if v is not None}
    if (data is None) == (inputs is None):
        raise TypeError("give exactly one of data (one input) or inputs (a batch)")
    if inputs is None and spec_of(task).input is not InputKind.TEXT and not isinstance(data, Mapping):
        if isinstance(data, str) and not _looks_like_path(data):
            raise TypeError(f"{task} takes an upload: a path, bytes or a binary file")
        params = {"task": task.value, **{k: str(v) for k, v in options.items()}}
        if webhook_url:
            params["webhook_url"] = webhook_url
        content = read_source(data)  # type: ignore[arg-type]  # checked above: a Source
        headers["Content-Type"] = "application/octet-stream"
        return (yield from _post(Http("POST", "/v1/jobs", params=params, content=content, headers=headers)))
    body: dict[str, Any] = {"task": task.value}
    if inputs is not None:
        body["inputs"] = [_item(task, v, options) for v in inputs]
    else:
        assert data is not None
        body["input"] = _item(task, data, options)
    if webhook_url:
        body["webhook_url"] = webhook_url
    return (yield from _post(Http("POST", "/v1/jobs", json=body, headers=headers)))


def _looks_like_path(text: str) -> bool:
    from pathlib import Path

    return Path(text).exists()


def _post(http: Http) -> Flow[JobView]:
    return _answer((yield http))


def get(job_id: str) -> Flow[JobView]:
    """The job as it is now."""
    return _answer((yield Http("GET", f"/v1/jobs/{job_id}")))


def cancel(job_id: str) -> Flow[JobView]:
    """Cancel a queued or running job."""
    return _answer((yield Http("DELETE", f"/v1/jobs/{job_id}")))


def wait(
    job_id: str, *, timeout: float = 3600.0, poll: float = 1.0, on_update: Callable[[JobView], None] | None = None
) -> Flow[JobView]:
    """Poll until the job is succeeded, failed or cancelled (``JobsTimeout`` after ``timeout`` s).

    ``on_update`` sees every state polled (a progress display)."""
    deadline = time.monotonic() + timeout
    while True:
        job = _answer((yield Http("GET", f"/v1/jobs/{job_id}")))
        if on_update is not None:
            on_update(job)
        if job.final:
            return job
        left = deadline - time.monotonic()
        if left <= 0:
            raise JobsTimeout(job)
        yield Sleep(min(poll, left))


def followed(response: httpx.Response, result_type: type[R], timeout: float = 3600.0) -> Flow[R]:
    """A task call's answer: decoded; or, when the gateway made the call a job (``202`` with
    ``Location``: a video longer than it answers in a request), that job's envelope once it is
    done (its problem raised when it failed; ``JobsTimeout`` after ``timeout`` s)."""
    location = response.headers.get("location", "")
    if response.status_code != 202 or not location.startswith("/v1/jobs/"):
        return decode(response, result_type)
    job = yield from wait(location.rsplit("/", 1)[-1], timeout=timeout)
    if job.status == "succeeded":
        return msgspec.convert(job.result, result_type)
    if isinstance(job.error, dict):
        with contextlib.suppress(msgspec.ValidationError):
            raise problem_error(msgspec.convert(job.error, Problem))
    raise InternalError(f"job {job.id} ended {job.status}")


def list_jobs(*, status: str | None = None, since: str | float | None = None, limit: int = 100) -> Flow[list[JobView]]:
    """The caller's own jobs, newest first."""
    params = {"limit": str(limit)}
    if status:
        params["status"] = status
    if since is not None:
        params["since"] = str(since)
    response = yield Http("GET", "/v1/jobs", params=params)
    assert response is not None
    return decode(response, dict[str, list[JobView]])["jobs"]


class FlowEndpoint(Generic[P, R]):
    """Like ``methods.Endpoint``, around a flow: a plain call on ``Client``, awaitable on ``AsyncClient``."""

    def __init__(self, flow: Callable[P, Flow[R]]) -> None:
        self.flow = flow

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> FlowEndpoint[P, R]: ...
    @overload
    def __get__(self, obj: Namespace[Sync], owner: type[Any]) -> Callable[P, R]: ...
    @overload
    def __get__(self, obj: Namespace[Async], owner: type[Any]) -> Callable[P, Coroutine[Any, Any, R]]: ...

    def __get__(self, obj: Namespace[Any] | None, owner: type[Any]) -> Any:
        if obj is None:
            return self
        drive: Any = obj._send
        flow = self.flow

        @functools.wraps(flow)
        def method(*args: P.args, **kwargs: P.kwargs) -> Any:
            return drive(flow(*args, **kwargs))

        return method


class JobsAPI(Namespace[M]):
    """``client.jobs``; ``drive`` runs a flow on the owning client (``run_flow``)."""

    def __init__(self, drive: Callable[[Flow[Any]], Any]) -> None:
        self._send = drive  # type: ignore[assignment]  # flows, not calls

    submit = FlowEndpoint(submit)
    get = FlowEndpoint(get)
    wait = FlowEndpoint(wait)
    cancel = FlowEndpoint(cancel)
    list = FlowEndpoint(list_jobs)
