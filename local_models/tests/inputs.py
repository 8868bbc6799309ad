"""Inputs the tests make themselves: rendered text, skimage sample photos."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

OCR_TEXT = "Omnisense reads printed words"
SENTENCE = "The quick brown fox jumps over the lazy dog."


def b64_png(arr: np.ndarray[Any, Any] | Image.Image, fmt: str = "PNG") -> str:
    img = arr if isinstance(arr, Image.Image) else Image.fromarray(arr)
    buf = io.BytesIO()
    img.save(buf, fmt)
    return base64.b64encode(buf.getvalue()).decode("ascii")


# Pillow's built-in font has no umlauts: text beyond ASCII is drawn in DejaVu Sans
# (Debian fonts-dejavu-core, installed by setup.sh).
DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
# Chinese is drawn in WenQuanYi Micro Hei (Debian fonts-wqy-microhei, installed by setup.sh).
WQY = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


def _font(text: str) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if text.isascii():
        return ImageFont.load_default(size=40)
    cjk = any("\u4e00" <= ch <= "\u9fff" for ch in text)
    return ImageFont.truetype(WQY if cjk else DEJAVU, 40)


def text_image(text: str = OCR_TEXT) -> Image.Image:
    font = _font(text)
    img = Image.new("RGB", (900, 140), "white")
    ImageDraw.Draw(img).text((30, 40), text, fill="black", font=font)
    return img


def sample(name: str) -> np.ndarray[Any, Any]:
    from skimage import data

    return np.asarray(getattr(data, name)())


def video_clip(pictures: tuple[str, ...] = ("astronaut", "chelsea"), seconds: int = 3, fps: int = 10) -> bytes:
    """``seconds`` of each scikit-image sample picture in turn, encoded as H.264 in MP4 with PyAV."""
    import av

    size = (320, 240)
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("h264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for name in pictures:
            pixels = np.asarray(Image.fromarray(sample(name)).convert("RGB").resize(size))
            for _ in range(seconds * fps):
                for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                    out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()
