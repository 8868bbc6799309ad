"""``redact_output: [pii]``: OCR text and transcripts redacted on the way back to the caller.

Every text of the answer (the whole text, each OCR line, each transcript segment) goes to the
redactor in one call; each found span becomes the request's typed placeholder. A transcript's
words are found in order inside its text: a word that overlaps a span becomes that span's
placeholder; a word not found there is redacted on its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from gateway.redaction.text import Masked
from omnisense.schema import OcrResult, Task, TaskResult, TranscribeResult

if TYPE_CHECKING:
    from gateway.redaction.session import RedactionSession

REDACTABLE_OUTPUTS = frozenset({Task.VISION_OCR, Task.SPEECH_TRANSCRIBE})
Redacted = tuple[TaskResult, dict[str, int], str]


async def redact(session: RedactionSession, result: TaskResult) -> Redacted:
    if isinstance(result, OcrResult):
        return await _ocr(session, result)
    if isinstance(result, TranscribeResult):
        return await _transcript(session, result)
    return result, {}, ""


async def _ocr(session: RedactionSession, result: OcrResult) -> Redacted:
    texts = [result.text, *(line.text for line in result.lines)]
    found = await session.find(texts)
    masked = [Masked.of(t, s, session.numbering) for t, s in zip(texts, found.spans, strict=True)]
    lines = [msgspec.structs.replace(line, text=m.text) for line, m in zip(result.lines, masked[1:], strict=True)]
    out = msgspec.structs.replace(result, text=masked[0].text, lines=lines)
    return out, masked[0].counts(), found.version


async def _transcript(session: RedactionSession, result: TranscribeResult) -> Redacted:
    located = _locate([w.text for w in result.words], result.text)
    alone = [i for i, where in enumerate(located) if where is None]
    segments = result.segments or []
    texts = [result.text, *(s.text for s in segments), *(result.words[i].text for i in alone)]
    found = await session.find(texts)
    whole = Masked.of(result.text, found.spans[0], session.numbering)
    segs = [
        msgspec.structs.replace(s, text=Masked.of(s.text, spans, session.numbering).text)
        for s, spans in zip(segments, found.spans[1 : 1 + len(segments)], strict=True)
    ]
    own = dict(zip(alone, found.spans[1 + len(segments) :], strict=True))
    words = []
    for i, word in enumerate(result.words):
        where = located[i]
        if where is None:
            text = Masked.of(word.text, own[i], session.numbering).text
        else:
            text = _word_text(word.text, where, whole)
        words.append(word if text == word.text else msgspec.structs.replace(word, text=text))
    out = msgspec.structs.replace(result, text=whole.text, words=words, segments=segs if result.segments else None)
    return out, whole.counts(), found.version


def _locate(words: list[str], text: str) -> list[tuple[int, int] | None]:
    """Each word's (begin, end) in ``text``, searched in order; None where it is not there."""
    out: list[tuple[int, int] | None] = []
    pos = 0
    for word in words:
        at = text.find(word.strip(), pos) if word.strip() else -1
        if at < 0:
            out.append(None)
            continue
        out.append((at, at + len(word.strip())))
        pos = at + len(word.strip())
    return out


def _word_text(word: str, where: tuple[int, int], whole: Masked) -> str:
    for piece in whole.pieces:
        if piece.begin < where[1] and where[0] < piece.end:
            return whole.text[piece.masked_begin : piece.masked_end]
    return word
