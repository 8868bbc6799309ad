"""The ``google`` provider block, validated with msgspec (no SDK imported); ``GoogleBase``
holds the keys the ``vertex`` kind shares (``vertex_config``). The keys are listed in
``adapters/google/README.md``.

- ``endpoint`` sends every Google service to one base URL (a fake, a proxy, a regional
  endpoint); ``endpoints: {service: URL}`` overrides one service. A URL without a scheme is https.
- ``credentials``: ``adc`` (default: Application Default Credentials), ``anonymous``
  (fakes, emulators), or the path of a service-account JSON file. ``api_key`` is sent as
  ``x-goog-api-key`` instead (Vertex AI does not take API keys).
"""

from __future__ import annotations

from urllib.parse import urlparse

import msgspec

from adapters.kit.config import ProviderConfig, check_services
from adapters.kit.regions import GLOBAL, Placement, combined, declared
from omnisense.schema import Task

# speech_stream: StreamingRecognize (live speech.transcribe) over gRPC: http:// is a plaintext channel.
SERVICES = (
    "vision",
    "language",
    "translate",
    "texttospeech",
    "speech",
    "speech_stream",
    "aiplatform",
    "videointelligence",
)
# The service that serves each task of the ``google`` kind (``provider.py``'s ``serves``).
SERVICE_OF: dict[Task, str] = {
    **dict.fromkeys(
        (Task.VISION_LABELS, Task.VISION_OBJECTS, Task.VISION_FACES, Task.VISION_OCR, Task.VISION_MODERATION), "vision"
    ),
    **dict.fromkeys((Task.TEXT_SENTIMENT, Task.TEXT_ENTITIES, Task.TEXT_MODERATION), "language"),
    Task.TEXT_LANGUAGE: "translate",
    Task.TEXT_TRANSLATE: "translate",
    Task.SPEECH_SYNTHESIZE: "texttospeech",
    Task.SPEECH_TRANSCRIBE: "speech",
    **dict.fromkeys((Task.VIDEO_LABELS, Task.VIDEO_SHOTS, Task.VIDEO_MODERATION), "videointelligence"),
}
# The first label of each service's global host (Translation v3 answers on translation.googleapis.com).
_HOST_LABELS = {"translate": ("translate", "translation"), "speech_stream": ("speech",)}


def google_location(host: str, service: str) -> str | None:
    """The location in a Google API host: ``eu-vision`` / ``europe-west4-aiplatform`` ->
    the prefix, ``translate-eu`` -> the suffix, ``speech.europe-west4.rep`` -> the middle,
    ``vision`` -> ``global``; None when ``host`` is not a googleapis.com host of ``service``."""
    host = host.lower()
    if not host.endswith(".googleapis.com"):
        return None
    labels = host.removesuffix(".googleapis.com").split(".")
    names = _HOST_LABELS.get(service, (service,))
    if len(labels) == 3 and labels[2] == "rep" and labels[0] in names:
        return labels[1]  # a regional endpoint: {service}.{location}.rep.googleapis.com
    if len(labels) != 1:
        return None
    label = labels[0]
    for name in names:
        if label == name:
            return GLOBAL
        if label.endswith(f"-{name}"):
            return label.removesuffix(f"-{name}")
        if label.startswith(f"{name}-"):
            return label.removeprefix(f"{name}-")
    return None


