"""The ``google`` and ``vertex`` provider blocks, validated with msgspec (no SDK imported).

```yaml
providers:
  gcp:      {kind: google, project: my-project, location: global}      # Application Default Credentials
  gcp-key:  {kind: google, project: p, api_key: "${GOOGLE_API_KEY}"}  # or an API key
  gcp-test: {kind: google, project: p, endpoint: "http://127.0.0.1:9100", credentials: anonymous}
  flowers:
    kind: vertex
    project: my-project
    location: us-central1
    endpoint_id: "1234567890"
    task: vision.labels
    schema: image_classification     # | image_object_detection | text_sentiment | custom
```

- ``endpoint`` sends every Google service to one base URL (a fake, a proxy, a regional
  endpoint); ``endpoints: {vision: URL, language: URL, translate: URL, texttospeech: URL,
  speech: URL, aiplatform: URL}`` overrides one service. A URL without a scheme is https.
- ``credentials``: ``adc`` (default: Application Default Credentials), ``anonymous``
  (fakes, emulators), or the path of a service-account JSON file. ``api_key`` is sent as
  ``x-goog-api-key`` instead (Vertex AI does not take API keys).
- ``timeout_s`` bounds each call (and the request's deadline bounds it too). The SDKs'
  own retries are off: every call passes ``retry=None``, so the gateway's policy alone
  decides retries (Natural Language and Speech would otherwise retry 503 by themselves).
"""

from __future__ import annotations

import re
from typing import Any, Literal

import msgspec

from adapters.kit.config import ProviderConfig
from omnisense.schema import Task

SERVICES = ("vision", "language", "translate", "texttospeech", "speech", "aiplatform")
DEFAULT_HOSTS = {
    "vision": "vision.googleapis.com",
    "language": "language.googleapis.com",
    "translate": "translate.googleapis.com",
    "texttospeech": "texttospeech.googleapis.com",
    "speech": "speech.googleapis.com",
}
VERTEX_SCHEMAS = ("image_classification", "image_object_detection", "text_sentiment", "custom")
# The tasks a Vertex schema can serve.
SCHEMA_TASKS = {
    "image_classification": (Task.VISION_LABELS,),
    "image_object_detection": (Task.VISION_OBJECTS,),
    "text_sentiment": (Task.TEXT_SENTIMENT,),
}
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class GoogleBase(ProviderConfig, kw_only=True, forbid_unknown_fields=True):
    project: str | None = None
    credentials: str = "adc"  # adc | anonymous | a service-account file path
    endpoint: str | None = None
    endpoints: dict[str, str] = msgspec.field(default_factory=dict)
    probe_timeout_s: float = 3.0

    def __post_init__(self) -> None:
        super().__post_init__()
        unknown = sorted(set(self.endpoints) - set(SERVICES))
        if unknown:
            raise ValueError(f"endpoints: unknown service(s) {unknown} (known: {', '.join(SERVICES)})")
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

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.api_key is not None and not self.api_key.strip():
            raise ValueError("api_key is empty (is its ${ENV} variable set?)")
        if self.api_key is not None and self.credentials not in ("adc", "anonymous"):
            raise ValueError("api_key and a credentials file do not go together: give one of them")
        if not self.location.strip():
            raise ValueError("location is empty")


class FieldMap(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A custom model's declared mapping between the task and its instances/predictions.

    ``instance`` names the instance field that takes the input (``content`` for text,
    ``image.bytesBase64Encoded`` style dotted paths allowed); the others name fields of
    one prediction (dotted paths), all as the model's own schema spells them."""

    instance: str
    input: Literal["text", "image_base64"] = "text"
    label: str | None = None  # a class name, or a list of names (with ``scores``)
    scores: str | None = None  # a score per name, in the same order
    score: str | None = None  # a single score (sentiment: -1..1 or 0..1, see ``score_range``)
    score_range: Literal["unit", "signed"] = "unit"
    parameters: dict[str, Any] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("instance", "label", "scores", "score"):
            value = getattr(self, name)
            if value is not None and not _FIELD.match(value):
                raise ValueError(f"mapping.{name}: {value!r} is not a field name or dotted path")


class VertexConfig(GoogleBase, kw_only=True, forbid_unknown_fields=True):
    """One deployed Vertex AI endpoint serving one task."""

    location: str = "us-central1"
    endpoint_id: str
    task: Task
    schema: Literal["image_classification", "image_object_detection", "text_sentiment", "custom"]
    mapping: FieldMap | None = None  # schema: custom
    parameters: dict[str, Any] = msgspec.field(default_factory=dict)  # e.g. {confidenceThreshold: 0.5}
    sentiment_max: int = 4  # text_sentiment: the model's sentimentMax (its labels run 0..sentiment_max)
    model: str = ""  # the name results carry (default: vertex:<endpoint_id>)
    price_usd: float = 0.0  # per request unit (image or character), on top of the node-hours Vertex bills

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.project:
            raise ValueError("project is required for a vertex endpoint")
        if not self.endpoint_id.strip() or "/" in self.endpoint_id:
            raise ValueError(f"endpoint_id is the endpoint's numeric id, not {self.endpoint_id!r}")
        if self.schema == "custom":
            self._check_custom()
        elif self.task not in SCHEMA_TASKS[self.schema]:
            names = ", ".join(t.value for t in SCHEMA_TASKS[self.schema])
            raise ValueError(f"schema {self.schema} serves {names}, not {self.task.value}")
        elif self.mapping is not None:
            raise ValueError("mapping is only for schema: custom")
        if self.sentiment_max < 1:
            raise ValueError("sentiment_max must be at least 1")
        if self.price_usd < 0:
            raise ValueError("price_usd must not be negative")

    def _check_custom(self) -> None:
        m = self.mapping
        if m is None:
            raise ValueError("schema custom needs a mapping: {instance: ..., label: ..., ...}")
        if self.task is Task.VISION_LABELS:
            if m.input != "image_base64" or not m.label:
                raise ValueError("mapping for vision.labels needs input: image_base64 and label (with scores)")
        elif self.task is Task.TEXT_SENTIMENT:
            if m.input != "text" or not (m.score or (m.label and m.scores)):
                raise ValueError("mapping for text.sentiment needs input: text and score, or label with scores")
        else:
            raise ValueError(f"schema custom serves vision.labels or text.sentiment, not {self.task.value}")

    def endpoint_for(self, service: str) -> str | None:
        """Vertex AI's regional endpoint (``https://{location}-aiplatform.googleapis.com``) unless overridden."""
        return super().endpoint_for(service) or f"https://{self.location}-aiplatform.googleapis.com"

    @property
    def model_name(self) -> str:
        return self.model or f"vertex:{self.endpoint_id}"
