"""What each kind of task request sends, shared by the sync and async clients.

A ``Call`` is a fully described HTTP request plus the type its answer decodes to; the
clients only send it. There is one builder per request type of the task table (images,
text, translation, synthesis, audio, video), each a typed callable whose signature becomes the
client method's. Images, audio and video travel as the raw body (no base64), options as query
parameters; text tasks send JSON with the fields of their request type. ``providers=[...]``
asks several providers at once (a fan-out): a JSON field, or ``?providers=a,b`` for uploads.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from omnisense.schema import Envelope, SynthesizeResult, Task, TaskResult, spec_of

R = TypeVar("R")
Res = TypeVar("Res", bound=TaskResult)
Source = str | os.PathLike[str] | bytes | bytearray | IO[bytes]
# A fan-out (several providers answer at once; the envelope then has ``consensus``, ``agreement``
# and ``answers``): a list of provider names, or one comma-separated string.
Providers = Sequence[str] | str | None


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
        return spec_of(self.task).path


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


def _names(providers: Sequence[str] | str) -> list[str]:
    """A fan-out's providers: a list, or one comma-separated string (``"aws,google"``)."""
    names = providers.split(",") if isinstance(providers, str) else list(providers)
    return [name.strip() for name in names]


def _headers(provider: str | None) -> dict[str, str]:
    return {"X-Omnisense-Provider": provider} if provider else {}


class _Builder(Generic[Res]):
    def __init__(self, task: Task, result: type[Res]) -> None:
        if spec_of(task).result is not result:
            raise TypeError(f"{task} answers {spec_of(task).result.__name__}, not {result.__name__}")
        self.task = task
        self.result = result

    def _upload(self, data: Source, provider: str | None, providers: Providers, **options: Any) -> Call[Envelope[Res]]:
        return Call(
            task=self.task,
            result_type=Envelope[self.result],  # type: ignore[name-defined]
            content=read_source(data),
            params=_params(**options, providers=",".join(_names(providers)) if providers is not None else None),
            headers={"Content-Type": "application/octet-stream", **_headers(provider)},
        )

    def _json(self, provider: str | None, providers: Providers, **body: Any) -> Call[Envelope[Res]]:
        body["providers"] = _names(providers) if providers is not None else None
        return Call(
            task=self.task,
            result_type=Envelope[self.result],  # type: ignore[name-defined]
            json={k: v for k, v in body.items() if v is not None},
            headers=_headers(provider),
        )


class ImageCall(_Builder[Res]):
    """``ImageRequest`` tasks: an image (path, bytes or binary file) and its options."""

    def __call__(
        self,
        image: Source,
        *,
        max_results: int | None = None,
        min_confidence: float | None = None,
        language: str | None = None,
        document: bool | None = None,
        classes: Sequence[str] | None = None,
        provider: str | None = None,
        providers: Providers = None,
    ) -> Call[Envelope[Res]]:
        """``classes`` (vision.objects): only objects of these classes."""
        options = {"max_results": max_results, "min_confidence": min_confidence}
        only = ",".join(c.strip() for c in classes) if classes is not None else None
        return self._upload(image, provider, providers, **options, language=language, document=document, classes=only)


class TextCall(_Builder[Res]):
    """``TextRequest`` tasks: the text and an optional language."""

    def __call__(
        self, text: str, *, language: str | None = None, provider: str | None = None, providers: Providers = None
    ) -> Call[Envelope[Res]]:
        return self._json(provider, providers, text=text, language=language)


class TranslateCall(_Builder[Res]):
    def __call__(
        self,
        text: str,
        target_language: str,
        *,
        source_language: str | None = None,
        provider: str | None = None,
        providers: Providers = None,
    ) -> Call[Envelope[Res]]:
        languages = {"target_language": target_language, "source_language": source_language}
        return self._json(provider, providers, text=text, **languages)


class TranscribeCall(_Builder[Res]):
    def __call__(
        self, audio: Source, *, language: str | None = None, provider: str | None = None, providers: Providers = None
    ) -> Call[Envelope[Res]]:
        return self._upload(audio, provider, providers, language=language)


class VideoCall(_Builder[Res]):
    """``VideoRequest`` tasks: a video (path, bytes or binary file; MP4, MOV, WebM, MKV) and its options."""

    def __call__(
        self,
        video: Source,
        *,
        max_results: int | None = None,
        min_confidence: float | None = None,
        provider: str | None = None,
        providers: Providers = None,
    ) -> Call[Envelope[Res]]:
        return self._upload(video, provider, providers, max_results=max_results, min_confidence=min_confidence)


class SynthesizeCall:
    """``speech.synthesize`` answers audio bytes (the server sends audio unless asked for JSON)."""

    task = Task.SPEECH_SYNTHESIZE
    result = SynthesizeResult

    def __call__(
        self,
        text: str,
        *,
        voice: str | None = None,
        language: str | None = None,
        gender: str | None = None,
        format: str = "wav",
        provider: str | None = None,
    ) -> Call[bytes]:
        body = {"text": text, "voice": voice, "language": language, "gender": gender, "format": format}
        return Call(
            task=self.task,
            result_type=bytes,
            json={k: v for k, v in body.items() if v is not None},
            headers={"Accept": "audio/*", **_headers(provider)},
        )
