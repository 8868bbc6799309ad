"""Inputs the tests make themselves: images, audio, video and sentences."""

from __future__ import annotations

import io
import math
import struct
import wave

from PIL import Image, ImageDraw


def png(width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, "PNG")
    return buf.getvalue()


def jpeg(width: int = 64, height: int = 48) -> bytes:
    buf = io.BytesIO()
    img = Image.new("RGB", (width, height), (30, 120, 200))
    ImageDraw.Draw(img).ellipse((8, 8, width - 8, height - 8), fill=(250, 220, 0))
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def text_image(text: str = "HELLO WORLD", size: tuple[int, int] = (480, 120)) -> bytes:
    buf = io.BytesIO()
    img = Image.new("RGB", size, "white")
    ImageDraw.Draw(img).text((20, 40), text, fill="black", font_size=40)
    img.save(buf, "PNG")
    return buf.getvalue()


def wav(seconds: float = 1.0, rate: int = 16000, freq: float = 440.0) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = int(seconds * rate)
        w.writeframes(
            b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * i / rate))) for i in range(frames))
        )
    return buf.getvalue()


def video(
    pictures: tuple[Image.Image, ...] | None = None,
    seconds: float = 1.0,
    *,
    fps: int = 10,
    size: tuple[int, int] = (96, 64),
    container: str = "mp4",
    codec: str = "h264",
) -> bytes:
    """A clip of ``seconds`` per picture (default: a red, then a blue picture), encoded with PyAV."""
    import av
    import numpy as np

    shown = pictures or (Image.new("RGB", size, (200, 30, 30)), Image.new("RGB", size, (30, 60, 200)))
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for picture in shown:
            pixels = np.asarray(picture.convert("RGB").resize(size))
            for _ in range(round(seconds * fps)):
                for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                    out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


POSITIVE = "I love this phone, the camera is wonderful and the battery lasts forever."
NEGATIVE = "This is the worst service I have ever had, rude staff and a broken product."
INSULT = "You are a stupid idiot and a complete moron."
ENTITIES = "Tim Cook announced that Apple will open a new office in Berlin next year."
SENTENCES = {
    "en": "The weather is lovely today and we are going to the park.",
    "fr": "Le temps est magnifique aujourd'hui et nous allons au parc.",
    "es": "El tiempo es precioso hoy y vamos a ir al parque.",
    "de": "Das Wetter ist heute herrlich und wir gehen in den Park.",
}
