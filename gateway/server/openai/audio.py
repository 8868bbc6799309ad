"""``/v1/audio/transcriptions`` and ``/v1/audio/translations`` (speech.transcribe, then
text.translate into English) as dialects of the native request path.

Form fields as OpenAI takes them: ``file``, ``model``, ``language``, ``response_format``,
``timestamp_granularities[]``; ``prompt``, ``temperature``, ``include[]`` and
``chunking_strategy`` are accepted and ignored (the record's decisions say so), a field
OpenAI does not define is a 400, and so is ``stream=true`` (no streamed transcripts).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request

from gateway.server.dialect import Call, RunOne
from gateway.server.inputs import build_request
from gateway.server.openai.dialect import OpenAIDialect, json_answer
from gateway.server.openai.models import routing_for
from gateway.server.openai.transcripts import FORMATS, segments, srt, verbose, vtt
from gateway.server.responses import AnswerResponse, trace_headers
from gateway.server.runtime import Runtime
from gateway.trace import RequestTrace
from omnisense.schema import (
    Envelope,
    InvalidInput,
    Task,
    TaskResult,
    TranscribeRequest,
    TranscribeResult,
    TranslateRequest,
    TranslateResult,
)

_IGNORED = frozenset({"prompt", "temperature", "include[]", "chunking_strategy"})
_KNOWN = frozenset({"file", "model", "language", "response_format", "timestamp_granularities[]", "stream"}) | _IGNORED


@dataclass(frozen=True, slots=True)
class AudioAsk:
    response_format: str
    granularities: frozenset[str]
    notes: tuple[str, ...]


async def _form(request: Request[Any, Any, Any]) -> list[tuple[str, Any]]:
    form = await request.form()
    try:
        return [(n, await v.read() if hasattr(v, "read") else v) for n, v in form.multi_items()]
    finally:
        await form.close()


def _ask(fields: Mapping[str, Any], granularities: list[str]) -> AudioAsk:
    fmt = str(fields.get("response_format") or "json")
    if fmt not in FORMATS:
        raise InvalidInput(f"response_format must be one of {', '.join(FORMATS)}, got {fmt!r}", field="response_format")
    bad = [g for g in granularities if g not in ("word", "segment")]
    if bad:
        raise InvalidInput(
            f"timestamp_granularities[] takes word and segment, got {bad[0]!r}", field="timestamp_granularities[]"
        )
    stream = str(fields.get("stream", "false")).lower()
    if stream not in ("true", "false"):
        raise InvalidInput(f"stream must be true or false, got {stream!r}", field="stream")
    if stream == "true":
        raise InvalidInput("stream=true: this gateway answers transcripts whole", field="stream")
    _temperature(fields.get("temperature"))
    notes = tuple(f"openai: {name} ignored" for name in sorted(_IGNORED & fields.keys()))
    return AudioAsk(fmt, frozenset(granularities), notes)


def _temperature(value: Any) -> None:
    """Checked as OpenAI checks it (a number in [0, 1]), then ignored."""
    if value is None:
        return
    try:
        ok = 0.0 <= float(value) <= 1.0
    except ValueError:
        ok = False
    if not ok:
        raise InvalidInput(f"temperature must be a number in [0, 1], got {value!r}", field="temperature")


class TranscriptionDialect(OpenAIDialect):
    translates = False

    async def decode(
        self, task: Task, request: Request[Any, Any, Any], runtime: Runtime, headers: Mapping[str, str]
    ) -> Call:
        items = await _form(request)
        fields: dict[str, Any] = {}
        granularities: list[str] = []
        for name, value in items:
            if name not in _KNOWN:
                raise InvalidInput(f"unknown field {name!r}", field=name)
            if name == "timestamp_granularities[]":
                granularities.append(str(value))
            else:
                fields[name] = value
        if "file" not in fields:
            raise InvalidInput("the form has no 'file' field", field="file")
        ask = _ask(fields, granularities)
        # a translation's source language: the one heard, or ``language`` where the caller
        # knows it (not an OpenAI field there: the SDK sends it with extra_body)
        native = {"audio": fields["file"], "language": fields.get("language")}  # empty: a 400, as natively
        req = build_request(task, native, runtime.config.limits)
        req = msgspec.structs.replace(req, routing=routing_for(runtime, fields.get("model")))
        return Call(req, also=(Task.TEXT_TRANSLATE,) if self.translates else (), state=ask)

    async def run(self, task: Task, call: Call, run_one: RunOne) -> Any:
        heard = await run_one(task, call.request)
        if not self.translates:
            return [heard]
        result = heard.result
        assert isinstance(result, TranscribeResult)
        assert isinstance(call.request, TranscribeRequest)
        source = call.request.language or result.language
        if not result.text.strip() or (source or "").split("-")[0].lower() == "en":
            return [heard]
        text = TranslateRequest(
            text=result.text, target_language="en", source_language=source, routing=call.request.routing
        )
        return [heard, await run_one(Task.TEXT_TRANSLATE, text)]

    def answer(
        self, task: Task, answer: Any, call: Call, trace: RequestTrace, headers: Mapping[str, str]
    ) -> AnswerResponse:
        envelopes: list[Envelope[TaskResult]] = answer
        ask: AudioAsk = call.state
        self.note(trace, envelopes, ask.notes)
        assert isinstance(call.request, TranscribeRequest)
        duration = call.request.audio.duration_s
        result = _heard(envelopes)
        fmt = ask.response_format
        if fmt == "json":
            return json_answer({"text": result.text}, trace)
        if fmt == "verbose_json":
            return json_answer(verbose(result, duration, ask.granularities, self.openai_task), trace)
        if fmt == "text":
            body = result.text
        else:
            parts = segments(result, duration)
            body = srt(parts) if fmt == "srt" else vtt(parts)
        media = "text/vtt" if fmt == "vtt" else "text/plain"
        return AnswerResponse(body.encode(), f"{media}; charset=utf-8", trace_headers(trace))

    @property
    def openai_task(self) -> str:
        return "translate" if self.translates else "transcribe"


def _heard(envelopes: list[Envelope[TaskResult]]) -> TranscribeResult:
    """The transcript; after a translation, its English text (without word times: they were the source's)."""
    heard = envelopes[0].result
    assert isinstance(heard, TranscribeResult)
    if len(envelopes) == 1:
        return heard
    translated = envelopes[1].result
    assert isinstance(translated, TranslateResult)
    return TranscribeResult(text=translated.text, confidence=None, language="en")


class TranslationDialect(TranscriptionDialect):
    translates = True
