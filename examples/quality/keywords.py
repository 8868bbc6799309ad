"""A scripted second provider for the "Which vendor is right for my language?" example.

``KeywordSentiment`` answers ``text.sentiment`` by counting words of a small Spanish lexicon:
positive words, negative words, both (mixed) or neither (neutral). It declares English and
Spanish, but knows no English word, so it is right often in Spanish and rarely in English:
a stand-in for a vendor that is good in one language only. Policy block:
``{kind: "examples.quality.keywords:KeywordSentiment", price_usd: 0.00001}`` (per character).
"""

from __future__ import annotations

import re
from typing import ClassVar

from adapters.base import CallContext, ProviderResult
from adapters.kit import ProviderConfig
from omnisense.schema import (
    Health,
    Price,
    ProviderInfo,
    SentimentResult,
    SentimentScores,
    Task,
    TaskRequest,
    TaskSupport,
    TextRequest,
    Unit,
    Unsupported,
)

POSITIVE = frozenset(
    [
        "amable",
        "impecable",
        "encanta",
        "encantó",
        "rápida",
        "rápido",
        "fácil",
        "deliciosa",
        "delicioso",
        "justo",
        "perfecto",
        "perfecta",
        "gustó",
        "gusta",
        "excelente",
        "bonito",
        "bonita",
        "buena",
        "bueno",
        "buen",
        "genial",
        "maravilloso",
        "maravillosa",
        "feliz",
        "recomiendo",
    ]
)
NEGATIVE = frozenset(
    [
        "lento",
        "lenta",
        "fría",
        "frío",
        "roto",
        "rota",
        "nadie",
        "cierra",
        "grosero",
        "grosera",
        "pésimo",
        "pésima",
        "pequeñas",
        "pequeño",
        "poco",
        "insoportable",
        "malo",
        "mala",
        "mal",
        "terrible",
        "horrible",
        "odio",
        "sucio",
        "sucia",
        "caro",
        "cara",
    ]
)
WORD = re.compile(r"\w+")
LABELS = ("positive", "negative", "neutral", "mixed")


class KeywordConfig(ProviderConfig, kw_only=True, forbid_unknown_fields=True):
    price_usd: float = 0.00001  # per character


class KeywordSentiment:
    config_type: ClassVar[type[ProviderConfig]] = KeywordConfig

    def __init__(self, name: str, config: KeywordConfig) -> None:
        support = TaskSupport(model="keywords-es", languages=frozenset({"en", "es"}), max_chars=5000)
        price = Price(usd=config.price_usd, unit=Unit.CHARACTER)
        self.info = ProviderInfo(name=name, kind="keywords", capabilities={Task.TEXT_SENTIMENT: support},
                                 prices={Task.TEXT_SENTIMENT: price})  # fmt: skip

    async def start(self) -> None:
        return None

    async def run(self, task: Task, request: TaskRequest, ctx: CallContext) -> ProviderResult:
        if task is not Task.TEXT_SENTIMENT or not isinstance(request, TextRequest):
            raise Unsupported(f"{self.info.name} serves text.sentiment only")
        words = WORD.findall(request.text.lower())
        good, bad = sum(w in POSITIVE for w in words), sum(w in NEGATIVE for w in words)
        label = "mixed" if good and bad else "positive" if good else "negative" if bad else "neutral"
        scores = SentimentScores(
            *(0.9 if name == label else 0.1 / 3 for name in ("positive", "negative", "neutral", "mixed"))
        )
        return ProviderResult(result=SentimentResult(label=label, scores=scores), model="keywords-es")

    async def probe(self) -> Health:
        return Health(ok=True, detail="keywords: in process")

    async def aclose(self) -> None:
        return None
