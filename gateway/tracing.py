"""OpenTelemetry tracing: off by default, an OTLP/HTTP exporter when configured.

With ``tracing.enabled: false`` (the default) every method here is a no-op and
``opentelemetry`` is never imported. When enabled, each request gets a SERVER span
(``omnisense <task>``) and each provider attempt a child span (``attempt <provider>``),
all carrying ``omnisense.request_id``. The tracer provider is private to the app (no
global ``set_tracer_provider``), so two apps in one process never mix their spans.

Attempt spans come from the dispatcher's observer hook, which is told about an
attempt when it ends: the span is started back-dated by the attempt's latency, as a
child of the request span that is current in the request's context. Spans carry ids,
names, outcomes and numbers only — never a key, a credential, a payload or an error
message from a vendor.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

import msgspec

from gateway.logs.record import RequestLog
from omnisense.schema import Attempt, Task

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, Tracer


_NO_SPAN: AbstractContextManager[None] = nullcontext()  # reusable: tracing off costs no generator per request


class TracingSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    enabled: bool = False  # OpenTelemetry; off by default
    endpoint: str | None = None  # OTLP/HTTP traces endpoint; default: $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or the SDK's
    service_name: str = "omnisense"
    sample_ratio: float = 1.0


class Tracing:
    def __init__(self, settings: TracingSettings, *, exporter: SpanExporter | None = None) -> None:
        self.enabled = settings.enabled
        self._provider: TracerProvider | None = None
        self._tracer: Tracer | None = None
        if self.enabled:
            self._provider, self._tracer = _build(settings, exporter)

    def request_span(self, task: str, request_id: str) -> AbstractContextManager[Span | None]:
        """The request's span, current while the request is served; None when off (at no cost)."""
        if self._tracer is None:
            return _NO_SPAN
        return self._span(task, request_id)

    @contextmanager
    def _span(self, task: str, request_id: str) -> Iterator[Span | None]:
        assert self._tracer is not None
        from opentelemetry.trace import SpanKind

        with self._tracer.start_as_current_span(
            f"omnisense {task}",
            kind=SpanKind.SERVER,
            attributes={"omnisense.request_id": request_id, "omnisense.task": task},
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            yield span

    @staticmethod
    def finish(span: Span | None, record: RequestLog) -> None:
        """Copy the record's outcome onto the request span."""
        if span is None:
            return
        from opentelemetry.trace import Status, StatusCode

        attrs: dict[str, Any] = {
            "omnisense.status": record.status,
            "http.response.status_code": record.http_status,
            "omnisense.latency_ms": record.latency_ms,
            "omnisense.cost_usd": record.cost_usd,
            "omnisense.attempts": len(record.attempts),
        }
        for name, value in (
            ("omnisense.provider", record.provider),
            ("omnisense.model", record.model),
            ("omnisense.policy", record.policy),
            ("omnisense.key_id", record.key_id),
            ("omnisense.error_type", record.error_type),
            ("omnisense.overhead_ms", record.overhead_ms),
        ):
            if value is not None:
                attrs[name] = value
        span.set_attributes(attrs)
        if record.status != "ok":
            span.set_status(Status(StatusCode.ERROR, record.error_type))

    def observe(self, provider: str, task: Task, attempt: Attempt) -> None:
        """The dispatcher's AttemptObserver hook: one child span per finished attempt."""
        if self._tracer is None:
            return
        from opentelemetry import trace
        from opentelemetry.trace import Status, StatusCode

        parent = trace.get_current_span()
        request_id = getattr(parent, "attributes", {}).get("omnisense.request_id") if parent.is_recording() else None
        end = time.time_ns()
        span = self._tracer.start_span(
            f"attempt {provider}", start_time=end - int(attempt.latency_ms * 1e6), kind=trace.SpanKind.CLIENT
        )
        attrs: dict[str, Any] = {
            "omnisense.provider": provider,
            "omnisense.task": task.value,
            "omnisense.outcome": attempt.outcome,
            "omnisense.latency_ms": attempt.latency_ms,
            "omnisense.hedged": attempt.hedged,
        }
        if request_id is not None:
            attrs["omnisense.request_id"] = request_id
        if attempt.error_type:
            attrs["omnisense.error_type"] = attempt.error_type
            span.set_status(Status(StatusCode.ERROR, attempt.error_type))
        span.set_attributes(attrs)
        span.end(end_time=end)

    async def aclose(self) -> None:
        """Flush and stop the exporter (blocking briefly: at shutdown only)."""
        if self._provider is not None:
            self._provider.shutdown()
            self._provider = None
            self._tracer = None


def _build(settings: TracingSettings, exporter: SpanExporter | None) -> tuple[TracerProvider, Tracer]:
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
        from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "tracing is enabled but OpenTelemetry is not installed: pip install 'omnisense[otel]'"
        ) from exc
    provider = TracerProvider(
        resource=Resource.create({"service.name": settings.service_name}),
        sampler=ParentBased(TraceIdRatioBased(settings.sample_ratio)),
    )
    if exporter is not None:  # tests: in-memory, exported at once
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        otlp = OTLPSpanExporter(endpoint=settings.endpoint) if settings.endpoint else OTLPSpanExporter()
        provider.add_span_processor(BatchSpanProcessor(otlp))
    return provider, provider.get_tracer("omnisense")
