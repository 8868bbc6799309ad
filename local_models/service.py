"""Omnisense local model server: one BentoML entry service composed of three
family services (vision, text, speech), each in processes of its own.

Serve (from this folder): ``bentoml serve service:LocalModels --port 3000``.
The entry service owns the HTTP contract the gateway relies on (README.md);
family services return results already in the gateway schema, or an
``{"__error__": {...}}`` payload that the entry turns into an HTTP 400.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, cast

import aiohttp
import bentoml
from omnilocal.device import serve_environment
from omnilocal.errors import as_error, guarded
from omnilocal.http import ContractErrors
from starlette.responses import JSONResponse

serve_environment()

Result = dict[str, Any]
FAMILY_TRAFFIC = {"timeout": 300}
QUIET = {"access": {"enabled": False}}
BATCHING = os.environ.get("LOCAL_MODELS_BATCHING", "1") != "0"


@bentoml.service(
    name="omnisense_vision", workers=1, resources={"cpu": "1", "gpu": 1}, traffic=FAMILY_TRAFFIC, logging=QUIET
)
class Vision:
    """Labels and moderation (batchable), faces and OCR."""

    def __init__(self) -> None:
        from omnilocal.vision import VisionModels

        self.models = VisionModels()

    @bentoml.api
    def capabilities(self) -> Result:
        return {"tasks": self.models.capabilities(), "device": self.models.device}

    @bentoml.api(batchable=True, batch_dim=0, max_batch_size=32, max_latency_ms=60_000)
    def labels_batch(self, images: list[str]) -> list[Result]:
        return self.models.labels(images)

    @bentoml.api
    def labels(self, image: str) -> Result:
        return self.models.labels([image])[0]

    @bentoml.api(batchable=True, batch_dim=0, max_batch_size=32, max_latency_ms=60_000)
    def moderation_batch(self, images: list[str]) -> list[Result]:
        return self.models.moderation(images)

    @bentoml.api
    def moderation(self, image: str) -> Result:
        return self.models.moderation([image])[0]

    @bentoml.api
    @guarded
    def faces(self, image: str) -> Result:
        return self.models.detect_faces(image)

    @bentoml.api
    @guarded
    def ocr(self, image: str, language: str | None = None) -> Result:
        return self.models.read_text(image, language)


@bentoml.service(name="omnisense_text", workers=1, resources={"cpu": "1"}, traffic=FAMILY_TRAFFIC, logging=QUIET)
class Text:
    """Sentiment, language, entities, key phrases, translation, moderation."""

    def __init__(self) -> None:
        from omnilocal.text import TextModels

        self.models = TextModels()

    @bentoml.api
    def capabilities(self) -> Result:
        return {"tasks": self.models.capabilities(), "device": "cpu"}

    @bentoml.api
    @guarded
    def sentiment(self, text: str, language: str | None = None) -> Result:
        return self.models.sentiment(text, language)

    @bentoml.api
    @guarded
    def entities(self, text: str, language: str | None = None) -> Result:
        return self.models.entities(text, language)

    @bentoml.api
    @guarded
    def key_phrases(self, text: str, language: str | None = None) -> Result:
        return self.models.key_phrases(text, language)

    @bentoml.api
    @guarded
    def moderation(self, text: str, language: str | None = None) -> Result:
        return self.models.moderation(text, language)

    @bentoml.api
    @guarded
    def language(self, text: str) -> Result:
        return self.models.language(text)

    @bentoml.api
    @guarded
    def translate(self, text: str, target_language: str, source_language: str | None = None) -> Result:
        return self.models.translate(text, target_language, source_language)


@bentoml.service(
    name="omnisense_speech", workers=1, resources={"cpu": "1", "gpu": 1}, traffic=FAMILY_TRAFFIC, logging=QUIET
)
class Speech:
    """Synthesis (piper / espeak-ng) and transcription (faster-whisper)."""

    def __init__(self) -> None:
        from omnilocal.speech import SpeechModels

        self.models = SpeechModels()

    @bentoml.api
    def capabilities(self) -> Result:
        return {"tasks": self.models.capabilities(), "device": self.models.device}

    @bentoml.api
    @guarded
    def synthesize(
        self, text: str, voice: str | None = None, language: str | None = None, format: str = "wav"
    ) -> Result:
        return self.models.synthesize(text, voice, language, format)

    @bentoml.api
    @guarded
    def transcribe(self, audio: str, language: str | None = None) -> Result:
        return self.models.transcribe(audio, language)


async def forward(dependency: Any, method: str, **kwargs: Any) -> Any:
    """Call a family service, retrying a dropped keep-alive connection.

    BentoML's inter-service aiohttp client keeps idle connections for 15 s but
    the family's uvicorn closes them after 5 s, so a request after a pause can
    meet "Server disconnected" (BentoML issue #4971). Every family call is a
    pure inference, safe to send again.
    """
    for attempt in range(3):
        try:
            return await getattr(dependency.to_async, method)(**kwargs)
        except aiohttp.ClientConnectionError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def respond(result: Result) -> Result:
    """The result itself, or a 400 JSON response when it carries an error."""
    error = as_error(result)
    if error is not None:
        return cast(Result, JSONResponse(error, status_code=400))
    return result


@bentoml.service(name="omnisense_local", workers=1, traffic={"timeout": 300}, logging=QUIET)
class LocalModels:
    """The entry service: the HTTP contract of the gateway's `local` adapter."""

    vision = bentoml.depends(Vision)
    text = bentoml.depends(Text)
    speech = bentoml.depends(Speech)

    def __init__(self) -> None:
        self._capabilities: Result | None = None

    async def __is_ready__(self) -> bool:
        """Ready once every family service has loaded its models and answers."""
        try:
            await self.capabilities()
        except Exception:
            return False
        return True

    @bentoml.api(route="/capabilities")
    async def capabilities(self) -> Result:
        if self._capabilities is None:
            parts = await asyncio.gather(
                forward(self.vision, "capabilities"),
                forward(self.text, "capabilities"),
                forward(self.speech, "capabilities"),
            )
            tasks: Result = {}
            for part in parts:
                tasks.update(part["tasks"])
            device = "cuda" if any(p["device"] == "cuda" for p in parts) else "cpu"
            self._capabilities = {"tasks": tasks, "device": device}
        return self._capabilities

    @bentoml.api(route="/vision/labels")
    async def vision_labels(self, image: str, max_results: int = 10) -> Result:
        if max_results < 1:
            return respond({"__error__": {"error": "invalid_input", "detail": "max_results must be at least 1"}})
        if BATCHING:
            result = (await forward(self.vision, "labels_batch", images=[image]))[0]
        else:
            result = await forward(self.vision, "labels", image=image)
        if as_error(result) is None:
            result["labels"] = result["labels"][:max_results]
        return respond(result)

    @bentoml.api(route="/vision/moderation")
    async def vision_moderation(self, image: str) -> Result:
        if BATCHING:
            return respond((await forward(self.vision, "moderation_batch", images=[image]))[0])
        return respond(await forward(self.vision, "moderation", image=image))

    @bentoml.api(route="/vision/faces")
    async def vision_faces(self, image: str) -> Result:
        return respond(await forward(self.vision, "faces", image=image))

    @bentoml.api(route="/vision/ocr")
    async def vision_ocr(self, image: str, language: str | None = None) -> Result:
        return respond(await forward(self.vision, "ocr", image=image, language=language))

    @bentoml.api(route="/text/sentiment")
    async def text_sentiment(self, text: str, language: str | None = None) -> Result:
        return respond(await forward(self.text, "sentiment", text=text, language=language))

    @bentoml.api(route="/text/entities")
    async def text_entities(self, text: str, language: str | None = None) -> Result:
        return respond(await forward(self.text, "entities", text=text, language=language))

    @bentoml.api(route="/text/key_phrases")
    async def text_key_phrases(self, text: str, language: str | None = None) -> Result:
        return respond(await forward(self.text, "key_phrases", text=text, language=language))

    @bentoml.api(route="/text/moderation")
    async def text_moderation(self, text: str, language: str | None = None) -> Result:
        return respond(await forward(self.text, "moderation", text=text, language=language))

    @bentoml.api(route="/text/language")
    async def text_language(self, text: str) -> Result:
        return respond(await forward(self.text, "language", text=text))

    @bentoml.api(route="/text/translate")
    async def text_translate(self, text: str, target_language: str, source_language: str | None = None) -> Result:
        return respond(
            await forward(
                self.text, "translate", text=text, target_language=target_language, source_language=source_language
            )
        )

    @bentoml.api(route="/speech/synthesize")
    async def speech_synthesize(
        self, text: str, voice: str | None = None, language: str | None = None, format: str = "wav"
    ) -> Result:
        return respond(
            await forward(self.speech, "synthesize", text=text, voice=voice, language=language, format=format)
        )

    @bentoml.api(route="/speech/transcribe")
    async def speech_transcribe(self, audio: str, language: str | None = None) -> Result:
        return respond(await forward(self.speech, "transcribe", audio=audio, language=language))


_entry: Any = LocalModels  # a bentoml Service object once decorated
_entry.add_asgi_middleware(ContractErrors, paths=[api.route for api in _entry.apis.values()])
