"""The ``azure`` provider: Azure AI Vision, Language, Translator, Speech and Content Safety.

``text.moderation`` (and, with ``vision_moderation: content_safety``, vision.moderation) is
Content Safety (``contentsafety.py``).

Built by the registry as ``AzureProvider(name, config)`` from the policy's provider block
(see ``adapters.azure.config``). Clients are built once per provider by ``AzureClients``
(lazily: importing this module imports no Azure SDK; tests may pass their own), sync SDK
calls run in the provider's bounded thread pool, Speech goes over one aiohttp session, and
each task is served by one service module with pure ``to_vendor``/``from_vendor`` functions.

A service this provider has no endpoint or key for is not declared (see
``AzureConfig.serves``), so the router never sends its tasks here.

``probe()`` checks the key at (next to) no cost: a one-character Translator ``translate``
when Translator is configured (``GET /languages`` would not check the key), else Speech's
free voices list (which checks the key). Vision and Language have no free call, so a
provider with only those says its probe did not check anything.
"""

from __future__ import annotations

import time
from typing import ClassVar

from adapters.azure import contentsafety, language, read, speech, translator, vision
from adapters.azure.clients import AzureClients
from adapters.azure.common import READ_FORMATS, READ_MAX_BYTES, VISION_FORMATS, VISION_MAX_BYTES
from adapters.azure.config import AzureConfig
from adapters.azure.prices import load_prices
from adapters.base import CallContext, ProviderResult
from adapters.kit import Handler, VendorProvider, expect
from adapters.kit.config import ProviderConfig
from omnisense.schema import (
    Health,
    ImageRequest,
    OmnisenseError,
    ProviderInfo,
    SynthesizeRequest,
    Task,
    TaskRequest,
    TaskSupport,
    TextRequest,
    TranscribeRequest,
    TranslateRequest,
)


def capabilities(config: AzureConfig) -> dict[Task, TaskSupport]:
    """What this provider declares, per task, from the services it can reach."""
    caps: dict[Task, TaskSupport] = {}
    if config.serves("vision"):
        support = TaskSupport(model=vision.MODEL, formats=VISION_FORMATS, max_bytes=VISION_MAX_BYTES)
        caps.update(dict.fromkeys(vision.TASKS, support))
        caps[Task.VISION_OCR] = TaskSupport(model=read.MODEL, formats=READ_FORMATS, max_bytes=READ_MAX_BYTES)
    if config.vision_moderation == "content_safety":
        caps.pop(Task.VISION_MODERATION, None)
        if config.serves("content_safety"):
            caps[Task.VISION_MODERATION] = TaskSupport(
                model=contentsafety.MODEL,
                formats=contentsafety.IMAGE_FORMATS,
                max_bytes=contentsafety.MAX_IMAGE_BYTES,
            )
    if config.serves("language"):
        for task in language.TASKS:
            caps[task] = TaskSupport(model=language.MODEL, max_chars=language.MAX_CHARS)
    if config.serves("content_safety"):
        caps[Task.TEXT_MODERATION] = TaskSupport(model=contentsafety.MODEL, max_chars=contentsafety.MAX_TEXT_CHARS)
    if config.serves("translator"):
        caps[Task.TEXT_TRANSLATE] = TaskSupport(model=translator.MODEL, max_chars=translator.MAX_CHARS)
    if config.serves("speech"):
        caps[Task.SPEECH_SYNTHESIZE] = TaskSupport(
            model=speech.TTS_MODEL,
            languages=speech.LANGUAGES,
            formats=frozenset(speech.OUTPUT_FORMATS),
            voices=tuple(sorted(f"{loc}-{name}" for loc, pair in speech.VOICES.items() for name in pair)),
            max_chars=speech.MAX_CHARS,
        )
        caps[Task.SPEECH_TRANSCRIBE] = TaskSupport(
            model=speech.STT_MODEL, languages=speech.LANGUAGES, formats=frozenset(speech.AUDIO_TYPES)
        )
    return caps


class AzureProvider(VendorProvider[AzureConfig]):
    """One Azure AI services resource (or a set of per-service resources) as a gateway provider."""

    kind: ClassVar[str] = "azure"
    config_type: ClassVar[type[ProviderConfig]] = AzureConfig

    def __init__(self, name: str, config: AzureConfig, clients: AzureClients | None = None) -> None:
        super().__init__(name, config)
        try:
            prices = load_prices(config.prices, content_safety_images=config.vision_moderation == "content_safety")
        except ValueError as exc:
            raise ValueError(f"providers.{name}: {exc}") from None
        self.info = ProviderInfo(name=name, kind=self.kind, capabilities=capabilities(config), prices=prices)
        self.azure = clients or AzureClients(name, config)
        self.handlers = {task: self._handler(task) for task in self.info.capabilities}

    def _handler(self, task: Task) -> Handler:
        azure = self.azure

        async def vision_(request: TaskRequest, ctx: CallContext) -> ProviderResult:
            image = expect(request, ImageRequest, task)
            if task is Task.VISION_OCR:
                return await read.run(azure, image, ctx)
            if task is Task.VISION_MODERATION and azure.config.vision_moderation == "content_safety":
                return await contentsafety.moderate_image(azure, image, ctx)
            return await vision.run(azure, task, image, ctx)

        async def text(request: TaskRequest, ctx: CallContext) -> ProviderResult:
            return await language.run(azure, task, expect(request, TextRequest, task), ctx)

        async def moderation(request: TaskRequest, ctx: CallContext) -> ProviderResult:
            return await contentsafety.moderate_text(azure, expect(request, TextRequest, task), ctx)

        async def translate_(request: TaskRequest, ctx: CallContext) -> ProviderResult:
            return await translator.run(azure, expect(request, TranslateRequest, task), ctx)

        async def synthesize(request: TaskRequest, ctx: CallContext) -> ProviderResult:
            return await speech.synthesize(azure, expect(request, SynthesizeRequest, task), ctx)

        async def transcribe(request: TaskRequest, ctx: CallContext) -> ProviderResult:
            return await speech.transcribe(azure, expect(request, TranscribeRequest, task), ctx)

        if task.modality == "vision":
            return vision_
        if task in language.TASKS:
            return text
        return {
            Task.TEXT_TRANSLATE: translate_,
            Task.TEXT_MODERATION: moderation,
            Task.SPEECH_SYNTHESIZE: synthesize,
            Task.SPEECH_TRANSCRIBE: transcribe,
        }[task]

    async def probe(self) -> Health:
        """A one-character Translator translate or Speech's voices list: calls that check the key, short timeout."""
        start = time.perf_counter()
        try:
            if self.config.serves("translator"):
                detail = await translator.probe(self.azure)
            elif self.config.serves("speech"):
                detail = f"speech voices/list: {await speech.voices(self.azure)} voices"
            else:
                return Health(ok=True, detail="no free endpoint to probe (vision/language only): not checked")
        except OmnisenseError as exc:
            latency = (time.perf_counter() - start) * 1000.0
            return Health(ok=False, latency_ms=latency, detail=f"{type(exc).__name__}: {exc.detail}"[:300])
        return Health(ok=True, latency_ms=(time.perf_counter() - start) * 1000.0, detail=detail)

    async def aclose(self) -> None:
        await self.azure.drain()
        await self.azure.aclose()
