"""Find the real format of uploaded bytes from their magic numbers, never the name.

Images are opened with Pillow to read their size and to catch corrupt files (a PNG
whose header or chunks are broken is a 400, not a provider's problem). Audio length
comes from the container headers (mutagen), for per-second pricing.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable

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
)
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
    fmt = _match(data, AUDIO_MAGIC)
    if fmt is None and len(data) > 1 and data[0] == 0xFF and (data[1] & 0xE0) == 0xE0:
        return "mp3"  # an MPEG audio frame sync without an ID3 tag
    return fmt


def _what_is(data: bytes) -> str:
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
        raise UnsupportedMediaType(f"the {field} is {_what_is(data)}, not supported {accepted}", field=field)
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
    fmt = _sniffed(data, field, max_bytes, sniff_audio, "audio (WAV, MP3, FLAC, OGG)")
    return Media(data=data, format=fmt, duration_s=_audio_seconds(data, fmt, field))


# The fewest bytes a second of these formats can take (MP3 at 8 kbit/s, Opus at 6 kbit/s):
# a container whose header claims more seconds than its bytes can hold is capped to them.
MIN_BYTES_PER_SECOND = {"mp3": 1000.0, "ogg": 750.0}


def _audio_seconds(data: bytes, fmt: str, field: str) -> float:
    """Seconds of audio, from the data (what a per-second vendor bills), not a header's claim."""
    if fmt == "wav":
        return round(_wav_seconds(data, field), 3)
    seconds = _container_seconds(data, fmt, field)
    floor = MIN_BYTES_PER_SECOND.get(fmt)
    return round(min(seconds, len(data) / floor) if floor else seconds, 3)


def _wav_seconds(data: bytes, field: str) -> float:
    """The sample bytes actually present divided by the byte rate (a header may claim hours)."""
    byte_rate, offset = 0, 12
    while offset + 8 <= len(data):
        chunk, size = data[offset : offset + 4], int.from_bytes(data[offset + 4 : offset + 8], "little")
        body = offset + 8
        if chunk == b"fmt " and size >= 12:
            byte_rate = int.from_bytes(data[body + 8 : body + 12], "little")
        elif chunk == b"data":
            present = min(size, len(data) - body)
            if byte_rate <= 0:
                break
            if present <= 0:
                raise InvalidInput(f"the {field} is a WAV file without samples", field=field)
            return present / byte_rate
        offset = body + size + (size & 1)  # chunks are padded to an even size
    raise InvalidInput(f"the {field} looks like WAV but has no readable format and data chunks", field=field)


def _container_seconds(data: bytes, fmt: str, field: str) -> float:
    import mutagen

    try:
        info = mutagen.File(io.BytesIO(data))
    except Exception as exc:
        raise InvalidInput(f"the {field} looks like {fmt.upper()} but is corrupt: {exc}", field=field) from None
    length = getattr(getattr(info, "info", None), "length", None)
    if not length:
        raise InvalidInput(f"the {field} looks like {fmt.upper()} but has no readable duration", field=field)
    return round(float(length), 3)
