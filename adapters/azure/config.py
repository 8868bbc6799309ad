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

SERVICES = ("vision", "language", "translator", "speech", "content_safety")
TRANSLATOR_GLOBAL = "https://api.cognitive.microsofttranslator.com"
_AZURE_SUFFIXES = (".azure.com", ".microsoft.com", ".microsofttranslator.com", ".azure.cn", ".azure.us", ".azure.net")


def is_azure_host(url: str) -> bool:
    host = (urlparse(url).hostname or "").lower()
    return host.endswith(_AZURE_SUFFIXES)


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

    def key_for(self, service: str) -> str | None:
        return self.keys.get(service, self.key)

    def serves(self, service: str) -> bool:
        """Whether ``service`` has an endpoint and (with key credentials) a key."""
        reachable = self.speech_url("stt") if service == "speech" else self.endpoint_for(service)
        return bool(reachable) and (self.credential == "entra" or bool(self.key_for(service)))
