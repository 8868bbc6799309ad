"""The merged answer of a fan-out, per kind of task: what the caller reads in ``result``."""

from __future__ import annotations

from gateway.consensus import mean_or_none, medoid, merge
from omnisense.schema import (
    Box,
    DetectedLanguage,
    DetectedObject,
    EntitiesResult,
    Entity,
    Face,
    FacesResult,
    KeyPhrase,
    KeyPhrasesResult,
    Label,
    LabelsResult,
    LanguageResult,
    ModerationFlag,
    ModerationResult,
    ObjectsResult,
    OcrLine,
    OcrResult,
    SentimentResult,
    SentimentScores,
    Task,
    TextModerationFlag,
    TextModerationResult,
    TranscribeResult,
    TranslateResult,
    spec_of,
)


def sentiment(label: str, positive: float, negative: float) -> SentimentResult:
    rest = 1.0 - positive - negative
    return SentimentResult(label=label, scores=SentimentScores(positive, negative, rest, 0.0))  # type: ignore[arg-type]


def test_sentiment_takes_the_majority_label_and_averages_the_scores() -> None:
    merged = merge(spec_of(Task.TEXT_SENTIMENT), [sentiment("positive", 0.9, 0.05), sentiment("negative", 0.2, 0.7),
                                  sentiment("positive", 0.6, 0.1)])  # fmt: skip
    assert merged.label == "positive"
    assert abs(merged.scores.positive - (0.9 + 0.2 + 0.6) / 3) < 1e-6


def test_a_two_way_tie_goes_to_the_higher_mean_score() -> None:
    merged = merge(spec_of(Task.TEXT_SENTIMENT), [sentiment("positive", 0.55, 0.4), sentiment("negative", 0.1, 0.9)])
    assert merged.label == "negative"  # mean negative 0.65 beats mean positive 0.325


def test_labels_keep_what_most_answers_give_with_mean_confidence() -> None:
    a = LabelsResult(labels=[Label("Cat", 0.9), Label("Sofa", 0.6)])
    b = LabelsResult(labels=[Label("cat", 0.7), Label("Dog", 0.8)])
    c = LabelsResult(labels=[Label("CAT", None), Label("sofa", 0.4)])  # type: ignore[arg-type]
    merged = merge(spec_of(Task.VISION_LABELS), [a, b, c])
    assert [(x.name, x.confidence) for x in merged.labels] == [("Cat", 0.8), ("Sofa", 0.5)]


def test_image_moderation_votes_too() -> None:
    a = ModerationResult(flags=[ModerationFlag("violence", 0.9)])
    b = ModerationResult(flags=[])
    c = ModerationResult(flags=[ModerationFlag("violence", 0.7), ModerationFlag("sexual", 0.6)])
    assert [f.category for f in merge(spec_of(Task.VISION_MODERATION), [a, b, c]).flags] == ["violence"]


def test_language_majority_by_primary_subtag() -> None:
    merged = merge(spec_of(Task.TEXT_LANGUAGE), [LanguageResult(languages=[DetectedLanguage("es", 0.9)]),
                                 LanguageResult(languages=[DetectedLanguage("pt-BR", 0.8)]),
                                 LanguageResult(languages=[DetectedLanguage("es-MX", 0.7)])])  # fmt: skip
    assert [x.code for x in merged.languages] == ["es"]  # the first answer that names the winner
    assert abs((merged.languages[0].confidence or 0) - 0.8) < 1e-6


def test_text_moderation_takes_the_majority_verdict() -> None:
    flagged = TextModerationResult.of([TextModerationFlag(category="insult", confidence=0.9)])
    clean = TextModerationResult.of([TextModerationFlag(category="insult", confidence=0.1)])
    merged = merge(spec_of(Task.TEXT_MODERATION), [flagged, clean, clean])
    assert not merged.flagged and merged.flags[0].category == "insult"


