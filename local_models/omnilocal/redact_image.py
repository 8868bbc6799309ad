"""Blurring what an image must not show a vendor: faces (YuNet, the face model the vision
service already runs) and text regions (RapidOCR's PP-OCRv6 text detector alone, no
recognition: it boxes every line of text, licence plates and documents included).

Each region is grown by ``PAD`` of its size on every side, pixelated to blocks of an eighth
of its shorter side and then Gaussian-blurred, so that neither a face detector nor a reader
gets the content back. The answer is the image re-encoded in its own format (JPEG at
quality 95; PNG otherwise, at zlib level 1: four times faster to write than the default
level, the file a little larger) and the count of regions of each kind.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from .faces import FaceDetector
from .media import DecodedImage, decode_image

PAD = 0.25  # of the region's width / height, on each side
BLUR_VERSION = "omnilocal-blur-1"


class RegionBlurrer:
    def __init__(self, faces: FaceDetector, rapid: Any) -> None:
        """``rapid``: an ``ocr_rapid.RapidOcr`` (its engine's detector finds the text regions)."""
        self.faces = faces
        self.rapid = rapid
        text_model = "rapidocr-3.10-det" if rapid is not None else "none"
        self.version = f"{BLUR_VERSION} {faces.model_name} {text_model}"

    def face_boxes(self, img: DecodedImage) -> list[tuple[int, int, int, int]]:
        w, h = img.image.width, img.image.height
        out = []
        for face in self.faces.detect(img):
            b = face["box"]
            out.append(_pixels(b["left"] * w, b["top"] * h, b["width"] * w, b["height"] * h))
        return out

    def text_boxes(self, img: DecodedImage) -> list[tuple[int, int, int, int]]:
        if self.rapid is None:
            raise RuntimeError("no text detector is installed")
        out = []
        for quad in self.rapid.detect(np.asarray(img.image)):
            xs, ys = [float(p[0]) for p in quad], [float(p[1]) for p in quad]
            out.append(_pixels(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)))
        return out

    def blur(self, image: str, faces: bool, text: bool) -> dict[str, Any]:
        img = decode_image(image)
        face_boxes = self.face_boxes(img) if faces else []
        text_boxes = self.text_boxes(img) if text else []
        out = img.image.copy()
        for region in [*face_boxes, *text_boxes]:
            _blur_region(out, region, PAD)
        fmt = "jpeg" if img.format == "jpeg" else "png"
        buf = io.BytesIO()
        out.save(buf, "JPEG", quality=95) if fmt == "jpeg" else out.save(buf, "PNG", compress_level=1)
        return {
            "image": base64.b64encode(buf.getvalue()).decode(),
            "format": fmt,
            "counts": {"faces": len(face_boxes), "text_regions": len(text_boxes)},
            "size": img.size,
            "version": self.version,
        }


def _pixels(x: float, y: float, w: float, h: float) -> tuple[int, int, int, int]:
    return round(x), round(y), max(1, round(w)), max(1, round(h))


def _blur_region(image: Image.Image, region: tuple[int, int, int, int], pad: float) -> None:
    """Pixelate, then blur, the region grown by ``pad`` of its size on each side (in place)."""
    x, y, w, h = region
    x0, y0 = max(0, int(x - pad * w)), max(0, int(y - pad * h))
    x1, y1 = min(image.width, int(x + w + pad * w) + 1), min(image.height, int(y + h + pad * h) + 1)
    if x1 <= x0 or y1 <= y0:
        return
    patch = image.crop((x0, y0, x1, y1))
    block = max(2, min(patch.width, patch.height) // 8)
    small = patch.resize((max(1, patch.width // block), max(1, patch.height // block)), Image.Resampling.BILINEAR)
    coarse = small.resize(patch.size, Image.Resampling.NEAREST)
    image.paste(coarse.filter(ImageFilter.GaussianBlur(radius=max(2.0, block / 2))), (x0, y0))
