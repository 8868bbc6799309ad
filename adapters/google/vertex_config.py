"""The ``vertex`` provider block (one deployed Vertex AI endpoint serving one task), validated
with msgspec (no SDK imported).

```yaml
providers:
  flowers:
    kind: vertex
    project: my-project
    location: us-central1
    endpoint_id: "1234567890"
    task: vision.labels
    schema: image_classification     # | image_object_detection | text_sentiment | custom
```

``credentials``, ``endpoint``/``endpoints`` (``aiplatform``) and ``probe_timeout_s`` are the
``google`` kind's (``GoogleBase``); Vertex AI takes no API key.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import msgspec

from adapters.google.config import GoogleBase
from omnisense.schema import Task

# The tasks a Vertex schema can serve.
SCHEMA_TASKS = {
    "image_classification": (Task.VISION_LABELS,),
    "image_object_detection": (Task.VISION_OBJECTS,),
    "text_sentiment": (Task.TEXT_SENTIMENT,),
}
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


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

    def services_for(self, task: Task | None) -> list[str]:
        """Every request goes to the endpoint's location (``aiplatform``)."""
        return ["aiplatform"]

    @property
    def model_name(self) -> str:
        return self.model or f"vertex:{self.endpoint_id}"
