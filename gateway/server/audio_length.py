"""How long uploaded audio really is: from its frames, never from a header's claim alone.

Per-second vendors bill what they decode, and the gateway's duration limits and prices
must see the same length. PyAV (FFmpeg's demuxers, the ``av`` package) reads every audio
packet of the stream (no decoding: a packet's duration comes from its frame header, an Ogg
page's granule position, a Matroska block or an MP4 sample table entry that points at data
that is there) and the packets' durations are added up. A header that claims more, or less,
than the frames hold is ignored; a WAV ``fmt`` chunk whose byte rate disagrees with its sample
rate x block align (channels x sample width), which players resolve differently, is a 422
naming the field. WAV, MP3, OGG (Opus, Vorbis, FLAC), FLAC, WebM and M4A.
"""

from __future__ import annotations

import io
import struct

from omnisense.schema import InvalidInput, UnprocessableInput

# The sniffed format's FFmpeg demuxer (explicit: probing by content may pick another one).
DEMUXERS = {"wav": "wav", "mp3": "mp3", "ogg": "ogg", "flac": "flac", "webm": "matroska", "m4a": "mp4"}
_PCM_FORMATS = {1, 3, 0xFFFE}  # PCM, IEEE float, WAVE_FORMAT_EXTENSIBLE


def audio_seconds(data: bytes, fmt: str, field: str = "audio") -> float:
    """Seconds of audio in ``data`` (sniffed as ``fmt``), counted from its frames."""
    if fmt == "wav":
        check_wav_header(data, field)
    return round(frames_seconds(data, fmt, field), 3)


def check_wav_header(data: bytes, field: str) -> None:
    """The ``fmt`` chunk of a PCM WAV must agree with itself: byte rate = sample rate x block align,
    block align = channels x bytes per sample."""
    offset = 12
    while offset + 8 <= len(data):
        chunk, size = data[offset : offset + 4], int.from_bytes(data[offset + 4 : offset + 8], "little")
        body = offset + 8
        if chunk == b"fmt " and size >= 16 and body + 16 <= len(data):
            tag, channels, rate, byte_rate, align, bits = struct.unpack_from("<HHIIHH", data, body)
            if tag not in _PCM_FORMATS:
                return  # a compressed WAV (ADPCM, ...): its frames alone say how long it is
            width = (bits + 7) // 8
            if align != channels * width or byte_rate != rate * align:
                raise UnprocessableInput(
                    f"the {field}'s WAV header disagrees with itself: byte rate {byte_rate} != sample rate {rate}"
                    f" x {channels} channel(s) x {width} byte(s) per sample (block align {align})",
                    field=field,
                )
            return
        offset = body + size + (size & 1)  # chunks are padded to an even size
    raise InvalidInput(f"the {field} looks like WAV but has no readable format chunk", field=field)


def frames_seconds(data: bytes, fmt: str, field: str) -> float:
    import av

    try:
        with av.open(io.BytesIO(data), mode="r", format=DEMUXERS.get(fmt)) as container:
            if not container.streams.audio:
                raise InvalidInput(f"the {field} ({fmt.upper()}) holds no audio stream", field=field)
            stream = container.streams.audio[0]
            ticks = sum(packet.duration or 0 for packet in container.demux(stream))
            base = stream.time_base
    except av.FFmpegError as exc:
        raise InvalidInput(f"the {field} looks like {fmt.upper()} but is corrupt: {exc}", field=field) from None
    if not ticks or base is None:
        raise InvalidInput(f"the {field} looks like {fmt.upper()} but holds no audio frames", field=field)
    return float(ticks * base)
