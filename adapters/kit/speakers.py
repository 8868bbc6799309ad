"""Diarization results: speaker turns (``Segment``) from words that carry a vendor's speaker label.

Vendors label speakers their own way (Transcribe ``spk_0``, Google's integer ``speakerTag``);
the gateway's labels are ``S1``, ``S2``... in order of each speaker's first word, so the same
audio reads the same from any provider. Consecutive words of one speaker make one segment.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec

from omnisense.schema import Segment, Word


def relabel(labels: Iterable[str]) -> dict[str, str]:
    """Vendor label -> ``S1``, ``S2``... in order of first appearance."""
    names: dict[str, str] = {}
    for label in labels:
        names.setdefault(label, f"S{len(names) + 1}")
    return names


def with_speakers(words: Sequence[Word], labels: Sequence[str | None]) -> list[Word]:
    """``words`` with each one's speaker (``labels[i]``, relabelled ``S1``...; None where unknown)."""
    names = relabel(label for label in labels if label is not None)
    return [
        msgspec.structs.replace(w, speaker=None if label is None else names[label])
        for w, label in zip(words, labels, strict=True)
    ]


def segments(words: Sequence[Word]) -> list[Segment]:
    """One segment per run of consecutive words of one speaker (words with no speaker join the run)."""
    out: list[Segment] = []
    run: list[Word] = []
    speaker: str | None = None
    for word in words:
        if word.speaker is not None and speaker is not None and word.speaker != speaker and run:
            out.append(_segment(run, speaker))
            run = []
        speaker = word.speaker or speaker
        run.append(word)
    if run and speaker is not None:
        out.append(_segment(run, speaker))
    return out


def _segment(run: list[Word], speaker: str) -> Segment:
    text = " ".join(w.text for w in run)
    return Segment(start_s=run[0].start, end_s=max(w.end for w in run), speaker=speaker, text=text)
