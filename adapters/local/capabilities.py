"""What a model server says it serves (``GET /capabilities``), as the gateway's ``ProviderInfo``.

Every task it lists, with each model's input limits, languages, formats and abilities
(diarization, live streaming, video codecs); a task this gateway does not know (a newer model
server) is skipped. The provider block adds the prices and where it processes data (``region``).
"""

from __future__ import annotations

import msgspec

from adapters.kit import build_prices
from adapters.local.config import LocalConfig
from omnisense.schema import ProviderInfo, Task, TaskSupport


class Limits(msgspec.Struct, kw_only=True):
    """Input limits a model declares; the gateway refuses bigger input before the call."""

    max_chars: int | None = None
    max_bytes: int | None = None
    max_pixels: int | None = None
    max_seconds: float | None = None


class TaskCaps(msgspec.Struct, kw_only=True):
    model: str = ""
    limits: Limits = msgspec.field(default_factory=Limits)
    languages: list[str] | None = None
    formats: list[str] | None = None
    pairs: list[tuple[str, str]] | None = None
    voices: list[str] | None = None
    classes: list[str] | None = None  # vision.objects: the classes its detectors find
    diarization: bool = False  # speech.transcribe: tells speakers apart (``speakers``)
    # speech.transcribe: live over WS /live/transcribe; speech.synthesize: ``/speech/synthesize_stream``
    streaming: bool = False
    stream_languages: list[str] | None = None  # the languages it transcribes live (None: all of ``languages``)
    codecs: list[str] | None = None  # video tasks: the codecs its decoder takes


class Capabilities(msgspec.Struct, kw_only=True):
    tasks: dict[str, TaskCaps]
    device: str = "cpu"


def to_info(name: str, caps: Capabilities, config: LocalConfig) -> ProviderInfo:
    support = {}
    for task_name, c in caps.tasks.items():
        try:
            task = Task(task_name)
        except ValueError:
            continue  # a task this gateway does not know (a newer model server)
        support[task] = TaskSupport(
            model=c.model,
            languages=frozenset(c.languages) if c.languages is not None else None,
            formats=frozenset(c.formats) if c.formats is not None else None,
            pairs=frozenset(tuple(p) for p in c.pairs) if c.pairs is not None else None,  # type: ignore[misc]
            voices=tuple(c.voices) if c.voices is not None else None,
            max_chars=c.limits.max_chars,
            max_bytes=c.limits.max_bytes,
            max_pixels=c.limits.max_pixels,
            max_seconds=c.limits.max_seconds,
            classes=frozenset(x.lower() for x in c.classes) if c.classes is not None else None,
            diarization=c.diarization,
            streaming=c.streaming,
            codecs=frozenset(c.codecs) if c.codecs is not None else None,
        )
    where = config.placement()
    return ProviderInfo(
        name=name, kind="local", capabilities=support, prices=build_prices({}, config.prices),
        region=where.region, jurisdiction=where.jurisdiction,
    )  # fmt: skip
