"""The limits of a live session (``streaming:`` in the gateway config), each with its close code."""

from __future__ import annotations

import msgspec


class StreamSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    max_session_s: float = 3600.0  # seconds of audio in one session; past it: 4009
    max_frame_bytes: int = 65536  # one binary frame (2 s of 16 kHz PCM); bigger: 1009
    idle_s: float = 10.0  # no frame from the client for this long (the start message too): 4008
    buffer_s: float = 10.0  # audio queued for the provider; full for longer than backpressure_s: 4013
    backpressure_s: float = 2.0  # how long a frame may wait for room in the buffer
    answer_timeout_s: float = 10.0  # audio sent and no hypothesis back for this long: fail over
    open_timeout_s: float = 10.0  # a provider stream must open within this: else fail over
    finish_timeout_s: float = 30.0  # after ``end``, the provider's last finals must come within this
    max_sessions: int = 1000  # open sessions per process; more: 1013 (try again later)
