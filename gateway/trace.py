"""RequestTrace: what the gateway learns about one request while serving it.

The server opens a trace when a request arrives and closes it exactly once, whatever
happened (answer, bad input, upstream failure, client gone); the dispatcher fills in
the routing part. Closing turns it into the one RequestLog of that request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from gateway.logs.record import InputSummary, OutputSummary, RequestLog, ShadowResult
from omnisense.schema import Attempt


@dataclass(slots=True)
class RequestTrace:
    request_id: str
    task: str
    key_id: str | None = None
    started: float = field(default_factory=time.perf_counter)
    wall_time: float = field(default_factory=time.time)
    policy: str | None = None
    route: str | None = None
    strategy: str | None = None
    provider: str | None = None
    model: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    upstream_ms: float = 0.0  # time spent waiting on the served provider
    units: float = 0.0
    unit: str | None = None
    cost_usd: float = 0.0
    input: InputSummary = field(default_factory=InputSummary)
    output: OutputSummary | None = None
    shadow: list[ShadowResult] = field(default_factory=list)
    cache: str | None = None  # "hit", "miss" or "bypass" when the route caches answers

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000.0

    def overhead_ms(self) -> float:
        return max(0.0, self.elapsed_ms() - self.upstream_ms)

    def to_record(self, *, http_status: int, error_type: str | None = None, detail: str | None = None) -> RequestLog:
        elapsed = self.elapsed_ms()
        return RequestLog(
            request_id=self.request_id,
            time=self.wall_time,
            task=self.task,
            status="ok" if http_status < 400 else "error",
            http_status=http_status,
            latency_ms=round(elapsed, 3),
            overhead_ms=round(max(0.0, elapsed - self.upstream_ms), 3),
            key_id=self.key_id,
            policy=self.policy,
            route=self.route,
            strategy=self.strategy,
            provider=self.provider,
            model=self.model,
            error_type=error_type,
            error_detail=detail,
            attempts=list(self.attempts),
            units=self.units,
            unit=self.unit,
            cost_usd=self.cost_usd,
            input=self.input,
            output=self.output,
            shadow=list(self.shadow),
            decisions=list(self.decisions),
            cache=self.cache,
        )
