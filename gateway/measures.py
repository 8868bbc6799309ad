"""Distances between two texts, from maintained libraries: WER and CER (jiwer), chrF (sacrebleu).

Texts are normalized the way the comparisons need (case folded, runs of white space as one
space, punctuation dropped for words) and cut to a bound first: each measure is quadratic
in the length, and a shadow or a fan-out must not spend seconds on one long answer.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

import jiwer

if TYPE_CHECKING:
    from sacrebleu.metrics.chrf import CHRF

MAX_CHARS = 5_000
MAX_WORDS = 2_000

_WORD = re.compile(r"[\w']+")


def words(text: str) -> list[str]:
    """The words of ``text``, lower-cased, without punctuation, at most ``MAX_WORDS``."""
    return _WORD.findall(text.lower())[:MAX_WORDS]


def squeezed(text: str) -> str:
    """``text`` with runs of white space as one space, at most ``MAX_CHARS`` characters."""
    return " ".join(text.split())[:MAX_CHARS]


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of ``hypothesis`` against ``reference`` (0 is the same words; may exceed 1)."""
    ref, hyp = words(reference), words(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    if not hyp:
        return 1.0
    return float(jiwer.wer(" ".join(ref), " ".join(hyp)))


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate of ``hypothesis`` against ``reference`` (case and spacing ignored)."""
    ref, hyp = squeezed(reference).lower(), squeezed(hypothesis).lower()
    if not ref:
        return 0.0 if not hyp else 1.0
    if not hyp:
        return 1.0
    return float(jiwer.cer(ref, hyp))


@functools.cache
def _chrf() -> CHRF:
    from sacrebleu.metrics.chrf import CHRF  # imported on first use: sacrebleu brings numpy and lxml

    return CHRF()


def chrf(reference: str, hypothesis: str) -> float:
    """chrF of ``hypothesis`` against ``reference``, in [0, 1] (1 is the same text)."""
    ref, hyp = squeezed(reference), squeezed(hypothesis)
    if not ref and not hyp:
        return 1.0
    if not ref or not hyp:
        return 0.0
    return float(_chrf().sentence_score(hyp, [ref]).score) / 100.0
