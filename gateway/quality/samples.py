"""One observation of a provider's quality, and where observations go."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

import msgspec

from gateway.agreement import Comparison
from omnisense.schema import (
    LanguageResult,
    TaskRequest,
    TaskResult,
    TranscribeResult,
    TranslateResult,
    request_language,
)

Source = Literal["agreement", "reference"]
UNKNOWN_LANGUAGE = "und"  # BCP-47's "undetermined"


class QualitySample(msgspec.Struct, frozen=True, kw_only=True):
    """``provider``'s answer to one ``task`` request in ``language`` scored ``score`` in [0, 1] (1 is right)."""

    task: str
    language: str  # primary subtag, lower case ("en", "es"); "und" when neither declared nor detected
    provider: str
    source: Source  # agreement: with the consensus or the served answer; reference: with a labelled output
    score: float


class QualityRecorder(Protocol):
    """Takes samples without blocking the request (buffered, written off the hot path)."""

    def record(self, samples: Sequence[QualitySample]) -> None: ...


class _Discard:
    def record(self, samples: Sequence[QualitySample]) -> None:
        return None


discard: QualityRecorder = _Discard()


def score_of(comparison: Comparison) -> float:
    """A comparison as a score in [0, 1], higher is better (a word error rate of 0.3 scores 0.7)."""
    if comparison.metric == "wer":
        return max(0.0, 1.0 - comparison.value)
    return min(1.0, max(0.0, comparison.value))


def sample_language(request: TaskRequest, result: TaskResult | None = None) -> str:
    """The request's declared language, else the one its answer detected, else ``und``; primary subtag."""
    declared = request_language(request)
    if declared:
        return declared.split("-")[0].lower()
    detected: str | None = None
    if isinstance(result, LanguageResult) and result.languages:
        detected = result.languages[0].code
    elif isinstance(result, TranslateResult):
        detected = result.source_language
    elif isinstance(result, TranscribeResult):
        detected = result.language
    return detected.split("-")[0].lower() if detected else UNKNOWN_LANGUAGE
