"""The ``vertex`` provider: a deployed Vertex AI endpoint serving one task.

It speaks the endpoint's documented REST wire,
``POST {base}/v1/projects/{project}/locations/{location}/endpoints/{id}:predict`` with
``{"instances": [...], "parameters": {...}}`` -> ``{"predictions": [...], "deployedModelId"}``,
through one aiohttp session per provider (the gateway's own outbound HTTP, DESIGN §4), with
an OAuth access token from google-auth (ADC or a service-account file; none for
``credentials: anonymous``). The base URL is ``https://{location}-aiplatform.googleapis.com``
unless ``endpoint``/``endpoints.aiplatform`` says otherwise.

Why not google-cloud-aiplatform's GAPIC ``PredictionServiceClient``: aiplatform 2.x needs
google-genai, which pins tenacity < 9.2 while Omnisense needs tenacity >= 9.2 (pip finds no
solution), and aiplatform 1.x resolves only with protobuf < 7; the package also costs
~200 MB and seconds to import. The wire it would send is this same JSON.

The mapping between the task and the model's instances/predictions is in
``vertex_schemas``. ``probe()`` reads the endpoint's description (``GET .../endpoints/{id}``),
which costs nothing. Retries are the dispatcher's; the call is bounded by ``timeout_s`` and
the request's deadline.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, ClassVar

import aiohttp

from adapters.base import CallContext, ProviderResult
from adapters.google import vertex_schemas
from adapters.google.config import VertexConfig
from adapters.kit import BlockingPool, VendorProvider, error_for_status, parse_retry_after, parsed
from adapters.kit.config import ProviderConfig
from omnisense.schema import (
    Health,
    ImageRequest,
    InvalidInput,
    OmnisenseError,
    Price,
    ProviderInfo,
    TaskRequest,
    TaskSupport,
    TextRequest,
    UpstreamAuth,
    UpstreamBadResponse,
    UpstreamTimeout,
    UpstreamUnavailable,
    unit_of,
)

IMAGE_FORMATS = frozenset({"jpeg", "png", "gif", "bmp", "webp"})
MAX_BYTES = 1_500_000  # an online prediction request is at most 1.5 MB


class VertexProvider(VendorProvider[VertexConfig]):
    """One Vertex AI endpoint as a provider of one task."""

    kind: ClassVar[str] = "vertex"
    config_type: ClassVar[type[ProviderConfig]] = VertexConfig

    def __init__(self, name: str, config: VertexConfig, session: aiohttp.ClientSession | None = None) -> None:
        super().__init__(name, config)
        task = config.task
        formats = IMAGE_FORMATS if task.modality == "vision" else None
        support = TaskSupport(model=config.model_name, formats=formats, max_bytes=MAX_BYTES * 3 // 4)
        price = Price(usd=config.price_usd, per=1, unit=unit_of(task))
        self.info = ProviderInfo(name=name, kind=self.kind, capabilities={task: support}, prices={task: price})
        self.handlers = {task: self._predict}
        base = config.endpoint_for("aiplatform") or f"https://{config.location}-aiplatform.googleapis.com"
        where = f"projects/{config.project}/locations/{config.location}/endpoints/{config.endpoint_id}"
        self.url = f"{base.rstrip('/')}/v1/{where}"
        self._session = session
        self._credentials: Any = None
        self._auth_lock = asyncio.Lock()
        self._pool: BlockingPool | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.config.max_workers)
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    async def _headers(self) -> dict[str, str]:
        """The bearer token, refreshed in a thread when due (google-auth is blocking)."""
        headers = {"Content-Type": "application/json"}
        if self.config.credentials == "anonymous":
            return headers
        async with self._auth_lock:
            if self._credentials is None:
                self._credentials = await self._blocking(_load_credentials, self.config.credentials)
            creds = self._credentials
            if not creds.valid:
                from google.auth.transport.requests import Request

                await self._blocking(creds.refresh, Request())
        headers["Authorization"] = f"Bearer {creds.token}"
        return headers

    async def _blocking(self, fn: Any, *args: Any) -> Any:
        if self._pool is None:
            self._pool = BlockingPool(self.name, 2)
        try:
            return await self._pool.run(fn, *args)
        except Exception as exc:
            raise UpstreamAuth(f"{self.name}: credentials not usable: {exc}"[:500]) from exc

    async def _send(self, method: str, url: str, body: Any, timeout_s: float) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        try:
            async with self.session().request(
                method, url, data=data, headers=await self._headers(), timeout=timeout
            ) as response:
                payload = await response.read()
                if response.status >= 400:
                    raise _http_error(response.status, payload, response.headers.get("Retry-After"))
        except TimeoutError:
            raise UpstreamTimeout(f"{self.name}: no answer within {timeout_s:.1f} s") from None
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable(f"{self.name}: {type(exc).__name__}: {exc}"[:500]) from exc
        try:
            return json.loads(payload)
        except ValueError:
            raise UpstreamBadResponse(f"{self.name}: malformed JSON answer ({len(payload)} bytes)") from None

    async def _predict(self, request: TaskRequest, ctx: CallContext) -> ProviderResult:
        if not isinstance(request, ImageRequest | TextRequest):
            raise InvalidInput(f"{self.config.task} takes an image or a text, not a {type(request).__name__}")
        body = vertex_schemas.to_vendor(self.config, request)
        timeout = min(self.config.timeout_s, ctx.remaining_s())
        if timeout <= 0:
            raise UpstreamTimeout(f"{self.name}: the request's deadline passed before the call")
        answer = await self._send("POST", f"{self.url}:predict", body, timeout)
        result = parsed(self.name, lambda: vertex_schemas.from_vendor(self.config, answer, request))
        raw = answer if request.include_raw else None
        return ProviderResult(result=result, model=self.config.model_name, raw=raw)

    async def probe(self) -> Health:
        """``GET`` the endpoint's description (free)."""
        start = time.perf_counter()
        try:
            answer = await self._send("GET", self.url, None, self.config.probe_timeout_s)
        except OmnisenseError as exc:
            latency = (time.perf_counter() - start) * 1000.0
            return Health(ok=False, latency_ms=latency, detail=f"{type(exc).__name__}: {exc.detail}"[:300])
        latency = (time.perf_counter() - start) * 1000.0
        deployed = len(answer.get("deployedModels") or ()) if isinstance(answer, dict) else 0
        return Health(ok=True, latency_ms=latency, detail=f"vertex endpoint: {deployed} deployed model(s)")

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._pool is not None:
            self._pool.shutdown()


def _load_credentials(source: str) -> Any:
    scopes = ["https://www.googleapis.com/auth/cloud-platform"]
    if source == "adc":
        import google.auth

        credentials, _ = google.auth.default(scopes=scopes)
        return credentials
    from google.oauth2 import service_account

    return service_account.Credentials.from_service_account_file(source, scopes=scopes)  # type: ignore[no-untyped-call]


def _http_error(status: int, payload: bytes, retry_after: str | None) -> OmnisenseError:
    """The error for a Google error body ``{"error": {"code", "message", "status"}}``."""
    try:
        error = json.loads(payload).get("error") or {}
        detail = f"{error.get('status', '')}: {error.get('message', '')}".strip(": ")
    except (ValueError, AttributeError):
        detail = payload[:200].decode("utf-8", errors="replace")
    if status == 404:
        return UpstreamBadResponse(f"vertex: HTTP 404: {detail}"[:500])
    return error_for_status(status, detail, provider="vertex", retry_after_s=parse_retry_after(retry_after))
