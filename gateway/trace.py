"""RequestTrace: what the gateway learns about one request while serving it.

The server opens a trace when a request arrives and closes it exactly once, whatever
happened (answer, bad input, upstream failure, client gone); the dispatcher fills in
the routing part. What the request log keeps is written straight into the trace's
``record`` (the request's one RequestLog) as it is learnt; the trace adds only the clocks
the record does not keep. Closing (``to_record``) writes the outcome and the times into
the record and hands it over.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from gateway.logs.record import RequestLog

if TYPE_CHECKING:
    from gateway.redaction.session import RedactionSession


class RequestTrace:
    __slots__ = ("record", "redaction", "started", "upstream_ms")

    def __init__(self, request_id: str, task: str, key_id: str | None = None) -> None:
        # status, http_status and latency_ms are known when the trace closes
        self.record = RequestLog(
            request_id=request_id, time=time.time(), task=task, status="ok", http_status=0, latency_ms=0.0,
            key_id=key_id,
        )  # fmt: skip
        self.started = time.perf_counter()
        self.upstream_ms = 0.0  # time spent waiting on providers (a cancelled hedge's aside)
        self.redaction: RedactionSession | None = None  # set by the dispatcher when the request redacts

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000.0

    def overhead_ms(self) -> float:
        return max(0.0, self.elapsed_ms() - self.upstream_ms)

    def to_record(self, *, http_status: int, error_type: str | None = None, detail: str | None = None) -> RequestLog:
        """The record, with the request's outcome and times written in: once, when the request ends."""
        elapsed = self.elapsed_ms()
        record = self.record
        record.status = "ok" if http_status < 400 else "error"
        record.http_status = http_status
        record.latency_ms = round(elapsed, 3)
        record.overhead_ms = round(max(0.0, elapsed - self.upstream_ms), 3)
        record.error_type, record.error_detail = error_type, detail
        return record
