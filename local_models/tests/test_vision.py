from __future__ import annotations

from typing import Any

import numpy as np
from inputs import OCR_TEXT, b64_png, sample, text_image


def _check_box(box: dict[str, float]) -> None:
    assert set(box) == {"left", "top", "width", "height"}
    assert all(0.0 <= v <= 1.0 for v in box.values())
    assert box["left"] + box["width"] <= 1.0001 and box["top"] + box["height"] <= 1.0001


def test_labels_cat(client: Any) -> None:
    out = client.ok("/vision/labels", {"image": b64_png(sample("chelsea")), "max_results": 5})
    assert out["image"] == {"width": 451, "height": 300}
    assert 1 <= len(out["labels"]) <= 5
    names = [label["name"] for label in out["labels"][:3]]
    assert any(n in {"tabby", "tiger cat", "Egyptian cat"} for n in names), names
    confs = [label["confidence"] for label in out["labels"]]
    assert confs == sorted(confs, reverse=True) and all(0 <= c <= 1 for c in confs)


def test_labels_jpeg_and_default_max(client: Any) -> None:
    out = client.ok("/vision/labels", {"image": b64_png(sample("coffee"), "JPEG")})
    assert len(out["labels"]) == 10
    assert out["labels"][0]["name"] == "espresso"


def test_one_face_in_astronaut(client: Any) -> None:
    out = client.ok("/vision/faces", {"image": b64_png(sample("astronaut"))})
    assert out["image"] == {"width": 512, "height": 512}
    assert len(out["faces"]) == 1
    face = out["faces"][0]
    assert face["confidence"] > 0.8  # YuNet's own score
    _check_box(face["box"])
    # Eileen Collins' face is in the upper middle of the picture.
    assert 0.25 < face["box"]["left"] < 0.45 and face["box"]["top"] < 0.3
    points = {p["type"]: p for p in face["landmarks"]}
    assert set(points) == {"left_eye", "right_eye", "nose", "mouth_left", "mouth_right"}
    for p in points.values():  # every landmark inside the face's box
        assert face["box"]["left"] <= p["x"] <= face["box"]["left"] + face["box"]["width"]
        assert face["box"]["top"] <= p["y"] <= face["box"]["top"] + face["box"]["height"]
    # The subject's right eye appears on the image's left; the eyes above the nose, the nose above the mouth.
    assert points["right_eye"]["x"] < points["left_eye"]["x"]
    assert points["mouth_right"]["x"] < points["mouth_left"]["x"]
    assert max(points["right_eye"]["y"], points["left_eye"]["y"]) < points["nose"]["y"] < points["mouth_left"]["y"]


def test_no_face_in_cat_or_cup(client: Any) -> None:
    for name in ("chelsea", "coffee"):
        out = client.ok("/vision/faces", {"image": b64_png(sample(name))})
        assert out["faces"] == [], name


def test_objects_are_faces_and_persons(client: Any) -> None:
    caps = client.ok("/capabilities", {})["tasks"]["vision.objects"]
    assert caps["classes"] == ["face", "person"]
    out = client.ok("/vision/objects", {"image": b64_png(sample("astronaut"))})
    faces = [o for o in out["objects"] if o["name"] == "face"]
    assert len(faces) == 1 and faces[0]["confidence"] > 0.8
    assert {o["name"] for o in out["objects"]} <= {"face", "person"}
    for o in out["objects"]:
        _check_box(o["box"])
        if o["name"] == "person":
            assert o["confidence"] is None  # HOG's SVM margin is no probability
    only_faces = client.ok("/vision/objects", {"image": b64_png(sample("astronaut")), "classes": ["Face"]})
    assert [o["name"] for o in only_faces["objects"]] == ["face"]
    assert client.ok("/vision/objects", {"image": b64_png(sample("coffee"))})["objects"] == []


