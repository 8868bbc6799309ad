"""A scripted provider for gateway tests: the routing, dispatch and server code runs
for real while the provider's behaviour is written by the test.

Policy block: ``{kind: "contract_tests.scripted_provider:ScriptedProvider", tasks: [...],
latency_ms: 0, price_usd: 0.001, languages: [en, es]}``. Tests reach the instance through
the runtime and queue behaviours: ``provider.script(Fail(UpstreamThrottled), Hang())``;
with nothing queued it answers ``default`` (a Behaviour) or a fixed, valid result.
"""

from __future__ import annotations

import asyncio
import io
import wave
from collections import deque
from dataclasses import dataclass
from typing import Any, ClassVar

from adapters.base import CallContext, ProviderResult
from adapters.kit import ProviderConfig
from omnisense.schema import (
    Box,
    DetectedLanguage,
    DetectedObject,
    EntitiesResult,
    Entity,
    Face,
    FacesResult,
    Health,
    ImageRequest,
    ImageSize,
    KeyPhrase,
    KeyPhrasesResult,
    Label,
    LabelsResult,
    LanguageResult,
    ModerationResult,
    ObjectsResult,
    OcrLine,
    OcrResult,
    OmnisenseError,
    Price,
    ProviderInfo,
    SentimentResult,
    SentimentScores,
    SynthesizeRequest,
    SynthesizeResult,
    Task,
    TaskRequest,
    TaskResult,
    TaskSupport,
    TextModerationFlag,
    TextModerationResult,
    TextRequest,
    TranscribeResult,
    TranslateRequest,
    TranslateResult,
    spec_of,
    unit_of,
)


def _silence_wav(seconds: float = 0.05, rate: int = 16000) -> bytes:
    """A real WAV (a gateway that re-encodes the audio can read it): silence."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x00" * int(seconds * rate))
    return buf.getvalue()


SILENCE_WAV = _silence_wav()


@dataclass(frozen=True)
class Ok:
    delay_s: float = 0.0


@dataclass(frozen=True)
class Fail:
    error: type[OmnisenseError]
    delay_s: float = 0.0
    retry_after_s: float | None = None


@dataclass(frozen=True)
class Hang:
    pass


@dataclass(frozen=True)
class Crash:
    """An adapter bug: a plain exception that is not one of the gateway's errors."""


Behaviour = Ok | Fail | Hang | Crash


class ScriptedConfig(ProviderConfig, kw_only=True, forbid_unknown_fields=True):
    tasks: list[Task] | None = None
    languages: list[str] | None = None
    latency_ms: float = 0.0
    price_usd: float = 0.001
    label: str = "scripted"
    healthy: bool = True
    max_chars: int | None = None  # text tasks: the longest text it takes


class ScriptedProvider:
    config_type: ClassVar[type[ProviderConfig]] = ScriptedConfig

    def __init__(self, name: str, config: ScriptedConfig) -> None:
        self.config = config
        tasks = self.config.tasks or list(Task)
        langs = frozenset(self.config.languages) if self.config.languages else None
        self.info = ProviderInfo(
            name=name,
            kind="scripted",
            capabilities={
                t: TaskSupport(model="scripted-1", languages=langs, max_chars=self.config.max_chars) for t in tasks
            },
            prices={t: Price(usd=self.config.price_usd, unit=unit_of(t)) for t in tasks},
            region=config.placement().region,
            jurisdiction=config.placement().jurisdiction,
        )
        self.queue: deque[Behaviour] = deque()
        self.default: Behaviour = Ok(self.config.latency_ms / 1000.0)
        self.calls: list[tuple[Task, TaskRequest]] = []
        self.probes = 0  # probe() calls (a test flips ``config.healthy`` to take it down or up)

    def script(self, *behaviours: Behaviour) -> None:
        self.queue.extend(behaviours)

    async def run(self, task: Task, request: TaskRequest, ctx: CallContext) -> ProviderResult:
        self.calls.append((task, request))
        behaviour = self.queue.popleft() if self.queue else self.default
        if isinstance(behaviour, Hang):
            await asyncio.sleep(3600)
        if isinstance(behaviour, Crash):
            raise RuntimeError("scripted adapter bug")
        if behaviour.delay_s:
            await asyncio.sleep(behaviour.delay_s)
        if isinstance(behaviour, Fail):
            raise behaviour.error(
                f"{self.info.name}: scripted {behaviour.error.__name__}", retry_after_s=behaviour.retry_after_s
            )
        return ProviderResult(
            result=answer(task, request, self.config.label), model="scripted-1", raw={"scripted": True}
        )

    async def start(self) -> None:
        return None

    async def probe(self) -> Health:
        self.probes += 1
        return Health(ok=self.config.healthy, detail="scripted")

    async def aclose(self) -> None:
        return None


def answer(task: Task, request: TaskRequest, label: str) -> TaskResult:
    """A fixed, valid result for ``task``; a task not listed here answers its row's eval short form of ``label``."""
    size = None
    if isinstance(request, ImageRequest) and request.image.width and request.image.height:
        size = ImageSize(request.image.width, request.image.height)
    box = Box(0.25, 0.25, 0.5, 0.5)
    text = request.text if isinstance(request, TextRequest | TranslateRequest | SynthesizeRequest) else ""
    results: dict[Task, Any] = {
        Task.VISION_LABELS: lambda: LabelsResult(labels=[Label(label, 0.9)], image=size),
        Task.VISION_OBJECTS: lambda: ObjectsResult(objects=[DetectedObject(label, 0.8, box)], image=size),
        Task.VISION_FACES: lambda: FacesResult(faces=[Face(0.95, box)], image=size),
        Task.VISION_OCR: lambda: OcrResult(text=label, lines=[OcrLine(label, 0.9, box)], image=size),
        Task.VISION_MODERATION: lambda: ModerationResult(flags=[], image=size),
        Task.TEXT_SENTIMENT: lambda: SentimentResult(label="positive", scores=SentimentScores(0.9, 0.05, 0.05, 0.0)),
        Task.TEXT_ENTITIES: lambda: EntitiesResult(
            entities=[Entity(text=text.split()[0], begin=0, end=len(text.split()[0]), confidence=0.9, type="OTHER")]
        ),
        Task.TEXT_KEY_PHRASES: lambda: KeyPhrasesResult(
            phrases=[KeyPhrase(text=text.split()[0], begin=0, end=len(text.split()[0]), confidence=0.9)]
        ),
        Task.TEXT_LANGUAGE: lambda: LanguageResult(languages=[DetectedLanguage("en", 0.99)]),
        Task.TEXT_TRANSLATE: lambda: TranslateResult(
            text=f"[{getattr(request, 'target_language', '')}] {text}",
            source_language=getattr(request, "source_language", None) or "en",
            target_language=getattr(request, "target_language", "en"),
        ),
        Task.TEXT_MODERATION: lambda: TextModerationResult.of(
            [TextModerationFlag(category="insult", confidence=0.9 if "idiot" in text else 0.1, vendor_category=label)]
        ),
        Task.SPEECH_SYNTHESIZE: lambda: SynthesizeResult(audio=SILENCE_WAV, format="wav"),
        Task.SPEECH_TRANSCRIBE: lambda: TranscribeResult(text=label, confidence=0.9),
    }
    if task in results:
        result: TaskResult = results[task]()
        return result
    short = spec_of(task).short_form
    if short is None:
        raise NotImplementedError(f"the scripted provider has no answer for {task} (its row has no short form)")
    made: TaskResult = short.build({short.key: label})
    return made
