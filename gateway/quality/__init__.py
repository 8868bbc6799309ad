"""Measured quality: how often each provider is right, per task and language.

A ``QualitySample`` is one observation: a provider's answer scored against the fan-out's
consensus or a shadow's served answer (``agreement``), or against a labelled expected output
from ``omnisense eval`` (``reference``). Samples go to a ``QualityRecorder`` off the request
path; the quality table aggregates them per task x language x provider.
"""

from gateway.quality.samples import QualityRecorder, QualitySample, Source, discard, sample_language, score_of

__all__ = ["QualityRecorder", "QualitySample", "Source", "discard", "sample_language", "score_of"]
