"""A transcript in OpenAI's response formats: ``json``, ``text``, ``srt``, ``vtt`` and
``verbose_json`` (segments, and words when ``timestamp_granularities[]`` asks for them).

The task table's transcript has words with times when the provider gives them, and no
segments: segments are cut from the words (at a sentence end, a pause over a second, or
twelve words). Without words there is one segment over the whole audio.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omnisense.schema import TranscribeResult, Word

FORMATS = ("json", "text", "srt", "vtt", "verbose_json")
_PAUSE_S = 1.0
_MAX_WORDS = 12


@dataclass(frozen=True, slots=True)
class Segment:
    start: float
    end: float
    text: str


def segments(result: TranscribeResult, duration_s: float | None) -> list[Segment]:
    if not result.words:
        text = result.text.strip()
        return [Segment(0.0, duration_s or 0.0, text)] if text else []
    out: list[Segment] = []
    group: list[Word] = []
    for word in result.words:
        if group and (word.start - group[-1].end > _PAUSE_S or len(group) >= _MAX_WORDS):
            out.append(_segment(group))
            group = []
        group.append(word)
        if word.text.rstrip().endswith((".", "?", "!")):
            out.append(_segment(group))
            group = []
    if group:
        out.append(_segment(group))
    return out


def _segment(words: list[Word]) -> Segment:
    return Segment(words[0].start, words[-1].end, " ".join(w.text.strip() for w in words))


def _clock(seconds: float, sep: str) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def srt(parts: list[Segment]) -> str:
    blocks = [f"{i}\n{_clock(p.start, ',')} --> {_clock(p.end, ',')}\n{p.text}\n" for i, p in enumerate(parts, 1)]
    return "\n".join(blocks)


def vtt(parts: list[Segment]) -> str:
    blocks = [f"{_clock(p.start, '.')} --> {_clock(p.end, '.')}\n{p.text}\n" for p in parts]
    return "WEBVTT\n\n" + "\n".join(blocks)


def verbose(
    result: TranscribeResult, duration_s: float | None, granularities: frozenset[str], task: str = "transcribe"
) -> dict[str, Any]:
    """OpenAI's ``verbose_json``: segments unless only words were asked for, words when asked for."""
    body: dict[str, Any] = {
        "task": task,
        "language": result.language or "",
        "duration": duration_s or 0.0,
        "text": result.text,
    }
    if "segment" in granularities or not granularities:
        body["segments"] = [_verbose_segment(i, s) for i, s in enumerate(segments(result, duration_s))]
    if "word" in granularities:
        body["words"] = [{"word": w.text.strip(), "start": w.start, "end": w.end} for w in result.words]
    return body


def _verbose_segment(i: int, s: Segment) -> dict[str, Any]:
    return {
        "id": i,
        "seek": 0,
        "start": s.start,
        "end": s.end,
        "text": s.text,
        "tokens": [],
        "temperature": 0.0,
        "avg_logprob": 0.0,
        "compression_ratio": 0.0,
        "no_speech_prob": 0.0,
    }
