"""The OpenAPI description of the OpenAI dialect (``gateway.server.openai``): its endpoints,
bodies, answers and OpenAI-shaped errors, in the served document beside the native API."""

from __future__ import annotations

from typing import Any

from gateway.server.openai.speech_formats import FORMATS as SPEECH_FORMATS
from gateway.server.openai.speech_formats import MEDIA_TYPES
from gateway.server.openai.transcripts import FORMATS as TRANSCRIPT_FORMATS
from gateway.server.openapi_ops import PROBLEMS, ref

_STATUSES = ("400", "401", "403", "404", "413", "429", "502", "503", "504")
_ERRORS = {
    **PROBLEMS,
    "400": "Bad input (OpenAI answers 400 where the native API answers 415 or 422)",
    "404": "An unknown model (code: model_not_found); GET /v1/models lists them",
}
MODEL = (
    "omnisense (the default; also OpenAI's own names, whisper-1, tts-1, ...): the policy routes; a provider's"
    " name pins it; a named policy's name routes by it"
)
COMPONENTS: dict[str, Any] = {
    "OpenAIError": {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                    "param": {"type": ["string", "null"]},
                    "code": {"type": ["string", "null"]},
                },
                "required": ["message", "type", "param", "code"],
            }
        },
        "required": ["error"],
    },
    "OpenAITranscription": {
        "type": "object",
        "properties": {"text": {"type": "string"}},
        "required": ["text"],
        "description": "json: the text; verbose_json: also task, language, duration, segments and words",
    },
}
_NULLABLE_STR = {"anyOf": [{"type": "string"}, {"type": "null"}]}


def _errors(*statuses: str) -> dict[str, Any]:
    body = {"application/json": {"schema": ref("OpenAIError")}}
    return {s: {"description": _ERRORS[s], "content": body} for s in statuses}


def _op(op_id: str, summary: str, ok: dict[str, Any], body: dict[str, Any] | None) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": op_id,
        "tags": ["openai"],
        "summary": summary,
        "responses": {"200": ok, **_errors(*_STATUSES)},
    }
    if body is not None:
        op["requestBody"] = {"required": True, "content": body}
    return op


def _audio_form() -> dict[str, Any]:
    properties = {
        "file": {"type": "string", "format": "binary"},
        "model": {"type": "string", "minLength": 1, "description": MODEL},
        "language": {"type": "string", "pattern": r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$"},
        "prompt": {"type": "string", "description": "accepted and ignored"},
        "response_format": {"type": "string", "enum": list(TRANSCRIPT_FORMATS)},
        "temperature": {"type": "number", "minimum": 0, "maximum": 1, "description": "accepted and ignored"},
        "timestamp_granularities[]": {
            "type": "string",
            "enum": ["word", "segment"],
            "description": "verbose_json: word and/or segment times (the field repeated for both)",
        },
    }
    return {"multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": properties}}}


def _transcript(what: str) -> dict[str, Any]:
    text = {"schema": {"type": "string"}}
    return {
        "description": f"{what}: JSON (json, verbose_json), plain text (text, srt) or WebVTT (vtt)",
        "content": {"application/json": {"schema": ref("OpenAITranscription")}, "text/plain": text, "text/vtt": text},
    }


def _speech_body() -> dict[str, Any]:
    schema = {
        "type": "object",
        "required": ["model", "input"],
        "properties": {
            "model": {"type": "string", "description": MODEL},
            "input": {"type": "string", "minLength": 1, "pattern": r"[^\W_]"},
            "voice": {**_NULLABLE_STR, "description": "OpenAI's voices become a gender hint; others: the provider's"},
            "response_format": {"type": "string", "enum": list(SPEECH_FORMATS), "description": "aac: a 400"},
            "speed": {"type": "number", "minimum": 0.25, "maximum": 4, "description": "accepted; 1 is used"},
            "instructions": {**_NULLABLE_STR, "description": "accepted and ignored"},
            "stream_format": {"anyOf": [{"type": "string", "enum": ["audio"]}, {"type": "null"}]},
        },
    }
    return {"application/json": {"schema": schema}}


def _moderation_body() -> dict[str, Any]:
    text = {"type": "string", "minLength": 1, "pattern": r"\S"}
    schema = {
        "type": "object",
        "required": ["input"],
        "properties": {
            "input": {"anyOf": [text, {"type": "array", "items": text, "minItems": 1, "maxItems": 32}]},
            "model": {"type": "string", "description": MODEL},
        },
    }
    return {"application/json": {"schema": schema}}


def openai_paths() -> dict[str, dict[str, Any]]:
    binary = {"schema": {"type": "string", "format": "binary"}}
    audio = {"description": "The audio", "content": {MEDIA_TYPES[f]: binary for f in MEDIA_TYPES}}
    results = {"type": "object", "properties": {"results": {"type": "array", "items": {"type": "object"}}}}
    moderated = {
        "description": "One result per input, in OpenAI's categories",
        "content": {"application/json": {"schema": results}},
    }
    listed = {"description": "The model names", "content": {"application/json": {"schema": {"type": "object"}}}}
    models = {
        "operationId": "openai_list_models",
        "tags": ["openai"],
        "summary": "The model names the OpenAI dialect takes",
        "responses": {"200": listed, **_errors("401")},
    }
    return {
        "/v1/audio/transcriptions": {
            "post": _op(
                "openai_transcription", "speech.transcribe, as OpenAI", _transcript("The transcript"), _audio_form()
            )
        },
        "/v1/audio/translations": {
            "post": _op("openai_translation", "speech.transcribe into English", _transcript("English"), _audio_form())
        },
        "/v1/audio/speech": {"post": _op("openai_speech", "speech.synthesize, as OpenAI", audio, _speech_body())},
        "/v1/moderations": {
            "post": _op("openai_moderation", "text.moderation, as OpenAI", moderated, _moderation_body())
        },
        "/v1/models": {"get": models},
    }
