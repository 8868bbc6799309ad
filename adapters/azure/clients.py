"""Azure clients built once per provider (``adapters.kit.SdkClients``), and ``call_json``.

- Computer Vision: ``ComputerVisionClient`` (msrest) with its retries off (``retries = 0``);
- Language, Translator, Content Safety: azure-core clients built with ``retry_total=0``;
- Speech: the REST endpoints through one shared aiohttp session (the Speech SDK speaks
  only its websocket protocol).

``call_json`` captures the service's JSON answer (azure-core's ``raw_response_hook``), so
``from_vendor`` reads the documented wire shape, not SDK models; an error status is mapped
there too, from the status and body on the wire (an SDK that cannot parse an empty 503 body
would otherwise report a decode error instead of the 503).
"""

from __future__ import annotations

import json
from typing import Any

from adapters.azure.config import AzureConfig
from adapters.azure.errors import classify, from_http
from adapters.base import CallContext
from adapters.kit import SdkClients
from adapters.kit.clients import sdk_class
from adapters.kit.http import LazySession
from omnisense.schema import UpstreamAuth

SCOPE = "https://cognitiveservices.azure.com/.default"
# The azure-core clients: service -> "module:Class", built with (endpoint, credential).
CORE_CLIENTS = {
    "language": "azure.ai.textanalytics:TextAnalyticsClient",
    "translator": "azure.ai.translation.text:TextTranslationClient",
    "content_safety": "azure.ai.contentsafety:ContentSafetyClient",
}


class AzureClients(SdkClients[AzureConfig]):
    """One client per Azure service (``adapters.kit.SdkClients``), and one aiohttp session."""

    classify = classify
    _credential: Any = None

    def __init__(self, name: str, config: AzureConfig) -> None:
        super().__init__(name, config)
        self.http = LazySession(config.max_workers)

    # --- credentials and endpoints -------------------------------------------------------

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

    def auth_headers(self, service: str) -> dict[str, str]:
        """Headers for the REST services (Speech): a key, or an Entra bearer token."""
        if self.config.credential == "entra":
            token = self.entra().get_token(SCOPE).token
            return {"Authorization": f"Bearer {token}"}
        return {"Ocp-Apim-Subscription-Key": self.key(service)}

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

    # --- SDK clients ---------------------------------------------------------------------

    def build(self, key: str) -> Any:
        if key == "vision":
            return self._vision()
        cfg = self.config
        if cfg.credential == "entra":
            credential = self.entra()
        else:
            credential = sdk_class("azure.core.credentials:AzureKeyCredential")(self.key(key))
        options: dict[str, Any] = {"retry_total": 0}  # deliberate: the gateway's dispatcher retries
        if key != "content_safety":
            options["user_agent"] = "omnisense"
        if key == "language":
            from adapters.azure.language import API_VERSION  # pinned: the version the mapping is written for

            options["default_language"] = cfg.default_language
            options["api_version"] = API_VERSION
        if key == "translator" and cfg.credential == "key" and cfg.region:
            options["region"] = cfg.region
        return sdk_class(CORE_CLIENTS[key])(endpoint=self.endpoint(key), credential=credential, **options)

    def _vision(self) -> Any:
        from azure.cognitiveservices.vision.computervision import ComputerVisionClient
        from msrest.authentication import CognitiveServicesCredentials

        if self.config.credential == "entra":
            credentials: Any = _EntraAuth(self.entra())
        else:
            credentials = CognitiveServicesCredentials(self.key("vision"))
        client = ComputerVisionClient(self.endpoint("vision"), credentials)  # type: ignore[no-untyped-call]
        client.config.retry_policy.retries = 0  # deliberate: the gateway's dispatcher retries
        client.config.connection.timeout = self.config.timeout_s  # type: ignore[assignment]
        client.config.add_user_agent("omnisense")
        return client

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
        return await self.http.get()

    async def aclose(self) -> None:
        await self.http.aclose()
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
