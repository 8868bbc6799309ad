"""The ``local`` provider: calls the model server(s) over HTTP with one aiohttp session.

``url`` names one model server or several replicas (``discover: dns`` resolves each host
name into every address it has: a Kubernetes headless Service lists its pods this way); with
no ``url`` the gateway runs one itself. Every call goes to the replica ``ReplicaSet.pick()``
chooses (``replicas.py``: the ready one with the fewest calls in flight).

Capabilities are read from a model server's ``/capabilities`` (its task list and each
model's input limits; every replica is expected to serve the same models), so ``GET
/v1/providers`` shows exactly what the installed models can do. Model servers that are down
at start cost nothing but themselves: the provider starts with no capabilities (so the
planner skips it) and reads them on the first probe that finds a replica ready (``probe()``,
run by the gateway's background prober, which also marks each replica ready or down).

There is no retry here: BentoML's 503 "overloaded" becomes UpstreamThrottled, which the
dispatcher (the only retry layer) retries or falls back from. What is not a retry: a call
that never reached a model server. A replica that refuses the connection (or does not
accept it within ``connect_timeout_s``) is marked down and the same call goes to the next
replica at once. A kept-alive connection that the server closed just as it was reused is
re-sent once at once (a reconnect; refused then, the call moves on as above). Everything
else, an answer (even an error), a reset or a read timeout, may have reached a model server
and is final here: no call is repeated on another replica behind the dispatcher's back (a
request that crashes model servers must not take them down one by one).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar

import aiohttp
import msgspec

from adapters.base import BlurredImage, CallContext, PiiFound, ProviderResult
from adapters.kit import Handler, VendorProvider, error_for_status, mapped_errors, parse_retry_after
from adapters.kit.config import ProviderConfig
from adapters.kit.long_audio import transcribe_in_chunks
from adapters.local.capabilities import Capabilities, to_info
from adapters.local.codec import ENDPOINTS, from_vendor, to_vendor
from adapters.local.config import LocalConfig
from adapters.local.discovery import Resolver, discover, fixed, system_resolver
from adapters.local.live import LocalTranscription, open_live
from adapters.local.replicas import Replica, ReplicaSet
from adapters.local.stream import PATH as STREAM_PATH
from adapters.local.stream import audio_of
from adapters.local.supervisor import (
    SHARED_URL_ENV,
    STATE_ENV,
    BackgroundModelServer,
    ModelServer,
    default_command,
    read_restarts,
)
from omnisense.schema import (
    Health,
    InvalidInput,
    OmnisenseError,
    ProviderInfo,
    SynthesizeRequest,
    Task,
    TaskRequest,
    TranscribeRequest,
    TranscribeResult,
    Unsupported,
    UpstreamBadResponse,
    UpstreamThrottled,
    UpstreamUnavailable,
)

log = logging.getLogger("omnisense.local")
TIMEOUT_HEADER = "X-Omnisense-Timeout-S"

# No connection: the call never reached a model server, so another replica may take it.
_REFUSED = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)


def _closed_on_reuse(exc: BaseException) -> bool:
    """The server closed the kept-alive connection as we reused it: it disconnected before
    answering, or the connection was already closing while aiohttp wrote the request (which
    so never arrived whole; aiohttp says so only in the message: if that ever changes, the
    call simply goes to the dispatcher, which retries it)."""
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return True
    return isinstance(exc, aiohttp.ClientOSError) and "Can not write request body" in str(exc)


def _describe(exc: BaseException | None) -> str:
    return f"{type(exc).__name__}: {exc}"[:200]


def classify(exc: BaseException) -> OmnisenseError | None:
    if isinstance(exc, aiohttp.ClientConnectionError):
        return UpstreamUnavailable(f"model server unreachable: {exc}")
    if isinstance(exc, aiohttp.ClientPayloadError | msgspec.DecodeError):
        return UpstreamBadResponse(f"model server answered a malformed body: {exc}")
    return None


class LocalProvider(VendorProvider[LocalConfig]):
    """Also ``adapters.base.Replicated``, ``SupervisesModelServer`` and (the class) ``PreparesWorkers``."""

    kind: ClassVar[str] = "local"
    config_type: ClassVar[type[ProviderConfig]] = LocalConfig

    @classmethod
    def before_workers(cls, configs: Mapping[str, Any]) -> BackgroundModelServer | None:
        """``omnisense serve``: start the model server once, in the serving process, for the
        first block without a ``url``; every worker's provider then calls it (``SHARED_URL_ENV``)
        and reads its restarts (``STATE_ENV``). ``PortInUse`` when a stranger holds its port."""
        local = next((c for c in configs.values() if isinstance(c, LocalConfig) and not c.url), None)
        if local is None:
            return None
        url = f"http://{local.host}:{local.port}"
        command = local.serve_command or default_command(local.host, local.port)
        state = os.path.join(tempfile.gettempdir(), f"omnisense-models-{os.getpid()}.json")
        server = BackgroundModelServer(ModelServer(command, url, local.start_timeout_s, state_path=state))
        server.start()
        os.environ[SHARED_URL_ENV] = url
        os.environ[STATE_ENV] = state  # the workers read restarts for /metrics
        return server

    def __init__(self, name: str, config: LocalConfig, *, resolver: Resolver | None = None) -> None:
        super().__init__(name, config)
        # `omnisense serve` starts one shared model server and hands its URL to every worker.
        self.shared_url = os.environ.get(SHARED_URL_ENV) if self.config.url is None else None
        own = self.shared_url or f"http://{self.config.host}:{self.config.port}"
        self.urls = self.config.urls() or [own.rstrip("/")]
        self.resolver = resolver or system_resolver
        self.replicas = ReplicaSet.of(fixed(self.urls), recheck=self._check, recheck_s=self.config.recheck_s)
        where = config.placement()
        self.info = ProviderInfo(
            name=name, kind="local", capabilities={}, region=where.region, jurisdiction=where.jurisdiction
        )
        self._http: aiohttp.ClientSession | None = None
        # A task call's timeout: the dispatcher cancels the call at its deadline (see ``_post``).
        self._connect_only = aiohttp.ClientTimeout(total=None, sock_connect=self.config.connect_timeout_s)
        self._server: ModelServer | None = None
        self._capabilities_loaded = False
        self._dns_errors: list[str] = []
        self.stream_languages: frozenset[str] | None = None  # what WS /live/transcribe speaks
        self._live_http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Start (or find) the model server(s) and read the capabilities; never fatal when
        they are down: the provider then serves nothing until a probe finds one ready."""
        if self.config.url is None and self.shared_url is None:
            command = self.config.serve_command or default_command(self.config.host, self.config.port)
            self._server = ModelServer(command, self.urls[0], self.config.start_timeout_s)
            await self._server.start()  # a port taken by a stranger is fatal; a slow server is not
        # BentoML's server closes idle connections after 5 s: drop ours before it does.
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=self.config.max_connections, keepalive_timeout=4)
        self._http = aiohttp.ClientSession(connector=connector, raise_for_status=False)
        await self._discover()
        try:
            await self._load_capabilities(timeout_s=self.config.capabilities_timeout_s)
        except (OmnisenseError, aiohttp.ClientError, TimeoutError, msgspec.MsgspecError) as exc:
            log.warning("%s: no model server at %s is usable yet (%s): serving degraded", self.name, self.urls, exc)

    async def _discover(self) -> None:
        """``discover: dns``: (re-)resolve the URLs' host names into the replica set."""
        if self.config.discover != "dns":
            return
        previous = [r.target for r in self.replicas.replicas]
        targets, self._dns_errors = await discover(self.urls, self.resolver, previous)
        self.replicas.replace(targets)

    async def _load_capabilities(self, *, timeout_s: float) -> None:
        body = await self._post("/capabilities", {}, timeout_s=timeout_s)
        caps = msgspec.json.decode(body, type=Capabilities)
        self.info = to_info(self.name, caps, self.config)
        live = caps.tasks.get(Task.SPEECH_TRANSCRIBE.value)
        self.stream_languages = frozenset(live.stream_languages) if live and live.stream_languages else None
        self.handlers = {task: self._handler(task) for task in self.info.capabilities}
        self._capabilities_loaded = True

    async def _post(
        self, path: str, payload: dict[str, Any], *, timeout_s: float, caller_bounds: bool = False
    ) -> bytes:
        """One call, to the replica ``pick()`` chooses. A replica that refuses the connection
        is marked down and the same call goes to the next one at once (it never reached a
        model server). Anything else, an answer (even an error), a reset, a timeout, is
        final here: the call may have reached a model server, and the dispatcher (the only
        retry layer) decides; its retry picks a replica again.

        ``caller_bounds``: the caller cancels the call when ``timeout_s`` runs out (a task
        call's ``CallContext.deadline`` comes first), so aiohttp arms no timer of its own."""
        data = msgspec.json.encode(payload)
        deadline = time.monotonic() + timeout_s
        limits = self._connect_only if caller_bounds else None
        tried: list[Replica] = []
        last: Exception | None = None
        while (replica := self.replicas.pick(tried)) is not None:
            try:
                body = await self._post_reconnecting(replica, path, data, deadline, limits)
            except _REFUSED as exc:
                if time.monotonic() >= deadline:  # the call's own budget ran out while connecting
                    raise TimeoutError(f"no connection to {replica.url} in time") from exc
                self.replicas.mark_down(replica, _describe(exc))
                tried.append(replica)
                last = exc
                continue
            replica.answered += 1
            if not replica.ready:  # it answered: the mark was stale
                self.replicas.mark_ready(replica)
            return body
        why = f"last: {_describe(last)}" if last else "; ".join(self._dns_errors) or "none configured"
        raise UpstreamUnavailable(
            f"{self.name}: no model server answered ({len(tried)} replica(s) tried; {why})"
        ) from last

    async def _post_reconnecting(
        self, replica: Replica, path: str, data: bytes, deadline: float, limits: aiohttp.ClientTimeout | None
    ) -> bytes:
        try:
            return await self._post_once(replica, path, data, deadline, limits)
        except aiohttp.ClientConnectionError as exc:
            if not _closed_on_reuse(exc):
                raise
            # A kept-alive connection the server closed just as we reused it: the request
            # never ran (the models are idempotent anyway), so one immediate retry is safe.
            return await self._post_once(replica, path, data, deadline, limits)

    async def _post_once(
        self, replica: Replica, path: str, data: bytes, deadline: float, limits: aiohttp.ClientTimeout | None
    ) -> bytes:
        """``limits``: aiohttp's timeouts when the caller bounds the call; else made here, to ``deadline``."""
        assert self._http is not None, "start() first"
        timeout_s = deadline - time.monotonic()
        if timeout_s <= 0:
            raise TimeoutError("no time left for the model server")
        timeout = limits
        if timeout is None:
            timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=min(timeout_s, self.config.connect_timeout_s))
        # The model server stops working on a request once this budget is spent (the
        # gateway has given up on it by then): see local_models' "time-bounded calls".
        headers = {"Content-Type": "application/json", TIMEOUT_HEADER: f"{timeout_s:.3f}"}
        target = replica.target
        if target.host_header:
            headers["Host"] = target.host_header
        replica.in_flight += 1
        try:
            async with self._http.post(
                target.url + path, data=data, timeout=timeout, headers=headers, server_hostname=target.server_hostname
            ) as r:
                body = await r.read()
                if r.status == 200:
                    return body
                raise self._error(r.status, body, r.headers.get("Retry-After"))
        finally:
            replica.in_flight -= 1

    def _error(self, status: int, body: bytes, retry_after: str | None) -> OmnisenseError:
        detail = body[:300].decode(errors="replace")
        if status == 400:
            kind = _error_kind(body)
            cls = Unsupported if kind == "unsupported" else InvalidInput
            return cls(f"{self.name}: {_error_detail(body) or detail}")
        if status == 503:
            return UpstreamThrottled(
                f"{self.name}: model server overloaded", retry_after_s=parse_retry_after(retry_after)
            )
        return error_for_status(status, detail, provider=self.name, retry_after_s=parse_retry_after(retry_after))

    def _handler(self, task: Task) -> Handler:
        model = self.info.capabilities[task].model or "local"

        async def call(request: TaskRequest, ctx: CallContext) -> ProviderResult:
            remaining = ctx.remaining_s()
            timeout = min(self.config.timeout_s, max(0.01, remaining))
            bounded = self.config.timeout_s >= remaining  # the caller's deadline comes first
            with mapped_errors(self.name, classify):
                if isinstance(request, TranscribeRequest) and not request.diarize:  # one speaker numbering: whole
                    whole = await transcribe_in_chunks(
                        request, self.config.transcribe_chunk_s, lambda r: self._one(r, ctx)
                    )
                    if whole is not None:
                        return ProviderResult(result=whole, model=model)
                body = await self._post(ENDPOINTS[task], to_vendor(request), timeout_s=timeout, caller_bounds=bounded)
                # An answer may name the model that made it (a pivot translation's two pairs).
                return ProviderResult(result=from_vendor(task, body, request), model=_answer_model(body) or model)

        return call

    async def synthesize_stream(self, request: SynthesizeRequest, ctx: CallContext) -> AsyncIterator[bytes]:
        """``adapters.base.StreamingSynthesizer``: the model server's audio as it makes it, a
        sentence at a time. A replica that refuses the connection is marked down and the next
        one is asked; anything after a connection is final here (the dispatcher decides)."""
        support = self.info.capabilities.get(Task.SPEECH_SYNTHESIZE)
        if support is None or not support.streaming:
            raise Unsupported(f"{self.name}: its model server does not stream synthesis", field="stream")
        assert self._http is not None, "start() first"
        timeout_s = max(0.01, ctx.remaining_s())
        headers = {"Content-Type": "application/json", TIMEOUT_HEADER: f"{timeout_s:.3f}"}
        data = msgspec.json.encode(to_vendor(request))
        limits = aiohttp.ClientTimeout(total=None, sock_connect=self.config.connect_timeout_s)  # the caller bounds
        tried: list[Replica] = []
        with mapped_errors(self.name, classify):
            while (replica := self.replicas.pick(tried)) is not None:
                target = replica.target
                sent = dict(headers, Host=target.host_header) if target.host_header else headers
                try:
                    response = await self._http.post(
                        target.url + STREAM_PATH, data=data, timeout=limits, headers=sent,
                        server_hostname=target.server_hostname,
                    )  # fmt: skip
                except _REFUSED as exc:
                    self.replicas.mark_down(replica, _describe(exc))
                    tried.append(replica)
                    continue
                replica.in_flight += 1
                try:
                    if response.status != 200:
                        raise self._error(response.status, await response.read(), response.headers.get("Retry-After"))
                    replica.answered += 1
                    async for chunk in audio_of(self.name, response):
                        yield chunk
                    return
                finally:
                    replica.in_flight -= 1
                    response.release()
            raise UpstreamUnavailable(f"{self.name}: no model server answered ({len(tried)} replica(s) tried)")

    async def _one(self, request: TranscribeRequest, ctx: CallContext) -> TranscribeResult:
        """One chunk of long audio (``adapters.kit.long_audio``)."""
        timeout = min(self.config.timeout_s, max(0.01, ctx.remaining_s()))
        body = await self._post(ENDPOINTS[Task.SPEECH_TRANSCRIBE], to_vendor(request), timeout_s=timeout)
        result = from_vendor(Task.SPEECH_TRANSCRIBE, body, request)
        assert isinstance(result, TranscribeResult)
        return result

    async def open_transcription(
        self, *, sample_rate: int, language: str | None, interim: bool, ctx: CallContext
    ) -> LocalTranscription:
        """``adapters.base.StreamingTranscriber``: a live stream on a model server (``adapters.local.live``)."""
        if self._live_http is None:  # live streams hold their connection: a pool of their own, unbounded
            self._live_http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        return await open_live(
            self.name, self._live_http, self.replicas, self.stream_languages, sample_rate=sample_rate,
            language=language, interim=interim, connect_timeout_s=self.config.connect_timeout_s,
        )  # fmt: skip

    async def find_pii(self, texts: list[str], timeout_s: float) -> PiiFound:
        """PII spans in each text, by the model server's redactor (``POST /redact/text``)."""
        body = await self._post("/redact/text", {"texts": texts}, timeout_s=timeout_s)
        return msgspec.json.decode(body, type=PiiFound)

    async def blur(self, image: bytes, *, faces: bool, text: bool, timeout_s: float) -> BlurredImage:
        """The image with faces and/or text regions blurred (``POST /redact/image``)."""
        payload = {"image": base64.b64encode(image).decode(), "faces": faces, "text": text}
        body = await self._post("/redact/image", payload, timeout_s=timeout_s)
        answer = msgspec.json.decode(body, type=_Blurred)
        data = base64.b64decode(answer.image, validate=True)
        size = answer.size or {}
        return BlurredImage(
            image=data, format=answer.format, counts=answer.counts, version=answer.version,
            width=size.get("width"), height=size.get("height"),
        )  # fmt: skip

    def model_server_restarts(self) -> int | None:
        """Restarts of the model server this gateway supervises (None: someone else runs it)."""
        if self._server is not None:
            return self._server.restarts
        state = os.environ.get(STATE_ENV) if self.shared_url else None
        return read_restarts(state) if state else None

    async def probe(self) -> Health:
        """Every replica's /readyz (BentoML's: free, true only when every model has loaded),
        concurrently, each marking its replica; re-resolves the names first with ``discover:
        dns``. The first ready answer after a degraded start also reads the capabilities."""
        if self._http is None:
            return Health(ok=False, detail="not started")
        start = time.perf_counter()
        await self._discover()
        await asyncio.gather(*(self._check(r) for r in self.replicas.replicas))
        ok = self.replicas.ready_count() > 0
        detail = "; ".join([self.replicas.summary(), *self._dns_errors])
        if ok and not self._capabilities_loaded:
            try:
                await self._load_capabilities(timeout_s=10)
            except (OmnisenseError, aiohttp.ClientError, TimeoutError, msgspec.MsgspecError) as exc:
                return Health(ok=False, detail=f"{detail}; capabilities: {type(exc).__name__}: {exc}"[:500])
        return Health(ok=ok, latency_ms=(time.perf_counter() - start) * 1000, detail=detail[:500])

    async def _check(self, replica: Replica) -> None:
        """One replica's /readyz, marking it ready or down (also the re-check of a down one)."""
        if self._http is None:
            return
        target = replica.target
        timeout = aiohttp.ClientTimeout(total=3, sock_connect=min(3, self.config.connect_timeout_s))
        headers = {"Host": target.host_header} if target.host_header else None
        try:
            async with self._http.get(
                target.url + "/readyz", timeout=timeout, headers=headers, server_hostname=target.server_hostname
            ) as r:
                status = r.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.replicas.mark_down(replica, _describe(exc))
            return
        if status == 200:
            self.replicas.mark_ready(replica)
        else:
            self.replicas.mark_down(replica, f"/readyz answered {status}")

    def replica_status(self) -> list[dict[str, Any]]:
        """Each replica: url, ready, in_flight, answered (and error, down_s when down)."""
        return self.replicas.status()

    def replica_counts(self) -> tuple[int, int]:
        """(ready, all) replicas, for /metrics."""
        return self.replicas.ready_count(), len(self.replicas.replicas)

    async def aclose(self) -> None:
        await self.replicas.aclose()
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self._live_http is not None:
            await self._live_http.close()
            self._live_http = None
        if self._server is not None:
            await self._server.stop()


class _Blurred(msgspec.Struct):
    image: str
    format: str
    counts: dict[str, int]
    version: str
    size: dict[str, int] | None = None


class _ErrorBody(msgspec.Struct):
    error: str = ""
    detail: str = ""


class _AnswerModel(msgspec.Struct):
    model: str | None = None


def _answer_model(body: bytes) -> str | None:
    if b'"model"' not in body:  # most answers name no model: no second decode of the body
        return None
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
