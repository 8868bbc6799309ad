"""Synthesized WAV in the formats OpenAI's ``/v1/audio/speech`` offers.

The provider is asked for WAV (what every speech provider here gives); ``wav`` passes
through, ``pcm`` is its 16-bit little-endian samples (the sample rate in
``X-Omnisense-Sample-Rate``), ``mp3``, ``flac`` and ``opus`` (in Ogg) are encoded with
soundfile (libsndfile, the ``dialects`` extra). ``aac`` has no encoder here: a 400 that
names it. Opus takes 8, 12, 16, 24 or 48 kHz: other rates are resampled to 48 kHz first.
"""

from __future__ import annotations

import io
from typing import Any

from omnisense.schema import InvalidInput, UpstreamBadResponse

FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")
MEDIA_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
_ENCODED = {"mp3": ("MP3", "MPEG_LAYER_III"), "flac": ("FLAC", "PCM_16"), "opus": ("OGG", "OPUS")}
_OPUS_RATES = (8000, 12000, 16000, 24000, 48000)


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InvalidInput(f"response_format must be one of {', '.join(FORMATS)}, got {fmt!r}", field="response_format")
    if fmt == "aac":
        raise InvalidInput(
            "response_format 'aac' cannot be produced: this gateway has no AAC encoder; ask for mp3, opus, flac,"
            " wav or pcm",
            field="response_format",
        )
    return fmt


def convert(wav: bytes, fmt: str) -> tuple[bytes, int | None]:
    """``wav`` as ``fmt``, and the sample rate of the result."""
    if fmt == "wav":
        return wav, None
    sf, np = _codec(fmt)
    try:
        samples, rate = sf.read(io.BytesIO(wav), dtype="int16")
    except Exception as exc:  # soundfile's LibsndfileError (a RuntimeError), or a header it cannot parse
        raise UpstreamBadResponse(f"the provider's audio could not be read to encode it as {fmt}: {exc}") from None
    if fmt == "pcm":
        return samples.astype("<i2").tobytes(), int(rate)
    container, subtype = _ENCODED[fmt]
    if fmt == "opus" and rate not in _OPUS_RATES:
        samples, rate = _resample(np, samples, int(rate), 48000), 48000
    out = io.BytesIO()
    sf.write(out, samples, rate, format=container, subtype=subtype)
    return out.getvalue(), int(rate)


def _codec(fmt: str) -> tuple[Any, Any]:
    try:
        import numpy as np
        import soundfile as sf  # type: ignore[import-untyped]
    except ImportError:  # the dialects extra is not installed
        raise InvalidInput(
            f"response_format {fmt!r} needs soundfile on the gateway (pip install 'omnisense[dialects]'); wav works",
            field="response_format",
        ) from None
    return sf, np


def _resample(np: Any, samples: Any, rate: int, to: int) -> Any:
    """Linear interpolation: enough for speech into Opus (which band-limits it again)."""
    n = len(samples)
    positions = np.arange(round(n * to / rate)) * (rate / to)
    if samples.ndim == 1:
        return np.interp(positions, np.arange(n), samples).astype("int16")
    return np.stack([np.interp(positions, np.arange(n), c) for c in samples.T], axis=1).astype("int16")
