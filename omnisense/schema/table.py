"""The task table: one row per task, the single source every surface and per-task rule is derived from.

A row says what a task takes (input kind and request type), what it answers (result
type, or audio bytes), what it is billed by, and how one answer is summarized for the
request log and the drift watch. From it come the server's routes and input decoding,
the JSON wire bodies (``body_type``), the OpenAPI document, ``POST /v1/route/explain``,
the log record's output summary, both Python clients' methods, the ``omnisense`` task
commands and the local adapter's endpoints. ``tests/test_task_table.py`` walks the table
and checks each surface.

Every per-task rule is a column too, named in every row (no defaults), each a small
declarative value of ``omnisense.schema.columns`` that the code acting on it resolves
through one dict keyed by the value:

- ``output`` (``OutputShape``): what a model's raw output holds -- classes, boxes, spans,
  text or audio; the OIP adapter's tensor mapping is chosen by it.
- ``closed_answer``: the summary's ``top`` comes from a short fixed list (sentiment and
  moderation labels, language codes), so ``/metrics`` counts answers per value.
- ``agreement`` (``Agreement``): how two answers are scored against each other, for shadow
  comparisons and ``omnisense eval`` (``gateway.agreement.MEASURES``).
- ``short_form`` (``ShortForm``): eval's short expected output, its key and how the whole
  result is built from it (``omnisense.schema.short_forms``); None: not evaluated.
- ``consensus`` (``Consensus``): how fan-out (issue #26) merges several providers'
  answers -- labels and moderation: votes; objects and faces: boxes matched by IoU and
  averaged; OCR: lines aligned, the medoid by character error rate; sentiment and
  language: the majority with averaged scores; entities and key phrases: span overlap;
  translation: the medoid by chrF; transcription: the medoid by word error rate;
  synthesis: none, and asking for one is a 422.

Adding a task: a ``Task`` member, a result type (in ``TaskResult``), a row here, and the
adapters' code. ``tests/test_task_table_new_task.py`` adds a throw-away one that way and
sees it in every surface.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

import msgspec

from omnisense.schema import short_forms as forms
from omnisense.schema.columns import Agreement, Consensus, OutputShape, ShortForm
from omnisense.schema.requests import (
    ImageRequest,
    SynthesizeRequest,
    TaskRequest,
    TextRequest,
    TranscribeRequest,
    TranslateRequest,
    VideoRequest,
    body_type,
    media_field,
    request_fields,
    request_units,
)
from omnisense.schema.results import (
    FLAGGED_AT,
    EntitiesResult,
    FacesResult,
    KeyPhrasesResult,
    LabelsResult,
    LanguageResult,
    ModerationResult,
    ObjectsResult,
    OcrResult,
    SentimentResult,
    SynthesizeResult,
    TaskResult,
    TextModerationResult,
    TranscribeResult,
    TranslateResult,
    VideoLabelsResult,
    VideoModerationResult,
    VideoShotsResult,
)
from omnisense.schema.summary import OutputSummary
from omnisense.schema.tasks import Task, Unit

Req = TypeVar("Req", bound=TaskRequest)
Res = TypeVar("Res", bound=TaskResult)


class InputKind(StrEnum):
    """What the caller sends: decides the accepted content types and size limits."""

    IMAGE = "image"
    TEXT = "text"
    AUDIO = "audio"
    VIDEO = "video"


@dataclass(frozen=True)
class TaskSpec(Generic[Req, Res]):
    task: Task
    input: InputKind
    request: type[Req]
    result: type[Res]
    unit: Unit
    summarize: Callable[[Res], OutputSummary]
    _: KW_ONLY  # the columns below are named in every row, and none has a default
    answers_audio: bool  # the plain answer is audio bytes; the envelope only on Accept: json
    output: OutputShape  # what a model's raw output holds (the OIP adapter's mapping)
    closed_answer: bool  # the summary's ``top`` comes from a short, fixed list (a metric label)
    agreement: Agreement  # how two answers are scored against each other (shadows, eval)
    short_form: ShortForm[Res] | None  # eval's short expected output; None: the task cannot be evaluated
    consensus: Consensus  # how fan-out merges several providers' answers

    @property
    def path(self) -> str:
        return self.task.path

    @property
    def method(self) -> str:
        """The Python client's method: ``omni.text.key_phrases`` for ``text.key_phrases``."""
        return self.task.value.split(".", 1)[1]

    @functools.cached_property
    def body(self) -> type[msgspec.Struct]:
        """The JSON wire body, derived from the request type."""
        return body_type(self.request)

    @functools.cached_property
    def media_field(self) -> str | None:
        """``image`` or ``audio``: the field that carries the upload, if any."""
        return media_field(self.request)

    @functools.cached_property
    def fields(self) -> tuple[msgspec.structs.FieldInfo, ...]:
        """The request type's fields (names, types, defaults, which are required)."""
        return request_fields(self.request)


# --- output summaries: (top answer, its confidence, item count) ---------------------------


