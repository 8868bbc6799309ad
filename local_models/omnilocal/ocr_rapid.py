"""RapidOCR 3.10 (PP-OCRv6 small detection and recognition, Apache-2.0, ONNX files inside
the ``rapidocr`` wheel) run by onnxruntime: the OCR engine for the languages it reads
better than tesseract (eval/ocr_compare.py decides; Chinese has no tesseract traineddata
here at all).

Settings: one onnxruntime thread per session (on a busy 2-core host more threads spin),
and the detector sees the image scaled so that its *longer* side is at most 960 px
(RapidOCR's default scales the *shorter* side up to 736 px: a 1200 x 140 line of text
became 6,300 px wide and took 12 s to detect; 1 s now).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from .media import DecodedImage, box, clamp01

RAPID_PARAMS = {
    "EngineConfig.onnxruntime.intra_op_num_threads": 1,
    "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    "Det.limit_type": "max",
    "Det.limit_side_len": 960,
    "Global.log_level": "warning",
}


class RapidOcr:
    """Lines of text, each with the recognizer's score and its box as fractions."""

    model_name = "rapidocr-3.10-ppocrv6-small"

    def __init__(self) -> None:
        from rapidocr import RapidOCR

        self.engine = RapidOCR(params=RAPID_PARAMS)
        # The engine keeps the use_det/use_cls/use_rec of its last call as its settings: every
        # call names all three, under one lock (OCR and the redactor's text boxes share it).
        self._lock = threading.Lock()

    def detect(self, arr: np.ndarray[Any, Any]) -> list[Any]:
        """The text regions' quadrilaterals (pixel points), from the detector alone."""
        with self._lock:
            found = self.engine(arr, use_det=True, use_cls=False, use_rec=False)
        return list(found.boxes) if getattr(found, "boxes", None) is not None else []

    def read(self, img: DecodedImage) -> dict[str, Any]:
        arr = np.asarray(img.image)
        with self._lock:
            out = self.engine(arr, use_det=True, use_cls=True, use_rec=True)
        w, h = img.image.width, img.image.height
        lines = []
        quads = out.boxes if out.boxes is not None else []
        for quad, text, score in zip(quads, out.txts or (), out.scores or (), strict=True):
            xs, ys = [float(p[0]) for p in quad], [float(p[1]) for p in quad]
            x0, y0 = min(xs), min(ys)
            lines.append(
                {
                    "text": str(text),
                    "confidence": clamp01(float(score)),
                    "box": box(x0, y0, max(xs) - x0, max(ys) - y0, w, h),
                }
            )
        return {"text": "\n".join(str(line["text"]) for line in lines), "lines": lines}
