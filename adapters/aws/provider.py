"""The ``aws`` provider: Rekognition, Textract, Comprehend, Translate, Polly and Transcribe.

``text.moderation`` is Comprehend's DetectToxicContent (``toxicity.py``).

Built by the registry as ``AwsProvider(name, config)`` from the policy's provider block
(see ``adapters.aws.config``). Clients are built once per provider by ``AwsClients``
(lazily: importing this module does not import boto3; tests may pass their own), calls
run in the provider's bounded thread pool, and each task is served by one service module
with pure ``to_vendor``/``from_vendor`` functions around the call.

``probe()`` calls Polly ``DescribeVoices`` for en-US, a free API, with the probe's own
short timeouts and no SDK retries: it checks that the endpoint answers and that the
credentials are accepted, at no cost.
"""

from __future__ import annotations

import time
from typing import ClassVar

from adapters.aws import comprehend, polly, rekognition, textract, toxicity, transcribe, translate
from adapters.aws.clients import AwsClients
from adapters.aws.common import REKOGNITION_FORMATS, REKOGNITION_MAX_BYTES
from adapters.aws.config import AwsConfig
from adapters.aws.prices import load_prices
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
    )
    if config.s3_bucket:
        caps[Task.SPEECH_TRANSCRIBE] = TaskSupport(
            model=transcribe.MODEL,
            languages=frozenset(primary(loc) for loc in transcribe.LOCALES),
            formats=transcribe.FORMATS,
        )
    return caps


class AwsProvider(VendorProvider[AwsConfig]):
    """One AWS account/region as a gateway provider."""

    kind: ClassVar[str] = "aws"
    config_type: ClassVar[type[ProviderConfig]] = AwsConfig

    def __init__(self, name: str, config: AwsConfig, clients: AwsClients | None = None) -> None:
        super().__init__(name, config)
        try:
            prices = load_prices(config.polly_engine, config.prices)
        except ValueError as exc:
            raise ValueError(f"providers.{name}: {exc}") from None
        self.info = ProviderInfo(name=name, kind=self.kind, capabilities=capabilities(config), prices=prices)
        self.aws = clients or AwsClients(name, config)
        self.handlers = {task: self._handler(task) for task in self.info.capabilities}

    def _handler(self, task: Task) -> Handler:
        aws = self.aws

        async def vision(request: TaskRequest, ctx: CallContext) -> ProviderResult:
            image = expect(request, ImageRequest, task)
            if task is Task.VISION_OCR and image.document:
                return await textract.run(aws, image, ctx)
            return await rekognition.run(aws, task, image, ctx)

        async def text(request: TaskRequest, ctx: CallContext) -> ProviderResult:
            return await comprehend.run(aws, task, expect(request, TextRequest, task), ctx)

        async def moderation(request: TaskRequest, ctx: CallContext) -> ProviderResult:
            return await toxicity.run(aws, expect(request, TextRequest, task), ctx)

        async def translate_(request: TaskRequest, ctx: CallContext) -> ProviderResult:
            return await translate.run(aws, expect(request, TranslateRequest, task), ctx)

        async def synthesize(request: TaskRequest, ctx: CallContext) -> ProviderResult:
            return await polly.run(aws, expect(request, SynthesizeRequest, task), ctx)

        async def transcribe_(request: TaskRequest, ctx: CallContext) -> ProviderResult:
            return await transcribe.run(aws, expect(request, TranscribeRequest, task), ctx)

        if task in rekognition.TASKS:
            return vision
        if task in comprehend.TASKS:
            return text
        return {
            Task.TEXT_TRANSLATE: translate_,
            Task.TEXT_MODERATION: moderation,
            Task.SPEECH_SYNTHESIZE: synthesize,
            Task.SPEECH_TRANSCRIBE: transcribe_,
        }[task]

    async def probe(self) -> Health:
        """Polly ``DescribeVoices`` (free), with the probe's short timeout and no retries."""

        def describe() -> int:
            voices = self.aws.client("polly", probe=True).describe_voices(LanguageCode="en-US")
            return len(voices.get("Voices") or ())

        start = time.perf_counter()
        try:
            count = await self.aws.run(describe)
        except OmnisenseError as exc:
            latency = (time.perf_counter() - start) * 1000.0
            return Health(ok=False, latency_ms=latency, detail=f"{type(exc).__name__}: {exc.detail}"[:300])
        latency = (time.perf_counter() - start) * 1000.0
        return Health(ok=True, latency_ms=latency, detail=f"polly DescribeVoices: {count} en-US voices")

    async def aclose(self) -> None:
        await self.aws.drain()
        self.aws.close()
