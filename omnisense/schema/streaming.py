"""Live transcription's wire contract: the messages of ``WS /v1/speech/transcribe/stream``.

A session is: the client sends one JSON ``StreamStart`` text frame, then binary audio frames,
then ``{"type": "end"}``. The gateway sends ``partial`` and ``final`` events (``StreamEvent``)
as text frames, and last ``done`` (``StreamDone``), then closes with 1000. Any other end is a
close code of ``CLOSE_CODES`` with a reason naming what was wrong; the session still leaves its
one log record. ``docs/streaming.md`` says the same for humans.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from omnisense.schema.requests import Language

StreamEncoding = Literal["pcm_s16le", "wav"]

SampleRate = Annotated[int, msgspec.Meta(ge=8000, le=48000)]


class StreamStart(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="start", tag_field="type"):
    """The first frame: how the audio that follows is encoded, and what the client wants back.

    ``pcm_s16le`` is raw little-endian 16-bit mono PCM at ``sample_rate``; ``wav`` is a RIFF
    stream whose header (in the first binary frame) gives the rate and must say 16-bit mono PCM.
    """

    encoding: StreamEncoding = "pcm_s16le"
    sample_rate: SampleRate = 16000
    language: Language | None = None
    interim: bool = True  # send partial events; False: finals only
    policy: str | None = None  # a named route, as the REST routing hint


class StreamEnd(msgspec.Struct, frozen=True, tag="end", tag_field="type"):
    """The client's last frame: no more audio; the gateway flushes, sends ``done`` and closes."""


ClientControl = StreamStart | StreamEnd


class StreamEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A piece of transcript. ``partial`` may be replaced by later events; ``final`` never is.

    Times are seconds from the start of the session's audio (not of a provider's connection,
    so they stay right across a failover).
    """

    type: Literal["partial", "final"]
    text: str
    start_s: float
    end_s: float
    provider: str
    confidence: float | None = None


class ProviderSeconds(msgspec.Struct, frozen=True, kw_only=True):
    provider: str
    audio_s: float
    cost_usd: float


class StreamDone(msgspec.Struct, frozen=True, kw_only=True):
    """The last event of a session that ended well (the client sent ``end``)."""

    type: Literal["done"] = "done"
    request_id: str
    text: str  # every final, joined
    audio_s: float  # usage: seconds of audio received
    cost_usd: float
    providers: list[ProviderSeconds]
    failovers: int


class StreamError(msgspec.Struct, frozen=True, kw_only=True):
    """Sent just before a non-1000 close, with the same code and reason, for clients that cannot read close frames."""

    type: Literal["error"] = "error"
    code: int
    reason: str


# Close codes (RFC 6455 §7.4: 1000-2999 are the protocol's, 4000-4999 are the application's).
CLOSE_CODES: dict[int, str] = {
    1000: "normal: the client sent end and got done",
    1001: "going away: the gateway is shutting down",
    1003: "unsupported data: a text frame where audio was expected, or audio that is not the declared encoding",
    1007: "invalid payload: the start message is not valid JSON or names a wrong field or value",
    1008: "policy violation: the first frame was not a start message",
    1009: "message too big: an audio frame over the frame-size limit",
    1011: "internal error",
    1013: "try again later: the gateway holds its maximum of live sessions",
    4001: "unauthorized: no key, or a key that is not known",
    4003: "forbidden: the key's scopes do not include speech.transcribe",
    4008: "idle: no frame from the client within the idle limit",
    4009: "session too long: the audio passed the maximum session length",
    4029: "rate limited",
    4002: "budget exhausted: the key's or route's budget ran out mid-stream; audio past it was not charged",
    4013: "backpressure: the client sent faster than the buffer drains",
    4503: "no provider: every streaming candidate failed",
}
