"""The ``azure`` provider's policy block, validated with msgspec (imports no Azure SDK).

``adapters/azure/README.md`` shows the block and says which endpoint serves each service:
``endpoint`` + ``key`` for a multi-service resource, ``endpoints``/``keys`` per service,
Translator's global endpoint, Speech's regional hosts, a non-Azure ``endpoint`` (a fake, a
container) for every service, and ``credential: entra``. A service with no endpoint (or no
key, with key credentials) is not served.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlparse

import msgspec

from adapters.kit.config import ProviderConfig, check_services
from adapters.kit.regions import GLOBAL, NOT_SERVED, Placement, combined, declared
from omnisense.schema import Task

# speech_stream: live recognition through the Speech SDK's websocket (http(s):// given, ws(s):// used).
SERVICES = ("vision", "language", "translator", "speech", "speech_stream", "content_safety")
_VISION = (Task.VISION_LABELS, Task.VISION_OBJECTS, Task.VISION_FACES, Task.VISION_OCR)
_LANGUAGE = (Task.TEXT_SENTIMENT, Task.TEXT_ENTITIES, Task.TEXT_KEY_PHRASES, Task.TEXT_LANGUAGE)
# The service that serves each task (``provider.py``); vision.moderation is chosen by ``vision_moderation``.
SERVICE_OF: dict[Task, str] = {
    **dict.fromkeys(_VISION, "vision"),
    **dict.fromkeys(_LANGUAGE, "language"),
    Task.TEXT_MODERATION: "content_safety",
    Task.TEXT_TRANSLATE: "translator",
    Task.SPEECH_SYNTHESIZE: "speech",
    Task.SPEECH_TRANSCRIBE: "speech",
}
TRANSLATOR_GLOBAL = "https://api.cognitive.microsofttranslator.com"
_AZURE_SUFFIXES = (".azure.com", ".microsoft.com", ".microsofttranslator.com", ".azure.cn", ".azure.us", ".azure.net")


def is_azure_host(url: str) -> bool:
    host = (urlparse(url).hostname or "").lower()
    return host.endswith(_AZURE_SUFFIXES)


def azure_region(host: str) -> str | None:
    """The region an Azure host names: ``westeurope.api.cognitive.microsoft.com`` and
    ``westeurope.stt.speech.microsoft.com`` -> ``westeurope``; Translator's
    ``api-eur.cognitive.microsofttranslator.com`` -> ``translator-eur``; its global host ->
    ``global``; None when the host names none (a custom subdomain, another host)."""
    host = host.lower()
    if host == "api.cognitive.microsofttranslator.com":
        return GLOBAL
    if host.endswith(".cognitive.microsofttranslator.com"):
        label = host.split(".")[0]
        return f"translator-{label.removeprefix('api-')}" if label.startswith("api-") else None
    for suffix in (".api.cognitive.microsoft.com", ".stt.speech.microsoft.com", ".tts.speech.microsoft.com"):
        if host.endswith(suffix) and host.count(".") == suffix.count("."):
            return host.removesuffix(suffix)
    return None


class AzureConfig(ProviderConfig, kw_only=True, forbid_unknown_fields=True):
    """``timeout_s`` (read timeout per call), ``max_workers`` and ``prices`` come from ProviderConfig."""

    endpoint: str | None = None
    key: str | None = None  # a policy file should use ${ENV}
    region: str | None = None
    endpoints: dict[str, str] = msgspec.field(default_factory=dict)
    keys: dict[str, str] = msgspec.field(default_factory=dict)
    credential: Literal["key", "entra"] = "key"
    connect_timeout_s: float = 3.0
    probe_timeout_s: float = 2.0
    # vision.ocr (Read API): first poll after this many seconds, growing x1.5 up to read_poll_max_s.
    read_poll_s: float = 0.25
    read_poll_max_s: float = 2.0
    # Language needs a language for sentiment/entities/key phrases; Speech for recognition.
    default_language: str = "en"
    # vision.moderation: Computer Vision's adult/racy/gory scores, or Content Safety image:analyze.
    vision_moderation: Literal["computer_vision", "content_safety"] = "computer_vision"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_services(SERVICES, endpoints=self.endpoints, keys=self.keys)
        for url in [self.endpoint or "", *self.endpoints.values()]:
            if url and urlparse(url).scheme not in ("http", "https"):
                raise ValueError(f"endpoint {url!r} must start with https:// (or http:// for a local server)")
        if self.connect_timeout_s <= 0 or self.probe_timeout_s <= 0 or self.read_poll_s <= 0:
            raise ValueError("timeouts and poll intervals must be positive")
        if self.credential == "key" and not self.key and not self.keys:
            raise ValueError("key (or keys) is required unless credential is 'entra'")
        if self.vision_moderation == "content_safety" and not self.endpoint_for("content_safety"):
            raise ValueError("vision_moderation: content_safety needs endpoint or endpoints.content_safety")

    @property
    def local(self) -> bool:
        """An endpoint that is not Azure's serves every service (a fake, a proxy, a container)."""
        return bool(self.endpoint) and not is_azure_host(self.endpoint or "")

    def endpoint_for(self, service: str) -> str | None:
        """The base URL of ``service``, or None when this provider cannot reach it."""
        if service in self.endpoints:
            return self.endpoints[service].rstrip("/")
        if self.local:
            return (self.endpoint or "").rstrip("/")
        if service == "translator":
            if self.credential == "entra":
                return self.endpoint.rstrip("/") if self.endpoint else None
            return TRANSLATOR_GLOBAL
        if service == "speech":
            return None  # regional hosts: see speech_url()
        return self.endpoint.rstrip("/") if self.endpoint else None

    def speech_url(self, kind: Literal["stt", "tts", "api"]) -> str | None:
        """Speech's base URL for recognition (``stt``), synthesis and voices (``tts``), or the
        speech-to-text REST API (``api``: fast transcription)."""
        base = self.endpoint_for("speech")
        if base:
            return base
        if not self.region:
            return None
        if kind == "api":
            return f"https://{self.region}.api.cognitive.microsoft.com"
        return f"https://{self.region}.{kind}.speech.microsoft.com"

    def services_for(self, task: Task | None) -> list[str]:
        """The services a request for ``task`` reaches (None: every service this provider serves)."""
        if task is None:
            return [s for s in SERVICES if self.serves(s)]
        if task is Task.VISION_MODERATION:
            return ["content_safety" if self.vision_moderation == "content_safety" else "vision"]
        if task is Task.SPEECH_TRANSCRIBE:  # files to the REST endpoint, live sessions to the SDK's
            return ["speech", "speech_stream"]
        service = SERVICE_OF.get(task)
        return [service] if service else []

    def placement(self, task: Task | None = None) -> Placement:
        """Where each service used is processed, by its endpoint's host (``azure_region``)."""
        services = self.services_for(task)
        if task is not None and not services and task not in SERVICE_OF:
            return NOT_SERVED  # video: no Azure service takes it
        return combined(self._service_placement(s) for s in services)

    def _service_placement(self, service: str) -> Placement:
        if service == "speech_stream":  # the SDK's own endpoint for ``region`` unless one is given
            url = self.endpoint_for(service) or self.speech_url("stt")
        else:
            url = self.speech_url("stt") if service == "speech" else self.endpoint_for(service)
        if not url:
            return Placement(region="none", jurisdiction=None, source=f"{service}: not configured")
        host = (urlparse(url).hostname or "").lower()
        found = azure_region(host)
        if found == GLOBAL:
            return Placement(region=GLOBAL, jurisdiction=None, source=f"{service}: the global endpoint {host}")
        if found is not None:
            return declared(found, cloud="azure", source=f"{service}: endpoint {host}")
        # a resource's custom subdomain, or not Azure at all: where ``region:`` says
        why = "a custom subdomain" if is_azure_host(url) else "not Azure's"
        return declared(self.region, cloud="azure", source=f"{service} at {host} ({why}): `region:`")

    def key_for(self, service: str) -> str | None:
        return self.keys.get(service, self.key)

    def serves(self, service: str) -> bool:
        """Whether ``service`` has an endpoint and (with key credentials) a key."""
        reachable = self.speech_url("stt") if service == "speech" else self.endpoint_for(service)
        return bool(reachable) and (self.credential == "entra" or bool(self.key_for(service)))
