"""The ``aws`` provider: Rekognition, Textract, Comprehend, Translate, Polly and Transcribe.

``text.moderation`` is Comprehend's DetectToxicContent (``toxicity.py``). The shape of a
vendor provider (``serves``, clients, ``declare``, ``probe``) is ``adapters.kit.provider``'s.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import ClassVar

from adapters.aws import (
    comprehend,
    polly,
    rekognition,
    rekognition_video,
    textract,
    toxicity,
    transcribe,
    transcribe_stream,
    translate,
)
from adapters.aws.clients import AwsClients
from adapters.aws.common import REKOGNITION_FORMATS, REKOGNITION_MAX_BYTES
from adapters.aws.config import AwsConfig
from adapters.aws.prices import load_prices
from adapters.base import CallContext, ProviderResult, TranscriptionStream
from adapters.kit import Serve, VendorProvider, timed_probe
from adapters.kit.config import ProviderConfig
from adapters.kit.video import video_buckets
from omnisense.schema import (
    Health,
    ImageRequest,
    SynthesizeRequest,
    Task,
    TaskSupport,
    primary,
)


def capabilities(config: AwsConfig) -> dict[Task, TaskSupport]:
    """What this provider declares, per task (``speech.transcribe``: live always, files only with an S3 bucket)."""
    vision = TaskSupport(model=rekognition.MODEL, formats=REKOGNITION_FORMATS, max_bytes=REKOGNITION_MAX_BYTES)
    caps: dict[Task, TaskSupport] = dict.fromkeys(rekognition.TASKS, vision)
    for task in comprehend.TASKS:
        langs = None if task is Task.TEXT_LANGUAGE else comprehend.LANGUAGES
        caps[task] = TaskSupport(model=comprehend.MODEL, languages=langs, max_bytes=comprehend.MAX_BYTES[task])
    caps[Task.TEXT_MODERATION] = TaskSupport(
        model=toxicity.MODEL, languages=toxicity.LANGUAGES, max_bytes=toxicity.MAX_BYTES
    )
    caps[Task.TEXT_TRANSLATE] = TaskSupport(
        model=translate.MODEL, languages=translate.LANGUAGES, max_bytes=translate.MAX_BYTES
    )
    engine = config.polly_engine
    voices = sorted({v for pair in polly.VOICES[engine].values() for v in pair if v})
    caps[Task.SPEECH_SYNTHESIZE] = TaskSupport(
        model=f"{polly.MODEL}-{engine}",
        languages=polly.languages(engine),
        formats=frozenset(polly.FORMATS),
        voices=tuple(voices),
        max_chars=polly.MAX_CHARS,
        streaming=True,  # ``synthesize_stream``: the AudioStream as it arrives
    )
    # Live transcription needs no bucket; whole files do (without one, ``transcribe.run``
    # refuses them as Unsupported before any call, and the dispatcher skips to the next).
    batch = config.s3_bucket is not None
    caps[Task.SPEECH_TRANSCRIBE] = TaskSupport(
        model=transcribe.MODEL,
        languages=frozenset(primary(loc) for loc in transcribe.LOCALES if batch) | transcribe_stream.LANGUAGES,
        formats=transcribe.FORMATS,
        diarization=batch,
        streaming=True,
    )
    if config.video_bucket or config.s3_bucket or config.buckets:
        video = rekognition_video
        caps.update(
            dict.fromkeys(
                video.TASKS,
                TaskSupport(
                    model=video.MODEL,
                    formats=video.FORMATS,
                    codecs=video.CODECS,
                    max_bytes=video.MAX_BYTES,
                    max_seconds=video.MAX_SECONDS,
                    buckets=video_buckets(config.buckets, "s3"),
                ),
            )
        )
    return caps


async def _ocr(aws: AwsClients, task: Task, request: ImageRequest, ctx: CallContext) -> ProviderResult:
    """Textract for documents (pages, forms), Rekognition's text detection for photos."""
    serve = textract.run if request.document else rekognition.run
    return await serve(aws, task, request, ctx)


class AwsProvider(VendorProvider[AwsConfig]):
    """One AWS account/region as a gateway provider."""

    kind: ClassVar[str] = "aws"
    config_type: ClassVar[type[ProviderConfig]] = AwsConfig
    serves: ClassVar[Mapping[Task, Serve]] = {
        **dict.fromkeys(rekognition.TASKS, rekognition.run),
        **dict.fromkeys(rekognition_video.TASKS, rekognition_video.run),
        Task.VISION_OCR: _ocr,
        **dict.fromkeys(comprehend.TASKS, comprehend.run),
        Task.TEXT_MODERATION: toxicity.run,
        Task.TEXT_TRANSLATE: translate.run,
        Task.SPEECH_SYNTHESIZE: polly.run,
        Task.SPEECH_TRANSCRIBE: transcribe.run,
    }

    def __init__(self, name: str, config: AwsConfig, clients: AwsClients | None = None) -> None:
        super().__init__(name, config)
        self.aws = self.clients = clients or AwsClients(name, config)
        self.declare(capabilities(config), lambda: load_prices(config.polly_engine, config.prices))

    async def open_transcription(
        self, *, sample_rate: int, language: str | None, interim: bool, ctx: CallContext
    ) -> TranscriptionStream:
        """Live speech.transcribe: a Transcribe streaming session (``transcribe_stream``)."""
        return await transcribe_stream.open_stream(
            self.aws, sample_rate=sample_rate, language=language, interim=interim, ctx=ctx
        )

    def synthesize_stream(self, request: SynthesizeRequest, ctx: CallContext) -> AsyncIterator[bytes]:
        """``adapters.base.StreamingSynthesizer``: Polly's audio as it arrives."""
        return polly.stream(self.aws, request, ctx)

    async def probe(self) -> Health:
        """Polly ``DescribeVoices`` (free), with the probe's short timeout and no retries."""

        def describe() -> int:
            voices = self.aws.client("polly:probe").describe_voices(LanguageCode="en-US")
            return len(voices.get("Voices") or ())

        async def check() -> str:
            return f"polly DescribeVoices: {await self.aws.run(describe)} en-US voices"

        return await timed_probe(check)
