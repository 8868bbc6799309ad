"""Streamed audio (``adapters.base.StreamingSynthesizer``): the WAV header of a stream.

A streamed WAV's length is not known when its header goes out, so its RIFF and data
chunk sizes are ``0xFFFFFFFF``: the convention ffmpeg writes to a pipe, which ffmpeg,
libsndfile, browsers and Python's ``wave`` read as "up to the end of the data". An adapter
sends the header together with its first audio, never alone: the first chunk of a stream
is what tells the gateway that the provider has served (fallback is possible until then).
"""

from __future__ import annotations

import struct

UNKNOWN_SIZE = 0xFFFFFFFF
WAV_HEADER_BYTES = 44


def wav_stream_header(sample_rate: int, channels: int = 1, sample_width: int = 2) -> bytes:
    """A 44-byte PCM WAV header for a stream of unknown length."""
    block = channels * sample_width
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", UNKNOWN_SIZE, b"WAVE", b"fmt ", 16, 1, channels, sample_rate, sample_rate * block, block,
        sample_width * 8, b"data", UNKNOWN_SIZE,
    )  # fmt: skip
