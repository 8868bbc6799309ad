"""Typed placeholders in text, and the way back: pure functions, no I/O.

``Masked.of(text, spans)`` replaces each span by ``<TYPE_n>`` (the same value gets the same
placeholder within a request; ``n`` counts per type in order of first appearance). What a
provider answers about the masked text is then put right for the caller:

- spans (entities, key phrases): offsets into the masked text become offsets into the
  original (a span that starts or ends inside a placeholder is widened to the whole value),
  and their ``text`` is cut from the original;
- free text (a translation): every placeholder the provider kept is replaced by its value,
  also when the provider escaped it (``&lt;EMAIL_1&gt;``) or added spaces (``< EMAIL_1 >``).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from adapters.base import PiiSpan

PLACEHOLDER = re.compile(r"(?:<|&lt;)\s*([A-Z]+(?:_[A-Z]+)*)_(\d+)\s*(?:>|&gt;)")


@dataclass
class Numbering:
    """Placeholders shared by every text of one request: one value, one placeholder."""

    by_value: dict[tuple[str, str], str] = field(default_factory=dict)
    per_type: dict[str, int] = field(default_factory=dict)

    def placeholder(self, kind: str, value: str) -> str:
        found = self.by_value.get((kind, value))
        if found is None:
            n = self.per_type.get(kind, 0) + 1
            self.per_type[kind] = n
            found = self.by_value[(kind, value)] = f"<{kind}_{n}>"
        return found

    def values(self) -> dict[str, str]:
        """placeholder -> the value it hides."""
        return {p: value for (_, value), p in self.by_value.items()}


@dataclass(frozen=True)
class Piece:
    """One replaced span: where it is in the original and in the masked text."""

    begin: int  # in the original
    end: int
    masked_begin: int
    masked_end: int
    type: str


@dataclass(frozen=True)
class Masked:
    original: str
    text: str  # what the provider sees
    pieces: tuple[Piece, ...]

    @classmethod
    def of(cls, text: str, spans: Sequence[PiiSpan], numbering: Numbering) -> Masked:
        out: list[str] = []
        pieces: list[Piece] = []
        pos = masked = 0
        for span in sorted(spans, key=lambda s: s.begin):
            if span.begin < pos or span.end <= span.begin or span.end > len(text):
                continue  # overlapping or out of range: the redactor answers neither, but never trust it
            out.append(text[pos : span.begin])
            masked += span.begin - pos
            token = numbering.placeholder(span.type, text[span.begin : span.end])
            pieces.append(Piece(span.begin, span.end, masked, masked + len(token), span.type))
            out.append(token)
            masked += len(token)
            pos = span.end
        out.append(text[pos:])
        return cls(text, "".join(out), tuple(pieces))

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for p in self.pieces:
            out[p.type] = out.get(p.type, 0) + 1
        return out

    def to_original(self, masked_offset: int, *, end: bool) -> int:
        """An offset into the masked text as an offset into the original. Inside a placeholder:
        its value's start (``end=False``) or end (``end=True``)."""
        starts = [p.masked_begin for p in self.pieces]
        i = bisect.bisect_right(starts, masked_offset) - 1
        if i < 0:
            return min(masked_offset, len(self.original))
        p = self.pieces[i]
        if masked_offset < p.masked_end:
            if masked_offset == p.masked_begin and not end:
                return p.begin
            return p.end if end else p.begin
        return min(p.end + (masked_offset - p.masked_end), len(self.original))

    def span_back(self, begin: int, end: int) -> tuple[int, int, str]:
        """A span of the masked text as (begin, end, text) of the original."""
        b = self.to_original(begin, end=False)
        e = max(b, self.to_original(end, end=True)) if end > begin else b
        return b, e, self.original[b:e]


def restore(text: str, values: dict[str, str]) -> str:
    """Every placeholder in ``text`` that hides a value of this request, replaced by the value."""

    def sub(m: re.Match[str]) -> str:
        return values.get(f"<{m[1]}_{m[2]}>", m[0])

    return PLACEHOLDER.sub(sub, text)


def mask_all(texts: Sequence[str], spans: Sequence[Sequence[PiiSpan]], numbering: Numbering) -> list[Masked]:
    return [Masked.of(t, s, numbering) for t, s in zip(texts, spans, strict=True)]
