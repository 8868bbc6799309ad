"""``omnisense eval``: a labelled set through the running gateway, pinned to each provider in turn.

A set is JSON lines, one example each: the task's input and the expected output::

    {"text": "What a lovely day", "expected": {"label": "positive"}}
    {"text": "Good morning", "target_language": "es", "expected": {"text": "Buenos días"}}
    {"image": "images/cat.png", "expected": {"label": "cat"}}          # paths: relative to the file
    {"audio": "audio/hello.wav", "expected": {"text": "hello world"}}

``expected`` is either a whole result of the task (as the gateway answers it) or a short
form: ``label`` (sentiment, labels, image moderation), ``language``, ``flagged`` with an
optional ``category`` (text moderation), ``text`` (transcripts, translations, OCR),
``phrases`` (a list of strings), ``entities`` ([{text, type}]), ``objects``
([{name, box}]), ``faces`` ([{box}]). Each answer is scored against it with the task's
agreement metric (``gateway.agreement``): accuracy for labels, F1 for overlaps and
boxes, WER for transcripts, character overlap for translations and OCR.

Requests go through the public Python client (``from omnisense import Client``), with the
provider pinned by ``X-Omnisense-Provider``; latency is the client's wall time per call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from gateway.agreement import compare
from gateway.logs.query import percentile
from omnisense.client import Client
from omnisense.schema import (
    Box,
    DetectedLanguage,
    DetectedObject,
    EntitiesResult,
    Entity,
    Face,
    FacesResult,
    KeyPhrase,
    KeyPhrasesResult,
    Label,
    LabelsResult,
    LanguageResult,
    ModerationFlag,
    ModerationResult,
    ObjectsResult,
    OcrResult,
    OmnisenseError,
    SentimentResult,
    SentimentScores,
    Task,
    TaskResult,
    TextModerationFlag,
    TextModerationResult,
    TranscribeResult,
    TranslateResult,
    spec_of,
)
from omnisense.schema.table import InputKind


class Example(msgspec.Struct, kw_only=True):
    expected: dict[str, Any]
    text: str | None = None
    image: str | None = None
    audio: str | None = None
    language: str | None = None
    target_language: str | None = None
    source_language: str | None = None


class SetError(ValueError):
    """A labelled set that cannot be used; the message names the line."""


def load_set(path: Path, task: Task) -> list[Example]:
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            example = msgspec.json.decode(line, type=Example)
            expected_result(task, example.expected)
            _check_input(task, example, path.parent)
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError, TypeError, KeyError) as exc:
            raise SetError(f"{path}:{number}: {exc}") from None
        examples.append(example)
    if not examples:
        raise SetError(f"{path}: no examples")
    return examples


def _check_input(task: Task, example: Example, base: Path) -> None:
    kind = spec_of(task).input
    if kind is InputKind.TEXT and not example.text:
        raise ValueError(f"{task} needs 'text'")
    if task is Task.TEXT_TRANSLATE and not example.target_language:
        raise ValueError("text.translate needs 'target_language'")
    media = example.image if kind is InputKind.IMAGE else example.audio if kind is InputKind.AUDIO else None
    if kind is not InputKind.TEXT:
        if not media:
            raise ValueError(f"{task} needs '{kind.value}' (a path)")
        if not (base / media).is_file():
            raise ValueError(f"{kind.value}: no file {base / media}")


# -- expected outputs -------------------------------------------------------------------------------------------------


def _sentiment(e: dict[str, Any]) -> TaskResult:
    scores = {k: 1.0 if k == e["label"] else 0.0 for k in ("positive", "negative", "neutral", "mixed")}
    return SentimentResult(label=e["label"], scores=SentimentScores(**scores))


def _text_moderation(e: dict[str, Any]) -> TaskResult:
    flags = [TextModerationFlag(category=e.get("category", "toxicity"), confidence=1.0 if e["flagged"] else 0.0)]
    return TextModerationResult.of(flags)


def _spans(items: Iterable[Any], entity: bool) -> list[Any]:
    out: list[Any] = []
    for item in items:
        text = item if isinstance(item, str) else item["text"]
        if entity:
            out.append(Entity(text=text, begin=0, end=len(text), confidence=1.0, type=item.get("type", "OTHER")))
        else:
            out.append(KeyPhrase(text=text, begin=0, end=len(text), confidence=1.0))
    return out


def _box(b: dict[str, float]) -> Box:
    return Box(b["left"], b["top"], b["width"], b["height"])


SHORT_FORMS: dict[Task, tuple[str, Callable[[dict[str, Any]], TaskResult]]] = {
    Task.TEXT_SENTIMENT: ("label", _sentiment),
    Task.TEXT_LANGUAGE: ("language", lambda e: LanguageResult(languages=[DetectedLanguage(e["language"], 1.0)])),
    Task.VISION_LABELS: ("label", lambda e: LabelsResult(labels=[Label(e["label"], 1.0)])),
    Task.VISION_MODERATION: ("label", lambda e: ModerationResult(flags=[ModerationFlag(e["label"], 1.0)])),
    Task.TEXT_MODERATION: ("flagged", _text_moderation),
    Task.TEXT_ENTITIES: ("entities", lambda e: EntitiesResult(entities=_spans(e["entities"], True))),
    Task.TEXT_KEY_PHRASES: ("phrases", lambda e: KeyPhrasesResult(phrases=_spans(e["phrases"], False))),
    Task.VISION_OBJECTS: (
        "objects",
        lambda e: ObjectsResult(objects=[DetectedObject(o["name"], 1.0, _box(o["box"])) for o in e["objects"]]),
    ),
    Task.VISION_FACES: ("faces", lambda e: FacesResult(faces=[Face(1.0, _box(f["box"])) for f in e["faces"]])),
    Task.SPEECH_TRANSCRIBE: ("text", lambda e: TranscribeResult(text=e["text"], confidence=1.0)),
    Task.TEXT_TRANSLATE: (
        "text",
        lambda e: TranslateResult(text=e["text"], source_language="en", target_language="en"),
    ),
    Task.VISION_OCR: ("text", lambda e: OcrResult(text=e["text"], lines=[])),
}


def expected_result(task: Task, expected: dict[str, Any]) -> TaskResult:
    """The expected output as the task's result: a whole result, or the task's short form."""
    short = SHORT_FORMS.get(task)
    if short is None:
        raise ValueError(f"{task} cannot be evaluated (no agreement metric)")
    key, build = short
    if key in expected:
        return build(expected)
    try:
        result: TaskResult = msgspec.convert(expected, spec_of(task).result)
    except msgspec.ValidationError as exc:
        raise ValueError(f"expected: neither {key!r} nor a whole {task} result ({exc})") from None
    return result


# -- running ------------------------------------------------------------------------------------


@dataclass
class ProviderScore:
    provider: str
    examples: int = 0
    errors: int = 0
    agreed: int = 0
    metric: str | None = None
    scores: list[float] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    cost_usd: float = 0.0
    error_types: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        ok = self.examples - self.errors
        lat = sorted(self.latencies_ms)
        return {
            "provider": self.provider,
            "examples": self.examples,
            "errors": self.errors,
            "metric": self.metric,
            "score": round(sum(self.scores) / len(self.scores), 4) if self.scores else None,
            "agreement": round(self.agreed / ok, 4) if ok else None,
            "p50_ms": round(percentile(lat, 0.5), 1) if lat else None,
            "p95_ms": round(percentile(lat, 0.95), 1) if lat else None,
            "cost_usd": round(self.cost_usd, 6),
            "error_types": dict(self.error_types),
        }


def call(client: Client, task: Task, example: Example, base: Path, provider: str) -> Any:
    """One example through the client's method for ``task``, pinned to ``provider``."""
    method = getattr(getattr(client, task.value.split(".")[0]), spec_of(task).method)
    if task is Task.TEXT_TRANSLATE:
        return method(example.text, example.target_language, source_language=example.source_language, provider=provider)
    kind = spec_of(task).input
    if kind is InputKind.TEXT:
        return method(example.text, language=example.language, provider=provider)
    media = (base / ((example.image if kind is InputKind.IMAGE else example.audio) or "")).read_bytes()
    return method(media, language=example.language, provider=provider)


