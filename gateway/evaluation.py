"""``omnisense eval``: a labelled set through the running gateway, pinned to each provider in turn.

A set is JSON lines, one example each: the task's input and the expected output::

    {"text": "What a lovely day", "expected": {"label": "positive"}}
    {"text": "Good morning", "target_language": "es", "expected": {"text": "Buenos días"}}
    {"image": "images/cat.png", "expected": {"label": "cat"}}          # paths: relative to the file
    {"audio": "audio/hello.wav", "expected": {"text": "hello world"}}
    {"text": "¡Qué día tan bonito!", "language": "es", "expected": {"label": "positive"}}

``expected`` is either a whole result of the task (as the gateway answers it) or the short
form its row declares (``TaskSpec.short_form``, listed in ``omnisense.schema.short_forms``):
``label`` (sentiment, labels, image moderation), ``language``, ``flagged`` with an
optional ``category`` (text moderation), ``text`` (transcripts, translations, OCR),
``phrases`` (a list of strings), ``entities`` ([{text, type}]), ``objects``
([{name, box}]), ``faces`` ([{box}]). Each answer is scored against it with the row's
agreement measure (``gateway.agreement``): accuracy for labels, F1 for overlaps and
boxes, WER for transcripts, character overlap for translations and OCR.

An example may declare its ``language`` (``source_language`` for translations): it is sent
with the request, and each provider's score on the example is a ``reference`` sample of the
quality table for that language (``und`` when the example declares none), which
``omnisense eval`` reports to the gateway (``POST /v1/quality``) unless ``--no-report``.

Requests go through the public Python client (``from omnisense import Client``), with the
provider pinned by ``X-Omnisense-Provider``; latency is the client's wall time per call.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from gateway.agreement import compare
from gateway.logs.query import percentile
from gateway.quality import QualitySample, score_of
from gateway.quality.samples import UNKNOWN_LANGUAGE
from omnisense.client import Client
from omnisense.schema import OmnisenseError, Task, TaskResult, spec_of
from omnisense.schema.table import InputKind


class Example(msgspec.Struct, kw_only=True):
    expected: dict[str, Any]
    text: str | None = None
    image: str | None = None
    audio: str | None = None
    video: str | None = None
    language: str | None = None
    target_language: str | None = None
    source_language: str | None = None


_OPTIONS = ("language", "target_language", "source_language")  # an example's request fields besides its input


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
    for name in _OPTIONS:  # the request type's other required fields (text.translate's target_language)
        if name in {f.name for f in spec_of(task).fields if f.required} and not getattr(example, name):
            raise ValueError(f"{task} needs {name!r}")
    media = None if kind is InputKind.TEXT else getattr(example, kind.value)
    if kind is not InputKind.TEXT:
        if not media:
            raise ValueError(f"{task} needs '{kind.value}' (a path)")
        if not (base / media).is_file():
            raise ValueError(f"{kind.value}: no file {base / media}")


# -- expected outputs -------------------------------------------------------------------------------------------------


def expected_result(task: Task, expected: dict[str, Any]) -> TaskResult:
    """The expected output as the task's result: a whole result, or the row's short form."""
    spec = spec_of(task)
    short = spec.short_form
    if short is None:
        raise ValueError(f"{task} cannot be evaluated (no agreement metric)")
    if short.key in expected:
        built: TaskResult = short.build(expected)
        return built
    try:
        result: TaskResult = msgspec.convert(expected, spec.result)
    except msgspec.ValidationError as exc:
        raise ValueError(f"expected: neither {short.key!r} nor a whole {task} result ({exc})") from None
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
    references: list[tuple[str, float]] = field(default_factory=list)  # (language, score in [0, 1]) per example

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
    method = getattr(getattr(client, task.modality), spec_of(task).method)
    accepted = inspect.signature(method).parameters
    options = {name: getattr(example, name) for name in _OPTIONS if name in accepted}
    kind = spec_of(task).input
    if kind is InputKind.TEXT:
        return method(example.text, **options, provider=provider)
    media = (base / (getattr(example, kind.value) or "")).read_bytes()
    return method(media, **options, provider=provider)


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
            score.references.append((example_language(example), score_of(found)))
        on_step(name)
    return score


def example_language(example: Example) -> str:
    """The language the example declares, as a primary subtag; ``und`` when none."""
    declared = example.language or example.source_language
    return declared.split("-")[0].lower() if declared else UNKNOWN_LANGUAGE


def reference_samples(task: Task, scores: Sequence[ProviderScore]) -> list[QualitySample]:
    """Every scored answer as a ``reference`` sample of the quality table."""
    return [
        QualitySample(task=task.value, language=language, provider=s.provider, source="reference", score=value)
        for s in scores
        for language, value in s.references
    ]


def _with_expected(task: Task, examples: Sequence[Example]) -> Iterator[tuple[Example, TaskResult]]:
    for example in examples:
        yield example, expected_result(task, example.expected)
