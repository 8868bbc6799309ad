"""What a provider declares about itself: capabilities per task, unit prices, health.

Plain data shared by adapters (which declare it) and policies (which route on it).
"""

from __future__ import annotations

import math

import msgspec

from omnisense.schema.tasks import Task, Unit


class TaskSupport(msgspec.Struct, frozen=True, kw_only=True):
    """What a provider can do for one task. ``None`` means "no restriction"."""

    model: str = ""
    languages: frozenset[str] | None = None  # primary subtags: {"en", "es"}
    formats: frozenset[str] | None = None  # input formats for vision/speech; output for synthesis
    pairs: frozenset[tuple[str, str]] | None = None  # translation (source, target)
    voices: tuple[str, ...] | None = None
    max_bytes: int | None = None  # media bytes; UTF-8 bytes of the text for text tasks
    max_chars: int | None = None
    max_pixels: int | None = None  # images: width x height
    max_seconds: float | None = None  # audio duration
    classes: frozenset[str] | None = None  # vision.objects: the (lower-case) classes it detects; None: open
    diarization: bool = False  # speech.transcribe: tells speakers apart (``speakers`` in the request)
    streaming: bool = False  # speech.transcribe: live over a stream; speech.synthesize: audio sent as produced


class Price(msgspec.Struct, frozen=True, kw_only=True):
    """A vendor's list price for one task.

    ``usd`` buys ``per`` units. The billed quantity is first raised to ``minimum`` and
    then rounded up to a multiple of ``increment``: Comprehend bills text in blocks of
    100 characters with a 3-block minimum (``per=100, increment=100, minimum=300``);
    Transcribe bills seconds with a 15 s minimum.
    """

    usd: float
    per: float = 1.0
    unit: Unit = Unit.IMAGE
    minimum: float = 0.0
    increment: float = 0.0

    def cost(self, units: float) -> float:
        billed = max(units, self.minimum)
        if self.increment > 0:
            billed = math.ceil(billed / self.increment - 1e-9) * self.increment
        return billed * self.usd / self.per


class ProviderInfo(msgspec.Struct, frozen=True, kw_only=True):
    name: str  # the name the policy file gives it ("aws", "aws-eu", "local")
    kind: str  # the adapter kind ("aws", "google", "azure", "local")
    capabilities: dict[Task, TaskSupport]
    prices: dict[Task, Price] = msgspec.field(default_factory=dict)
    # Where it processes requests, from its policy block (``adapters.kit.regions``): the region
    # ("eu-west-1", "global", "undeclared") and its jurisdiction ("eu"; None: unknown or global,
    # which satisfies no residency requirement).
    region: str | None = None
    jurisdiction: str | None = None

    def supports(self, task: Task) -> bool:
        return task in self.capabilities

    def cost(self, task: Task, units: float) -> float:
        price = self.prices.get(task)
        return 0.0 if price is None else price.cost(units)


class Health(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    latency_ms: float = 0.0
    detail: str = ""
