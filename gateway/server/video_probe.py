"""What an uploaded video really is: its format from magic bytes, its length, size and codec from its frames.

The decoded length is the billed length (per-second prices, the duration limits), so it
comes from the video stream's packets, never from a header alone. PyAV (FFmpeg's demuxers,
the ``av`` package) reads every packet of the first video stream: the span from the first
packet's presentation time to the last one's end is the length. Then:

- An MP4/MOV whose sample table indexes more frames than the bytes hold was cut off in
  transfer: a 400 saying how many frames are missing.
- A container whose own duration (MP4/MOV ``mvhd``, read here because FFmpeg recomputes it
  from the sample table; Matroska/WebM ``Duration``) disagrees with its frames by more than
  half a second and 5 % is a 422: the header lies, or the file was truncated after it.
- The first frame is decoded, so a codec FFmpeg cannot decode is a 415 before any provider
  is paid for it.

Formats: MP4 (``ftyp`` brands other than QuickTime's), MOV (``ftyp qt``, or a QuickTime
file that starts with ``moov``/``wide``/``mdat``), WebM and MKV (EBML, told apart by the
DocType). An image sent as a video is a 415 that names the image format.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from gateway.server.sniff import sniff_audio, sniff_image, what_is
from omnisense.schema import InvalidInput, Media, PayloadTooLarge, UnprocessableInput, UnsupportedMediaType

# The sniffed format's FFmpeg demuxer (explicit: probing by content may pick another one).
DEMUXERS = {"mp4": "mp4", "mov": "mov", "webm": "matroska", "mkv": "matroska"}
QUICKTIME_ATOMS = (b"moov", b"wide", b"mdat", b"free", b"skip", b"pnot")
LIE_SECONDS, LIE_SHARE = 0.5, 0.05  # a header may differ from the frames by this much (the larger of the two)
ACCEPTED = "video (MP4, MOV, WebM, MKV)"


@dataclass(frozen=True, slots=True)
class VideoFacts:
    duration_s: float
    width: int
    height: int
    codec: str
    frames: int


def sniff_video(data: bytes) -> str | None:
    if data[4:8] == b"ftyp":
        return "mov" if data[8:12] == b"qt  " else "mp4"
    if data[4:8] in QUICKTIME_ATOMS:
        return "mov"
    if data[:4] == b"\x1a\x45\xdf\xa3":  # EBML: the DocType element says which
        header = data[:64]
        return "webm" if b"webm" in header else "mkv" if b"matroska" in header else None
    return None


def video_media(data: bytes, *, max_bytes: int, field: str = "video") -> Media:
    """The upload as ``Media`` with its decoded length, size and codec; a precise 4xx when it is not one."""
    if not data:
        raise InvalidInput(f"the {field} is empty", field=field)
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"the {field} is {len(data)} bytes; the limit is {max_bytes}", field=field)
    fmt = sniff_video(data)
    if fmt is None:
        raise UnsupportedMediaType(f"the {field} is {_not_video(data)}, not a supported {ACCEPTED}", field=field)
    facts = video_facts(data, fmt, field)
    return Media(
        data=data,
        format=fmt,
        width=facts.width,
        height=facts.height,
        duration_s=facts.duration_s,
        codec=facts.codec,
    )


def _not_video(data: bytes) -> str:
    image = sniff_image(data)
    if image is not None:
        return f"a {image.upper()} image (send images to the /v1/vision endpoints)"
    audio = sniff_audio(data)
    if audio is not None:
        return f"{audio.upper()} audio"
    return what_is(data)


def video_facts(data: bytes, fmt: str, field: str = "video") -> VideoFacts:
    """Length (from the packets), size and codec of the first video stream of ``data``."""
    import av

    name = fmt.upper()
    try:
        with av.open(io.BytesIO(data), mode="r", format=DEMUXERS[fmt]) as container:
            if not container.streams.video:
                raise UnsupportedMediaType(f"the {field} ({name}) holds no video stream", field=field)
            stream = container.streams.video[0]
            first, end, packets = _packet_span(container, stream)
            base = stream.time_base
            indexed = int(stream.frames or 0)
            claimed = None if container.duration is None else container.duration / 1_000_000
            codec = stream.codec_context.name
            width, height = stream.codec_context.width, stream.codec_context.height
            if indexed and packets < indexed:
                raise InvalidInput(
                    f"the {field} is truncated: its {name} index lists {indexed} frames but the bytes hold {packets}",
                    field=field,
                )
            if packets:
                _decode_first(container, stream, field, name, codec)
    except (UnsupportedMediaType, InvalidInput):
        raise
    except av.FFmpegError as exc:
        raise InvalidInput(
            f"the {field} looks like {name} but cannot be read (truncated or corrupt): {exc}",
            field=field,
        ) from None
    if not packets or base is None or first is None:
        raise InvalidInput(f"the {field} ({name}) holds no video frames", field=field)
    seconds = round(float((end - first) * base), 3)
    if fmt in ("mp4", "mov"):
        claimed = mvhd_seconds(data)
    _check_claim(claimed, seconds, field)
    return VideoFacts(duration_s=seconds, width=width, height=height, codec=codec, frames=packets)


def _packet_span(container: object, stream: object) -> tuple[int | None, int, int]:
    """(first presentation time, last end time, packets) of the stream's packets, in its time base."""
    first: int | None = None
    end = 0
    count = 0
    for packet in container.demux(stream):  # type: ignore[attr-defined]
        if packet.pts is None or not packet.size:
            continue  # the demuxer's flush packet
        first = packet.pts if first is None else min(first, packet.pts)
        end = max(end, packet.pts + (packet.duration or 0))
        count += 1
    return first, end, count