class GoogleBase(ProviderConfig, kw_only=True, forbid_unknown_fields=True):
    project: str | None = None
    credentials: str = "adc"  # adc | anonymous | a service-account file path
    endpoint: str | None = None
    endpoints: dict[str, str] = msgspec.field(default_factory=dict)
    probe_timeout_s: float = 3.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_services(SERVICES, endpoints=self.endpoints)
        if self.probe_timeout_s <= 0:
            raise ValueError("probe_timeout_s must be positive")
        if not self.credentials.strip():
            raise ValueError("credentials is 'adc', 'anonymous' or a service-account file path")

    def endpoint_for(self, service: str) -> str | None:
        """The base URL for ``service`` (with its scheme), or None for Google's own."""
        url = self.endpoints.get(service, self.endpoint)
        if url is None:
            return None
        return url if "://" in url else f"https://{url}"

    def stream_endpoint(self) -> str | None:
        """Where live sessions go (StreamingRecognize, gRPC): ``endpoints.speech_stream``, else
        the ``speech`` endpoint when it is a Google host (a regional endpoint serves gRPC too),
        else None: Google's global host. Never a REST fake or proxy's ``endpoint``."""
        if "speech_stream" in self.endpoints:
            return self.endpoint_for("speech_stream")
        url = self.endpoint_for("speech")
        if url and google_location(urlparse(url).hostname or "", "speech") is not None:
            return url
        return None

    def services_for(self, task: Task | None) -> list[str]:
        """The services a request for ``task`` reaches (None: every service this kind uses)."""
        if task is None:
            return sorted(set(SERVICE_OF.values()))
        if task is Task.SPEECH_TRANSCRIBE:  # files to recognize, live sessions to StreamingRecognize
            return ["speech", "speech_stream"]
        service = SERVICE_OF.get(task)
        return [service] if service else []

    def placement(self, task: Task | None = None) -> Placement:
        """Where each service used is processed, by its endpoint's host: a regional or
        multi-regional Google host names its location; Google's default (global) host has no
        jurisdiction -- Google may process the request in any of its locations. An endpoint
        that is not Google's (a proxy, a fake) is where ``region:`` declares."""
        return combined(self._service_placement(s) for s in self.services_for(task))

    def _service_placement(self, service: str) -> Placement:
        url = self.stream_endpoint() if service == "speech_stream" else self.endpoint_for(service)
        host = (urlparse(url).hostname or "") if url else f"{_HOST_LABELS.get(service, (service,))[0]}.googleapis.com"
        location = google_location(host, service)
        if location is None:
            return declared(self.region, cloud="google", source=f"{service} at {host}, not Google's: `region:`")
        if location == GLOBAL:
            return Placement(region=GLOBAL, jurisdiction=None, source=f"{service}: Google's global endpoint {host}")
        return declared(location, cloud="google", source=f"{service}: endpoint {host}")


class GoogleConfig(GoogleBase, kw_only=True, forbid_unknown_fields=True):
    """``timeout_s``, ``max_workers`` and ``prices`` come from ProviderConfig."""

    location: str = "global"  # Translation v3's location
    api_key: str | None = None
    # Speech (recognize, synthesize) needs a language: used when the request names none.
    default_language: str = "en-US"
    # Speech-to-Text model; "default" is the v1 API's own choice.
    speech_model: str = "default"
    # StreamingRecognize ends a stream after 305 s ("Exceeded maximum allowed stream duration"):
    # live sessions roll over to a new stream before this many seconds (gateway.streaming.rollover).
    stream_limit_s: float = 300.0
    # Video Intelligence: the Cloud Storage buckets it may read a {"uri": "gs://..."} from
    # ("media-in" or "gs://media-in"); none: uploads only.
    buckets: list[str] = msgspec.field(default_factory=list)
    video_poll_s: float = 1.0  # the first wait between polls of the annotation's operation
    video_timeout_s: float = 300.0  # the longest the annotation may take (the request's deadline caps it)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.api_key is not None and not self.api_key.strip():
            raise ValueError("api_key is empty (is its ${ENV} variable set?)")
        if self.api_key is not None and self.credentials not in ("adc", "anonymous"):
            raise ValueError("api_key and a credentials file do not go together: give one of them")
        if not self.location.strip():
            raise ValueError("location is empty")
        if self.stream_limit_s <= 0:
            raise ValueError("stream_limit_s must be positive")
        if self.video_poll_s <= 0 or self.video_timeout_s <= 0:
            raise ValueError("video_poll_s and video_timeout_s must be positive")
        if any(b.startswith("s3://") for b in self.buckets):
            raise ValueError("buckets: Video Intelligence reads gs:// buckets only")
