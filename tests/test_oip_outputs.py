"""The OIP answer side on tensors the Open Inference Protocol documents: a model that gives no
score for what it answers leaves the confidence null, never a stand-in 1.0."""

from __future__ import annotations

from typing import Any

import msgspec

from adapters.oip.config import OipConfig
from adapters.oip.outputs import from_vendor
from omnisense.schema import (
    ImageRequest,
    LabelsResult,
    Media,
    OcrResult,
    SentimentResult,
    Task,
    TextModerationResult,
    TextRequest,
    TranscribeRequest,
    TranscribeResult,
)


def config(task: Task, inputs: list[dict[str, Any]], outputs: dict[str, Any]) -> OipConfig:
    block = {"url": "http://127.0.0.1:1", "model": "m", "task": task.value, "inputs": inputs, "outputs": outputs}
    return msgspec.convert(block, OipConfig)


def answer(*tensors: tuple[str, list[int], str, list[Any]]) -> bytes:
    outputs = [{"name": n, "shape": shape, "datatype": kind, "data": data} for n, shape, kind, data in tensors]
    return msgspec.json.encode({"model_name": "m", "outputs": outputs})


TEXT_IN = [{"name": "text", "from": "text"}]
IMAGE = ImageRequest(image=Media(data=b"\x89PNG", format="png", width=10, height=10))


def test_a_label_without_scores_has_no_confidence() -> None:
    cfg = config(Task.VISION_LABELS, [{"name": "image", "from": "image"}], {"label": "predict"})
    result = from_vendor(cfg, answer(("predict", [1, 1], "BYTES", ["cat"])), IMAGE)
    assert isinstance(result, LabelsResult)
    assert [(lb.name, lb.confidence) for lb in result.labels] == [("cat", None)]


def test_sentiment_classes_the_model_does_not_score_are_null() -> None:
    outputs = {"label": "predict", "scores": "proba", "classes": ["negative", "positive"]}
    cfg = config(Task.TEXT_SENTIMENT, TEXT_IN, outputs)
    body = answer(("predict", [1, 1], "BYTES", ["positive"]), ("proba", [1, 2], "FP32", [0.2, 0.8]))
    result = from_vendor(cfg, body, TextRequest(text="good"))
    assert isinstance(result, SentimentResult) and result.label == "positive"
    s = result.scores
    assert (s.positive, s.negative, s.neutral, s.mixed) == (0.8, 0.2, None, None)


def test_a_moderation_label_without_a_score_is_not_flagged_by_a_stand_in() -> None:
    cfg = config(Task.TEXT_MODERATION, TEXT_IN, {"label": "predict"})
    result = from_vendor(cfg, answer(("predict", [1], "BYTES", ["toxicity"])), TextRequest(text="x"))
    assert isinstance(result, TextModerationResult)
    assert [(f.category, f.confidence) for f in result.flags] == [("toxicity", None)] and not result.flagged


def test_ocr_lines_and_transcripts_from_text_tensors_have_no_confidence() -> None:
    ocr = config(Task.VISION_OCR, [{"name": "image", "from": "image"}], {"text": "text"})
    result = from_vendor(ocr, answer(("text", [1], "BYTES", ["HELLO\nWORLD"])), IMAGE)
    assert isinstance(result, OcrResult)
    assert [(line.text, line.confidence) for line in result.lines] == [("HELLO", None), ("WORLD", None)]
    stt = config(Task.SPEECH_TRANSCRIBE, [{"name": "audio", "from": "audio"}], {"text": "text"})
    heard = from_vendor(
        stt, answer(("text", [1], "BYTES", ["hello"])), TranscribeRequest(audio=Media(data=b"x", format="wav"))
    )
    assert isinstance(heard, TranscribeResult) and (heard.text, heard.confidence) == ("hello", None)
