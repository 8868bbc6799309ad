"""The ``azure`` provider: Azure AI Vision, Language, Translator, Speech and Content Safety.

``text.moderation`` (and, with ``vision_moderation: content_safety``, vision.moderation) is
Content Safety (``contentsafety.py``). ``speech.transcribe`` with ``speakers`` is fast
transcription (``fast_transcription.py``: it diarizes), without them the short-audio endpoint.
A service this provider has no endpoint or key for is not declared (``AzureConfig.serves``).
The shape of a vendor provider is ``adapters.kit.provider``'s.
``probe()`` checks the key at (next to) no cost: a one-character Translator ``translate``
when Translator is configured (``GET /languages`` would not check the key), else Speech's
free voices list; a provider with only Vision and Language says its probe checked nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import ClassVar

from adapters.azure import contentsafety, fast_transcription, language, read, speech, speech_stream, translator, vision
from adapters.azure.clients import AzureClients
from adapters.azure.common import READ_FORMATS, READ_MAX_BYTES, VISION_FORMATS, VISION_MAX_BYTES
from adapters.azure.config import AzureConfig
from adapters.azure.prices import load_prices
from adapters.base import CallContext, ProviderResult, TranscriptionStream
from adapters.kit import Serve, VendorProvider, timed_probe
from adapters.kit.config import ProviderConfig
from omnisense.schema import (
    Health,
    ImageRequest,
    SynthesizeRequest,
    Task,
    TaskSupport,
    TranscribeRequest,
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
            streaming=True,  # ``synthesize_stream``: the chunked body as it arrives
        )
        caps[Task.SPEECH_TRANSCRIBE] = TaskSupport(
            model=speech.STT_MODEL,
            languages=speech.LANGUAGES,
            formats=frozenset(speech.AUDIO_TYPES),
            streaming=config.credential == "key",  # the Speech SDK's websocket (speech_stream)
            diarization=True,  # through fast transcription (``fast_transcription.py``)
        )
    return caps


async def _vision_moderation(
    azure: AzureClients, task: Task, request: ImageRequest, ctx: CallContext
) -> ProviderResult:
    """Computer Vision's adult/racy/gory scores, or Content Safety's image:analyze (``vision_moderation``)."""
    if azure.config.vision_moderation == "content_safety":
        return await contentsafety.moderate_image(azure, task, request, ctx)
    return await vision.run(azure, task, request, ctx)


async def _transcribe(azure: AzureClients, task: Task, request: TranscribeRequest, ctx: CallContext) -> ProviderResult:
    """Speakers asked for: fast transcription, which diarizes; else the short-audio endpoint."""
    if request.diarize:
        return await fast_transcription.transcribe(azure, request, ctx)
    return await speech.transcribe(azure, task, request, ctx)


class AzureProvider(VendorProvider[AzureConfig]):
    """One Azure AI services resource (or a set of per-service resources) as a gateway provider."""

    kind: ClassVar[str] = "azure"
    config_type: ClassVar[type[ProviderConfig]] = AzureConfig
    serves: ClassVar[Mapping[Task, Serve]] = {
        **dict.fromkeys(vision.TASKS, vision.run),
        Task.VISION_OCR: read.run,
        Task.VISION_MODERATION: _vision_moderation,
        **dict.fromkeys(language.TASKS, language.run),
        Task.TEXT_MODERATION: contentsafety.moderate_text,
        Task.TEXT_TRANSLATE: translator.run,
        Task.SPEECH_SYNTHESIZE: speech.synthesize,
        Task.SPEECH_TRANSCRIBE: _transcribe,
    }

    def __init__(self, name: str, config: AzureConfig, clients: AzureClients | None = None) -> None:
        super().__init__(name, config)
        self.azure = self.clients = clients or AzureClients(name, config)
        images = config.vision_moderation == "content_safety"
        self.declare(capabilities(config), lambda: load_prices(config.prices, content_safety_images=images))

    async def open_transcription(
        self, *, sample_rate: int, language: str | None, interim: bool, ctx: CallContext
    ) -> TranscriptionStream:
        """Live speech.transcribe through the Speech SDK (``speech_stream``)."""
        return await speech_stream.open_stream(
            self.azure, sample_rate=sample_rate, language=language, interim=interim, ctx=ctx
        )

    def synthesize_stream(self, request: SynthesizeRequest, ctx: CallContext) -> AsyncIterator[bytes]:
        """``adapters.base.StreamingSynthesizer``: the synthesized audio as Azure sends it."""
        return speech.synthesize_stream(self.azure, request, ctx)

    async def probe(self) -> Health:
        """A one-character Translator translate or Speech's voices list: calls that check the key, short timeout."""
        if not (self.config.serves("translator") or self.config.serves("speech")):
            return Health(ok=True, detail="no free endpoint to probe (vision/language only): not checked")

        async def check() -> str:
            if self.config.serves("translator"):
                return await translator.probe(self.azure)
            return f"speech voices/list: {await speech.voices(self.azure)} voices"

        return await timed_probe(check)