def _decode_first(container: object, stream: object, field: str, name: str, codec: str) -> None:
    import av

    try:
        container.seek(0, stream=stream)  # type: ignore[attr-defined]
        for _ in container.decode(stream):  # type: ignore[attr-defined]
            return
    except av.FFmpegError as exc:
        raise InvalidInput(
            f"the {field}'s {codec} video cannot be decoded (truncated or corrupt {name}): {exc}", field=field
        ) from None
    raise UnsupportedMediaType(f"the {field}'s {codec} video stream yields no frame", field=field)


def _check_claim(claimed: float | None, seconds: float, field: str) -> None:
    if claimed is None or claimed <= 0:
        return
    if abs(claimed - seconds) > max(LIE_SECONDS, LIE_SHARE * seconds):
        raise UnprocessableInput(
            f"the {field}'s container says it lasts {claimed:.2f} s but its frames last {seconds:.2f} s"
            " (a header that lies, or a file cut short): re-encode or re-upload it",
            field=field,
        )


def mvhd_seconds(data: bytes) -> float | None:
    """The MP4/MOV movie header's own duration (``moov/mvhd``), or None when there is none."""
    moov = _box(data, 0, len(data), b"moov")
    if moov is None:
        return None
    mvhd = _box(data, moov[0], moov[1], b"mvhd")
    if mvhd is None:
        return None
    start = mvhd[0]
    version = data[start] if start < len(data) else 0
    layout, at = (">IQ", start + 20) if version == 1 else (">II", start + 12)
    if at + struct.calcsize(layout) > len(data):
        return None
    timescale, duration = struct.unpack_from(layout, data, at)
    if not timescale or duration in (0, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF):
        return None
    return float(duration / timescale)


def _box(data: bytes, start: int, stop: int, kind: bytes) -> tuple[int, int] | None:
    """The payload (start, stop) of the first ``kind`` box between ``start`` and ``stop``."""
    at = start
    while at + 8 <= stop:
        size, name = struct.unpack_from(">I4s", data, at)
        header = 8
        if size == 1 and at + 16 <= stop:
            size, header = struct.unpack_from(">Q", data, at + 8)[0], 16
        elif size == 0:
            size = stop - at
        if size < header:
            return None
        if name == kind:
            return at + header, min(at + size, stop)
        at += size
    return None
