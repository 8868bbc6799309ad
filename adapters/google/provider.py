"""The ``google`` provider: Cloud Vision, Natural Language, Translation, Text-to-Speech and
Speech-to-Text.

Built by the registry as ``GoogleProvider(name, config)`` from the policy's provider block
(see ``adapters.google.config``). Clients are built once per provider by ``GoogleClients``
(lazily: importing this module imports no Google library; tests may pass their own), calls
run in the provider's bounded thread pool, and each task is served by one service module
with pure ``to_vendor``/``from_vendor`` functions around the call.

``probe()`` lists the Text-to-Speech voices for en-US, a free call, with the probe's
short timeout and no SDK retries: it checks that the endpoint answers and that the
credentials are accepted, at no cost.
"""

from __future__ import annotations

import time
from typing import ClassVar

from adapters.base import CallContext, ProviderResult
from adapters.google import language, speech, translate, tts, vision
from adapters.google.clients import GoogleClients
from adapters.google.config import GoogleConfig
from adapters.google.prices import load_prices, voice_price
from adapters.kit import Handler, VendorProvider, expect
from adapters.kit.config import ProviderConfig
from omnisense.schema import (
    Health,
    ImageRequest,
    OmnisenseError,
    ProviderInfo,
    SynthesizeRequest,
    SynthesizeResult,
    Task,
    TaskRequest,
    TaskSupport,
    TextRequest,
    TranscribeRequest,
    TranslateRequest,
    primary,
)


def capabilities() -> dict[Task, TaskSupport]:
    """What this provider declares, per task (text.key_phrases is not served: see ``language``)."""
    image = TaskSupport(model=vision.MODEL, formats=vision.FORMATS, max_bytes=vision.MAX_BYTES)
    caps: dict[Task, TaskSupport] = dict.fromkeys(vision.TASKS, image)
    for task in language.TASKS:
        model = language.MODEL_MODERATION if task is Task.TEXT_MODERATION else language.MODEL
        caps[task] = TaskSupport(model=model, max_bytes=language.MAX_BYTES)
    caps[Task.TEXT_TRANSLATE] = TaskSupport(model=translate.MODEL, max_chars=translate.MAX_CHARS)
    caps[Task.TEXT_LANGUAGE] = TaskSupport(model=translate.MODEL, max_chars=translate.MAX_CHARS)
    caps[Task.SPEECH_SYNTHESIZE] = TaskSupport(
        model=tts.MODEL,
        formats=frozenset(tts.ENCODINGS),
        voices=tuple(sorted(v for pair in tts.VOICES.values() for v in pair)),
        max_bytes=tts.MAX_BYTES,
    )
    caps[Task.SPEECH_TRANSCRIBE] = TaskSupport(
        model=speech.MODEL,
        languages=frozenset(primary(x) for x in speech.LOCALES) | frozenset(speech.LOCALES),
        formats=speech.FORMATS,
        max_bytes=speech.MAX_BYTES,
    )
    return caps


class GoogleProvider(VendorProvider[GoogleConfig]):
    """One Google Cloud project as a gateway provider."""

    kind: ClassVar[str] = "google"
    config_type: ClassVar[type[ProviderConfig]] = GoogleConfig

    def __init__(self, name: str, config: GoogleConfig, clients: GoogleClients | None = None) -> None:
        super().__init__(name, config)
        try:
            prices = load_prices(config.prices)
        except ValueError as exc:
            raise ValueError(f"providers.{name}: {exc}") from None
        self.info = ProviderInfo(name=name, kind=self.kind, capabilities=capabilities(), prices=prices)
        self.google = clients or GoogleClients(name, config)
        self.handlers = {task: self._handler(task) for task in self.info.capabilities}

    def _handler(self, task: Task) -> Handler:
        google = self.google

        async def image(request: TaskRequest, ctx: CallContext) -> ProviderResult:
            return await vision.run(google, task, expect(request, ImageRequest, task), ctx)

        async def text(request: TaskRequest, ctx: CallContext) -> ProviderResult:
            return await language.run(google, task, expect(request, TextRequest, task), ctx)

        async def detect(request: TaskRequest, ctx: CallContext) -> ProviderResult:
            return await translate.detect(google, expect(request, TextRequest, task), ctx)

        async def translate_(request: TaskRequest, ctx: CallContext) -> ProviderResult:
            return await translate.translate(google, expect(request, TranslateRequest, task), ctx)

        async def synthesize(request: TaskRequest, ctx: CallContext) -> ProviderResult:
            return await self._synthesize(expect(request, SynthesizeRequest, task), ctx)

        async def transcribe(request: TaskRequest, ctx: CallContext) -> ProviderResult:
            return await speech.run(google, expect(request, TranscribeRequest, task), ctx)

        if task in vision.TASKS:
            return image
        if task in language.TASKS:
            return text
        return {
            Task.TEXT_LANGUAGE: detect,
            Task.TEXT_TRANSLATE: translate_,
            Task.SPEECH_SYNTHESIZE: synthesize,
            Task.SPEECH_TRANSCRIBE: transcribe,
        }[task]

    async def _synthesize(self, request: SynthesizeRequest, ctx: CallContext) -> ProviderResult:
        """Text-to-Speech, billed by the family of the voice actually used."""
        out = await tts.run(self.google, request, ctx)
        if isinstance(out.result, SynthesizeResult) and Task.SPEECH_SYNTHESIZE.value not in self.config.prices:
            out.cost_usd = voice_price(tts.family(out.result.voice)).cost(float(len(request.text)))
        return out

    async def probe(self) -> Health:
        """Text-to-Speech ``voices.list`` for en-US (free), with the probe's short timeout."""
        start = time.perf_counter()
        try:
            response = await self.google.call("texttospeech", "list_voices", {"language_code": "en-US"}, None, True)
        except OmnisenseError as exc:
            latency = (time.perf_counter() - start) * 1000.0
            return Health(ok=False, latency_ms=latency, detail=f"{type(exc).__name__}: {exc.detail}"[:300])
        latency = (time.perf_counter() - start) * 1000.0
        return Health(
            ok=True, latency_ms=latency, detail=f"texttospeech voices.list: {len(response.voices)} en-US voices"
        )

    async def aclose(self) -> None:
        self.google.close()
