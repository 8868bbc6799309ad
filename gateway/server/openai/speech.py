"""``/v1/audio/speech`` (speech.synthesize) as a dialect of the native request path.

The JSON body as OpenAI takes it: ``model``, ``input``, ``voice``, ``response_format``
(``mp3`` by default, as OpenAI's), ``speed``, ``instructions``, ``stream_format``. The
provider is asked for WAV and the gateway encodes the format asked for
(``speech_formats``). OpenAI's voice names become a gender hint (any other name is the
provider's own voice); ``speed`` other than 1 and ``instructions`` are ignored (the
record's decisions say so); ``stream_format: sse`` is a 400 (no streamed synthesis yet).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Request

from gateway.server.dialect import Call
from gateway.server.inputs import build_request, max_body_bytes, read_body
from gateway.server.openai.dialect import OpenAIDialect
from gateway.server.openai.models import routing_for
from gateway.server.openai.speech_formats import MEDIA_TYPES, check_format, convert
from gateway.server.problems import unprocessable
from gateway.server.responses import AnswerResponse, trace_headers
from gateway.server.runtime import Runtime
from gateway.trace import RequestTrace
from omnisense.schema import Envelope, InvalidInput, SynthesizeResult, Task, TaskResult

FEMALE = frozenset({"alloy", "coral", "nova", "sage", "shimmer"})
MALE = frozenset({"ash", "ballad", "echo", "fable", "onyx", "verse"})


class SpeechBody(msgspec.Struct, kw_only=True):
    model: str
    input: str
    voice: str | None = None
    response_format: str = "mp3"
    speed: Annotated[float, msgspec.Meta(ge=0.25, le=4.0)] = 1.0
    instructions: str | None = None
    stream_format: str | None = None


@dataclass(frozen=True, slots=True)
class SpeechAsk:
    response_format: str
    notes: tuple[str, ...]


def _body(raw: bytes) -> SpeechBody:
    try:
        return msgspec.json.decode(raw, type=SpeechBody)
    except msgspec.ValidationError as exc:
        raise unprocessable(exc, "the JSON body is not valid for /v1/audio/speech") from None
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}") from None


def _voice(voice: str | None) -> dict[str, str]:
    if voice is None:
        return {}
    if voice in FEMALE or voice in MALE:
        return {"gender": "female" if voice in FEMALE else "male"}
    return {"voice": voice}


class SpeechDialect(OpenAIDialect):
    async def decode(
        self, task: Task, request: Request[Any, Any, Any], runtime: Runtime, headers: Mapping[str, str]
    ) -> Call:
        body = _body(await read_body(request, max_body_bytes(task, runtime.config.limits)))
        fmt = check_format(body.response_format)
        if body.stream_format not in (None, "audio"):
            raise InvalidInput(
                "stream_format: only 'audio' (the whole file): no streamed synthesis yet", field="stream_format"
            )
        notes = []
        if body.speed != 1.0:
            notes.append(f"openai: speed {body.speed:g} ignored")
        if body.instructions:
            notes.append("openai: instructions ignored")
        fields = {"text": body.input, "format": "wav", **_voice(body.voice)}
        req = build_request(task, fields, runtime.config.limits)
        req = msgspec.structs.replace(req, routing=routing_for(runtime, body.model))
        return Call(req, state=SpeechAsk(fmt, tuple(notes)))

    def answer(
        self, task: Task, answer: Any, call: Call, trace: RequestTrace, headers: Mapping[str, str]
    ) -> AnswerResponse:
        envelope: Envelope[TaskResult] = answer
        ask: SpeechAsk = call.state
        self.note(trace, [envelope], ask.notes)
        result = envelope.result
        assert isinstance(result, SynthesizeResult)
        fmt = ask.response_format
        audio, rate = (result.audio, None) if result.format == fmt else convert(result.audio, fmt)
        extra = {"X-Omnisense-Model": envelope.model, "X-Omnisense-Cost-Usd": f"{envelope.usage.cost_usd:.8f}"}
        if rate is not None:
            extra["X-Omnisense-Sample-Rate"] = str(rate)
        return AnswerResponse(audio, MEDIA_TYPES[fmt], {**trace_headers(trace), **extra})
