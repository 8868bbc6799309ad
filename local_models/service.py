"""Omnisense local model server: one BentoML entry service composed of three
family services (vision, text, speech), each in processes of its own.

Serve (from this folder): ``bentoml serve service:LocalModels --port 3000``.
The entry service owns the HTTP contract the gateway relies on (README.md);
family services return results already in the gateway schema, or an
``{"__error__": {...}}`` payload that the entry turns into an HTTP 400.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any, cast

import aiohttp
import bentoml
from omnilocal import langs
from omnilocal.budget import TIMEOUT_HEADER, Admission, budget_from
from omnilocal.device import serve_environment
from omnilocal.errors import as_error, guarded
from omnilocal.http import ContractErrors
from omnilocal.live_ws import app as live_app
from omnilocal.live_ws import live_model, streaming_capability
from omnilocal.patches import patch_timeout_middleware
from starlette.responses import JSONResponse

serve_environment()
patch_timeout_middleware()  # BentoML keeps every request alive for traffic.timeout otherwise

Result = dict[str, Any]
FAMILY_TRAFFIC = {"timeout": 300}
QUIET = {"access": {"enabled": False}}
BATCHING = os.environ.get("LOCAL_MODELS_BATCHING", "1") != "0"
# Requests one family may hold (running or queued) before the entry sheds load with 503.
MAX_QUEUE = int(os.environ.get("LOCAL_MODELS_MAX_QUEUE", "64"))


@bentoml.service(
    name="omnisense_vision", workers=1, resources={"cpu": "1", "gpu": 1}, traffic=FAMILY_TRAFFIC, logging=QUIET
)
class Vision:
    """Labels and moderation (batchable), faces, objects (faces and persons), OCR, and video on the same models."""

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
    def faces(self, image: str, deadline: float | None = None) -> Result:
        return self.models.detect_faces(image)

    @bentoml.api
    @guarded
    def objects(self, image: str, classes: list[str] | None = None, deadline: float | None = None) -> Result:
        return self.models.detect_objects(image, classes)

    @bentoml.api
    @guarded
    def ocr(self, image: str, language: str | None = None, deadline: float | None = None) -> Result:
        return self.models.read_text(image, language)

    @bentoml.api
    @guarded
    def redact_image(self, image: str, faces: bool = True, text: bool = False, deadline: float | None = None) -> Result:
        return self.models.blurrer.blur(image, faces, text)

    # Video: frames sampled and batched inside one call (omnilocal.video), not across requests.
    @bentoml.api
    @guarded
    def video_labels(self, video: str, max_results: int = 50, deadline: float | None = None) -> Result:
        return self.models.video.labels(video, max_results)

    @bentoml.api
    @guarded
    def video_moderation(self, video: str, max_results: int = 50, deadline: float | None = None) -> Result:
        return self.models.video.moderation(video, max_results)

    @bentoml.api
    @guarded
    def video_shots(self, video: str, deadline: float | None = None) -> Result:
        return self.models.video.shots(video)


@bentoml.service(name="omnisense_text", workers=1, resources={"cpu": "1"}, traffic=FAMILY_TRAFFIC, logging=QUIET)
class Text:
    """Sentiment and moderation (batchable), language, entities, key phrases, translation."""

    def __init__(self) -> None:
        from omnilocal.text import TextModels

        self.models = TextModels()

    @bentoml.api
    def capabilities(self) -> Result:
        return {"tasks": self.models.capabilities(), "device": "cpu"}

    @bentoml.api
    @guarded
    def sentiment(self, text: str, language: str | None = None, deadline: float | None = None) -> Result:
        return self.models.sentiment(text, language)

    @bentoml.api(batchable=True, batch_dim=0, max_batch_size=32, max_latency_ms=60_000)
    def sentiment_batch(self, items: list[dict[str, Any]]) -> list[Result]:
        """``[{"text", "language"}, ...]``: the e5 embeddings of a batch in one pass."""
        return self.models.sentiment_many(items)

    @bentoml.api
    @guarded
    def entities(self, text: str, language: str | None = None, deadline: float | None = None) -> Result:
        return self.models.entities(text, language)

    @bentoml.api
    @guarded
    def key_phrases(self, text: str, language: str | None = None, deadline: float | None = None) -> Result:
        return self.models.key_phrases(text, language)

    @bentoml.api
    @guarded
    def moderation(self, text: str, language: str | None = None, deadline: float | None = None) -> Result:
        return self.models.moderation(text, language)

    @bentoml.api(batchable=True, batch_dim=0, max_batch_size=32, max_latency_ms=60_000)
    def moderation_batch(self, texts: list[str]) -> list[Result]:
        return self.models.moderation_many(texts)

    @bentoml.api
    @guarded
    def language(self, text: str, deadline: float | None = None) -> Result:
        return self.models.language(text)

    @bentoml.api
    @guarded
    def redact_text(self, texts: list[str], deadline: float | None = None) -> Result:
        pii = self.models.pii
        return {"spans": pii.find(texts), "version": pii.version}

    @bentoml.api
    @guarded
    def translate(
        self, text: str, target_language: str, source_language: str | None = None, deadline: float | None = None
    ) -> Result:
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
        self,
        text: str,
        voice: str | None = None,
        language: str | None = None,
        format: str = "wav",
        deadline: float | None = None,
    ) -> Result:
        return self.models.synthesize(text, voice, language, format)

    @bentoml.api
    def synthesize_stream(
        self,
        text: str,
        voice: str | None = None,
        language: str | None = None,
        format: str = "wav",
        deadline: float | None = None,
    ) -> Generator[str, None, None]:
        """NDJSON lines, a sentence's audio each (omnilocal.speech_stream)."""
        from omnilocal.speech_stream import synthesize_lines

        yield from synthesize_lines(self.models, text, voice, language, format, deadline)

    @bentoml.api
    @guarded
    def transcribe(
        self, audio: str, language: str | None = None, speakers: bool | int | None = None, deadline: float | None = None
    ) -> Result:
        return self.models.transcribe(audio, language, speakers)


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


