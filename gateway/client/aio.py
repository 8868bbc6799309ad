"""The asynchronous Python client (same surface as ``Client``, every call awaitable).

from gateway.client import AsyncClient
async with AsyncClient() as omni:
    labels = (await omni.vision.labels("photo.jpg")).result.labels
"""

from __future__ import annotations

import asyncio
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


class AsyncClient:
    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        retries: int = 2,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        url, headers = settings(base_url, api_key)
        self._http = http or httpx.AsyncClient(base_url=url, headers=headers, timeout=timeout)
        self.retries = retries
        self.vision = VisionAPI(self)
        self.text = TextAPI(self)
        self.speech = SpeechAPI(self)

    async def send(self, call: Call[R]) -> R:
        attempt = 0
        while True:
            response = await self._http.post(call.path, **request_kwargs(call))
            wait = should_retry(response, attempt, self.retries)
            if wait is None:
                return decode(response, call.result_type)
            await asyncio.sleep(wait)
            attempt += 1

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.aclose()


class VisionAPI:
    def __init__(self, client: AsyncClient) -> None:
        self._c = client

    async def labels(
        self, image: Source, *, max_results: int | None = None, provider: str | None = None
    ) -> Envelope[LabelsResult]:
        return await self._c.send(
            calls.image_call(Task.VISION_LABELS, LabelsResult, image, provider, max_results=max_results)
        )

    async def objects(self, image: Source, *, provider: str | None = None) -> Envelope[ObjectsResult]:
        return await self._c.send(calls.image_call(Task.VISION_OBJECTS, ObjectsResult, image, provider))

    async def faces(self, image: Source, *, provider: str | None = None) -> Envelope[FacesResult]:
        return await self._c.send(calls.image_call(Task.VISION_FACES, FacesResult, image, provider))

    async def ocr(
        self, image: Source, *, language: str | None = None, document: bool | None = None, provider: str | None = None
    ) -> Envelope[OcrResult]:
        call = calls.image_call(Task.VISION_OCR, OcrResult, image, provider, language=language, document=document)
        return await self._c.send(call)

    async def moderation(self, image: Source, *, provider: str | None = None) -> Envelope[ModerationResult]:
        return await self._c.send(calls.image_call(Task.VISION_MODERATION, ModerationResult, image, provider))


class TextAPI:
    def __init__(self, client: AsyncClient) -> None:
        self._c = client

    async def _text(
        self, task: Task, result: type[R], text: str, language: str | None, provider: str | None
    ) -> Envelope[R]:
        return await self._c.send(calls.text_call(task, result, provider, text=text, language=language))

    async def sentiment(
        self, text: str, *, language: str | None = None, provider: str | None = None
    ) -> Envelope[SentimentResult]:
        return await self._text(Task.TEXT_SENTIMENT, SentimentResult, text, language, provider)

    async def entities(
        self, text: str, *, language: str | None = None, provider: str | None = None
    ) -> Envelope[EntitiesResult]:
        return await self._text(Task.TEXT_ENTITIES, EntitiesResult, text, language, provider)

    async def key_phrases(
        self, text: str, *, language: str | None = None, provider: str | None = None
    ) -> Envelope[KeyPhrasesResult]:
        return await self._text(Task.TEXT_KEY_PHRASES, KeyPhrasesResult, text, language, provider)

    async def language(self, text: str, *, provider: str | None = None) -> Envelope[LanguageResult]:
        return await self._text(Task.TEXT_LANGUAGE, LanguageResult, text, None, provider)

    async def translate(
        self, text: str, target_language: str, *, source_language: str | None = None, provider: str | None = None
    ) -> Envelope[TranslateResult]:
        body: dict[str, Any] = {"text": text, "target_language": target_language, "source_language": source_language}
        return await self._c.send(calls.text_call(Task.TEXT_TRANSLATE, TranslateResult, provider, **body))


class SpeechAPI:
    def __init__(self, client: AsyncClient) -> None:
        self._c = client

    async def synthesize(
        self,
        text: str,
        *,
        voice: str | None = None,
        language: str | None = None,
        format: str = "wav",
        provider: str | None = None,
    ) -> bytes:
        return await self._c.send(calls.synthesize_call(text, voice, language, format, provider))

    async def transcribe(
        self, audio: Source, *, language: str | None = None, provider: str | None = None
    ) -> Envelope[TranscribeResult]:
        return await self._c.send(calls.transcribe_call(audio, language, provider))
