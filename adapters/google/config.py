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

import msgspec

from adapters.kit.config import ProviderConfig, check_services

SERVICES = ("vision", "language", "translate", "texttospeech", "speech", "aiplatform", "videointelligence")


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


class GoogleConfig(GoogleBase, kw_only=True, forbid_unknown_fields=True):
    """``timeout_s``, ``max_workers`` and ``prices`` come from ProviderConfig."""

    location: str = "global"  # Translation v3's location
    api_key: str | None = None
    # Speech (recognize, synthesize) needs a language: used when the request names none.
    default_language: str = "en-US"
    # Speech-to-Text model; "default" is the v1 API's own choice.
    speech_model: str = "default"
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
        if self.video_poll_s <= 0 or self.video_timeout_s <= 0:
            raise ValueError("video_poll_s and video_timeout_s must be positive")
        if any(b.startswith("s3://") for b in self.buckets):
            raise ValueError("buckets: Video Intelligence reads gs:// buckets only")
