"""Unit tests of the pure helpers (no server)."""

from __future__ import annotations

import asyncio
import base64
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from omnilocal import langs
from omnilocal.errors import ModelInputError
from omnilocal.http import ContractErrors
from omnilocal.media import box, decode_base64, decode_image
from omnilocal.sentiment import e5_scores, label_of, pieces, sentiment_scores
from omnilocal.text import moderation_pieces, moderation_result
from omnilocal.translate import Translator, discover_apertium_pairs
from PIL import Image


@pytest.mark.parametrize(
    ("pos", "neg", "neu", "compound", "label"),
    [
        (0.672, 0.0, 0.328, 0.8478, "positive"),
        (0.0, 0.63, 0.37, -0.7783, "negative"),
        (0.0, 0.0, 1.0, 0.0, "neutral"),
        (0.191, 0.294, 0.515, -0.34, "mixed"),
        (0.1, 0.0, 0.9, 0.05, "positive"),
        (0.1, 0.0, 0.9, 0.04, "neutral"),
    ],
)
def test_sentiment_mapping(pos: float, neg: float, neu: float, compound: float, label: str) -> None:
    scores = sentiment_scores(pos, neg, neu, compound)
    assert set(scores) == {"positive", "negative", "neutral", "mixed"}
    assert abs(sum(scores.values()) - 1) < 1e-3
    assert all(0 <= v <= 1 for v in scores.values())
    assert label_of(scores) == label


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("en", "en"),
        ("EN_us", "en-US"),
        ("zh-hans-cn", "zh-Hans-CN"),
        ("es-419", "es-419"),
        ("en-gb-x-rp", "en-GB-x-rp"),
    ],
)
def test_normalize(raw: str, want: str) -> None:
    assert langs.normalize(raw) == want


@pytest.mark.parametrize("raw", ["", "  ", "not a code!", "en--us", None])
def test_normalize_rejects(raw: Any) -> None:
    with pytest.raises(ModelInputError):
        langs.normalize(raw)


def test_iso3() -> None:
    assert langs.from_iso3("eng") == "en" and langs.from_iso3("spa_US") == "es-US"
    assert langs.from_iso3("eng_US") == "en-US"


def test_apertium_pairs(tmp_path: Path) -> None:
    for name in ["eng-spa", "spa-eng", "spa-eng_US", "eng-spa-morph"]:
        (tmp_path / f"{name}.mode").write_text("")
    assert discover_apertium_pairs(tmp_path) == {
        ("en", "es"): "eng-spa",
        ("es", "en"): "spa-eng",
        ("es", "en-US"): "spa-eng_US",
    }
    assert discover_apertium_pairs(tmp_path / "missing") == {}


def test_box_clips() -> None:
    assert box(-10, 0, 60, 200, 100, 100) == {"left": 0.0, "top": 0.0, "width": 0.5, "height": 1.0}


def test_decode_base64_variants() -> None:
    assert decode_base64("data:image/png;base64,aGVsbG8=", "x", 100) == b"hello"
    assert decode_base64("aGVsbG8", "x", 100) == b"hello"
    assert decode_base64("-_8", "x", 100) == b"\xfb\xff"
    with pytest.raises(ModelInputError):
        decode_base64("aGVsbG8=" * 100, "x", 10)


def _run_middleware(status: int, body: bytes, request: bytes = b"{}") -> tuple[int, Any]:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": body})

    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": request, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/x"}
    asyncio.run(ContractErrors(app, ["/x"])(scope, receive, send))
    return sent[0]["status"], json.loads(sent[1]["body"])


def test_middleware_rewrites_bentoml_400() -> None:
    status, body = _run_middleware(
        400,
        json.dumps(
            {"error": "1 validation error for Input", "detail": [{"loc": ["text"], "msg": "Field required"}]}
        ).encode(),
    )
    assert status == 400 and body["error"] == "invalid_input"
    assert "text: Field required" in body["detail"]


