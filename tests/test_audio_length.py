"""Billed audio seconds come from the stream's frames (issue #28): a header that lies about the
length is refused (WAV) or ignored (compressed formats), for WAV, MP3, OGG/Opus, FLAC, WebM, M4A."""

from __future__ import annotations

import io
import struct
from typing import Any

import av
import mutagen
import numpy as np
import pytest
from litestar.testing import TestClient

from gateway.server.audio_length import audio_seconds
from gateway.server.sniff import sniff_audio
from omnisense.schema import InvalidInput, UnprocessableInput

Client = TestClient  # type: ignore[type-arg]
CASES = [  # (container, codec, the format the gateway sniffs)
    ("wav", "pcm_s16le", "wav"),
    ("mp3", "libmp3lame", "mp3"),
    ("ogg", "libopus", "ogg"),
    ("flac", "flac", "flac"),
    ("webm", "libopus", "webm"),
    ("ipod", "aac", "m4a"),
]


def encode(container: str, codec: str, seconds: float, rate: int = 48000) -> bytes:
    """``seconds`` of a 440 Hz tone, encoded by FFmpeg (PyAV)."""
    n = int(seconds * rate)
    tone = (np.sin(np.arange(n) / rate * 2 * np.pi * 440) * 0.3).astype(np.float32)
    planar = codec not in ("pcm_s16le", "flac")
    samples = tone[None, :] if planar else (tone * 32767).astype(np.int16)[None, :]
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        stream: Any = out.add_stream(codec, rate=rate, layout="mono")
        for i in range(0, n, 960):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(samples[:, i : i + 960]), format="fltp" if planar else "s16", layout="mono"
            )
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


@pytest.mark.parametrize(("container", "codec", "fmt"), CASES, ids=[c[2] for c in CASES])
def test_every_format_is_measured_from_its_frames(container: str, codec: str, fmt: str) -> None:
    data = encode(container, codec, 3.0)
    assert sniff_audio(data) == fmt
    assert audio_seconds(data, fmt) == pytest.approx(3.0, abs=0.05)
    # cut in half: the frames that are there count (to the last whole page or block), whatever
    # the header said; an MP4 whose sample table is gone is refused
    try:
        half = audio_seconds(data[: len(data) // 2], fmt)
    except InvalidInput:
        assert fmt == "m4a"
    else:
        assert 0.9 <= half <= 1.8


def test_a_wav_whose_byte_rate_lies_is_422_naming_the_field(client: Client) -> None:
    wav = encode("wav", "pcm_s16le", 2.0, rate=16000)
    i = wav.index(b"fmt ") + 8
    lying = wav[: i + 8] + struct.pack("<I", 16000 * 2 * 100) + wav[i + 12 :]  # a byte rate 100x too high
    with pytest.raises(UnprocessableInput, match="byte rate 3200000"):
        audio_seconds(lying, "wav")
    r = client.post("/v1/speech/transcribe", content=lying, headers={"Content-Type": "audio/wav"})
    assert r.status_code == 422 and r.json()["field"] == "audio" and "byte rate" in r.json()["detail"], r.text
    assert not client.app.state.runtime.providers["primary"].calls  # nothing was sent, nothing billed
    r = client.post("/v1/speech/transcribe", content=wav, headers={"Content-Type": "audio/wav"})
    assert r.json()["usage"]["units"] == pytest.approx(2.0)


def test_an_mp3_whose_header_lies_is_billed_for_its_real_length(client: Client) -> None:
    mp3 = encode("mp3", "libmp3lame", 6.0, rate=16000)
    tag = mp3.index(b"Info") if b"Info" in mp3 else mp3.index(b"Xing")
    flags = int.from_bytes(mp3[tag + 4 : tag + 8], "big")
    assert flags & 1, "the encoder wrote a frame count"
    frames = int.from_bytes(mp3[tag + 8 : tag + 12], "big")
    lying = mp3[: tag + 8] + (frames // 100).to_bytes(4, "big") + mp3[tag + 12 :]
    claimed = mutagen.File(io.BytesIO(lying)).info.length
    assert claimed < 0.2  # a reader that trusts the header sees a hundredth of the audio
    r = client.post("/v1/speech/transcribe", content=lying, headers={"Content-Type": "audio/mpeg"})
    assert r.status_code == 200, r.text
    assert r.json()["usage"]["units"] == pytest.approx(6.0, abs=0.1)  # billed for all of it


def test_bytes_without_audio_frames_are_refused() -> None:
    wav = encode("wav", "pcm_s16le", 1.0)
    with pytest.raises(InvalidInput, match=r"no audio frames|corrupt"):
        audio_seconds(wav[:44], "wav")  # the header, no samples
    with pytest.raises(InvalidInput):
        audio_seconds(b"OggS" + b"\x00" * 200, "ogg")
