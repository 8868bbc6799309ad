"""A provider whose answers a test writes per input: ``answers`` maps the request's text
(or an image/audio's sha256) to the task's result as JSON; anything else gets ``default``.

Policy block: ``{kind: "tests.answer_provider:AnswerProvider", task: text.sentiment,
answers: {"good": {label: positive, scores: {...}}}, default: {...}, price_usd: 0.001}``.
The dispatcher, shadows, log, stats and metrics run for real around it.
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

import msgspec

from adapters.base import CallContext, ProviderResult
from adapters.kit import ProviderConfig
from omnisense.schema import (
    RESULT_TYPES,
    Health,
    ImageRequest,
    Price,
    ProviderInfo,
    Task,
    TaskRequest,
    TaskSupport,
    TranscribeRequest,
    unit_of,
)


class AnswerConfig(ProviderConfig, kw_only=True, forbid_unknown_fields=True):
    task: Task
    answers: dict[str, Any] = msgspec.field(default_factory=dict)
    default: Any = None
    price_usd: float = 0.0


def key_of(request: TaskRequest) -> str:
    if isinstance(request, ImageRequest | TranscribeRequest):
        media = request.image if isinstance(request, ImageRequest) else request.audio
        return hashlib.sha256(media.data).hexdigest()
    return request.text


class AnswerProvider:
    config_type: ClassVar[type[ProviderConfig]] = AnswerConfig

    def __init__(self, name: str, config: AnswerConfig) -> None:
        self.config = config
        self.info = ProviderInfo(
            name=name,
            kind="answers",
            capabilities={config.task: TaskSupport(model=f"{name}-model")},
            prices={config.task: Price(usd=config.price_usd, unit=unit_of(config.task))},
        )

    async def start(self) -> None:
        return None

    async def run(self, task: Task, request: TaskRequest, ctx: CallContext) -> ProviderResult:
        answer = self.config.answers.get(key_of(request), self.config.default)
        result = msgspec.convert(answer, RESULT_TYPES[task])
        return ProviderResult(result=result, model=f"{self.info.name}-model")

    async def probe(self) -> Health:
        return Health(ok=True)

    async def aclose(self) -> None:
        return None