def run_eval(
    client: Client,
    task: Task,
    examples: Sequence[Example],
    base: Path,
    providers: Sequence[str],
    on_step: Callable[[str], None] = lambda provider: None,
) -> list[ProviderScore]:
    """Every example through every provider; ``on_step`` after each call (a progress bar)."""
    return [_one_provider(client, task, examples, base, name, on_step) for name in providers]


def _one_provider(
    client: Client, task: Task, examples: Sequence[Example], base: Path, name: str, on_step: Callable[[str], None]
) -> ProviderScore:
    score = ProviderScore(provider=name)
    for example, expected in _with_expected(task, examples):
        score.examples += 1
        start = time.perf_counter()
        try:
            envelope = call(client, task, example, base, name)
        except OmnisenseError as exc:
            score.errors += 1
            kind = type(exc).__name__
            score.error_types[kind] = score.error_types.get(kind, 0) + 1
            on_step(name)
            continue
        score.latencies_ms.append((time.perf_counter() - start) * 1000.0)
        score.cost_usd += envelope.usage.cost_usd
        found = compare(task, expected, envelope.result)
        if found is not None:
            score.metric = found.metric
            score.scores.append(found.value)
            score.agreed += found.agrees
        on_step(name)
    return score


def _with_expected(task: Task, examples: Sequence[Example]) -> Iterator[tuple[Example, TaskResult]]:
    for example in examples:
        yield example, expected_result(task, example.expected)