def test_objects_of_another_class_are_refused(client: Any) -> None:
    resp = client.post("/vision/objects", {"image": b64_png(sample("coffee")), "classes": ["cup"]})
    assert resp.status_code == 400
    assert resp.json()["error"] == "unsupported" and "cup" in resp.json()["detail"]


def test_ocr_reads_rendered_text(client: Any) -> None:
    out = client.ok("/vision/ocr", {"image": b64_png(text_image()), "language": "en"})
    assert out["text"].strip() == OCR_TEXT
    assert out["image"] == {"width": 900, "height": 140}
    assert len(out["lines"]) == 1
    line = out["lines"][0]
    assert line["text"] == OCR_TEXT and 0.5 < line["confidence"] <= 1
    _check_box(line["box"])
    assert line["box"]["left"] < 0.1 and line["box"]["top"] > 0.1


def test_ocr_language_null(client: Any) -> None:
    out = client.ok("/vision/ocr", {"image": b64_png(text_image("Hello world")), "language": None})
    assert out["text"].strip() == "Hello world"


def test_ocr_german_with_umlauts(client: Any) -> None:
    text = "Größere Übungen für Bäcker"
    out = client.ok("/vision/ocr", {"image": b64_png(text_image(text)), "language": "de"})
    assert out["text"].strip() == text
    assert out["model"].startswith("tesseract-")  # the engine chosen for German (eval/ocr_compare.py)


def test_ocr_chinese_with_rapidocr(client: Any) -> None:
    text = "欢迎来到上海博物馆"
    out = client.ok("/vision/ocr", {"image": b64_png(text_image(text)), "language": "zh-CN"})
    assert out["model"] == "rapidocr-3.10-ppocrv6-small"  # tesseract has no Chinese here
    assert out["text"].replace(" ", "") == text
    assert len(out["lines"]) == 1 and 0.5 < out["lines"][0]["confidence"] <= 1
    box = out["lines"][0]["box"]
    assert 0 < box["left"] < 0.1 and 0 < box["width"] < 0.9
    assert "zh" in client.ok("/capabilities", {})["tasks"]["vision.ocr"]["languages"]


def test_ocr_unknown_language_names_the_installed(client: Any) -> None:
    resp = client.post("/vision/ocr", {"image": b64_png(text_image()), "language": "ja"})
    assert resp.status_code == 400 and resp.json()["error"] == "unsupported"
    assert "'de'" in resp.json()["detail"] and "'nl'" in resp.json()["detail"]


def benign_image() -> np.ndarray[Any, Any]:
    """A synthetic picture with no skin tones: blue sky gradient, green field, grey house."""
    img = np.zeros((300, 400, 3), np.uint8)
    img[:, :, 2] = np.linspace(120, 255, 400, dtype=np.uint8)[None, :]
    img[180:, :] = (40, 140, 50)
    img[100:200, 150:260] = (120, 120, 130)
    return img


def test_moderation_benign_image_is_safe_with_every_category(client: Any) -> None:
    out = client.ok("/vision/moderation", {"image": b64_png(benign_image())})
    assert out["image"] == {"width": 400, "height": 300}
    categories = client.ok("/capabilities", {})["tasks"]["vision.moderation"]["categories"]
    assert [f["category"] for f in out["flags"]] == categories == ["sexual"]
    assert all(0 <= f["confidence"] < 0.1 for f in out["flags"])


def test_moderation_keeps_to_the_callers_budget(client: Any) -> None:
    """Image moderation passes the entry's gate like every other call: a budget too short for
    it is a 504 at once, not an answer whenever the model gets to it."""
    resp = client.http.post(
        "/vision/moderation", json={"image": b64_png(benign_image())}, headers={"X-Omnisense-Timeout-S": "0.001"}
    )
    assert resp.status_code == 504 and resp.json()["error"] == "timeout"


def test_moderation_bad_image_is_400(client: Any) -> None:
    resp = client.post("/vision/moderation", {"image": "bm90IGFuIGltYWdl"})
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_input"
