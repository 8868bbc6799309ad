"""The task table's declarative columns: small values a row states, resolved by the code that acts on them.

The schema is the contract (``pip install omnisense``) and imports nothing above it, so a
row cannot hold the gateway's or an adapter's functions. It names a measure, a merge or a
shape instead, and each consumer resolves that name through one dict keyed by the enum
(per measure, not per task): ``gateway.agreement.MEASURES`` for ``Agreement``, the OIP
adapter's ``READERS`` for ``OutputShape``. ``tests/test_task_table.py`` fails when an enum
value has no entry there, and when a row leaves a column out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

Res = TypeVar("Res")


class Agreement(StrEnum):
    """How two answers to one request are scored against each other (shadows, ``omnisense eval``).

    The value is the metric's name in comparisons (``label`` for the three label measures).
    """

    LABEL = "label"  # the same top answer (the output summary's ``top``), case-insensitive; agrees at 1
    LANGUAGE = "language"  # the same top language by primary subtag (``en`` = ``en-GB``); agrees at 1
    SPANS = "overlap"  # F1 of the result's spans, (text, type) case-insensitive; agrees >= 0.8
    BOXES = "iou"  # F1 of the result's boxes matched one-to-one at IoU >= 0.5 (and the same name)
    WER = "wer"  # word error rate of the ``text`` (lower is better); agrees <= 0.2
    CHARS = "chars"  # character overlap of the ``text``; agrees >= 0.8
    NONE = "none"  # not compared (two voices' audio has no agreement to speak of)


class Consensus(StrEnum):
    """How fan-out (issue #26) merges several providers' answers into one ``consensus`` result.

    Resolved by ``gateway.consensus.MERGES``, one merge per value.
    """

    VOTE = "vote"  # labels, image and video moderation: votes per label/category
    BOXES = "boxes"  # objects, faces: boxes matched by IoU and averaged
    OCR_LINES = "ocr_lines"  # OCR: lines aligned, the medoid by character error rate
    MAJORITY = "majority"  # sentiment, language, text moderation: the majority answer with averaged scores
    SPANS = "spans"  # entities, key phrases: span overlap
    MEDOID_CHRF = "medoid_chrf"  # translation: the answer closest to the others by chrF
    MEDOID_WER = "medoid_wer"  # transcription: the answer closest to the others by word error rate
    NONE = "none"  # no consensus: asking for one is a 422


class OutputShape(StrEnum):
    """What a model's raw output must hold to make the task's result (the OIP adapter's mapping)."""

    CLASSES = "classes"  # class names and/or one score per class
    BOXES = "boxes"  # boxes with a score each (and class names)
    SPANS = "spans"  # pieces of the input text with offsets
    TEXT = "text"  # one text
    AUDIO = "audio"  # audio bytes
    TIMED = "timed"  # items over the time of a video: labelled segments, shots, flagged frames


@dataclass(frozen=True)
class ShortForm(Generic[Res]):
    """``omnisense eval``'s short expected output: ``{key: ...}`` instead of a whole result.

    ``build`` turns the expected object (which holds ``key``) into the task's result, for
    ``Agreement`` to score the answers against.
    """

    key: str
    build: Callable[[dict[str, Any]], Res]
