"""The audio a client sends: raw 16-bit little-endian mono PCM, or a WAV stream whose header
comes in the first binary frame(s). Either way providers get PCM at a known rate; a header that
is not 16-bit mono PCM is 1003 (unsupported data), and so is a frame that is not audio."""

from __future__ import annotations

import struct

from gateway.streaming.errors import SessionClosed

_MAX_HEADER = 4096  # a WAV header longer than this (huge LIST chunks) is not a live stream's
_PCM = 1
_EXTENSIBLE = 0xFFFE


class AudioDecoder:
    """Turns the client's binary frames into whole 16-bit samples (an odd byte waits for the next frame)."""

    def __init__(self, encoding: str, sample_rate: int) -> None:
        self.encoding = encoding
        self.sample_rate = sample_rate
        self._header = bytearray() if encoding == "wav" else None
        self._odd = b""
        self.bytes_in = 0

    @property
    def header_done(self) -> bool:
        """The sample rate is known (always, for raw PCM)."""
        return self._header is None

    def seconds(self, pcm: bytes) -> float:
        return len(pcm) / (2.0 * self.sample_rate)

    def feed(self, frame: bytes) -> bytes:
        """The PCM in ``frame`` (possibly empty while a WAV header is still arriving)."""
        self.bytes_in += len(frame)
        if self._header is not None:
            self._header += frame
            parsed = parse_wav_header(bytes(self._header))
            if parsed is None:
                if len(self._header) > _MAX_HEADER:
                    raise SessionClosed(1003, "no WAV data chunk within the first 4096 bytes")
                return b""
            self.sample_rate, offset = parsed
            frame, self._header = bytes(self._header[offset:]), None
        data = self._odd + frame
        whole = len(data) - len(data) % 2
        self._odd = data[whole:]
        return data[:whole]


def parse_wav_header(data: bytes) -> tuple[int, int] | None:
    """(sample rate, offset of the samples) of a RIFF/WAVE header, None while incomplete;
    raises SessionClosed(1003) when it is not a WAV of 16-bit mono PCM."""
    if len(data) < 12:
        if not (b"RIFF".startswith(data[:4]) and (len(data) < 8 or b"WAVE".startswith(data[8:12]))):
            raise SessionClosed(1003, "encoding is wav but the audio does not start with a RIFF/WAVE header")
        return None
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise SessionClosed(1003, "encoding is wav but the audio does not start with a RIFF/WAVE header")
    pos, rate = 12, None
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        if chunk == b"data":
            if rate is None:
                raise SessionClosed(1003, "WAV data chunk before its fmt chunk")
            return rate, pos + 8
        if chunk == b"fmt ":
            if pos + 8 + 16 > len(data):
                return None
            rate = _check_fmt(data[pos + 8 : pos + 8 + size])
        pos += 8 + size + (size & 1)
    return None


def _check_fmt(fmt: bytes) -> int:
    tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", fmt)
    if tag not in (_PCM, _EXTENSIBLE) or bits != 16 or channels != 1:
        raise SessionClosed(1003, f"WAV must be 16-bit mono PCM (this is format {tag}, {channels} ch, {bits} bit)")
    if not 8000 <= rate <= 48000:
        raise SessionClosed(1003, f"WAV sample rate {rate} Hz is outside 8000-48000")
    return int(rate)
