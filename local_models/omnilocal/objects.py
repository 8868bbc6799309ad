"""``vision.objects`` limited to what ships: two classes, ``face`` and ``person``.

No wheel on the package registry ships a general (COCO-style) detector that may be used
offline (issue #31), so the server declares the classes it can find in ``/capabilities``
(``classes``), and the gateway routes a request for any other class to a provider that
has it, or answers that none can (422). The two detectors:

- ``face``: YuNet (``omnilocal.faces``), with its own score;
- ``person``: OpenCV's HOG + linear SVM people detector (Dalal & Triggs, trained on
  upright, whole-body pedestrians of at least 64 x 128 pixels; it misses sitting,
  cropped or small people). Its SVM margin is not a probability, so ``confidence`` is
  ``null``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import unsupported
from .faces import FaceDetector
from .media import DecodedImage, box

CLASSES = ("face", "person")


class PersonDetector:
    """OpenCV's default HOG people detector; boxes as fractions, confidence null."""

    model_name = "opencv-hog-people"
    max_side = 1024

    def __init__(self) -> None:
        import cv2

        self._cv2 = cv2
        self.hog = cv2.HOGDescriptor()
        self.hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

    def detect(self, img: DecodedImage) -> list[dict[str, Any]]:
        cv2 = self._cv2
        arr = np.asarray(img.image)
        scale = min(1.0, self.max_side / max(arr.shape[0], arr.shape[1]))
        if scale < 1.0:
            size = (max(1, round(arr.shape[1] * scale)), max(1, round(arr.shape[0] * scale)))
            arr = cv2.resize(arr, size, interpolation=cv2.INTER_AREA)
        h, w = arr.shape[:2]
        if w < 64 or h < 128:  # smaller than the detector's window: nothing it could find
            return []
        rects, weights = self.hog.detectMultiScale(arr, winStride=(8, 8), padding=(8, 8), scale=1.05)
        ranked = sorted(zip(rects, np.ravel(weights), strict=True), key=lambda rw: -float(rw[1]))
        return [
            {"name": "person", "confidence": None, "box": box(float(x), float(y), float(bw), float(bh), w, h)}
            for (x, y, bw, bh), _margin in ranked
        ]


class ObjectDetector:
    """Faces and persons as objects; ``classes`` narrows the answer to some of them."""

    def __init__(self, faces: FaceDetector) -> None:
        self.faces = faces
        self.persons = PersonDetector()
        self.model_name = f"{faces.model_name}+{self.persons.model_name}"

    def detect(self, img: DecodedImage, classes: list[str] | None) -> list[dict[str, Any]]:
        wanted = set(CLASSES) if classes is None else {c.strip().lower() for c in classes}
        unknown = sorted(wanted - set(CLASSES))
        if unknown:
            raise unsupported(f"object classes {unknown} are not detected here; this server finds {list(CLASSES)}")
        found: list[dict[str, Any]] = []
        if "face" in wanted:
            found += [{"name": "face", "confidence": f["confidence"], "box": f["box"]} for f in self.faces.detect(img)]
        if "person" in wanted:
            found += self.persons.detect(img)
        return found
