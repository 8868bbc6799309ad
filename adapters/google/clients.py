"""Google Cloud SDK clients built once per provider (``adapters.kit.SdkClients``), and ``call``.

Every client uses the REST transport (``transport="rest"``: JSON over HTTP/1.1, through
``requests``), so one base URL per service (``endpoint``/``endpoints``) points it at a fake
or a proxy. Credentials: Application Default Credentials, anonymous, a service-account
file, or an API key (``x-goog-api-key``). Each call passes ``retry=None`` (the gateway's
dispatcher retries) and ``timeout=`` the smaller of ``timeout_s`` and the request's time left.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

from adapters.base import CallContext
from adapters.google.config import GoogleBase, GoogleConfig
from adapters.google.errors import classify
from adapters.kit import SdkClients
from adapters.kit.clients import sdk_class
from adapters.kit.http import freeze_environment
from omnisense.schema import Unsupported

G = TypeVar("G", bound=GoogleBase)


def build_credentials(config: GoogleBase) -> Any:
    """The google-auth credentials the config names (None: the SDK finds ADC itself)."""
    if config.credentials == "anonymous":
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()  # type: ignore[no-untyped-call]
    if config.credentials == "adc":
        return None
    from google.oauth2 import service_account

    scopes = ["https://www.googleapis.com/auth/cloud-platform"]
    return service_account.Credentials.from_service_account_file(config.credentials, scopes=scopes)  # type: ignore[no-untyped-call]


class ServiceClients(SdkClients[G]):
    """One SDK client per service of a ``google`` or ``vertex`` provider."""

    classify = classify
    # client key -> "module:Class"; ``service_of`` names the service of a key that is not one.
    sdk: ClassVar[Mapping[str, str]]
    service_of: ClassVar[Mapping[str, str]] = {}

    def __init__(self, name: str, config: G) -> None:
        super().__init__(name, config)
        self._credentials: Any = None
        self._credentials_built = False
        self._project: str | None = config.project or None

    def build(self, key: str) -> Any:
        from google.api_core.client_options import ClientOptions

        cls = sdk_class(self.sdk[key])
        cfg = self.config
        url = cfg.endpoint_for(self.service_of.get(key, key))
        api_key = getattr(cfg, "api_key", None)  # the google kind's; Vertex AI takes none
        options = ClientOptions(api_endpoint=url, api_key=api_key)
        if api_key:
            client = cls(transport="rest", client_options=options)
        else:
            if not self._credentials_built:
                self._credentials = build_credentials(cfg)
                self._credentials_built = True
            client = cls(transport="rest", client_options=options, credentials=self._credentials)
        session = getattr(getattr(client, "_transport", None), "_session", None)
        if session is not None:
            freeze_environment(session, url or f"https://{key}.googleapis.com")
        return client

    def close_client(self, client: Any) -> None:
        transport = getattr(client, "transport", None)
        if transport is not None:
            transport.close()

    @property
    def known_project(self) -> str | None:
        """The project once known (the config's, or resolved by ``project_id``)."""
        return self._project

    def project_id(self) -> str:
        """The project of the config, else GOOGLE_CLOUD_PROJECT, the service-account file's or
        Application Default Credentials' (blocking: run it in the pool)."""
        if self._project is None:
            cfg = self.config
            project = os.environ.get("GOOGLE_CLOUD_PROJECT")
            if not project and cfg.credentials not in ("adc", "anonymous"):
                with open(cfg.credentials, encoding="utf-8") as f:
                    project = json.load(f).get("project_id")
            if not project and cfg.credentials == "adc" and not getattr(cfg, "api_key", None):
                import google.auth

                _, project = google.auth.default()
            if not project:
                where = "`project:` in the provider's block or GOOGLE_CLOUD_PROJECT"
                raise Unsupported(f"{self.name}: Translation needs a project ({where})")
            self._project = project
        return self._project

    async def call(self, service: str, method: str, request: Any, ctx: CallContext | None, probe: bool = False) -> Any:
        """``client(service).<method>(request=request, retry=None, timeout=...)``, answered as the
        raw protobuf message (``from_vendor`` reads it: attribute access on the SDK's proto-plus
        wrappers costs ~10x more CPU). The timeout is ``timeout_s`` (or the probe's), capped by
        the request's time left."""
        timeout = self.timeout(ctx, self.config.probe_timeout_s if probe else self.config.timeout_s)

        def invoke() -> Any:
            answer = getattr(self.client(service), method)(request=request, retry=None, timeout=timeout)
            return type(answer).pb(answer)

        return await self.run(invoke, ctx=ctx)


class GoogleClients(ServiceClients[GoogleConfig]):
    """The ``google`` kind's clients (Vision, Natural Language, Translation, Speech)."""

    sdk: ClassVar[Mapping[str, str]] = {
        "vision": "google.cloud.vision_v1:ImageAnnotatorClient",
        "language": "google.cloud.language_v2:LanguageServiceClient",
        "translate": "google.cloud.translate_v3:TranslationServiceClient",
        "texttospeech": "google.cloud.texttospeech_v1:TextToSpeechClient",
        "speech": "google.cloud.speech_v1:SpeechClient",
        "videointelligence": "google.cloud.videointelligence_v1:VideoIntelligenceServiceClient",
    }