def test_middleware_keeps_ours_and_successes() -> None:
    ours = {"error": "unsupported", "detail": "no"}
    assert _run_middleware(400, json.dumps(ours).encode()) == (400, ours)
    assert _run_middleware(200, b'{"ok": 1}') == (200, {"ok": 1})


def test_middleware_rejects_non_object() -> None:
    assert _run_middleware(200, b"{}", request=b"[1]")[0] == 400
    assert _run_middleware(200, b"{}", request=b"{bad")[0] == 400


def test_decode_image_applies_exif_rotation() -> None:
    img = Image.new("RGB", (100, 50), "red")
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    decoded = decode_image(base64.b64encode(buf.getvalue()).decode())
    assert decoded.size == {"width": 50, "height": 100} and decoded.format == "jpeg"


def test_decode_image_rejects_other_formats() -> None:
    with pytest.raises(ModelInputError) as info:
        decode_image(base64.b64encode(b"%PDF-1.4 not an image").decode())
    assert info.value.code == "invalid_input"


def test_moderation_pieces_are_sentences_of_bounded_length() -> None:
    assert moderation_pieces("Hello there. You idiot! Fine?") == ["Hello there.", "You idiot!", "Fine?"]
    assert [len(p) for p in moderation_pieces("x" * 1200, size=500)] == [500, 500, 200]
    assert moderation_pieces("   ") == ["   "]


def test_moderation_result_shape() -> None:
    low = dict.fromkeys(("toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"), 0.1)
    out = moderation_result([low, {**low, "threat": 0.73}])
    assert out["flagged"] is True
    assert out["flags"][0] == {"category": "threat", "confidence": 0.73, "vendor_category": "threat"}
    assert len(out["flags"]) == 6
    assert {f["vendor_category"]: f["category"] for f in out["flags"]} == {
        "toxic": "toxicity", "severe_toxic": "toxicity", "obscene": "profanity", "threat": "threat",
        "insult": "insult", "identity_hate": "hate",
    }  # fmt: skip
    assert moderation_result([low])["flagged"] is False


def test_toxicity_tokenizer_is_keras_texts_to_sequences() -> None:
    from omnilocal.toxicity import MAX_LEN, Tokenizer

    tok = Tokenizer({"you": 1, "idiot": 7, "rare": 30000}, '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n', 20000)
    seq = tok.sequence("You, IDIOT! rare unknown")
    assert seq.shape == (MAX_LEN,) and list(seq[-2:]) == [1, 7] and not seq[:-2].any()  # padded in front
    assert list(tok.sequence("you " * 150)[:3]) == [1, 1, 1]  # cut in front: the last 100 words


def test_pivot_routes(tmp_path: Path) -> None:
    for name in ["eng-spa", "spa-eng", "fr-es", "es-fr", "spa-eng_US", "Cyrl-Latn", "es-pt_BR"]:
        (tmp_path / f"{name}.mode").write_text("")
    translator = Translator(tmp_path)
    assert ("cyrl", "latn") not in translator.pairs and len(translator.pairs) == 6
    route = translator.route("fr", "en")
    assert [s.mode for s in route.steps] == ["fr-es", "spa-eng"] and route.pivot == "es"
    assert route.model == "apertium fr-es+spa-eng (pivot via es)"
    assert translator.route("fr-CA", "en-GB").model == route.model
    assert translator.route("en", "es").model == "apertium eng-spa"
    caps = translator.capabilities()
    assert caps["pivots"] == [["en", "es", "fr"], ["fr", "es", "en"]]
    assert ["fr", "en"] in caps["pairs"] and ["es", "pt-BR"] in caps["pairs"]
    assert ["fr", "pt-BR"] not in caps["pairs"]  # pivots join plain languages only
    with pytest.raises(ModelInputError, match=r"installed: .*through a pivot language: \['en->fr', 'fr->en'\]"):
        translator.route("de", "en")


