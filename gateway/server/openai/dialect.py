"""The base of the OpenAI dialect's endpoints: OpenAI's error shape, and a record that
adds up a call that ran more than one task request (a list moderated, a translation)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from gateway.server.dialect import Dialect
from gateway.server.openai.errors import error_answer
from gateway.server.responses import AnswerResponse, trace_headers
from gateway.trace import RequestTrace
from omnisense.schema import Envelope, OmnisenseError, TaskResult

_encoder = msgspec.json.Encoder()


class OpenAIDialect(Dialect):
    name = "openai"

    def problem(
        self, err: OmnisenseError, trace: RequestTrace | None, request_id: str, extra: dict[str, str]
    ) -> AnswerResponse:
        return error_answer(err, trace, request_id, extra)

    @staticmethod
    def note(trace: RequestTrace, envelopes: list[Envelope[TaskResult]], notes: Iterable[str]) -> None:
        """The call's one record: the units and cost of every request it ran, and what the dialect ignored."""
        record = trace.record
        if len(envelopes) > 1:
            record.units = sum(e.usage.units for e in envelopes)
            record.cost_usd = sum(e.usage.cost_usd for e in envelopes)
            record.decisions.append(f"openai: {len(envelopes)} requests in this call")
        record.decisions.extend(notes)


def json_answer(body: Any, trace: RequestTrace, headers: dict[str, str] | None = None) -> AnswerResponse:
    return AnswerResponse(_encoder.encode(body), "application/json", {**trace_headers(trace), **(headers or {})})
