"""Long audio through short-audio endpoints: split a WAV into chunks, transcribe each, merge.

Used where a provider's transcription call takes a bounded length (Azure's and Google's
short-audio REST endpoints: 60 s) or answers only when the whole body is done (the local
model server: a long recording would hold one call and its timeout for minutes). PCM WAV
longer than ``chunk_s`` is cut on frame boundaries (stdlib ``wave``, no decoding), the
chunks are sent one after another, each within the request's deadline, and each chunk's
word times are shifted by its offset. Other containers are not split here: the adapter
sends them whole or refuses them as before. A word cut at a chunk boundary may be lost
or split in two; async jobs (``POST /v1/jobs``) are where such audio is sent.
"""

from __future__ import annotations

import io
import wave
from collections.abc import Awaitable, Callable

import msgspec

from adapters.kit.convert import mean
from omnisense.schema import TranscribeRequest, TranscribeResult, Word


def split_wav(data: bytes, chunk_s: float) -> list[tuple[float, bytes]] | None:
    """``[(offset_s, wav_bytes), ...]``, or None when ``data`` is not PCM WAV or needs no split."""
    try:
        rate, channels, width, pcm = _pcm(data)
    except (wave.Error, EOFError):
        return None
    frame = channels * width
    frames, per_chunk = len(pcm) // frame, max(1, int(chunk_s * rate))
    if frames <= per_chunk:
        return None
    chunks = []
    for start in range(0, frames, per_chunk):
        out = io.BytesIO()
        with wave.open(out, "wb") as part:
            part.setnchannels(channels)
            part.setsampwidth(width)
            part.setframerate(rate)
            part.writeframes(pcm[start * frame : (start + per_chunk) * frame])
        chunks.append((start / rate, out.getvalue()))
    return chunks


def _pcm(data: bytes) -> tuple[int, int, int, bytes]:
    """(rate, channels, sample width, frames) of a PCM WAV. The frames are read to the end of the
    data: a streamed WAV's header gives its sizes as 0xFFFFFFFF (``adapters.kit.audio_stream``)."""
    with wave.open(io.BytesIO(data)) as w:
        return w.getframerate(), w.getnchannels(), w.getsampwidth(), w.readframes(w.getnframes())


def _seconds(data: bytes) -> float:
    rate, channels, width, pcm = _pcm(data)
    return len(pcm) / (channels * width) / float(rate)


def merge(parts: list[tuple[float, TranscribeResult]]) -> TranscribeResult:
    """One result from the chunks' results: texts joined, word times shifted, confidence the mean
    of the words' given ones (else of the chunks'; None when none gives one)."""
    words = [
        Word(w.text, round(w.start + offset, 3), round(w.end + offset, 3), w.confidence)
        for offset, result in parts
        for w in result.words
    ]
    texts = [r.text.strip() for _, r in parts if r.text.strip()]
    confidence = mean(w.confidence for w in words)
    if confidence is None:
        confidence = mean(r.confidence for _, r in parts)
    language = next((r.language for _, r in parts if r.language), None)
    return TranscribeResult(text=" ".join(texts), confidence=confidence, words=words, language=language)


async def transcribe_in_chunks(
    request: TranscribeRequest, chunk_s: float, one: Callable[[TranscribeRequest], Awaitable[TranscribeResult]]
) -> TranscribeResult | None:
    """Transcribe ``request`` chunk by chunk with ``one``; None when it needs no split (or is not WAV)."""
    if request.audio.format != "wav" or request.audio.uri:
        return None
    chunks = split_wav(request.audio.data, chunk_s)
    if not chunks:
        return None
    parts = []
    for offset, data in chunks:
        audio = msgspec.structs.replace(
            request.audio, data=data, duration_s=min(chunk_s, request.audio.duration_s or chunk_s)
        )
        parts.append((offset, await one(msgspec.structs.replace(request, audio=audio))))
    return merge(parts)
