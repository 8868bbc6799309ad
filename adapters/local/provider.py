"""The ``local`` provider: calls the model server over HTTP with one aiohttp session.

Capabilities are read from the model server's ``/capabilities`` at start, so
``GET /v1/providers`` shows exactly what the installed models can do. BentoML answers
503 when its queue is full: that is retried here a few times with backoff and then
reported as UpstreamThrottled, which the dispatcher treats as retryable and fallback.
"""

from __future__ import annotations

import os
import time
from typing import Any, ClassVar

import aiohttp
import msgspec
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from adapters.base import CallContext, ProviderResult
from adapters.kit import Handler, VendorProvider, build_prices, error_for_status, mapped_errors, parse_retry_after
from adapters.kit.config import ProviderConfig
from adapters.kit.long_audio import transcribe_in_chunks
from adapters.local.codec import ENDPOINTS, from_vendor, to_vendor
from adapters.local.config import LocalConfig
from adapters.local.supervisor import SHARED_URL_ENV, ModelServer, default_command
from gateway.schema import (
    Health,
    InvalidInput,
    OmnisenseError,
    ProviderInfo,
    Task,
    TaskRequest,
    TaskSupport,
    TranscribeRequest,
    TranscribeResult,
    Unsupported,
    UpstreamBadResponse,
    UpstreamThrottled,
    UpstreamUnavailable,
)


class _TaskCaps(msgspec.Struct, kw_only=True):
    model: str = ""
    languages: list[str] | None = None
    formats: list[str] | None = None
    pairs: list[tuple[str, str]] | None = None
    voices: list[str] | None = None


class _Capabilities(msgspec.Struct, kw_only=True):
    tasks: dict[str, _TaskCaps]
    device: str = "cpu"


def to_info(name: str, caps: _Capabilities, config: LocalConfig) -> ProviderInfo:
    support = {}
    for task_name, c in caps.tasks.items():
        try:
            task = Task(task_name)
        except ValueError:
            continue  # a task this gateway does not know (a newer model server)
        support[task] = TaskSupport(
            model=c.model,
            languages=frozenset(c.languages) if c.languages is not None else None,
            formats=frozenset(c.formats) if c.formats is not None else None,
            pairs=frozenset(tuple(p) for p in c.pairs) if c.pairs is not None else None,  # type: ignore[misc]
            voices=tuple(c.voices) if c.voices is not None else None,
        )
    return ProviderInfo(name=name, kind="local", capabilities=support, prices=build_prices({}, config.prices))


def classify(exc: BaseException) -> OmnisenseError | None:
    if isinstance(exc, aiohttp.ClientConnectionError):
        return UpstreamUnavailable(f"model server unreachable: {exc}")
    if isinstance(exc, aiohttp.ClientPayloadError | msgspec.DecodeError):
        return UpstreamBadResponse(f"model server answered a malformed body: {exc}")
    return None


