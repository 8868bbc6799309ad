"""The redactor endpoints the gateway calls before a vendor sees an input (``redact:``)."""

from __future__ import annotations

import base64
import io
import itertools
from typing import Any

import numpy as np
from inputs import b64_png, sample, text_image
from PIL import Image

PII_TEXT = (
    "Hi, I am John Smith, email john.smith@example.com, call +1 415-555-0132. "
    "Card 4111 1111 1111 1111, not a card 4111 1111 1111 1112. IBAN DE89 3704 0044 0532 0130 00, "
    "not one DE89 3704 0044 0532 0130 01. SSN 536-22-8726. I live at 221B Baker Street."
)


def _found(out: dict[str, Any], text: str) -> dict[str, str]:
    return {text[s["begin"] : s["end"]]: s["type"] for s in out["spans"][0]}


def test_text_spans_with_types_and_version(client: Any) -> None:
    out = client.ok("/redact/text", {"texts": [PII_TEXT, "Nothing personal here."]})
    found = _found(out, PII_TEXT)
    assert found["John Smith"] == "PERSON"
    assert found["john.smith@example.com"] == "EMAIL"
    assert found["+1 415-555-0132"] == "PHONE"
    assert found["4111 1111 1111 1111"] == "CARD"
    assert found["DE89 3704 0044 0532 0130 00"] == "IBAN"
    assert found["536-22-8726"] == "NATIONAL_ID"
    assert found["221B Baker Street"] == "ADDRESS"
    # Luhn and the IBAN checksum: a mistyped number is not taken for one
    assert "4111 1111 1111 1112" not in found and "DE89 3704 0044 0532 0130 01" not in found
    assert out["spans"][1] == []
    assert out["version"].startswith("omnilocal-pii-1 presidio-analyzer-2.2.366")
    spans = out["spans"][0]
    assert all(a["end"] <= b["begin"] for a, b in itertools.pairwise(spans))  # sorted, no overlap


def test_text_bad_input_is_400(client: Any) -> None:
    assert client.post("/redact/text", {"texts": []}).status_code == 400
    assert client.post("/redact/text", {"texts": ["x" * 100_001]}).status_code == 400


def _decoded(out: dict[str, Any]) -> np.ndarray[Any, Any]:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(out["image"]))).convert("RGB"))


def test_face_blurred_and_no_longer_found(client: Any) -> None:
    original = sample("astronaut")
    out = client.ok("/redact/image", {"image": b64_png(original), "faces": True})
    assert out["counts"] == {"faces": 1, "text_regions": 0} and out["format"] == "png"
    blurred = _decoded(out)
    assert blurred.shape == original.shape
    face = client.ok("/vision/faces", {"image": b64_png(original)})["faces"][0]["box"]
    x0, y0 = int(face["left"] * 512), int(face["top"] * 512)
    x1, y1 = x0 + int(face["width"] * 512), y0 + int(face["height"] * 512)
    changed = np.abs(blurred[y0:y1, x0:x1].astype(int) - original[y0:y1, x0:x1].astype(int)).mean()
    assert changed > 10
    assert np.array_equal(blurred[450:, :100], original[450:, :100])  # far from the face: untouched
    assert client.ok("/vision/faces", {"image": out["image"]})["faces"] == []


def test_text_regions_blurred_and_unreadable(client: Any) -> None:
    img = text_image("AB 123 CD")
    out = client.ok("/redact/image", {"image": b64_png(img), "faces": False, "text": True})
    assert out["counts"]["text_regions"] >= 1 and out["counts"]["faces"] == 0
    read = client.ok("/vision/ocr", {"image": out["image"]})
    assert "123" not in read["text"]
    jpeg = client.ok("/redact/image", {"image": b64_png(img, "JPEG"), "faces": False, "text": True})
    assert jpeg["format"] == "jpeg"
    # the detector the redactor shares with OCR keeps nothing of the detection-only call
    chinese = client.ok("/vision/ocr", {"image": b64_png(text_image("欢迎来到上海")), "language": "zh-CN"})
    assert chinese["text"].replace(" ", "") == "欢迎来到上海"
