"""What each task sends and what it gets back, shared by the sync and async clients.

A ``Call`` is a fully described HTTP request plus the type its answer decodes to; the
clients only send it. Images and audio travel as the raw body (no base64), options as
query parameters; text tasks send JSON.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from gateway.schema import (
    EntitiesResult,
    Envelope,
    FacesResult,
    KeyPhrasesResult,
    LabelsResult,
    LanguageResult,
    ModerationResult,
    ObjectsResult,
    OcrResult,
    SentimentResult,
    Task,
    TranscribeResult,
    TranslateResult,
)

R = TypeVar("R")
Source = str | os.PathLike[str] | bytes | bytearray | IO[bytes]


@dataclass(frozen=True)
class Call(Generic[R]):
    task: Task
    result_type: type[R]
    content: bytes | None = None
    json: dict[str, Any] | None = None
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return self.task.path


def read_source(source: Source) -> bytes:
    """Bytes from a path, bytes or a binary file object."""
    if isinstance(source, bytes | bytearray):
        return bytes(source)
    if isinstance(source, str | os.PathLike):
        return Path(source).read_bytes()
    data = source.read()
    if not isinstance(data, bytes):
        raise TypeError("file objects must be opened in binary mode")
    return data


def _params(**options: Any) -> dict[str, str]:
    out = {}
    for key, value in options.items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


def _headers(provider: str | None) -> dict[str, str]:
    return {"X-Omnisense-Provider": provider} if provider else {}


def image_call(
    task: Task, result_type: type[R], image: Source, provider: str | None, **options: Any
) -> Call[Envelope[R]]:
    return Call(
        task=task,
        result_type=Envelope[result_type],  # type: ignore[valid-type]
        content=read_source(image),
        params=_params(**options),
        headers={"Content-Type": "application/octet-stream", **_headers(provider)},
    )


def text_call(task: Task, result_type: type[R], provider: str | None, **body: Any) -> Call[Envelope[R]]:
    return Call(
        task=task,
        result_type=Envelope[result_type],  # type: ignore[valid-type]
        json={k: v for k, v in body.items() if v is not None},
        headers=_headers(provider),
    )


def transcribe_call(audio: Source, language: str | None, provider: str | None) -> Call[Envelope[TranscribeResult]]:
    return Call(
        task=Task.SPEECH_TRANSCRIBE,
        result_type=Envelope[TranscribeResult],
        content=read_source(audio),
        params=_params(language=language),
        headers={"Content-Type": "application/octet-stream", **_headers(provider)},
    )


def synthesize_call(
    text: str, voice: str | None, language: str | None, format: str, provider: str | None
) -> Call[bytes]:
    body = {"text": text, "voice": voice, "language": language, "format": format}
    return Call(
        task=Task.SPEECH_SYNTHESIZE,
        result_type=bytes,
        json={k: v for k, v in body.items() if v is not None},
        headers={"Accept": "audio/*", **_headers(provider)},
    )


VISION_RESULTS: dict[str, tuple[Task, type[Any]]] = {
    "labels": (Task.VISION_LABELS, LabelsResult),
    "objects": (Task.VISION_OBJECTS, ObjectsResult),
    "faces": (Task.VISION_FACES, FacesResult),
    "ocr": (Task.VISION_OCR, OcrResult),
    "moderation": (Task.VISION_MODERATION, ModerationResult),
}
TEXT_RESULTS: dict[str, tuple[Task, type[Any]]] = {
    "sentiment": (Task.TEXT_SENTIMENT, SentimentResult),
    "entities": (Task.TEXT_ENTITIES, EntitiesResult),
    "key_phrases": (Task.TEXT_KEY_PHRASES, KeyPhrasesResult),
    "language": (Task.TEXT_LANGUAGE, LanguageResult),
    "translate": (Task.TEXT_TRANSLATE, TranslateResult),
}
