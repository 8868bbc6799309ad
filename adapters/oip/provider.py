"""The ``oip`` provider: one task of a model on an Open Inference Protocol (V2) server.

Calls ``POST /v2/models/{model}[/versions/{v}]/infer`` with one aiohttp session; the
tensors come from the block's declared mapping (``adapters.oip.tensors`` and
``adapters.oip.outputs``). ``start`` reads the model's metadata (``GET /v2/models/...``)
when the server is up, and checks the declared tensor names against it when the server
lists them (MLServer's scikit-learn runtime lists none); a server that is down at start
is not an error: the provider answers UpstreamUnavailable until it is back, so the
dispatcher falls back to the next candidate. ``probe`` is free: the server's
``/v2/health/ready`` and the model's ``.../ready``.

Errors, like any vendor's (DESIGN §3): connection refused and 5xx -> UpstreamUnavailable,
429 -> UpstreamThrottled, 408/504 and timeouts -> UpstreamTimeout, 401/403 ->
UpstreamAuth, 404 (model or version not loaded) -> UpstreamUnavailable. A 400/422 is the
server refusing the tensors *this mapping* built from an input the gateway already
accepted, so it is UpstreamBadResponse (the next candidate may serve it) rather than the
caller's InvalidInput; an answer that lacks a declared output is UpstreamBadResponse too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, ClassVar

import aiohttp
import msgspec

from adapters.base import CallContext, ProviderResult
from adapters.kit import VendorProvider, build_prices, error_for_status, mapped_errors, parse_retry_after, parsed
from adapters.kit.config import ProviderConfig
from adapters.oip.config import OipConfig
from adapters.oip.outputs import from_vendor
from adapters.oip.tensors import infer_body
from omnisense.schema import (
    Health,
    OmnisenseError,
    ProviderInfo,
    TaskRequest,
    TaskSupport,
    UpstreamBadResponse,
    UpstreamUnavailable,
)

log = logging.getLogger("omnisense.oip")
_IMAGE_FORMATS = frozenset({"jpeg", "png", "webp", "gif", "bmp", "tiff"})


class TensorMeta(msgspec.Struct, kw_only=True):
    name: str
    datatype: str = ""
    shape: list[int] = msgspec.field(default_factory=list)


class ModelMetadata(msgspec.Struct, kw_only=True):
    name: str
    versions: list[str] = msgspec.field(default_factory=list)
    platform: str = ""
    inputs: list[TensorMeta] = msgspec.field(default_factory=list)
    outputs: list[TensorMeta] = msgspec.field(default_factory=list)


def mapping_mismatches(config: OipConfig, meta: ModelMetadata) -> list[str]:
    """Declared tensor names the model's metadata does not list (only checked when it lists any)."""
    problems = []
    if meta.inputs:
        known = {t.name for t in meta.inputs}
        problems += [f"input {t.name!r} is not one of {sorted(known)}" for t in config.inputs if t.name not in known]
    if meta.outputs:
        known = {t.name for t in meta.outputs}
        problems += [f"output {n!r} is not one of {sorted(known)}" for n in config.outputs.names() if n not in known]
    return problems


def classify(exc: BaseException) -> OmnisenseError | None:
    if isinstance(exc, aiohttp.ClientConnectionError):
        return UpstreamUnavailable(f"inference server unreachable: {exc}")
    if isinstance(exc, aiohttp.ClientPayloadError | msgspec.DecodeError):
        return UpstreamBadResponse(f"inference server answered a malformed body: {exc}")
    return None