def _labels(r: LabelsResult) -> OutputSummary:
    if not r.labels:
        return OutputSummary(items=0)
    return OutputSummary(top=r.labels[0].name, confidence=r.labels[0].confidence, items=len(r.labels))


def _objects(r: ObjectsResult) -> OutputSummary:
    return OutputSummary(top=r.objects[0].name if r.objects else None, items=len(r.objects))


def _faces(r: FacesResult) -> OutputSummary:
    return OutputSummary(items=len(r.faces))


def _ocr(r: OcrResult) -> OutputSummary:
    return OutputSummary(items=len(r.lines))


def _image_moderation(r: ModerationResult) -> OutputSummary:
    return OutputSummary(top=r.flags[0].category if r.flags else None, items=len(r.flags))


def _sentiment(r: SentimentResult) -> OutputSummary:
    return OutputSummary(top=r.label, confidence=getattr(r.scores, r.label))


def _entities(r: EntitiesResult) -> OutputSummary:
    return OutputSummary(items=len(r.entities))


def _phrases(r: KeyPhrasesResult) -> OutputSummary:
    return OutputSummary(items=len(r.phrases))


def _language(r: LanguageResult) -> OutputSummary:
    if not r.languages:
        return OutputSummary(items=0)
    best = r.languages[0]
    return OutputSummary(top=best.code, confidence=best.confidence, items=len(r.languages))


def _translate(r: TranslateResult) -> OutputSummary:
    return OutputSummary(top=r.source_language)


def _text_moderation(r: TextModerationResult) -> OutputSummary:
    """Top: the highest category when flagged, else ``ok``; items: the categories at or over the line."""
    best = r.flags[0] if r.flags else None
    over = sum(1 for f in r.flags if f.confidence is not None and f.confidence >= FLAGGED_AT)
    top = best.category if r.flagged and best else "ok"
    return OutputSummary(top=top, confidence=best.confidence if best else None, items=over)


def _synthesize(r: SynthesizeResult) -> OutputSummary:
    return OutputSummary(items=len(r.audio))


def _transcribe(r: TranscribeResult) -> OutputSummary:
    return OutputSummary(confidence=r.confidence, items=len(r.words))


def _video_labels(r: VideoLabelsResult) -> OutputSummary:
    if not r.segments:
        return OutputSummary(items=0)
    best = r.segments[0]
    return OutputSummary(top=best.name, confidence=best.confidence, items=len(r.segments))


def _shots(r: VideoShotsResult) -> OutputSummary:
    return OutputSummary(items=len(r.shots))


def _video_moderation(r: VideoModerationResult) -> OutputSummary:
    if not r.frames:
        return OutputSummary(items=0)
    return OutputSummary(top=r.frames[0].category, confidence=r.frames[0].confidence, items=len(r.frames))


IMAGE, TEXT, AUDIO, VIDEO = InputKind.IMAGE, InputKind.TEXT, InputKind.AUDIO, InputKind.VIDEO
PER_IMAGE, PER_CHAR, PER_SECOND = Unit.IMAGE, Unit.CHARACTER, Unit.SECOND
CLASSES, BOXES, SPANS, TEXT_OUT = OutputShape.CLASSES, OutputShape.BOXES, OutputShape.SPANS, OutputShape.TEXT
TIMED = OutputShape.TIMED

