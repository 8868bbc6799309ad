"""The OpenAI dialect's routes: each a task route of the native request path with its dialect."""

from __future__ import annotations

from litestar.handlers import BaseRouteHandler

from gateway.server.config import Limits
from gateway.server.inputs import max_body_bytes
from gateway.server.openai.audio import TranscriptionDialect, TranslationDialect
from gateway.server.openai.models import list_models
from gateway.server.openai.moderation import MAX_INPUTS, ModerationDialect
from gateway.server.openai.speech import SpeechDialect
from gateway.server.tasks import TaskRoute
from omnisense.schema import Task


def openai_handlers(limits: Limits) -> list[BaseRouteHandler]:
    audio = max_body_bytes(Task.SPEECH_TRANSCRIBE, limits)
    text = max_body_bytes(Task.TEXT_MODERATION, limits)
    speech = max_body_bytes(Task.SPEECH_SYNTHESIZE, limits)
    routes: list[BaseRouteHandler] = [
        TaskRoute(Task.SPEECH_TRANSCRIBE, audio, path="/v1/audio/transcriptions", dialect=TranscriptionDialect()),
        TaskRoute(Task.SPEECH_TRANSCRIBE, audio, path="/v1/audio/translations", dialect=TranslationDialect()),
        TaskRoute(Task.SPEECH_SYNTHESIZE, speech, path="/v1/audio/speech", dialect=SpeechDialect()),
        TaskRoute(Task.TEXT_MODERATION, text * MAX_INPUTS, path="/v1/moderations", dialect=ModerationDialect()),
    ]
    routes.append(list_models)
    return routes