class OipProvider(VendorProvider[OipConfig]):
    kind: ClassVar[str] = "oip"
    config_type: ClassVar[type[ProviderConfig]] = OipConfig

    def __init__(self, name: str, config: OipConfig) -> None:
        super().__init__(name, config)
        self.url = config.url.rstrip("/")
        version = f":{config.version}" if config.version else ""
        self.model = config.model_label or f"{config.model}{version}"
        task = config.task
        media = _IMAGE_FORMATS if task.value.startswith("vision.") else None
        languages = frozenset(config.languages) if config.languages else None
        support = TaskSupport(model=self.model, formats=media, languages=languages)
        where = config.placement()
        self.info = ProviderInfo(
            name=name, kind="oip", capabilities={task: support}, prices=build_prices({}, config.prices),
            region=where.region, jurisdiction=where.jurisdiction,
        )  # fmt: skip
        self.handlers = {task: self._infer}
        self.metadata: ModelMetadata | None = None
        self.mismatches: list[str] = []
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=self.config.max_workers * 4)
        self._http = aiohttp.ClientSession(self.url, connector=connector, headers=self.config.headers)
        try:
            self.metadata = await self.read_metadata()
        except (OmnisenseError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("%s: model metadata unavailable at start (%s); serving on the declared mapping", self.name, exc)
            return
        self.mismatches = mapping_mismatches(self.config, self.metadata)
        for problem in self.mismatches:
            log.error("%s: the declared mapping does not fit the model: %s", self.name, problem)

    async def read_metadata(self) -> ModelMetadata:
        """``GET /v2/models/{name}[/versions/{v}]``."""
        body = await self._call("GET", self.config.model_path, None, timeout_s=min(5.0, self.config.timeout_s))
        return parsed(self.name, lambda: msgspec.json.decode(body, type=ModelMetadata))

    async def _infer(self, request: TaskRequest, ctx: CallContext) -> ProviderResult:
        with mapped_errors(self.name, classify):
            if any(t.pixels for t in self.config.inputs):  # decoding and resizing an image is CPU work
                payload = await asyncio.to_thread(infer_body, self.config, request, ctx.request_id)
            else:
                payload = infer_body(self.config, request, ctx.request_id)
            timeout = min(self.config.timeout_s, max(0.01, ctx.remaining_s()))
            body = await self._call("POST", f"{self.config.model_path}/infer", payload, timeout_s=timeout)
            result = parsed(self.name, lambda: from_vendor(self.config, body, request))
            return ProviderResult(result=result, model=self.model, raw=msgspec.json.decode(body))

    async def _call(self, method: str, path: str, payload: dict[str, Any] | None, *, timeout_s: float) -> bytes:
        if self._http is None:
            raise UpstreamUnavailable(f"{self.name}: not started")
        data = None if payload is None else msgspec.json.encode(payload)
        headers = {"Content-Type": "application/json"} if data is not None else None
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        async with self._http.request(method, path, data=data, headers=headers, timeout=timeout) as r:
            body = await r.read()
            if r.status == 200:
                return body
            raise self._error(r.status, body, r.headers.get("Retry-After"))

    def _error(self, status: int, body: bytes, retry_after: str | None) -> OmnisenseError:
        detail = _error_text(body)
        if status == 404:
            return UpstreamUnavailable(f"{self.name}: HTTP 404: {detail}"[:500])
        if status in (400, 422):
            return UpstreamBadResponse(
                f"{self.name}: the server refused the mapped tensors: HTTP {status}: {detail}"[:500]
            )
        return error_for_status(status, detail, provider=self.name, retry_after_s=parse_retry_after(retry_after))

    async def probe(self) -> Health:
        """Free: the server's readiness, then the model's (this version's)."""
        if self._http is None:
            return Health(ok=False, detail="not started")
        start = time.perf_counter()
        for path in ("/v2/health/ready", f"{self.config.model_path}/ready"):
            try:
                async with self._http.get(path, timeout=aiohttp.ClientTimeout(total=3)) as r:
                    if r.status != 200:
                        return Health(ok=False, detail=f"{path}: HTTP {r.status}")
            except (aiohttp.ClientError, TimeoutError) as exc:
                return Health(ok=False, detail=f"{type(exc).__name__}: {exc}"[:200])
        ms = (time.perf_counter() - start) * 1000
        detail = "ready" if not self.mismatches else "ready; mapping: " + "; ".join(self.mismatches)
        return Health(ok=not self.mismatches, latency_ms=ms, detail=detail[:300])

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None


class _ErrorBody(msgspec.Struct):
    error: str = ""


def _error_text(body: bytes) -> str:
    """The OIP error body's ``error`` (``{"error": "..."}``), else the body's start."""
    try:
        text = msgspec.json.decode(body, type=_ErrorBody).error
    except msgspec.MsgspecError:
        text = ""
    return (text or body[:300].decode(errors="replace")).strip()
