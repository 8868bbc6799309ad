"""``/v1/moderations`` (text.moderation) as a dialect of the native request path.

``input`` is a string or a list of strings (each one request through the dispatcher, in
parallel; the call's one record adds them up). The gateway's categories map onto
OpenAI's names; each OpenAI score is the highest of the flags mapped onto it (a flag
without a score counts 0), a category is true at 0.5 or more, and ``flagged`` is the
gateway's own (any category at 0.5 or more):

=============  =================================
omnisense      OpenAI
=============  =================================
toxicity       harassment
insult         harassment
profanity      harassment
threat         harassment/threatening, violence
sexual         sexual
hate           hate
violence       violence
self_harm      self-harm
other          (none: only ``flagged``)
=============  =================================
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import msgspec
from litestar import Request

from gateway.server.dialect import Call, RunOne
from gateway.server.inputs import build_request, max_body_bytes, read_body
from gateway.server.openai.dialect import OpenAIDialect, json_answer
from gateway.server.openai.models import DEFAULT_MODEL, routing_for
from gateway.server.problems import unprocessable
from gateway.server.responses import AnswerResponse
from gateway.server.runtime import Runtime
from gateway.trace import RequestTrace
from omnisense.schema import Envelope, InvalidInput, Task, TaskRequest, TaskResult, TextModerationResult

OPENAI_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
MAPPING: dict[str, tuple[str, ...]] = {
    "toxicity": ("harassment",),
    "insult": ("harassment",),
    "profanity": ("harassment",),
    "threat": ("harassment/threatening", "violence"),
    "sexual": ("sexual",),
    "hate": ("hate",),
    "violence": ("violence",),
    "self_harm": ("self-harm",),
    "other": (),
}
FLAGGED_AT = 0.5
MAX_INPUTS = 32


class ModerationBody(msgspec.Struct, kw_only=True):
    input: str | list[str]
    model: str = DEFAULT_MODEL


def _body(raw: bytes) -> ModerationBody:
    try:
        return msgspec.json.decode(raw, type=ModerationBody)
    except msgspec.ValidationError as exc:
        raise unprocessable(
            exc, "the JSON body is not valid for /v1/moderations (input: a string or strings)"
        ) from None
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}") from None


def openai_result(result: TextModerationResult) -> dict[str, Any]:
    scores = dict.fromkeys(OPENAI_CATEGORIES, 0.0)
    for flag in result.flags:
        for name in MAPPING.get(flag.category, ()):
            scores[name] = max(scores[name], flag.confidence or 0.0)
    return {
        "flagged": result.flagged,
        "categories": {name: score >= FLAGGED_AT for name, score in scores.items()},
        "category_scores": scores,
        "category_applied_input_types": {name: ["text"] for name in OPENAI_CATEGORIES},
    }


class ModerationDialect(OpenAIDialect):
    async def decode(
        self, task: Task, request: Request[Any, Any, Any], runtime: Runtime, headers: Mapping[str, str]
    ) -> Call:
        limits = runtime.config.limits
        body = _body(await read_body(request, max_body_bytes(task, limits) * MAX_INPUTS))
        texts = [body.input] if isinstance(body.input, str) else body.input
        if not 1 <= len(texts) <= MAX_INPUTS:
            raise InvalidInput(f"input must have 1 to {MAX_INPUTS} strings, got {len(texts)}", field="input")
        routing = routing_for(runtime, body.model)
        requests = [msgspec.structs.replace(build_request(task, {"text": t}, limits), routing=routing) for t in texts]
        return Call(requests[0], state=(requests, body.model))

    async def run(self, task: Task, call: Call, run_one: RunOne) -> Any:
        requests: list[TaskRequest] = call.state[0]
        return await asyncio.gather(*(run_one(task, r) for r in requests))

    def answer(
        self, task: Task, answer: Any, call: Call, trace: RequestTrace, headers: Mapping[str, str]
    ) -> AnswerResponse:
        envelopes: list[Envelope[TaskResult]] = list(answer)
        self.note(trace, envelopes, ())
        results = []
        for envelope in envelopes:
            assert isinstance(envelope.result, TextModerationResult)
            results.append(openai_result(envelope.result))
        body = {"id": f"modr-{trace.record.request_id}", "model": call.state[1], "results": results}
        return json_answer(body, trace)
