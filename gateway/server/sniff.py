"""Find the real format of uploaded bytes from their magic numbers, never the name.

Images are opened with Pillow to read their size and to catch corrupt files (a PNG
whose header or chunks are broken is a 400, not a provider's problem). Audio length
comes from the stream's frames (``gateway.server.audio_length``, PyAV), for per-second
pricing and the duration limits.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable

from gateway.server.audio_length import audio_seconds
from omnisense.schema import InvalidInput, Media, PayloadTooLarge, UnsupportedMediaType

IMAGE_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "png"),
    (b"GIF87a", 0, "gif"),
    (b"GIF89a", 0, "gif"),
    (b"BM", 0, "bmp"),
    (b"II*\x00", 0, "tiff"),
    (b"MM\x00*", 0, "tiff"),
)
AUDIO_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"fLaC", 0, "flac"),
    (b"OggS", 0, "ogg"),
    (b"ID3", 0, "mp3"),
    (b"\x1a\x45\xdf\xa3", 0, "webm"),  # EBML: WebM / Matroska audio
)
M4A_BRANDS = (b"M4A ", b"M4B ", b"mp42", b"mp41", b"isom", b"iso2", b"iso5", b"iso6", b"dash")
# Formats a caller may confuse with ours: named in the 415 so the message helps.
OTHER_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"{", "application/json"),
    (b"<", "text/html or XML"),
)


def _match(data: bytes, table: tuple[tuple[bytes, int, str], ...]) -> str | None:
    for magic, offset, fmt in table:
        if data[offset : offset + len(magic)] == magic:
            return fmt
    return None


def sniff_image(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return _match(data, IMAGE_MAGIC)


def sniff_audio(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[4:8] == b"ftyp" and data[8:12] in M4A_BRANDS:
        return "m4a"  # MP4 audio (AAC, ALAC)
    fmt = _match(data, AUDIO_MAGIC)
    if fmt is None and len(data) > 1 and data[0] == 0xFF and (data[1] & 0xE0) == 0xE0:
        return "mp3"  # an MPEG audio frame sync without an ID3 tag
    return fmt


def what_is(data: bytes) -> str:
    if not data:
        return "an empty body"
    for magic, name in OTHER_MAGIC:
        if data.startswith(magic):
            return name
    return "an unrecognized format"


def _sniffed(data: bytes, field: str, max_bytes: int, sniff: Callable[[bytes], str | None], accepted: str) -> str:
    """The format of ``data``, after the checks every upload gets: not empty, within the limit, known."""
    if not data:
        raise InvalidInput(f"the {field} is empty", field=field)
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"the {field} is {len(data)} bytes; the limit is {max_bytes}", field=field)
    fmt = sniff(data)
    if fmt is None:
        raise UnsupportedMediaType(f"the {field} is {what_is(data)}, not supported {accepted}", field=field)
    return fmt


def image_media(data: bytes, *, max_bytes: int, max_pixels: int, field: str = "image") -> Media:
    fmt = _sniffed(data, field, max_bytes, sniff_image, "image (JPEG, PNG, WebP, GIF, BMP, TIFF)")
    width, height = _image_size(data, fmt, max_pixels, field)
    return Media(data=data, format=fmt, width=width, height=height)


def _image_size(data: bytes, fmt: str, max_pixels: int, field: str) -> tuple[int, int]:
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
                if width * height > max_pixels:
                    raise PayloadTooLarge(f"the image has {width * height} pixels; the limit is {max_pixels}")
                img.verify()  # checks the structure (PNG chunk CRCs, ...) without decoding
    except PayloadTooLarge:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PayloadTooLarge(f"the image is too large to decode safely: {exc}", field=field) from None
    except Exception as exc:
        raise InvalidInput(f"the {field} looks like {fmt.upper()} but is corrupt: {exc}", field=field) from None
    return width, height


def audio_media(data: bytes, *, max_bytes: int, field: str = "audio") -> Media:
    fmt = _sniffed(data, field, max_bytes, sniff_audio, "audio (WAV, MP3, FLAC, OGG, WebM, M4A)")
    return Media(data=data, format=fmt, duration_s=audio_seconds(data, fmt, field))
