"""The client's methods, written once for both clients.

Each method is an ``Endpoint``: a descriptor around a typed call builder (``calls.py``).
Read from a namespace of the sync client it is a function answering the result; from a
namespace of the async client, one answering an awaitable of it. The namespaces are
generic in that mode (``VisionAPI[Sync]`` / ``VisionAPI[Async]``), so mypy and editors
see every method's parameters and result type on both clients.

One line per task, named after the task (``text.key_phrases`` -> ``omni.text.key_phrases``);
``tests/test_task_table.py`` checks that every row of the task table has its method on
both clients and that it calls the row's path. A row without its line here still gets its
method, made from the builder of its request type (``BUILDERS``), only without the static
types until its line is written; a new modality needs its namespace here and on the clients.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import Any, Generic, ParamSpec, TypeVar, overload

from omnisense.client.calls import (
    Call,
    ImageCall,
    SynthesizeCall,
    TextCall,
    TranscribeCall,
    TranslateCall,
    VideoCall,
)
from omnisense.schema import (
    TABLE,
    EntitiesResult,
    FacesResult,
    ImageRequest,
    KeyPhrasesResult,
    LabelsResult,
    LanguageResult,
    ModerationResult,
    ObjectsResult,
    OcrResult,
    SentimentResult,
    Task,
    TaskRequest,
    TextModerationResult,
    TextRequest,
    TranscribeRequest,
    TranscribeResult,
    TranslateRequest,
    TranslateResult,
    VideoLabelsResult,
    VideoModerationResult,
    VideoRequest,
    VideoShotsResult,
)

P = ParamSpec("P")
R = TypeVar("R")
M = TypeVar("M")


class Sync:
    """Marker: the namespace belongs to ``Client``."""


class Async:
    """Marker: the namespace belongs to ``AsyncClient``."""


class Namespace(Generic[M]):
    """One modality's methods; ``send`` is the owning client's (sync or async) ``send``."""

    def __init__(self, send: Callable[[Call[Any]], Any]) -> None:
        self._send = send
        self._async = inspect.iscoroutinefunction(send)


class Endpoint(Generic[P, R]):
    def __init__(self, build: Callable[P, Call[R]]) -> None:
        self.build = build
        self.task: Task = build.task  # type: ignore[attr-defined]
        self.name = ""

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Endpoint[P, R]: ...
    @overload
    def __get__(self, obj: Namespace[Sync], owner: type[Any]) -> Callable[P, R]: ...
    @overload
    def __get__(self, obj: Namespace[Async], owner: type[Any]) -> Callable[P, Coroutine[Any, Any, R]]: ...

    def __get__(self, obj: Namespace[Any] | None, owner: type[Any]) -> Any:
        if obj is None:
            return self
        send, build = obj._send, self.build

        def method(*args: P.args, **kwargs: P.kwargs) -> Any:
            return send(build(*args, **kwargs))

        async def async_method(*args: P.args, **kwargs: P.kwargs) -> Any:
            return await send(build(*args, **kwargs))

        method = functools.wraps(build.__call__)(async_method if obj._async else method)  # type: ignore[operator]
        method.__name__ = self.name
        method.__doc__ = f"POST {self.task.path}: the {self.task} result."
        return method


class VisionAPI(Namespace[M]):
    labels = Endpoint(ImageCall(Task.VISION_LABELS, LabelsResult))
    objects = Endpoint(ImageCall(Task.VISION_OBJECTS, ObjectsResult))
    faces = Endpoint(ImageCall(Task.VISION_FACES, FacesResult))
    ocr = Endpoint(ImageCall(Task.VISION_OCR, OcrResult))
    moderation = Endpoint(ImageCall(Task.VISION_MODERATION, ModerationResult))


class TextAPI(Namespace[M]):
    sentiment = Endpoint(TextCall(Task.TEXT_SENTIMENT, SentimentResult))
    entities = Endpoint(TextCall(Task.TEXT_ENTITIES, EntitiesResult))
    key_phrases = Endpoint(TextCall(Task.TEXT_KEY_PHRASES, KeyPhrasesResult))
    language = Endpoint(TextCall(Task.TEXT_LANGUAGE, LanguageResult))
    translate = Endpoint(TranslateCall(Task.TEXT_TRANSLATE, TranslateResult))
    moderation = Endpoint(TextCall(Task.TEXT_MODERATION, TextModerationResult))


class SpeechAPI(Namespace[M]):
    synthesize = Endpoint(SynthesizeCall())
    transcribe = Endpoint(TranscribeCall(Task.SPEECH_TRANSCRIBE, TranscribeResult))


class VideoAPI(Namespace[M]):
    labels = Endpoint(VideoCall(Task.VIDEO_LABELS, VideoLabelsResult))
    shots = Endpoint(VideoCall(Task.VIDEO_SHOTS, VideoShotsResult))
    moderation = Endpoint(VideoCall(Task.VIDEO_MODERATION, VideoModerationResult))


NAMESPACES: dict[str, type[Namespace[Any]]] = {
    "vision": VisionAPI,
    "text": TextAPI,
    "speech": SpeechAPI,
    "video": VideoAPI,
}
BUILDERS: dict[type[TaskRequest], Callable[[Task, Any], Callable[..., Call[Any]]]] = {
    ImageRequest: ImageCall,
    TextRequest: TextCall,
    TranslateRequest: TranslateCall,
    TranscribeRequest: TranscribeCall,
    VideoRequest: VideoCall,
}


def _complete() -> None:
    """A method for every row of the task table that has no line above."""
    for task, spec in TABLE.items():
        namespace = NAMESPACES[task.modality]
        if any(isinstance(v, Endpoint) and v.task is task for v in vars(namespace).values()):
            continue
        endpoint: Endpoint[..., Any] = Endpoint(BUILDERS[spec.request](task, spec.result))
        endpoint.__set_name__(namespace, spec.method)
        setattr(namespace, spec.method, endpoint)


_complete()
