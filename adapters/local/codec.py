"""Pure translation between normalized requests/results and the model server's JSON.

The model server (``local_models/``) already answers in the normalized shapes of
DESIGN §2, so ``from_vendor`` is a typed decode that re-checks every convention.
"""

from __future__ import annotations

import base64
from typing import Any

import msgspec

from gateway.schema import (
    RESULT_TYPES,
    ImageRequest,
    ImageSize,
    SynthesizeRequest,
    SynthesizeResult,
    Task,
    TaskRequest,
    TaskResult,
    TextRequest,
    TranscribeRequest,
    TranslateRequest,
)

ENDPOINTS: dict[Task, str] = {
    Task.VISION_LABELS: "/vision/labels",
    Task.VISION_OBJECTS: "/vision/objects",
    Task.VISION_FACES: "/vision/faces",
    Task.VISION_OCR: "/vision/ocr",
    Task.VISION_MODERATION: "/vision/moderation",
    Task.TEXT_SENTIMENT: "/text/sentiment",
    Task.TEXT_ENTITIES: "/text/entities",
    Task.TEXT_KEY_PHRASES: "/text/key_phrases",
    Task.TEXT_LANGUAGE: "/text/language",
    Task.TEXT_TRANSLATE: "/text/translate",
    Task.SPEECH_SYNTHESIZE: "/speech/synthesize",
    Task.SPEECH_TRANSCRIBE: "/speech/transcribe",
}


class _Synthesized(msgspec.Struct):
    audio: str
    format: str
    sample_rate: int | None = None
    voice: str | None = None


def to_vendor(request: TaskRequest) -> dict[str, Any]:
    if isinstance(request, ImageRequest):
        body: dict[str, Any] = {
            "image": base64.b64encode(request.image.data).decode(),
            "max_results": request.max_results,
        }
        if request.language:
            body["language"] = request.language
        return body
    if isinstance(request, TranscribeRequest):
        return {"audio": base64.b64encode(request.audio.data).decode(), "language": request.language}
    if isinstance(request, TranslateRequest):
        return {
            "text": request.text,
            "target_language": request.target_language,
            "source_language": request.source_language,
        }
    if isinstance(request, SynthesizeRequest):
        return {"text": request.text, "voice": request.voice, "language": request.language, "format": request.format}
    assert isinstance(request, TextRequest)
    return {"text": request.text, "language": request.language}


def from_vendor(task: Task, body: bytes, request: TaskRequest) -> TaskResult:
    """Decode (and so validate) the model server's answer for ``task``."""
    if task is Task.SPEECH_SYNTHESIZE:
        synth = msgspec.json.decode(body, type=_Synthesized)
        return SynthesizeResult(
            audio=base64.b64decode(synth.audio), format=synth.format, sample_rate=synth.sample_rate, voice=synth.voice
        )
    result = msgspec.json.decode(body, type=RESULT_TYPES[task])
    if isinstance(request, ImageRequest) and getattr(result, "image", None) is None and request.image.width:
        size = ImageSize(request.image.width, request.image.height or 0)
        result = msgspec.structs.replace(result, image=size)
    return result