def respond(result: Result, ctx: bentoml.Context | None = None) -> Result:
    """The result itself, or an error response when it carries an error: 400 for bad
    input, 504 for a call that ran out of its time budget. With ``ctx`` (an API that
    takes the request context) BentoML answers with ``ctx.response``'s status."""
    error = as_error(result)
    if error is None:
        return result
    status = 504 if error.get("error") == "timeout" else 400
    if ctx is None:
        return cast(Result, JSONResponse(error, status_code=status))
    ctx.response.status_code = status
    return error


# The batched models: one forward pass (an image resized to the model's input; a text's
# sentence pieces through the toxicity model or e5), with no loop that could check a deadline
# (the entry's timeout still bounds the caller's wait).
_ONE_PASS = frozenset({"labels", "labels_batch", "moderation", "moderation_batch", "sentiment_batch"})


class Gate:
    """What the entry does around every family call: admission (503 beyond the family's
    bound), the caller's time budget (a deadline the family checks; 504 when it is
    spent), and the error mapping."""

    def __init__(self, limit: int) -> None:
        self.admission = Admission(limit)

    async def call(
        self,
        family: str,
        dependency: Any,
        method: str,
        ctx: bentoml.Context,
        shape: Callable[[Any], Result] = lambda result: cast(Result, result),
        **kwargs: Any,
    ) -> Result:
        budget = budget_from(ctx.request.headers.get(TIMEOUT_HEADER))
        if not self.admission.enter(family):
            ctx.response.status_code = 503
            ctx.response.headers["Retry-After"] = "1"
            detail = f"the {family} models hold {self.admission.limit} requests already: try again shortly"
            return {"error": "overloaded", "detail": detail}
        try:
            async with asyncio.timeout(budget):
                deadline = {} if method in _ONE_PASS else {"deadline": time.time() + budget}
                result = await forward(dependency, method, **deadline, **kwargs)
        except TimeoutError:
            ctx.response.status_code = 504
            return {"error": "timeout", "detail": f"no answer within the caller's budget of {budget:.2f} s"}
        finally:
            self.admission.leave(family)
        return respond(shape(result), ctx)


def _english(language: str | None) -> bool:
    if language is None:
        return True
    try:
        return langs.base(langs.normalize(language)) == "en"
    except Exception:  # a malformed code: the unbatched call answers it
        return False


