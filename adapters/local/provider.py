"""The ``local`` provider: calls the model server over HTTP with one aiohttp session.

Capabilities are read from the model server's ``/capabilities`` (its task list and each
model's input limits), so ``GET /v1/providers`` shows exactly what the installed models
can do. A model server that is down at start costs nothing but itself: the provider
starts with no capabilities (so the planner skips it) and reads them on the first probe
that finds the server ready (``probe()``, run by the gateway's background prober).

There is no retry here: BentoML's 503 "overloaded" becomes UpstreamThrottled, which the
dispatcher (the only retry layer) retries or falls back from. A kept-alive connection
that the server closed just as it was reused is re-sent once at once: that request
never reached the server, so it is a reconnect, not a retry.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any, ClassVar

import aiohttp
import msgspec

from adapters.base import CallContext, ProviderResult
from adapters.kit import Handler, VendorProvider, build_prices, error_for_status, mapped_errors, parse_retry_after
from adapters.kit.config import ProviderConfig
from adapters.kit.long_audio import transcribe_in_chunks
from adapters.local.codec import ENDPOINTS, from_vendor, to_vendor
from adapters.local.config import LocalConfig
from adapters.local.supervisor import SHARED_URL_ENV, STATE_ENV, ModelServer, default_command, read_restarts
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

log = logging.getLogger("omnisense.local")
TIMEOUT_HEADER = "X-Omnisense-Timeout-S"


class _Limits(msgspec.Struct, kw_only=True):
    """Input limits a model declares; the gateway refuses bigger input before the call."""

    max_chars: int | None = None
    max_bytes: int | None = None
    max_pixels: int | None = None
    max_seconds: float | None = None


class _TaskCaps(msgspec.Struct, kw_only=True):
    model: str = ""
    limits: _Limits = msgspec.field(default_factory=_Limits)
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
            max_chars=c.limits.max_chars,
            max_bytes=c.limits.max_bytes,
            max_pixels=c.limits.max_pixels,
            max_seconds=c.limits.max_seconds,
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
        self._capabilities_loaded = False

    async def start(self) -> None:
        """Start (or find) the model server and read its capabilities; never fatal when it
        is down: the provider then serves nothing until a probe finds it ready."""
        if self.config.url is None and self.shared_url is None:
            command = self.config.serve_command or default_command(self.config.host, self.config.port)
            self._server = ModelServer(command, self.url, self.config.start_timeout_s)
            await self._server.start()  # a port taken by a stranger is fatal; a slow server is not
        # BentoML's server closes idle connections after 5 s: drop ours before it does.
        connector = aiohttp.TCPConnector(limit=self.config.max_connections, keepalive_timeout=4)
        self._http = aiohttp.ClientSession(self.url, connector=connector, raise_for_status=False)
        try:
            await self._load_capabilities(timeout_s=self.config.capabilities_timeout_s)
        except (OmnisenseError, aiohttp.ClientError, TimeoutError, msgspec.MsgspecError) as exc:
            log.warning("%s: the model server at %s is not usable yet (%s): serving degraded", self.name, self.url, exc)

    async def _load_capabilities(self, *, timeout_s: float) -> None:
        body = await self._post("/capabilities", {}, timeout_s=timeout_s)
        self.info = to_info(self.name, msgspec.json.decode(body, type=_Capabilities), self.config)
        self.handlers = {task: self._handler(task) for task in self.info.capabilities}
        self._capabilities_loaded = True

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
        # The model server stops working on a request once this budget is spent (the
        # gateway has given up on it by then): see local_models' "time-bounded calls".
        headers = {"Content-Type": "application/json", TIMEOUT_HEADER: f"{timeout_s:.3f}"}
        async with self._http.post(path, data=data, timeout=timeout, headers=headers) as r:
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
            timeout = min(self.config.timeout_s, max(0.01, ctx.remaining_s()))
            with mapped_errors(self.name, classify):
                if isinstance(request, TranscribeRequest):
                    whole = await transcribe_in_chunks(
                        request, self.config.transcribe_chunk_s, lambda r: self._one(r, ctx)
                    )
                    if whole is not None:
                        return ProviderResult(result=whole, model=model)
                body = await self._post(ENDPOINTS[task], to_vendor(request), timeout_s=timeout)
                # An answer may name the model that made it (a pivot translation's two pairs).
                return ProviderResult(result=from_vendor(task, body, request), model=_answer_model(body) or model)

        return call

    async def _one(self, request: TranscribeRequest, ctx: CallContext) -> TranscribeResult:
        """One chunk of long audio (``adapters.kit.long_audio``)."""
        timeout = min(self.config.timeout_s, max(0.01, ctx.remaining_s()))
        body = await self._post(ENDPOINTS[Task.SPEECH_TRANSCRIBE], to_vendor(request), timeout_s=timeout)
        result = from_vendor(Task.SPEECH_TRANSCRIBE, body, request)
        assert isinstance(result, TranscribeResult)
        return result

    def model_server_restarts(self) -> int | None:
        """Restarts of the model server this gateway supervises (None: someone else runs it)."""
        if self._server is not None:
            return self._server.restarts
        state = os.environ.get(STATE_ENV) if self.shared_url else None
        return read_restarts(state) if state else None

    async def probe(self) -> Health:
        """BentoML's /readyz (free, true only when every model has loaded); the first ready
        answer after a degraded start also reads the capabilities."""
        if self._http is None:
            return Health(ok=False, detail="not started")
        start = time.perf_counter()
        try:
            async with self._http.get("/readyz", timeout=aiohttp.ClientTimeout(total=3)) as r:
                ok = r.status == 200
            if ok and not self._capabilities_loaded:
                await self._load_capabilities(timeout_s=10)
        except (OmnisenseError, aiohttp.ClientError, TimeoutError, msgspec.MsgspecError) as exc:
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
