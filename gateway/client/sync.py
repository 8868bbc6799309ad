"""The synchronous Python client.

from gateway.client import Client
with Client() as omni:                       # OMNISENSE_URL / OMNISENSE_API_KEY
    labels = omni.vision.labels("photo.jpg").result.labels
    mood = omni.text.sentiment("What a lovely day").result.label
    audio = omni.speech.synthesize("Hello")  # bytes
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any, TypeVar

import httpx

from gateway.client import calls
from gateway.client.calls import Call, Source
from gateway.client.transport import decode, request_kwargs, settings, should_retry
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


class Client:
    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        retries: int = 2,
        http: httpx.Client | None = None,
    ) -> None:
        url, headers = settings(base_url, api_key)
        self._http = http or httpx.Client(base_url=url, headers=headers, timeout=timeout)
        self.retries = retries
        self.vision = VisionAPI(self)
        self.text = TextAPI(self)
        self.speech = SpeechAPI(self)

    def send(self, call: Call[R]) -> R:
        attempt = 0
        while True:
            response = self._http.post(call.path, **request_kwargs(call))
            wait = should_retry(response, attempt, self.retries)
            if wait is None:
                return decode(response, call.result_type)
            time.sleep(wait)
            attempt += 1

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


class VisionAPI:
    def __init__(self, client: Client) -> None:
        self._c = client

    def labels(
        self, image: Source, *, max_results: int | None = None, provider: str | None = None
    ) -> Envelope[LabelsResult]:
        return self._c.send(
            calls.image_call(Task.VISION_LABELS, LabelsResult, image, provider, max_results=max_results)
        )

    def objects(self, image: Source, *, provider: str | None = None) -> Envelope[ObjectsResult]:
        return self._c.send(calls.image_call(Task.VISION_OBJECTS, ObjectsResult, image, provider))

    def faces(self, image: Source, *, provider: str | None = None) -> Envelope[FacesResult]:
        return self._c.send(calls.image_call(Task.VISION_FACES, FacesResult, image, provider))

    def ocr(
        self, image: Source, *, language: str | None = None, document: bool | None = None, provider: str | None = None
    ) -> Envelope[OcrResult]:
        call = calls.image_call(Task.VISION_OCR, OcrResult, image, provider, language=language, document=document)
        return self._c.send(call)

    def moderation(self, image: Source, *, provider: str | None = None) -> Envelope[ModerationResult]:
        return self._c.send(calls.image_call(Task.VISION_MODERATION, ModerationResult, image, provider))


class TextAPI:
    def __init__(self, client: Client) -> None:
        self._c = client

    def _text(self, task: Task, result: type[R], text: str, language: str | None, provider: str | None) -> Envelope[R]:
        return self._c.send(calls.text_call(task, result, provider, text=text, language=language))

    def sentiment(
        self, text: str, *, language: str | None = None, provider: str | None = None
    ) -> Envelope[SentimentResult]:
        return self._text(Task.TEXT_SENTIMENT, SentimentResult, text, language, provider)

    def entities(
        self, text: str, *, language: str | None = None, provider: str | None = None
    ) -> Envelope[EntitiesResult]:
        return self._text(Task.TEXT_ENTITIES, EntitiesResult, text, language, provider)

    def key_phrases(
        self, text: str, *, language: str | None = None, provider: str | None = None
    ) -> Envelope[KeyPhrasesResult]:
        return self._text(Task.TEXT_KEY_PHRASES, KeyPhrasesResult, text, language, provider)

    def language(self, text: str, *, provider: str | None = None) -> Envelope[LanguageResult]:
        return self._text(Task.TEXT_LANGUAGE, LanguageResult, text, None, provider)

    def translate(
        self, text: str, target_language: str, *, source_language: str | None = None, provider: str | None = None
    ) -> Envelope[TranslateResult]:
        body: dict[str, Any] = {"text": text, "target_language": target_language, "source_language": source_language}
        return self._c.send(calls.text_call(Task.TEXT_TRANSLATE, TranslateResult, provider, **body))


class SpeechAPI:
    def __init__(self, client: Client) -> None:
        self._c = client

    def synthesize(
        self,
        text: str,
        *,
        voice: str | None = None,
        language: str | None = None,
        format: str = "wav",
        provider: str | None = None,
    ) -> bytes:
        return self._c.send(calls.synthesize_call(text, voice, language, format, provider))

    def transcribe(
        self, audio: Source, *, language: str | None = None, provider: str | None = None
    ) -> Envelope[TranscribeResult]:
        return self._c.send(calls.transcribe_call(audio, language, provider))