def _first(results: Any) -> Result:
    """A batched call's one answer."""
    return cast(Result, results[0])


@bentoml.asgi_app(live_app, path="/live")  # WS /live/transcribe: live transcription (omnilocal.live_ws)
@bentoml.service(name="omnisense_local", workers=1, traffic={"timeout": 300}, logging=QUIET)
class LocalModels:
    """The entry service: the HTTP contract of the gateway's `local` adapter."""

    vision = bentoml.depends(Vision)
    text = bentoml.depends(Text)
    speech = bentoml.depends(Speech)

    def __init__(self) -> None:
        self._capabilities: Result | None = None
        self.gate = Gate(MAX_QUEUE)
        live_model.load_in_background()  # Moonshine for WS /live/transcribe, off the start-up path

    def batch(self, family: str) -> bool:
        """Whether a batchable request goes to the family's batched API: when batching is on and the
        family already holds a request. A request alone goes straight to the plain API: BentoML's
        dispatcher holds a lone request back for the wait it learned under load (measured: +90 ms
        p50 for labels at 1 in flight), hoping for company that is not coming."""
        return BATCHING and self.gate.admission.held(family) > 0

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
            streaming_capability(tasks)
            device = "cuda" if any(p["device"] == "cuda" for p in parts) else "cpu"
            self._capabilities = {"tasks": tasks, "device": device}
        return self._capabilities

    @bentoml.api(route="/vision/labels")
    async def vision_labels(self, ctx: bentoml.Context, image: str, max_results: int = 10) -> Result:
        if max_results < 1:
            return respond({"__error__": {"error": "invalid_input", "detail": "max_results must be at least 1"}}, ctx)

        batched = self.batch("vision")

        def top(result: Any) -> Result:
            one: Result = result[0] if batched else result
            if as_error(one) is None:
                one["labels"] = one["labels"][:max_results]
            return one

        if batched:
            return await self.gate.call("vision", self.vision, "labels_batch", ctx, shape=top, images=[image])
        return await self.gate.call("vision", self.vision, "labels", ctx, shape=top, image=image)

    @bentoml.api(route="/vision/moderation")
    async def vision_moderation(self, ctx: bentoml.Context, image: str) -> Result:
        if self.batch("vision"):
            return await self.gate.call("vision", self.vision, "moderation_batch", ctx, shape=_first, images=[image])
        return await self.gate.call("vision", self.vision, "moderation", ctx, image=image)

    @bentoml.api(route="/vision/faces")
    async def vision_faces(self, ctx: bentoml.Context, image: str) -> Result:
        return await self.gate.call("vision", self.vision, "faces", ctx, image=image)

    @bentoml.api(route="/vision/objects")
    async def vision_objects(self, ctx: bentoml.Context, image: str, classes: list[str] | None = None) -> Result:
        return await self.gate.call("vision", self.vision, "objects", ctx, image=image, classes=classes)

    @bentoml.api(route="/vision/ocr")
    async def vision_ocr(self, ctx: bentoml.Context, image: str, language: str | None = None) -> Result:
        return await self.gate.call("vision", self.vision, "ocr", ctx, image=image, language=language)

    @bentoml.api(route="/text/sentiment")
    async def text_sentiment(self, ctx: bentoml.Context, text: str, language: str | None = None) -> Result:
        if self.batch("text"):
            items = [{"text": text, "language": language}]
            return await self.gate.call("text", self.text, "sentiment_batch", ctx, shape=_first, items=items)
        return await self.gate.call("text", self.text, "sentiment", ctx, text=text, language=language)

    @bentoml.api(route="/text/entities")
    async def text_entities(self, ctx: bentoml.Context, text: str, language: str | None = None) -> Result:
        return await self.gate.call("text", self.text, "entities", ctx, text=text, language=language)

    @bentoml.api(route="/text/key_phrases")
    async def text_key_phrases(self, ctx: bentoml.Context, text: str, language: str | None = None) -> Result:
        return await self.gate.call("text", self.text, "key_phrases", ctx, text=text, language=language)

    @bentoml.api(route="/text/moderation")
    async def text_moderation(self, ctx: bentoml.Context, text: str, language: str | None = None) -> Result:
        if _english(language) and self.batch("text"):  # the batch takes English texts only
            return await self.gate.call("text", self.text, "moderation_batch", ctx, shape=_first, texts=[text])
        return await self.gate.call("text", self.text, "moderation", ctx, text=text, language=language)

    @bentoml.api(route="/text/language")
    async def text_language(self, ctx: bentoml.Context, text: str) -> Result:
        return await self.gate.call("text", self.text, "language", ctx, text=text)

    @bentoml.api(route="/text/translate")
    async def text_translate(
        self, ctx: bentoml.Context, text: str, target_language: str, source_language: str | None = None
    ) -> Result:
        return await self.gate.call(
            "text", self.text, "translate", ctx, text=text, target_language=target_language,
            source_language=source_language,
        )  # fmt: skip

    @bentoml.api(route="/redact/text")
    async def redact_text(self, ctx: bentoml.Context, texts: list[str]) -> Result:
        """PII spans in each text (``omnilocal.redact_text``): ``{"spans": [[{begin, end, type, score}]], version}``."""
        return await self.gate.call("text", self.text, "redact_text", ctx, texts=texts)

    @bentoml.api(route="/redact/image")
    async def redact_image(self, ctx: bentoml.Context, image: str, faces: bool = True, text: bool = False) -> Result:
        """The image with faces and/or text regions blurred (``omnilocal.redact_image``)."""
        return await self.gate.call("vision", self.vision, "redact_image", ctx, image=image, faces=faces, text=text)

    @bentoml.api(route="/speech/synthesize")
    async def speech_synthesize(
        self, ctx: bentoml.Context, text: str, voice: str | None = None, language: str | None = None,
        format: str = "wav",
    ) -> Result:  # fmt: skip
        return await self.gate.call(
            "speech", self.speech, "synthesize", ctx, text=text, voice=voice, language=language, format=format
        )

    @bentoml.api(route="/speech/synthesize_stream")
    async def speech_synthesize_stream(
        self, ctx: bentoml.Context, text: str, voice: str | None = None, language: str | None = None,
        format: str = "wav",
    ) -> AsyncGenerator[str, None]:  # fmt: skip
        """The audio while it is made: NDJSON lines (omnilocal.speech_stream), whose last line says
        whether the stream is complete; refusals (overloaded) are such a line too."""
        admission = self.gate.admission
        if not admission.enter("speech"):
            detail = f"the speech models hold {admission.limit} requests already: try again shortly"
            yield json.dumps({"error": "overloaded", "detail": detail}) + "\n"
            return
        try:
            deadline = time.time() + budget_from(ctx.request.headers.get(TIMEOUT_HEADER))
            kwargs = {"text": text, "voice": voice, "language": language, "format": format, "deadline": deadline}
            async for piece in self.speech.to_async.synthesize_stream(**kwargs):
                yield piece
        finally:
            admission.leave("speech")

    @bentoml.api(route="/speech/transcribe")
    async def speech_transcribe(
        self, ctx: bentoml.Context, audio: str, language: str | None = None, speakers: bool | int | None = None
    ) -> Result:
        return await self.gate.call(
            "speech", self.speech, "transcribe", ctx, audio=audio, language=language, speakers=speakers
        )

    @bentoml.api(route="/video/labels")
    async def video_labels(self, ctx: bentoml.Context, video: str, max_results: int = 50) -> Result:
        return await self.gate.call("vision", self.vision, "video_labels", ctx, video=video, max_results=max_results)

    @bentoml.api(route="/video/shots")
    async def video_shots(self, ctx: bentoml.Context, video: str) -> Result:
        return await self.gate.call("vision", self.vision, "video_shots", ctx, video=video)

    @bentoml.api(route="/video/moderation")
    async def video_moderation(self, ctx: bentoml.Context, video: str, max_results: int = 50) -> Result:
        return await self.gate.call(
            "vision", self.vision, "video_moderation", ctx, video=video, max_results=max_results
        )


_entry: Any = LocalModels  # a bentoml Service object once decorated
_entry.add_asgi_middleware(ContractErrors, paths=[api.route for api in _entry.apis.values()])
