"""Contract tests for the text tasks."""

from __future__ import annotations

from typing import ClassVar

from adapters.base import Provider
from contract_tests import samples
from contract_tests.abstract.base import ProviderContract
from omnisense.schema import (
    EntitiesResult,
    KeyPhrasesResult,
    LanguageResult,
    SentimentResult,
    Task,
    TextModerationResult,
    TextRequest,
    TranslateRequest,
    TranslateResult,
    normalize_language,
)
from omnisense.schema.results import MODERATION_CATEGORIES, by_confidence


class SentimentContract(ProviderContract):
    task = Task.TEXT_SENTIMENT
    # Fakes answer canned labels; real models must get clear sentences right.
    checks_polarity: ClassVar[bool] = True

    async def test_sentiment(self, provider: Provider) -> None:
        out = await self.run(provider, TextRequest(text=samples.POSITIVE, language="en"))
        assert isinstance(out.result, SentimentResult)
        scores = out.result.scores
        given = [v for v in (scores.positive, scores.negative, scores.neutral, scores.mixed) if v is not None]
        assert given  # a vendor may leave a label unscored (null), not all of them
        if len(given) == 4:  # four probabilities of one distribution sum to 1
            assert abs(sum(given) - 1.0) < 0.05
        if self.checks_polarity:
            assert out.result.label == "positive"
            neg = await self.run(provider, TextRequest(text=samples.NEGATIVE, language="en"))
            assert isinstance(neg.result, SentimentResult)
            assert neg.result.label == "negative"


class EntitiesContract(ProviderContract):
    task = Task.TEXT_ENTITIES
    expected_types: ClassVar[set[str]] = {"PERSON", "ORGANIZATION", "LOCATION"}

    async def test_entities(self, provider: Provider) -> None:
        text = samples.ENTITIES
        out = await self.run(provider, TextRequest(text=text, language="en"))
        assert isinstance(out.result, EntitiesResult)
        for ent in out.result.entities:
            assert text[ent.begin : ent.end] == ent.text, f"offsets of {ent} do not match the input"
        found = {e.type for e in out.result.entities}
        assert self.expected_types <= found, found


class KeyPhrasesContract(ProviderContract):
    task = Task.TEXT_KEY_PHRASES
    checks_offsets: ClassVar[bool] = True

    async def test_key_phrases(self, provider: Provider) -> None:
        text = samples.ENTITIES
        out = await self.run(provider, TextRequest(text=text, language="en"))
        assert isinstance(out.result, KeyPhrasesResult)
        assert out.result.phrases
        if self.checks_offsets:
            for p in out.result.phrases:
                assert text[p.begin : p.end] == p.text, p


class LanguageContract(ProviderContract):
    task = Task.TEXT_LANGUAGE
    languages: ClassVar[tuple[str, ...]] = ("en", "fr", "es", "de")

    async def test_language(self, provider: Provider) -> None:
        for code in self.languages:
            out = await self.run(provider, TextRequest(text=samples.SENTENCES[code]))
            assert isinstance(out.result, LanguageResult)
            assert out.result.languages, "at least one language"
            best = out.result.languages[0]
            assert normalize_language(best.code).split("-")[0] == code, (code, out.result.languages)


class TranslateContract(ProviderContract):
    task = Task.TEXT_TRANSLATE
    source: ClassVar[str] = "en"
    target: ClassVar[str] = "es"

    async def test_translate(self, provider: Provider) -> None:
        text = samples.SENTENCES[self.source]
        req = TranslateRequest(text=text, target_language=self.target, source_language=self.source)
        out = await self.run(provider, req)
        assert isinstance(out.result, TranslateResult)
        assert out.result.text and out.result.text != text
        assert out.result.target_language.split("-")[0] == self.target


class TextModerationContract(ProviderContract):
    task = Task.TEXT_MODERATION
    # The category an insult must top (an adapter whose model knows one category says which).
    expected_categories: ClassVar[set[str]] = {"insult", "toxicity"}

    async def moderate(self, provider: Provider, text: str) -> TextModerationResult:
        out = await self.run(provider, TextRequest(text=text, language="en"))
        assert isinstance(out.result, TextModerationResult)
        flags = out.result.flags
        assert all(f.category in MODERATION_CATEGORIES for f in flags)
        assert [by_confidence(f) for f in flags] == sorted(by_confidence(f) for f in flags)
        return out.result

    async def test_insult_is_flagged(self, provider: Provider) -> None:
        result = await self.moderate(provider, samples.INSULT)
        assert result.flagged and result.flags
        assert result.flags[0].category in self.expected_categories, result.flags
        assert result.flags[0].vendor_category, "the vendor's own category is kept"

    async def test_benign_text_is_not_flagged(self, provider: Provider) -> None:
        result = await self.moderate(provider, samples.POSITIVE)
        assert not result.flagged, result.flags

    async def test_the_whole_of_a_long_text_counts(self, provider: Provider) -> None:
        text = " ".join([samples.SENTENCES["en"]] * 40) + " " + samples.INSULT  # ~2,400 characters
        result = await self.moderate(provider, text)
        assert result.flagged, "an insult at the end of a long text"