def test_boxes_found_by_most_answers_are_averaged() -> None:
    def obj(left: float, name: str = "cat", conf: float = 0.8) -> DetectedObject:
        return DetectedObject(name, conf, Box(left, 0.1, 0.3, 0.3))

    a = ObjectsResult(objects=[obj(0.10), obj(0.6, "dog")])
    b = ObjectsResult(objects=[obj(0.12, conf=0.6)])
    c = ObjectsResult(objects=[obj(0.08, conf=1.0), obj(0.6, "bird")])
    merged = merge(spec_of(Task.VISION_OBJECTS), [a, b, c])
    assert [o.name for o in merged.objects] == ["cat"]
    assert abs(merged.objects[0].box.left - 0.10) < 1e-6 and abs((merged.objects[0].confidence or 0) - 0.8) < 1e-6


def test_faces_without_scores_stay_without_scores() -> None:
    face = Face(None, Box(0.2, 0.2, 0.2, 0.2))  # type: ignore[arg-type]
    merged = merge(
        spec_of(Task.VISION_FACES), [FacesResult(faces=[face]), FacesResult(faces=[face]), FacesResult(faces=[])]
    )
    assert len(merged.faces) == 1 and merged.faces[0].confidence is None


def test_entities_keep_spans_most_answers_found() -> None:
    text = "Ana lives in Madrid"
    ana = Entity(text="Ana", begin=0, end=3, type="PERSON", confidence=0.9)
    madrid = Entity(text="Madrid", begin=13, end=19, type="LOCATION", confidence=0.8)
    madrid_org = Entity(text="Madrid", begin=13, end=19, type="ORGANIZATION", confidence=0.5)
    answers = [EntitiesResult(entities=[ana, madrid]), EntitiesResult(entities=[madrid]),
               EntitiesResult(entities=[ana, madrid_org])]  # fmt: skip
    merged = merge(spec_of(Task.TEXT_ENTITIES), answers)
    assert [(e.text, e.type) for e in merged.entities] == [("Ana", "PERSON"), ("Madrid", "LOCATION")]
    assert text[merged.entities[1].begin : merged.entities[1].end] == "Madrid"


def test_key_phrases_by_overlap() -> None:
    big = KeyPhrase(text="big red car", begin=4, end=15, confidence=0.9)
    red = KeyPhrase(text="red car", begin=8, end=15, confidence=0.7)
    other = KeyPhrase(text="the", begin=0, end=3, confidence=0.2)
    answers = [KeyPhrasesResult(phrases=[big]), KeyPhrasesResult(phrases=[red, other]), KeyPhrasesResult(phrases=[big])]
    merged = merge(spec_of(Task.TEXT_KEY_PHRASES), answers)
    assert [p.text for p in merged.phrases] == ["big red car"]


def test_medoids_pick_the_answer_closest_to_the_others() -> None:
    def ocr(text: str) -> OcrResult:
        return OcrResult(text=text, lines=[OcrLine(text, 0.9)])

    assert (
        merge(spec_of(Task.VISION_OCR), [ocr("HELL0 W0RLD"), ocr("HELLO WORLD"), ocr("HELLO WORLD!")]).text
        == "HELLO WORLD"
    )
    tr = [TranslateResult(text=t, source_language="en", target_language="es")
          for t in ("el gato es negro", "el gato negro", "la casa es roja")]  # fmt: skip
    assert merge(spec_of(Task.TEXT_TRANSLATE), tr).text in ("el gato es negro", "el gato negro")
    asr = [TranscribeResult(text=t, confidence=0.9) for t in ("the quick fox", "a quick fox", "the quick fox jumps")]
    assert merge(spec_of(Task.SPEECH_TRANSCRIBE), asr).text == "the quick fox"


def test_medoid_of_two_is_the_first() -> None:
    assert medoid(["a", "b"], lambda x, y: 1.0) == "a"


def test_mean_or_none() -> None:
    assert mean_or_none([None, None]) is None and mean_or_none([0.2, None, 0.4]) == 0.3
