from __future__ import annotations

from typing import Any

import pytest

ENTITY_TEXT = "Tim Cook said in Berlin on Monday that Apple will hire 300 engineers."


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("I love this phone, it is absolutely wonderful!", "positive"),
        ("This is the worst service ever. I hate it and I am furious.", "negative"),
        ("The meeting is scheduled for Tuesday at the main office.", "neutral"),
    ],
)
def test_sentiment_polarity(client: Any, text: str, label: str) -> None:
    out = client.ok("/text/sentiment", {"text": text, "language": "en"})
    assert out["label"] == label
    assert set(out["scores"]) == {"positive", "negative", "neutral", "mixed"}
    assert abs(sum(out["scores"].values()) - 1.0) < 0.01
    assert max(out["scores"], key=out["scores"].get) == label


def test_sentiment_reads_an_everyday_complaint(client: Any) -> None:
    """No sentiment word in it (VADER alone called it neutral): the fitted e5 head reads it."""
    out = client.ok("/text/sentiment", {"text": "The service was slow and the food was cold.", "language": "en"})
    assert out["label"] == "negative" and out["scores"]["negative"] > 0.5
    assert out["model"] == "e5-small-q4-query+logreg-fitted-on-eval-C10"
    emoji = client.ok("/text/sentiment", {"text": "😀😀😀", "language": "en"})
    assert emoji["model"] == "vader" and emoji["label"] == "positive"  # no words for e5 to read


def test_sentiment_on_news_without_sentiment_words(client: Any) -> None:
    """The issue's kinds of miss: good news told without positive words, a complaint phrased
    "nobody ... useful" (sentences of neither the training nor the held-out set)."""
    good = client.ok("/text/sentiment", {"text": "Our son passed his driving test on the first try.", "language": "en"})
    assert good["label"] == "positive", good
    bad = client.ok("/text/sentiment", {"text": "Nobody in the shop had any useful advice for me.", "language": "en"})
    assert bad["label"] == "negative", bad


@pytest.mark.parametrize(
    ("language", "text", "label"),
    [
        ("es", "El servicio fue lento y la comida estaba fría.", "negative"),
        ("de", "Das Personal war sehr freundlich und das Zimmer war sauber.", "positive"),
        (None, "Der Service war langsam und das Essen war kalt.", "negative"),
    ],
)
def test_sentiment_other_languages(client: Any, language: str | None, text: str, label: str) -> None:
    out = client.ok("/text/sentiment", {"text": text, "language": language})
    assert out["label"] == label, out
    assert abs(sum(out["scores"].values()) - 1.0) < 0.01


def test_sentiment_mixed(client: Any) -> None:
    out = client.ok("/text/sentiment", {"text": "I love the screen but the battery is awful.", "language": None})
    assert out["label"] == "mixed"


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("en", "The weather is lovely today and we are going to the park."),
        ("fr", "Je voudrais une tasse de café avec un croissant, s'il vous plaît."),
        ("es", "Me gustaría reservar una mesa para dos personas esta noche."),
        ("de", "Ich möchte heute Abend mit meinen Freunden ins Kino gehen."),
    ],
)
def test_language(client: Any, code: str, text: str) -> None:
    out = client.ok("/text/language", {"text": text})
    langs = out["languages"]
    assert langs[0]["code"] == code
    confs = [x["confidence"] for x in langs]
    assert confs == sorted(confs, reverse=True) and all(0 <= c <= 1 for c in confs)


def test_entities_types_and_offsets(client: Any) -> None:
    out = client.ok("/text/entities", {"text": ENTITY_TEXT, "language": "en"})
    found = {(e["text"], e["type"]) for e in out["entities"]}
    assert {("Tim Cook", "PERSON"), ("Berlin", "LOCATION"), ("Apple", "ORGANIZATION")} <= found
    for e in out["entities"]:
        assert ENTITY_TEXT[e["begin"] : e["end"]] == e["text"]
        assert e["type"] in {"PERSON", "LOCATION", "ORGANIZATION", "DATE", "QUANTITY", "EVENT", "PRODUCT", "OTHER"}
        assert e["vendor_type"] and e["confidence"] is None  # spaCy gives no score


def test_entity_offsets_are_code_points(client: Any) -> None:
    text = "🎉🎉 Angela Merkel visited Paris."
    out = client.ok("/text/entities", {"text": text})
    people = [e for e in out["entities"] if e["type"] == "PERSON"]
    assert people and text[people[0]["begin"] : people[0]["end"]] == "Angela Merkel"


def test_key_phrases(client: Any) -> None:
    text = "The new electric car has a remarkable battery range."
    out = client.ok("/text/key_phrases", {"text": text, "language": "en"})
    phrases = [p["text"] for p in out["phrases"]]
    assert "The new electric car" in phrases and "a remarkable battery range" in phrases
    for p in out["phrases"]:
        assert text[p["begin"] : p["end"]] == p["text"] and p["confidence"] is None


def test_translate_en_es(client: Any) -> None:
    text = "The cat is sleeping on the table."
    out = client.ok("/text/translate", {"text": text, "target_language": "es", "source_language": "en"})
    assert out["text"] and out["text"] != text
    assert out["source_language"] == "en" and out["target_language"] == "es"
    assert "gato" in out["text"].lower()


def test_translate_detects_source(client: Any) -> None:
    out = client.ok(
        "/text/translate", {"text": "El perro come pan en la casa.", "target_language": "en", "source_language": None}
    )
    assert out["source_language"] == "es" and "dog" in out["text"].lower()


