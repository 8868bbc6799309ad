"""Azure clients built once per provider (``adapters.kit.SdkClients``), and ``call_json``.

The SDKs are imported here, lazily, when the first client is built: importing
``adapters.registry`` or ``adapters.azure.provider`` imports none of them.

- Computer Vision: ``ComputerVisionClient`` (msrest) with its retries off (``retries = 0``);
- Language, Translator, Content Safety: azure-core clients built with ``retry_total=0``;
- Speech: the REST endpoints through one shared aiohttp session (the Speech SDK speaks
  only its websocket protocol).

Every sync call runs in the provider's bounded pool, bounded
by the request's deadline on top of the per-call read timeout (``timeout_s``, cut to the
time left), with its exceptions mapped by ``errors.classify``. ``call_json`` also captures
the service's JSON answer (through azure-core's ``raw_response_hook``) so the service
modules' ``from_vendor`` functions read the documented wire shape, not SDK models; an error
status is mapped there too, from the status and body on the wire (an SDK that cannot parse
an empty 503 body would otherwise report a decode error instead of the 503).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from adapters.azure.config import AzureConfig
from adapters.azure.errors import classify, from_http
from adapters.base import CallContext
from adapters.kit import SdkClients
from omnisense.schema import UpstreamAuth

SCOPE = "https://cognitiveservices.azure.com/.default"


class AzureClients(SdkClients[AzureConfig]):
    """One client per Azure service (``adapters.kit.SdkClients``), and one aiohttp session."""

    classify = classify
    _credential: Any = None
    _session: Any = None

    # --- credentials ---------------------------------------------------------------------

    def entra(self) -> Any:
        """azure-identity's DefaultAzureCredential, built once (imported only for entra)."""
        if self._credential is None:
            from azure.identity import DefaultAzureCredential

            self._credential = DefaultAzureCredential()
        return self._credential

    def key(self, service: str) -> str:
        found = self.config.key_for(service)
        if not found:
            raise UpstreamAuth(f"{self.name}: no key for {service}")
        return found

    def core_credential(self, service: str) -> Any:
        if self.config.credential == "entra":
            return self.entra()
        from azure.core.credentials import AzureKeyCredential

        return AzureKeyCredential(self.key(service))

    def auth_headers(self, service: str) -> dict[str, str]:
        """Headers for the REST services (Speech): a key, or an Entra bearer token."""
        if self.config.credential == "entra":
            token = self.entra().get_token(SCOPE).token
            return {"Authorization": f"Bearer {token}"}
        return {"Ocp-Apim-Subscription-Key": self.key(service)}

    # --- SDK clients ---------------------------------------------------------------------

    def build(self, key: str) -> Any:
        return _BUILDERS[key](self)

    def endpoint(self, service: str) -> str:
        url = self.config.endpoint_for(service)
        if not url:
            raise UpstreamAuth(f"{self.name}: no endpoint for {service}")
        return url

    def timeouts(self, ctx: CallContext | None, probe: bool = False) -> tuple[float, float]:
        """(connect, read) seconds for one call: the config's, cut to the request's time left."""
        read = self.config.probe_timeout_s if probe else self.config.timeout_s
        if ctx is not None:
            read = max(0.05, min(read, ctx.remaining_s()))
        return min(self.config.connect_timeout_s, read), read

    # --- calls ---------------------------------------------------------------------------

    async def call_json(
        self, service: str, method: str, ctx: CallContext | None, *args: Any, probe: bool = False, **kwargs: Any
    ) -> Any:
        """``client(service).<method>(*args, **kwargs)`` on an azure-core client; the answer's JSON."""
        connect, read = self.timeouts(ctx, probe)
        captured: list[Any] = []

        def hook(response: Any) -> None:
            http = response.http_response
            text = http.text()
            if http.status_code >= 300:  # mapped from the wire, whatever the SDK makes of the body
                raise from_http(http.status_code, dict(http.headers), text)
            captured.append(json.loads(text) if text else None)

        if self.config.credential == "entra" and self.endpoint(service).startswith("http://"):
            kwargs["enforce_https"] = False  # a bearer token over plain http: a local container or fake

        def invoke() -> Any:
            getattr(self.client(service), method)(
                *args, connection_timeout=connect, read_timeout=read, raw_response_hook=hook, **kwargs
            )
            return captured[-1] if captured else None

        return await self.run(invoke, ctx=ctx)

    async def session(self) -> Any:
        """The shared aiohttp session for the REST services (created in the running loop)."""
        if self._session is None or self._session.closed:
            import aiohttp

            limit = aiohttp.TCPConnector(limit=self.config.max_workers)
            self._session = aiohttp.ClientSession(connector=limit, headers={"User-Agent": "omnisense"})
        return self._session

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        await super().aclose()


class _EntraAuth:
    """msrest authentication from an azure-identity credential (bearer token per request)."""

    def __init__(self, credential: Any) -> None:
        self.credential = credential

    def signed_session(self, session: Any = None) -> Any:
        import requests

        session = session or requests.Session()
        session.headers["Authorization"] = f"Bearer {self.credential.get_token(SCOPE).token}"
        return session


def _vision(clients: AzureClients) -> Any:
    from azure.cognitiveservices.vision.computervision import ComputerVisionClient
    from msrest.authentication import CognitiveServicesCredentials

    if clients.config.credential == "entra":
        credentials: Any = _EntraAuth(clients.entra())
    else:
        credentials = CognitiveServicesCredentials(clients.key("vision"))
    client = ComputerVisionClient(clients.endpoint("vision"), credentials)  # type: ignore[no-untyped-call]
    client.config.retry_policy.retries = 0  # deliberate: the gateway's dispatcher retries
    client.config.connection.timeout = clients.config.timeout_s  # type: ignore[assignment]
    client.config.add_user_agent("omnisense")
    return client


def _language(clients: AzureClients) -> Any:
    from azure.ai.textanalytics import TextAnalyticsClient

    from adapters.azure.language import API_VERSION

    return TextAnalyticsClient(
        clients.endpoint("language"),
        clients.core_credential("language"),
        api_version=API_VERSION,
        default_language=clients.config.default_language,
        retry_total=0,
        user_agent="omnisense",
    )


def _translator(clients: AzureClients) -> Any:
    from azure.ai.translation.text import TextTranslationClient

    cfg = clients.config
    kwargs: dict[str, Any] = {"retry_total": 0, "user_agent": "omnisense"}
    if cfg.credential == "key" and cfg.region:
        kwargs["region"] = cfg.region
    return TextTranslationClient(
        credential=clients.core_credential("translator"), endpoint=clients.endpoint("translator"), **kwargs
    )


def _content_safety(clients: AzureClients) -> Any:
    from azure.ai.contentsafety import ContentSafetyClient

    return ContentSafetyClient(
        clients.endpoint("content_safety"), clients.core_credential("content_safety"), retry_total=0
    )


_BUILDERS: dict[str, Callable[[AzureClients], Any]] = {
    "vision": _vision,
    "language": _language,
    "translator": _translator,
    "content_safety": _content_safety,
}
