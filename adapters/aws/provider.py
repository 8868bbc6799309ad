"""The ``aws`` provider: Rekognition, Textract, Comprehend, Translate, Polly and Transcribe.

``text.moderation`` is Comprehend's DetectToxicContent (``toxicity.py``). The shape of a
vendor provider (``serves``, clients, ``declare``, ``probe``) is ``adapters.kit.provider``'s.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import ClassVar

from adapters.aws import comprehend, polly, rekognition, textract, toxicity, transcribe, translate
from adapters.aws.clients import AwsClients
from adapters.aws.common import REKOGNITION_FORMATS, REKOGNITION_MAX_BYTES
from adapters.aws.config import AwsConfig
from adapters.aws.prices import load_prices
from adapters.base import CallContext, ProviderResult
from adapters.kit import Serve, VendorProvider, timed_probe
from adapters.kit.config import ProviderConfig
from omnisense.schema import (
    Health,
    ImageRequest,
    SynthesizeRequest,
    Task,
    TaskSupport,
    primary,
)


def capabilities(config: AwsConfig) -> dict[Task, TaskSupport]:
    """What this provider declares, per task (``speech.transcribe`` only with an S3 bucket)."""
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
    if config.s3_bucket:
        caps[Task.SPEECH_TRANSCRIBE] = TaskSupport(
            model=transcribe.MODEL,
            languages=frozenset(primary(loc) for loc in transcribe.LOCALES),
            formats=transcribe.FORMATS,
            diarization=True,
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
