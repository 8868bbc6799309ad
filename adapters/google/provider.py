"""The ``google`` provider: Cloud Vision, Natural Language, Translation, Text-to-Speech,
Speech-to-Text and Video Intelligence.
The shape of a vendor provider (``serves``, clients, ``declare``, ``probe``) is
``adapters.kit.provider``'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from adapters.base import CallContext, ProviderResult, TranscriptionStream
from adapters.google import language, speech, speech_stream, translate, tts, video, vision
from adapters.google.clients import GoogleClients
from adapters.google.config import GoogleConfig
from adapters.google.prices import load_prices, voice_price
from adapters.kit import Serve, VendorProvider, timed_probe
from adapters.kit.config import ProviderConfig
from adapters.kit.video import video_buckets
from omnisense.schema import (
    Health,
    SynthesizeRequest,
    SynthesizeResult,
    Task,
    TaskSupport,
    primary,
)


def capabilities(buckets: tuple[str, ...] = ()) -> dict[Task, TaskSupport]:
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
        diarization=True,
        streaming=True,  # StreamingRecognize (speech_stream)
    )
    clips = TaskSupport(model=video.MODEL, formats=video.FORMATS, max_bytes=video.MAX_INLINE_BYTES, buckets=buckets)
    caps.update(dict.fromkeys(video.TASKS, clips))
    return caps


async def _synthesize(
    google: GoogleClients, task: Task, request: SynthesizeRequest, ctx: CallContext
) -> ProviderResult:
    """Text-to-Speech, billed by the family of the voice actually used."""
    out = await tts.run(google, task, request, ctx)
    if isinstance(out.result, SynthesizeResult) and task.value not in google.config.prices:
        out.cost_usd = voice_price(tts.family(out.result.voice)).cost(float(len(request.text)))
    return out


class GoogleProvider(VendorProvider[GoogleConfig]):
    """One Google Cloud project as a gateway provider."""

    kind: ClassVar[str] = "google"
    config_type: ClassVar[type[ProviderConfig]] = GoogleConfig
    serves: ClassVar[Mapping[Task, Serve]] = {
        **dict.fromkeys(vision.TASKS, vision.run),
        **dict.fromkeys(language.TASKS, language.run),
        Task.TEXT_LANGUAGE: translate.detect,
        Task.TEXT_TRANSLATE: translate.translate,
        Task.SPEECH_SYNTHESIZE: _synthesize,
        Task.SPEECH_TRANSCRIBE: speech.run,
        **dict.fromkeys(video.TASKS, video.run),
    }

    def __init__(self, name: str, config: GoogleConfig, clients: GoogleClients | None = None) -> None:
        super().__init__(name, config)
        self.google = self.clients = clients or GoogleClients(name, config)
        buckets = video_buckets(config.buckets, "gs")
        self.declare(capabilities(buckets), lambda: load_prices(config.prices))

    async def open_transcription(
        self, *, sample_rate: int, language: str | None, interim: bool, ctx: CallContext
    ) -> TranscriptionStream:
        """Live speech.transcribe: a ``StreamingRecognize`` call (``speech_stream``)."""
        return await speech_stream.open_stream(
            self.google, sample_rate=sample_rate, language=language, interim=interim, ctx=ctx
        )

    async def probe(self) -> Health:
        """Text-to-Speech ``voices.list`` for en-US (free), with the probe's short timeout."""

        async def check() -> str:
            response = await self.google.call("texttospeech", "list_voices", {"language_code": "en-US"}, None, True)
            return f"texttospeech voices.list: {len(response.voices)} en-US voices"

        return await timed_probe(check)