TABLE: dict[Task, TaskSpec[Any, Any]] = {
    spec.task: spec
    for spec in (
        TaskSpec(Task.VISION_LABELS, IMAGE, ImageRequest, LabelsResult, PER_IMAGE, _labels, answers_audio=False,
                 output=CLASSES, closed_answer=False, agreement=Agreement.LABEL, short_form=forms.LABELS,
                 consensus=Consensus.VOTE),
        TaskSpec(Task.VISION_OBJECTS, IMAGE, ImageRequest, ObjectsResult, PER_IMAGE, _objects, answers_audio=False,
                 output=BOXES, closed_answer=False, agreement=Agreement.BOXES, short_form=forms.OBJECTS,
                 consensus=Consensus.BOXES),
        TaskSpec(Task.VISION_FACES, IMAGE, ImageRequest, FacesResult, PER_IMAGE, _faces, answers_audio=False,
                 output=BOXES, closed_answer=False, agreement=Agreement.BOXES, short_form=forms.FACES,
                 consensus=Consensus.BOXES),
        TaskSpec(Task.VISION_OCR, IMAGE, ImageRequest, OcrResult, PER_IMAGE, _ocr, answers_audio=False,
                 output=TEXT_OUT, closed_answer=False, agreement=Agreement.CHARS, short_form=forms.OCR,
                 consensus=Consensus.OCR_LINES),
        TaskSpec(Task.VISION_MODERATION, IMAGE, ImageRequest, ModerationResult, PER_IMAGE, _image_moderation,
                 answers_audio=False, output=CLASSES, closed_answer=True, agreement=Agreement.LABEL,
                 short_form=forms.IMAGE_MODERATION, consensus=Consensus.VOTE),
        TaskSpec(Task.TEXT_SENTIMENT, TEXT, TextRequest, SentimentResult, PER_CHAR, _sentiment, answers_audio=False,
                 output=CLASSES, closed_answer=True, agreement=Agreement.LABEL, short_form=forms.SENTIMENT,
                 consensus=Consensus.MAJORITY),
        TaskSpec(Task.TEXT_ENTITIES, TEXT, TextRequest, EntitiesResult, PER_CHAR, _entities, answers_audio=False,
                 output=SPANS, closed_answer=False, agreement=Agreement.SPANS, short_form=forms.ENTITIES,
                 consensus=Consensus.SPANS),
        TaskSpec(Task.TEXT_KEY_PHRASES, TEXT, TextRequest, KeyPhrasesResult, PER_CHAR, _phrases, answers_audio=False,
                 output=SPANS, closed_answer=False, agreement=Agreement.SPANS, short_form=forms.KEY_PHRASES,
                 consensus=Consensus.SPANS),
        TaskSpec(Task.TEXT_LANGUAGE, TEXT, TextRequest, LanguageResult, PER_CHAR, _language, answers_audio=False,
                 output=CLASSES, closed_answer=True, agreement=Agreement.LANGUAGE, short_form=forms.LANGUAGE,
                 consensus=Consensus.MAJORITY),
        TaskSpec(Task.TEXT_TRANSLATE, TEXT, TranslateRequest, TranslateResult, PER_CHAR, _translate,
                 answers_audio=False, output=TEXT_OUT, closed_answer=False, agreement=Agreement.CHARS,
                 short_form=forms.TRANSLATION, consensus=Consensus.MEDOID_CHRF),
        TaskSpec(Task.TEXT_MODERATION, TEXT, TextRequest, TextModerationResult, PER_CHAR, _text_moderation,
                 answers_audio=False, output=CLASSES, closed_answer=True, agreement=Agreement.LABEL,
                 short_form=forms.TEXT_MODERATION, consensus=Consensus.MAJORITY),
        TaskSpec(Task.SPEECH_SYNTHESIZE, TEXT, SynthesizeRequest, SynthesizeResult, PER_CHAR, _synthesize,
                 answers_audio=True, output=OutputShape.AUDIO, closed_answer=False, agreement=Agreement.NONE,
                 short_form=None, consensus=Consensus.NONE),
        TaskSpec(Task.SPEECH_TRANSCRIBE, AUDIO, TranscribeRequest, TranscribeResult, PER_SECOND, _transcribe,
                 answers_audio=False, output=TEXT_OUT, closed_answer=False, agreement=Agreement.WER,
                 short_form=forms.TRANSCRIPT, consensus=Consensus.MEDOID_WER),
        TaskSpec(Task.VIDEO_LABELS, VIDEO, VideoRequest, VideoLabelsResult, PER_SECOND, _video_labels,
                 answers_audio=False, output=TIMED, closed_answer=False, agreement=Agreement.LABEL,
                 short_form=forms.VIDEO_LABELS, consensus=Consensus.VOTE),
        TaskSpec(Task.VIDEO_SHOTS, VIDEO, VideoRequest, VideoShotsResult, PER_SECOND, _shots, answers_audio=False,
                 output=TIMED, closed_answer=False, agreement=Agreement.NONE, short_form=None,
                 consensus=Consensus.NONE),
        TaskSpec(Task.VIDEO_MODERATION, VIDEO, VideoRequest, VideoModerationResult, PER_SECOND, _video_moderation,
                 answers_audio=False, output=TIMED, closed_answer=True, agreement=Agreement.LABEL,
                 short_form=forms.VIDEO_MODERATION, consensus=Consensus.VOTE),
    )
}  # fmt: skip

_missing = set(Task) - set(TABLE)
if _missing:  # pragma: no cover - a Task member without a row is a programming error
    raise RuntimeError(f"the task table has no row for {sorted(_missing)}")

RESULT_TYPES: dict[Task, type[TaskResult]] = {task: spec.result for task, spec in TABLE.items()}


def spec_of(task: Task) -> TaskSpec[Any, Any]:
    return TABLE[task]


def unit_of(task: Task) -> Unit:
    return TABLE[task].unit


def billed_units(request: TaskRequest, result: TaskResult) -> float:
    """The request's units; for a video the gateway never read (an object reference), the
    length the provider's answer reports (``result.video.duration_s``), else 0."""
    units = request_units(request)
    if not units and isinstance(request, VideoRequest) and request.video.duration_s is None:
        reported = getattr(getattr(result, "video", None), "duration_s", None)
        return float(reported) if reported else 0.0
    return units


def summarize_output(task: Task, result: TaskResult) -> OutputSummary:
    """The log record's and the drift watch's summary of one answer."""
    spec = TABLE[task]
    if not isinstance(result, spec.result):
        return OutputSummary()
    return spec.summarize(result)
