"""GET /v1/logs, GET /v1/stats and GET /metrics; queue-full policies; tracing spans."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from contract_tests.scripted_provider import Fail
from gateway.logs import LogWriter, MemorySink, RequestLog
from gateway.server import create_app
from gateway.server.config import ApiKey, GatewayConfig, LogSettings, TracingSettings, hash_key
from gateway.tracing import Tracing
from omnisense.schema import UpstreamUnavailable
from tests.conftest import make_config

Client = TestClient[Any]
ADMIN = {"Authorization": "Bearer secret-admin"}


def settle(sink: MemorySink, count: int) -> None:
    deadline = time.monotonic() + 3
    while len(sink.records) < count and time.monotonic() < deadline:
        time.sleep(0.01)


def traffic(client: Client, sink: MemorySink) -> None:
    for i in range(3):
        client.post("/v1/text/sentiment", json={"text": f"t{i}"}, headers={**ADMIN, "X-Request-Id": f"s{i}"})
    client.post(
        "/v1/text/language", json={"text": "x"}, headers={"Authorization": "Bearer secret-a", "X-Request-Id": "l0"}
    )
    client.post("/v1/text/sentiment", json={"text": "x"}, headers={"X-Request-Id": "u0"})  # 401
    settle(sink, 5)


def test_logs_need_an_admin_key(protected_client: Client, sink: MemorySink) -> None:
    assert protected_client.get("/v1/logs").status_code == 401
    assert protected_client.get("/v1/logs", headers={"Authorization": "Bearer secret-a"}).status_code == 403
    assert protected_client.get("/v1/stats", headers={"Authorization": "Bearer secret-a"}).status_code == 403
    assert protected_client.get("/v1/logs", headers=ADMIN).status_code == 200


def test_logs_filters_and_pages(protected_client: Client, sink: MemorySink) -> None:
    traffic(protected_client, sink)

    def ids(**params: Any) -> list[str]:
        resp = protected_client.get("/v1/logs", params=params, headers=ADMIN)
        assert resp.status_code == 200, resp.text
        return [r["request_id"] for r in resp.json()["records"]]

    assert ids() == ["u0", "l0", "s2", "s1", "s0"]
    assert ids(task="text.language") == ["l0"]
    assert ids(status="401") == ["u0"]
    assert ids(status="ok", key="ops") == ["s2", "s1", "s0"]
    assert ids(provider="primary", key="team-a") == ["l0"]
    assert ids(since="1h") == ["u0", "l0", "s2", "s1", "s0"]
    assert ids(until=str(time.time() - 3600)) == []
    first = protected_client.get("/v1/logs", params={"limit": 2}, headers=ADMIN).json()
    assert [r["request_id"] for r in first["records"]] == ["u0", "l0"]
    assert ids(limit=2, cursor=first["next_cursor"]) == ["s2", "s1"]


@pytest.mark.parametrize(
    "params",
    [
        {"since": "soon"},
        {"limit": "many"},
        {"limit": ""},
        {"limit": "²"},
        {"limit": "0"},
        {"cursor": "%%%"},
        {"since": "nan"},
        {"until": "inf"},
        {"status": "bogus"},
        {"status": "²"},
        {"status": "5xx"},
    ],
)
def test_logs_bad_parameters_are_400(protected_client: Client, params: dict[str, str]) -> None:
    resp = protected_client.get("/v1/logs", params=params, headers=ADMIN)
    assert resp.status_code == 400
    assert resp.headers["content-type"].startswith("application/problem+json")


def test_stats_endpoint(protected_client: Client, sink: MemorySink) -> None:
    traffic(protected_client, sink)
    body = protected_client.get("/v1/stats", params={"window": "15m"}, headers=ADMIN).json()
    rows = {(r["provider"], r["task"]): r for r in body["rows"]}
    assert rows[("primary", "text.sentiment")]["requests"] == 3
    assert rows[("-", "text.sentiment")]["errors"] == 1
    assert rows[("primary", "text.sentiment")]["output"]["top_mix"] == {"positive": 1.0}


def test_metrics(client: Client, sink: MemorySink) -> None:
    provider = client.app.state.runtime.providers["primary"]
    provider.script(Fail(UpstreamUnavailable), Fail(UpstreamUnavailable))
    for _ in range(3):
        client.post("/v1/text/sentiment", json={"text": "fine"})
    client.post("/v1/text/sentiment", json={"text": ""})
    settle(sink, 4)
    resp = client.get("/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    text = resp.text
    assert 'omnisense_requests_total{code="200",provider="secondary",status="ok",task="text.sentiment"} 1.0' in text
    assert 'omnisense_requests_total{code="200",provider="primary",status="ok",task="text.sentiment"} 2.0' in text
    assert (
        'omnisense_provider_attempts_total{error="UpstreamUnavailable",outcome="error",provider="primary"} 2.0' in text
    )
    for name in (
        "omnisense_request_latency_seconds_bucket",
        "omnisense_gateway_overhead_seconds_bucket",
        "omnisense_cost_usd_total",
        "omnisense_log_queue_depth",
        "omnisense_log_dropped_total",
        "omnisense_log_spooled 0.0",
        "omnisense_log_spool_bytes 0.0",
        "omnisense_log_replayed_total 0.0",
        'omnisense_output_top_total{provider="primary",task="text.sentiment",top="positive"} 2.0',
        "omnisense_output_confidence_bucket",
        "omnisense_output_mean_confidence",
    ):
        assert name in text, name
    assert 'code="4' in text  # the empty text


def test_metrics_circuit_state(client: Client, sink: MemorySink) -> None:
    client.app.state.runtime.providers["primary"].script(*[Fail(UpstreamUnavailable)] * 10)
    for _ in range(5):
        assert client.post("/v1/text/sentiment", json={"text": "x"}).status_code == 200  # secondary answers
    text = client.get("/metrics").text
    assert 'omnisense_circuit_state{provider="primary",task="text.sentiment"} 2.0' in text
    assert 'omnisense_circuit_state{provider="secondary",task="text.sentiment"} 0.0' in text


def test_metrics_registries_are_per_app(policy_file: Path) -> None:
    one, two = MemorySink(), MemorySink()
    with (
        TestClient(create_app(make_config(policy_file), sink=one)) as a,
        TestClient(create_app(make_config(policy_file), sink=two)) as b,
    ):
        a.post("/v1/text/sentiment", json={"text": "x"})
        settle(one, 1)
        assert "omnisense_requests_total{" in a.get("/metrics").text
        assert "omnisense_requests_total{" not in b.get("/metrics").text


class SlowSink(MemorySink):
    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def write(self, records: Sequence[RequestLog]) -> None:
        await self.gate.wait()
        await super().write(records)


def rec(i: int) -> RequestLog:
    return RequestLog(
        request_id=f"q{i}", time=time.time(), task="text.sentiment", status="ok", http_status=200, latency_ms=1
    )


async def test_full_queue_drop_is_counted_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    sink = SlowSink()
    writer = LogWriter(sink, max_queue=4, batch_size=2, when_full="drop")
    writer.start()
    for i in range(20):
        writer.submit(rec(i))
    assert writer.dropped > 0
    assert "dropped record" in caplog.text
    sink.gate.set()
    await writer.aclose()
    assert writer.written + writer.dropped == 20 and len(sink.records) == writer.written


async def test_full_queue_block_waits_then_drops() -> None:
    sink = SlowSink()
    writer = LogWriter(sink, max_queue=2, batch_size=1, when_full="block", block_s=0.05)
    writer.start()
    for i in range(6):
        writer.submit(rec(i))
    await asyncio.sleep(0.01)
    sink.gate.set()  # room appears within block_s: the waiting records get in
    await writer.aclose()
    assert writer.dropped == 0 and len(sink.records) == 6
    sink2 = SlowSink()
    writer2 = LogWriter(sink2, max_queue=2, batch_size=1, when_full="block", block_s=0.02)
    writer2.start()
    for i in range(6):
        writer2.submit(rec(i))
    await asyncio.sleep(0.1)  # nobody makes room in time
    sink2.gate.set()
    await writer2.aclose()
    assert writer2.dropped > 0 and writer2.written + writer2.dropped == 6


async def test_submit_after_close_is_counted() -> None:
    writer = LogWriter(MemorySink())
    writer.start()
    await writer.aclose()
    writer.submit(rec(1))
    assert writer.dropped == 1


def test_tracing_is_off_by_default_and_does_not_import_otel() -> None:
    tracing = Tracing(TracingSettings())
    assert not tracing.enabled
    with tracing.request_span("text.sentiment", "r1") as span:
        assert span is None


def test_tracing_spans_per_request_and_attempt(policy_file: Path, sink: MemorySink) -> None:
    pytest.importorskip("opentelemetry.sdk", reason="tracing needs the otel extra")
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    config = GatewayConfig(
        policy=str(policy_file),
        keys=[ApiKey(id="team-a", sha256=hash_key("secret-a"))],
        logs=LogSettings(sink="none"),
    )
    with TestClient(create_app(config, sink=sink)) as client:
        runtime = client.app.state.runtime
        runtime.tracing = Tracing(TracingSettings(enabled=True), exporter=exporter)
        runtime.dispatcher.observers.append(runtime.tracing)
        runtime.providers["primary"].script(Fail(UpstreamUnavailable))
        headers = {"Authorization": "Bearer secret-a", "X-Request-Id": "tr-1"}
        assert client.post("/v1/text/sentiment", json={"text": "hi"}, headers=headers).status_code == 200
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert set(spans) == {"omnisense text.sentiment", "attempt primary"}
    request = spans["omnisense text.sentiment"]
    attempts = [s for s in exporter.get_finished_spans() if s.name == "attempt primary"]
    assert len(attempts) == 2
    assert request.attributes is not None and request.attributes["omnisense.request_id"] == "tr-1"
    assert request.attributes["omnisense.provider"] == "primary"
    for span in attempts:
        assert span.parent is not None and span.parent.span_id == request.context.span_id
        assert span.attributes is not None and span.attributes["omnisense.request_id"] == "tr-1"
    assert {s.attributes["omnisense.outcome"] for s in attempts if s.attributes} == {"error", "ok"}
    dumped = repr([dict(s.attributes or {}) for s in exporter.get_finished_spans()])
    assert "secret-a" not in dumped and "hi" not in dumped.replace("http", "")


async def test_writer_fills_batches_and_catches_up_when_asked() -> None:
    class CountingSink(MemorySink):
        batches = 0

        async def write(self, records: Sequence[RequestLog]) -> None:
            self.batches += 1
            await super().write(records)

    sink = CountingSink()
    writer = LogWriter(sink, batch_size=100, linger_s=5.0)
    writer.start()
    for i in range(3):
        writer.submit(rec(i))
    await asyncio.sleep(0.05)
    assert sink.records == []  # lingering: the batch is not full yet
    assert await writer.caught_up(timeout_s=2.0)  # what /v1/logs awaits before it reads
    assert [r.request_id for r in sink.records] == ["q0", "q1", "q2"] and sink.batches == 1
    writer.submit(rec(3))
    await writer.aclose()  # closing writes what lingers
    assert len(sink.records) == 4 and sink.batches == 2