def test_translate_pivot_fr_en(client: Any) -> None:
    """No French-English pair in Debian: French -> Spanish -> English, and the answer says so."""
    text = "Le chat dort sur la table."
    out = client.ok("/text/translate", {"text": text, "target_language": "en", "source_language": "fr"})
    assert out["source_language"] == "fr" and out["target_language"] == "en"
    words = set(out["text"].lower().strip(".").split())
    assert {"the", "cat", "table"} <= words, out["text"]
    assert out["model"] == "apertium fr-es+spa-eng (pivot via es)"


def test_translate_new_direct_pairs(client: Any) -> None:
    out = client.ok("/text/translate", {"text": "The house is big.", "target_language": "ca", "source_language": "en"})
    assert "casa" in out["text"].lower() and out["model"] == "apertium eng-cat"
    out = client.ok("/text/translate", {"text": "La casa es grande.", "target_language": "pt", "source_language": "es"})
    assert "casa" in out["text"].lower() and out["target_language"] == "pt"


def test_translate_unsupported_pair_names_the_installed_ones(client: Any) -> None:
    resp = client.post("/text/translate", {"text": "Hallo", "target_language": "en", "source_language": "de"})
    assert resp.status_code == 400 and resp.json()["error"] == "unsupported"
    detail = resp.json()["detail"]
    assert "de->en" in detail and "en->es" in detail and "fr->en" in detail


def test_capabilities(client: Any) -> None:
    caps = client.ok("/capabilities", {})
    tasks = caps["tasks"]
    assert caps["device"] in {"cpu", "cuda"}
    assert set(tasks) == {
        "vision.labels",
        "vision.faces",
        "vision.objects",
        "vision.ocr",
        "vision.moderation",
        "text.sentiment",
        "text.language",
        "text.entities",
        "text.key_phrases",
        "text.translate",
        "text.moderation",
        "speech.synthesize",
        "speech.transcribe",
        "video.labels",
        "video.shots",
        "video.moderation",
    }
    translate = tasks["text.translate"]
    for pair in (["en", "es"], ["en", "ca"], ["en", "gl"], ["en", "eo"], ["en", "sh"], ["fr", "es"], ["es", "pt"]):
        assert pair in translate["pairs"], pair
    assert ["es", "it"] in translate["pairs"] and ["fr", "en"] in translate["pairs"]
    assert ["fr", "es", "en"] in translate["pivots"] and ["en", "es", "fr"] in translate["pivots"]
    assert tasks["text.sentiment"]["languages"] == ["de", "en", "es", "fr"]
    assert {"de", "fr", "es", "it", "pt", "nl"} <= set(tasks["vision.ocr"]["languages"])
    assert {"en", "es", "de", "fr", "ja"} <= set(tasks["speech.transcribe"]["languages"])
    assert tasks["vision.moderation"]["categories"] == ["sexual"]
    assert "en_US-joe-medium" in tasks["speech.synthesize"]["voices"]
    assert tasks["speech.synthesize"]["formats"] == ["wav"]


def test_translate_regional_target_reports_what_it_produced(client: Any) -> None:
    out = client.ok(
        "/text/translate", {"text": "Good morning, my friend.", "target_language": "es-MX", "source_language": "en-GB"}
    )
    assert out["target_language"] == "es" and out["source_language"] == "en-GB"


def test_language_of_digits_is_empty(client: Any) -> None:
    assert client.ok("/text/language", {"text": "12345 67890"}) == {"languages": []}


def test_capabilities_declare_input_limits(client: Any) -> None:
    tasks = client.ok("/capabilities", {})["tasks"]
    assert tasks["text.sentiment"]["limits"] == {"max_chars": 100_000}
    assert tasks["text.translate"]["limits"] == {"max_chars": 20_000}
    assert tasks["vision.labels"]["limits"] == {"max_bytes": 20 * 1024 * 1024, "max_pixels": 50_000_000}
    assert tasks["speech.transcribe"]["limits"]["max_seconds"] == 1_800


def _flagged(out: dict[str, Any]) -> dict[str, float]:
    """The Jigsaw categories at or over the line, by their model name."""
    return {f["vendor_category"]: f["confidence"] for f in out["flags"] if f["confidence"] >= 0.5}


def test_moderation_flags_an_insult_not_a_compliment(client: Any) -> None:
    out = client.ok("/text/moderation", {"text": "You are a stupid idiot and a complete moron.", "language": "en"})
    assert out["flagged"] is True
    assert {f["vendor_category"] for f in out["flags"]} == {
        "toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"
    }  # fmt: skip
    assert "insult" in _flagged(out) and "threat" not in _flagged(out)
    confidences = [f["confidence"] for f in out["flags"]]
    assert confidences == sorted(confidences, reverse=True)
    calm = client.ok("/text/moderation", {"text": "I love this phone, the camera is wonderful."})
    assert calm["flagged"] is False and calm["flags"][0]["confidence"] < 0.5


def test_moderation_flags_a_threat_and_nothing_in_a_polite_sentence(client: Any) -> None:
    threat = client.ok("/text/moderation", {"text": "I will kill you and your whole family tonight."})
    assert threat["flagged"] is True and "threat" in _flagged(threat)
    threat_flag = next(f for f in threat["flags"] if f["vendor_category"] == "threat")
    assert threat_flag["category"] == "threat"
    polite = client.ok("/text/moderation", {"text": "Thank you so much for your help, have a lovely day!"})
    assert polite["flagged"] is False and _flagged(polite) == {}


def test_moderation_scores_each_sentence_of_a_long_text(client: Any) -> None:
    text = "The weather is lovely today and we are going to the park. " * 40 + "You are a stupid idiot."
    assert client.ok("/text/moderation", {"text": text})["flagged"] is True


def test_moderation_is_english_only(client: Any) -> None:
    resp = client.post("/text/moderation", {"text": "Du bist ein Idiot.", "language": "de"})
    assert resp.status_code == 400 and resp.json()["error"] == "unsupported"
