"""Long audio for the local model server: split a WAV into chunks, transcribe each, merge.

The model server (faster-whisper) takes one body per call and answers when the whole of it
is transcribed, so a long recording would hold one call (and its timeout) for minutes. The
adapter instead cuts PCM WAV audio longer than ``transcribe_chunk_s`` into chunks of that
length on frame boundaries (stdlib ``wave``, no decoding), sends them one after another,
each within the request's deadline, and shifts each chunk's word times by its offset.
Other containers (mp3, ogg, ...) go whole: the model server decodes and windows them itself.
"""

from __future__ import annotations

import io
import wave

from gateway.schema import TranscribeResult, Word


def split_wav(data: bytes, chunk_s: float) -> list[tuple[float, bytes]] | None:
    """``[(offset_s, wav_bytes), ...]``, or None when ``data`` is not PCM WAV or needs no split."""
    try:
        with wave.open(io.BytesIO(data)) as w:
            rate, channels, width, frames = w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()
            per_chunk = max(1, int(chunk_s * rate))
            if frames <= per_chunk:
                return None
            chunks = []
            for start in range(0, frames, per_chunk):
                pcm = w.readframes(per_chunk)
                out = io.BytesIO()
                with wave.open(out, "wb") as part:
                    part.setnchannels(channels)
                    part.setsampwidth(width)
                    part.setframerate(rate)
                    part.writeframes(pcm)
                chunks.append((start / rate, out.getvalue()))
            return chunks
    except (wave.Error, EOFError):
        return None


def merge(parts: list[tuple[float, TranscribeResult]]) -> TranscribeResult:
    """One result from the chunks' results: texts joined, word times shifted, confidence over all words."""
    words = [
        Word(w.text, round(w.start + offset, 3), round(w.end + offset, 3), w.confidence)
        for offset, result in parts
        for w in result.words
    ]
    texts = [r.text.strip() for _, r in parts if r.text.strip()]
    if words:
        confidence = sum(w.confidence for w in words) / len(words)
    else:
        confidence = sum(r.confidence for _, r in parts) / len(parts) if parts else 0.0
    language = next((r.language for _, r in parts if r.language), None)
    return TranscribeResult(text=" ".join(texts), confidence=confidence, words=words, language=language)
