"""The quality table over HTTP: ``GET /v1/quality`` reads it, ``POST /v1/quality`` adds samples.

Both need an admin key on a protected gateway, like ``/v1/stats``. ``GET`` filters by
``task``, ``language`` (a primary subtag: ``en``, ``es``; ``und`` for undetermined),
``provider`` and ``source`` (``agreement`` or ``reference``) over a window: ``since``
(unix seconds, ISO 8601 or a duration ago) or ``window`` (a duration; default the
quality window that routing uses, ``logs.quality_window_s``). A bad filter is a 400 that
names it. ``POST`` takes ``{"samples": [{task, language, provider, source, score}]}``
(``omnisense eval`` reports its reference samples so), at most 10,000 per call.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get, post

from gateway.logs.query import parse_duration, parse_time
from gateway.quality import QualitySample
from gateway.quality.store import BUCKET_S, QualityQuery, QualityRow
from gateway.server.options import allow
from gateway.server.problems import unprocessable
from gateway.server.runtime import Runtime
from omnisense.schema import InvalidInput, Task

_encoder = msgspec.json.Encoder()
SOURCES = ("agreement", "reference")
MAX_SAMPLES = 10_000
LanguageTag = Annotated[str, msgspec.Meta(pattern="^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")]


class QualityAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /v1/quality``: the window asked for and one row per task x language x provider x source."""

    since: float
    until: float
    rows: list[QualityRow]


class SampleIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    task: Task
    language: LanguageTag = "und"
    provider: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    source: Literal["agreement", "reference"]
    score: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]


class QualityReport(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/quality``: samples to add to the table."""

    samples: Annotated[list[SampleIn], msgspec.Meta(max_length=MAX_SAMPLES)]


def _admin(request: Request[Any, Any, Any]) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    key = runtime.keys.authenticate(request.headers)
    runtime.keys.require_admin(key, runtime.keys.protected)
    return runtime


def quality_query(params: Any, default_window_s: float, now: float | None = None) -> QualityQuery:
    """A QualityQuery from query parameters; InvalidInput names the bad one."""

    def one(name: str) -> str | None:
        value = params.get(name)
        return str(value).strip() or None if value is not None else None

    now = time.time() if now is None else now
    since, window = one("since"), one("window")
    if since and window:
        raise InvalidInput("window: give since or window, not both", field="window")
    try:
        start = parse_time(since, now=now) if since else now - parse_duration(window or f"{default_window_s}s")
    except ValueError as exc:
        name = "since" if since else "window"
        raise InvalidInput(f"{name}: {exc}", field=name) from None
    task, language, source = one("task"), one("language"), one("source")
    if task is not None and task not in {t.value for t in Task}:
        raise InvalidInput(f"task: no task {task!r} (e.g. text.sentiment)", field="task")
    if source is not None and source not in SOURCES:
        raise InvalidInput(f"source: agreement or reference, not {source!r}", field="source")
    if language is not None:
        if not (language.replace("-", "").isascii() and language.replace("-", "").isalnum()):
            raise InvalidInput(f"language: a language code such as en or es, not {language!r}", field="language")
        language = language.split("-")[0].lower()
    return QualityQuery(since=start, until=now + BUCKET_S, task=task, language=language, provider=one("provider"),
                        source=source)  # fmt: skip


@get("/v1/quality", include_in_schema=False)
async def read_quality(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The quality table over a window (admin key)."""
    runtime = _admin(request)
    now = time.time()
    query = quality_query(request.query_params, runtime.config.logs.quality_window_s, now)
    rows = await runtime.quality.query(query)
    answer = QualityAnswer(since=query.since, until=now, rows=rows)
    return Response(_encoder.encode(answer), media_type="application/json")


@post("/v1/quality", include_in_schema=False, status_code=200)
async def add_quality(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Samples from outside the request path (``omnisense eval``'s reference scores), admin key."""
    runtime = _admin(request)
    try:
        report = msgspec.json.decode(await request.body(), type=QualityReport)
    except msgspec.ValidationError as exc:
        raise unprocessable(exc, "the quality report") from None
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"the quality report is not JSON: {exc}") from None
    samples = [
        QualitySample(
            task=s.task.value,
            language=s.language.split("-")[0].lower(),
            provider=s.provider,
            source=s.source,
            score=s.score,
        )
        for s in report.samples
    ]
    runtime.quality.record(samples)
    return Response(_encoder.encode({"recorded": len(samples)}), media_type="application/json")


QUALITY_HANDLERS = [allow("/v1/quality", "GET, OPTIONS, POST"), read_quality, add_quality]
