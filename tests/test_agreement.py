"""The per-task agreement metrics, on answers that differ by known amounts."""

from __future__ import annotations

import pytest

from gateway.agreement import box_f1, char_overlap, compare, f1, iou, wer
from omnisense.schema import (
    Box,
    DetectedLanguage,
    EntitiesResult,
    Entity,
    Face,
    FacesResult,
    KeyPhrase,
    KeyPhrasesResult,
    LanguageResult,
    SentimentResult,
    SentimentScores,
    SynthesizeResult,
    Task,
    TextModerationFlag,
    TextModerationResult,
    TranscribeResult,
    TranslateResult,
)

HALF = Box(0.0, 0.0, 0.5, 0.5)


def sentiment(label: str) -> SentimentResult:
    return SentimentResult(label=label, scores=SentimentScores(0.25, 0.25, 0.25, 0.25))  # type: ignore[arg-type]


def test_same_label() -> None:
    assert compare(Task.TEXT_SENTIMENT, sentiment("positive"), sentiment("positive")).value == 1.0  # type: ignore[union-attr]
    found = compare(Task.TEXT_SENTIMENT, sentiment("positive"), sentiment("neutral"))
    assert found is not None and (found.metric, found.value, found.agrees) == ("label", 0.0, False)


def test_language_by_primary_subtag() -> None:
    a = LanguageResult(languages=[DetectedLanguage("pt-BR", 0.9)])
    b = LanguageResult(languages=[DetectedLanguage("pt", 0.6), DetectedLanguage("es", 0.3)])
    assert compare(Task.TEXT_LANGUAGE, a, b).agrees  # type: ignore[union-attr]


def test_text_moderation_verdict() -> None:
    insult = TextModerationResult.of([TextModerationFlag(category="insult", confidence=0.9)])
    threat = TextModerationResult.of([TextModerationFlag(category="threat", confidence=0.8)])
    calm = TextModerationResult.of([TextModerationFlag(category="insult", confidence=0.1)])
    calm2 = TextModerationResult.of([TextModerationFlag(category="threat", confidence=0.2)])
    assert not compare(Task.TEXT_MODERATION, insult, threat).agrees  # type: ignore[union-attr]
    assert compare(Task.TEXT_MODERATION, calm, calm2).agrees  # type: ignore[union-attr]  # both "ok"


def test_entity_and_phrase_overlap() -> None:
    def ent(text: str, kind: str) -> Entity:
        return Entity(text=text, begin=0, end=len(text), confidence=1.0, type=kind)  # type: ignore[arg-type]

    a = EntitiesResult(entities=[ent("Tim Cook", "PERSON"), ent("Apple", "ORGANIZATION"), ent("Berlin", "LOCATION")])
    b = EntitiesResult(entities=[ent("tim cook", "PERSON"), ent("Apple", "PRODUCT")])
    found = compare(Task.TEXT_ENTITIES, a, b)
    assert found is not None and found.metric == "overlap" and found.value == pytest.approx(2 * 1 / 5, abs=1e-4)
    p = KeyPhrasesResult(phrases=[KeyPhrase(text=t, begin=0, end=1, confidence=1.0) for t in ("a", "b", "c", "d")])
    q = KeyPhrasesResult(phrases=[KeyPhrase(text=t, begin=0, end=1, confidence=1.0) for t in ("a", "b", "c", "x")])
    assert compare(Task.TEXT_KEY_PHRASES, p, q).value == 0.75  # type: ignore[union-attr]
    assert f1([], []) == 1.0 and f1(["a"], []) == 0.0


def test_iou_and_box_matching() -> None:
    assert iou(HALF, HALF) == 1.0
    assert iou(HALF, Box(0.25, 0.0, 0.5, 0.5)) == pytest.approx(1 / 3)  # half overlaps: 0.125 / 0.375
    assert iou(HALF, Box(0.5, 0.5, 0.5, 0.5)) == 0.0
    shifted = Box(0.05, 0.0, 0.5, 0.5)  # IoU 0.818: a match
    assert box_f1([("cat", HALF)], [("cat", shifted)]) == 1.0
    assert box_f1([("cat", HALF)], [("dog", shifted)]) == 0.0  # same place, another name
    assert box_f1([("cat", HALF)], [("cat", Box(0.25, 0.0, 0.5, 0.5))]) == 0.0  # IoU 1/3 < 0.5
    faces = FacesResult(faces=[Face(0.9, HALF), Face(0.9, Box(0.5, 0.5, 0.5, 0.5))])
    one = FacesResult(faces=[Face(0.8, shifted)])
    found = compare(Task.VISION_FACES, faces, one)
    assert found is not None and found.metric == "iou" and found.value == pytest.approx(2 / 3, abs=1e-4)


def test_word_error_rate() -> None:
    assert wer("the cat sat on the mat", "the cat sat on the mat") == 0.0
    assert wer("the cat sat on the mat", "the cat sat on a mat") == pytest.approx(1 / 6)  # one substitution
    assert wer("the cat sat", "the cat") == pytest.approx(1 / 3)  # one deletion
    assert wer("the cat", "the black cat sat") == 1.0  # two insertions over two words
    assert wer("Hello, World!", "hello world") == 0.0  # case and punctuation do not count
    ref = TranscribeResult(text="one two three four five", confidence=1.0)
    found = compare(Task.SPEECH_TRANSCRIBE, ref, TranscribeResult(text="one two three four", confidence=1.0))
    assert found is not None and (found.metric, found.value, found.agrees) == ("wer", 0.2, True)


def test_character_overlap() -> None:
    assert char_overlap("hola mundo", "hola mundo") == 1.0
    assert char_overlap("abcd", "abxy") == 0.5  # 2 x 2 matching / 8
    a = TranslateResult(text="Buenos días", source_language="en", target_language="es")
    b = TranslateResult(text="Buenos dias", source_language="en", target_language="es")
    found = compare(Task.TEXT_TRANSLATE, a, b)
    assert found is not None and found.metric == "chars" and found.value == pytest.approx(20 / 22, abs=1e-4)


def test_synthesis_is_not_compared() -> None:
    audio = SynthesizeResult(audio=b"RIFF", format="wav")
    assert compare(Task.SPEECH_SYNTHESIZE, audio, audio) is None