@pytest.mark.parametrize(("mixed", "label"), [(0.9, "mixed"), (0.2, "negative"), (0.0, "negative")])
def test_e5_scores(mixed: float, label: str) -> None:
    scores = e5_scores(np.array([0.7, 0.2, 0.1]), mixed, 0.71)
    assert abs(sum(scores.values()) - 1) < 1e-3 and label_of(scores) == label
    assert e5_scores(np.array([0.7, 0.2, 0.1]), 0.71, 0.71)["mixed"] == 0.5


def test_sentiment_pieces() -> None:
    assert pieces("One. Two.") == ["One. Two."]
    long = "A sentence of words. " * 100
    parts = pieces(long, size=100)
    assert all(len(p) <= 100 for p in parts) and " ".join(parts) == long.strip()
    assert pieces("x" * 250, size=100) == ["x" * 100, "x" * 100, "x" * 50]


def test_whisper_base_is_joined_once(tmp_path: Path) -> None:
    from omnilocal.whisper_base import MODEL_BYTES, model_dir

    first = model_dir(tmp_path)
    assert (first / "model.bin").stat().st_size == MODEL_BYTES
    assert {p.name for p in first.iterdir()} == {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}
    stamp = (first / "model.bin").stat().st_mtime_ns
    assert model_dir(tmp_path) == first and (first / "model.bin").stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no temporary directory left behind


def test_diarize_clusters_words_and_turns() -> None:
    from omnilocal.diarize import cluster, label_words_from, segments

    a, b = np.array([1.0, 0.1, 0.0]), np.array([0.0, 0.2, 1.0])
    embeddings = np.stack([a, a * 1.1, b, b * 0.9, a])
    assert cluster(embeddings, None) == cluster(embeddings, 2)
    groups = cluster(embeddings, None)
    assert groups[0] == groups[1] == groups[4] != groups[2] == groups[3]
    assert len(set(cluster(embeddings, 1))) == 1
    windows = [(0.0, 1.5), (0.5, 2.0), (2.5, 4.0), (3.0, 4.5), (5.0, 6.0)]
    words = [
        {"text": "one", "start": 0.2, "end": 0.6},
        {"text": "two", "start": 2.6, "end": 3.1},
        {"text": "three", "start": 4.55, "end": 4.6},  # in no window: the nearest one's speaker
        {"text": "four", "start": 5.2, "end": 5.5},
    ]
    # a short window (0.5 s: "Thank you," alone) far from both voices founds no speaker: it joins the nearest
    odd = np.array([0.6, 1.0, 0.3])  # cosine distance 0.42 from a, 0.59 from b
    with_short = np.stack([a, a * 1.1, b, b * 0.9, odd])
    assert len(set(cluster(with_short, None))) == 3  # clustered with the rest, it was a speaker of its own
    assert cluster(with_short, None, [1.5, 1.5, 1.5, 1.2, 0.5]) == cluster(with_short, None, [1.5] * 4 + [0.5])
    short_joins = cluster(with_short, None, [1.5, 1.5, 1.5, 1.2, 0.5])
    assert short_joins[4] == short_joins[0] != short_joins[2]  # nearer a than b
    assert len(set(cluster(with_short, 3, [1.5, 1.5, 1.5, 1.2, 0.5]))) == 3  # a count given: every window counts
    assert cluster(embeddings, None, [0.5] * 5) == cluster(embeddings, None)  # none long enough: all clustered
    labels = label_words_from(words, windows, [7, 7, 3, 3, 7])
    assert labels == ["S1", "S2", "S2", "S1"]
    for w, s in zip(words, labels, strict=True):
        w["speaker"] = s
    assert [(t["speaker"], t["text"], t["start_s"], t["end_s"]) for t in segments(words)] == [
        ("S1", "one", 0.2, 0.6),
        ("S2", "two three", 2.6, 4.6),
        ("S1", "four", 5.2, 5.5),
    ]