class LocalProvider(VendorProvider[LocalConfig]):
    kind: ClassVar[str] = "local"
    config_type: ClassVar[type[ProviderConfig]] = LocalConfig

    def __init__(self, name: str, config: LocalConfig) -> None:
        super().__init__(name, config)
        # `omnisense serve` starts one shared model server and hands its URL to every worker.
        self.shared_url = os.environ.get(SHARED_URL_ENV) if self.config.url is None else None
        url = self.config.url or self.shared_url or f"http://{self.config.host}:{self.config.port}"
        self.url = url.rstrip("/")
        self.info = ProviderInfo(name=name, kind="local", capabilities={})
        self._http: aiohttp.ClientSession | None = None
        self._server: ModelServer | None = None

    async def start(self) -> None:
        if self.config.url is None and self.shared_url is None:
            command = self.config.serve_command or default_command(self.config.host, self.config.port)
            self._server = ModelServer(command, self.url, self.config.start_timeout_s)
            await self._server.start()
        # BentoML's server closes idle connections after 5 s: drop ours before it does.
        connector = aiohttp.TCPConnector(limit=self.config.max_connections, keepalive_timeout=4)
        self._http = aiohttp.ClientSession(self.url, connector=connector, raise_for_status=False)
        body = await self._post("/capabilities", {}, timeout_s=30)
        self.info = to_info(self.name, msgspec.json.decode(body, type=_Capabilities), self.config)
        self.handlers = {task: self._handler(task) for task in self.info.capabilities}

    async def _post(self, path: str, payload: dict[str, Any], *, timeout_s: float) -> bytes:
        data = msgspec.json.encode(payload)
        try:
            return await self._post_once(path, data, timeout_s)
        except aiohttp.ServerDisconnectedError:
            # A kept-alive connection the server closed just as we reused it: the request
            # never ran (the models are idempotent anyway), so one immediate retry is safe.
            return await self._post_once(path, data, timeout_s)

    async def _post_once(self, path: str, data: bytes, timeout_s: float) -> bytes:
        assert self._http is not None, "start() first"
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        async with self._http.post(path, data=data, timeout=timeout, headers={"Content-Type": "application/json"}) as r:
            body = await r.read()
            if r.status == 200:
                return body
            raise self._error(r.status, body, r.headers.get("Retry-After"))

    def _error(self, status: int, body: bytes, retry_after: str | None) -> OmnisenseError:
        detail = body[:300].decode(errors="replace")
        if status == 400:
            kind = _error_kind(body)
            cls = Unsupported if kind == "unsupported" else InvalidInput
            return cls(f"{self.name}: {_error_detail(body) or detail}", provider=self.name)
        if status == 503:
            return UpstreamThrottled(
                f"{self.name}: model server overloaded", retry_after_s=parse_retry_after(retry_after)
            )
        return error_for_status(status, detail, provider=self.name, retry_after_s=parse_retry_after(retry_after))

    def _handler(self, task: Task) -> Handler:
        model = self.info.capabilities[task].model or "local"

        async def call(request: TaskRequest, ctx: CallContext) -> ProviderResult:
            with mapped_errors(self.name, classify):
                if isinstance(request, TranscribeRequest):
                    whole = await transcribe_in_chunks(
                        request, self.config.transcribe_chunk_s, lambda r: self._one(r, ctx)
                    )
                    if whole is not None:
                        return ProviderResult(result=whole, model=model)
                body = await self._post_retrying(ENDPOINTS[task], to_vendor(request), ctx)
                # An answer may name the model that made it (a pivot translation's two pairs).
                return ProviderResult(result=from_vendor(task, body, request), model=_answer_model(body) or model)

        return call

    async def _one(self, request: TranscribeRequest, ctx: CallContext) -> TranscribeResult:
        """One chunk of long audio (``adapters.kit.long_audio``)."""
        body = await self._post_retrying(ENDPOINTS[Task.SPEECH_TRANSCRIBE], to_vendor(request), ctx)
        result = from_vendor(Task.SPEECH_TRANSCRIBE, body, request)
        assert isinstance(result, TranscribeResult)
        return result

    async def _post_retrying(self, path: str, payload: dict[str, Any], ctx: CallContext) -> bytes:
        """Post, retrying BentoML's 503 "overloaded" a few times (the first try outside tenacity)."""
        try:
            return await self._post(path, payload, timeout_s=min(self.config.timeout_s, max(0.01, ctx.remaining_s())))
        except UpstreamThrottled:
            if self.config.overload_retries < 1:
                raise
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.config.overload_retries),
            wait=wait_exponential_jitter(multiplier=0.05, max=1.0),
            retry=retry_if_exception_type(UpstreamThrottled),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                timeout = min(self.config.timeout_s, max(0.01, ctx.remaining_s()))
                return await self._post(path, payload, timeout_s=timeout)
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def probe(self) -> Health:
        """BentoML's /readyz: free, and true only when every model has loaded."""
        if self._http is None:
            return Health(ok=False, detail="not started")
        start = time.perf_counter()
        try:
            async with self._http.get("/readyz", timeout=aiohttp.ClientTimeout(total=3)) as r:
                ok = r.status == 200
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Health(ok=False, detail=f"{type(exc).__name__}: {exc}"[:200])
        return Health(ok=ok, latency_ms=(time.perf_counter() - start) * 1000, detail="ready" if ok else "not ready")

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self._server is not None:
            await self._server.stop()


class _ErrorBody(msgspec.Struct):
    error: str = ""
    detail: str = ""


class _AnswerModel(msgspec.Struct):
    model: str | None = None


def _answer_model(body: bytes) -> str | None:
    try:
        return msgspec.json.decode(body, type=_AnswerModel).model
    except msgspec.MsgspecError:
        return None


def _error_kind(body: bytes) -> str:
    try:
        return msgspec.json.decode(body, type=_ErrorBody).error
    except msgspec.MsgspecError:
        return ""


def _error_detail(body: bytes) -> str:
    try:
        return msgspec.json.decode(body, type=_ErrorBody).detail
    except msgspec.MsgspecError:
        return ""
