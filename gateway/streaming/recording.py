"""A live session's one RequestLog: what the session learnt, written when it closes.

Beyond the REST fields (key, policy, route, provider, attempts, units in seconds, cost) the
record's ``stream`` says each provider's seconds and cost, the failovers, the time to the
first partial and the close code and reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.kit.regions import combined
from gateway.logs.record import InputSummary, StreamSummary
from gateway.logs.record import RequestLog as RequestLog
from gateway.streaming.audio import AudioDecoder
from gateway.streaming.errors import HTTP_OF_CLOSE
from gateway.streaming.meter import Meter
from gateway.streaming.relay import Relay
from gateway.trace import RequestTrace
from omnisense.schema import OutputSummary, Task
from policies.residency import Placements


@dataclass
class SessionFacts:
    meter: Meter | None = None
    relay: Relay | None = None
    decoder: AudioDecoder | None = None
    language: str | None = None
    encoding: str | None = None
    interim: bool = True
    placements: Placements | None = None
    audio_s: float = 0.0
    first_partial_ms: float | None = None
    events: int = 0
    finals: list[str] = field(default_factory=list)


def finish_record(trace: RequestTrace, facts: SessionFacts, code: int, reason: str) -> RequestLog:
    status = HTTP_OF_CLOSE.get(code, code if 100 <= code < 600 else 500)
    error_type = None if code == 1000 else _error_type(code)
    record = trace.to_record(http_status=status, error_type=error_type, detail=None if code == 1000 else reason)
    record.overhead_ms = None  # a session's time is the client's pace, not the gateway's work (bench/streaming.py)
    meter, relay = facts.meter, facts.relay
    providers = meter.providers() if meter is not None else []
    if relay is not None:
        record.attempts = list(relay.attempts)
        record.provider = relay.serving
    record.units, record.unit = round(facts.audio_s, 3), "second"
    record.cost_usd = meter.cost_usd if meter is not None else 0.0
    decoder = facts.decoder
    record.input = InputSummary(
        bytes=decoder.bytes_in if decoder else 0, format=facts.encoding, audio_seconds=round(facts.audio_s, 3),
        language=facts.language,
    )  # fmt: skip
    if facts.finals:
        text = " ".join(facts.finals)
        record.output = OutputSummary(top=text[:80], items=len(facts.finals))
    if facts.placements is not None and meter is not None:  # every provider that heard audio
        found = [p for name in meter.seconds if (p := facts.placements.of(name, Task.SPEECH_TRANSCRIBE)) is not None]
        if found:
            where = combined(found)
            record.region, record.jurisdiction = where.region, where.jurisdiction
    record.stream = StreamSummary(
        close_code=code, close_reason=reason, providers=providers,
        failovers=relay.failovers if relay is not None else 0,
        first_partial_ms=facts.first_partial_ms, events=facts.events,
    )  # fmt: skip
    return record


def _error_type(code: int) -> str:
    return {
        1001: "ShuttingDown", 1003: "UnsupportedMediaType", 1007: "UnprocessableInput", 1008: "InvalidInput",
        1009: "PayloadTooLarge", 1011: "InternalError", 4001: "Unauthorized", 4002: "BudgetExceeded",
        4003: "Forbidden", 4008: "IdleTimeout", 4009: "SessionTooLong", 4013: "Backpressure",
        4029: "RateLimited", 4503: "NoProvider", 499: "ClientClosedRequest",
    }.get(code, "StreamClosed")  # fmt: skip
