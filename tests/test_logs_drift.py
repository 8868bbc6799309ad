"""Output drift (PSI), the in-memory drift monitor behind the metrics, and schema migrations."""

from __future__ import annotations

import sqlite3
import uuid
from collections import Counter
from pathlib import Path

import msgspec
import pytest

from gateway.logs import OutputSummary, RequestLog
from gateway.logs.drift import MIN_SAMPLES, DriftMonitor, OutputProfile, Sample, drift_level, drift_of, psi
from gateway.logs.postgres import PostgresSink
from gateway.logs.query import LogQuery
from gateway.logs.sqlite import SCHEMA_VERSION, SqliteSink, migrate
from gateway.metrics import Metrics
from tests.conftest import service_missing
from tests.test_logs_stores import PG_DSN, drop_schema, pg_available


def samples(mix: dict[str, int], confidence: float = 0.9, items: int = 1) -> list[Sample]:
    return [Sample(top, confidence, items) for top, n in mix.items() for _ in range(n)]


def test_psi_basics() -> None:
    same = Counter({"a": 50, "b": 50})
    assert psi(same, Counter({"a": 500, "b": 500})) == pytest.approx(0.0)
    assert psi(same, Counter({"a": 60, "b": 40})) < 0.1
    assert psi(same, Counter({"a": 90, "b": 10})) > 0.25
    assert psi(Counter(), same) == 0.0


def test_drift_of_label_mix_confidence_and_items() -> None:
    ref = samples({"positive": 70, "negative": 30})
    assert drift_of(ref, samples({"positive": 68, "negative": 32})) == pytest.approx(0.0, abs=0.01)
    assert drift_of(ref, samples({"positive": 20, "negative": 80})) > 0.25  # type: ignore[operator]
    assert drift_of(ref, samples({"positive": 70, "negative": 30}, confidence=0.45)) > 0.25  # type: ignore[operator]
    assert drift_of(ref, samples({"positive": 70, "negative": 30}, items=8)) > 0.25  # type: ignore[operator]
    assert drift_of(ref[: MIN_SAMPLES - 1], ref) is None
    assert drift_level(None) == "-" and drift_level(0.05) == "stable" and drift_level(0.4) == "SHIFT"


def test_output_profile() -> None:
    profile = OutputProfile.of(samples({"en": 3, "es": 1}, confidence=0.8, items=2))
    assert profile.samples == 4 and profile.top_mix == {"en": 0.75, "es": 0.25}
    assert profile.mean_confidence == pytest.approx(0.8) and profile.mean_items == 2
    assert profile.describe() == "en 75%, es 25%; conf 0.80; items 2.0"


def test_drift_monitor_rotates_windows() -> None:
    now = [0.0]
    monitor = DriftMonitor(window_s=60, clock=lambda: now[0])
    for s in samples({"positive": 80, "negative": 20}):
        monitor.observe("aws", "text.sentiment", s)
    assert monitor.snapshot()[("aws", "text.sentiment")][1] is None  # no reference yet
    now[0] = 61
    for s in samples({"positive": 10, "negative": 90}):
        monitor.observe("aws", "text.sentiment", s)
    profile, value = monitor.snapshot()[("aws", "text.sentiment")]
    assert profile is not None and profile.top_mix["negative"] == 0.9
    assert value is not None and value > 0.25
    now[0] = 500  # long idle: both windows are stale
    profile, value = monitor.snapshot()[("aws", "text.sentiment")]
    assert profile is None and value is None


def record(top: str, confidence: float) -> RequestLog:
    return RequestLog(
        request_id=uuid.uuid4().hex, time=0, task="text.sentiment", status="ok", http_status=200, latency_ms=5,
        provider="aws", output=OutputSummary(top=top, confidence=confidence, items=1),
    )  # fmt: skip


def test_metrics_drift_and_circuits() -> None:
    metrics = Metrics(drift_window_s=60)
    now = [0.0]
    metrics.drift.clock = lambda: now[0]
    for _ in range(50):
        metrics.observe(record("positive", 0.9))
    now[0] = 61
    for _ in range(50):
        metrics.observe(record("negative", 0.5))
    metrics.bind_circuits(lambda: [("aws", "text.sentiment", "open"), ("gcp", "vision.labels", "closed")])
    text = metrics.render()[0].decode()
    assert 'omnisense_output_drift_psi{provider="aws",task="text.sentiment"}' in text
    assert 'omnisense_output_mean_confidence{provider="aws",task="text.sentiment"} 0.5' in text
    assert 'omnisense_circuit_state{provider="aws",task="text.sentiment"} 2.0' in text
    assert 'omnisense_circuit_state{provider="gcp",task="vision.labels"} 0.0' in text
    assert 'omnisense_output_top_total{provider="aws",task="text.sentiment",top="negative"} 50.0' in text


def test_metrics_cap_top_values() -> None:
    metrics = Metrics()
    for i in range(80):
        metrics.observe(msgspec.structs.replace(record(f"l{i}", 0.9), task="text.language"))
    text = metrics.render()[0].decode()
    assert text.count('omnisense_output_top_total{provider="aws",task="text.language"') == 51  # 50, then "other"
    assert 'top="other"} 30.0' in text


def test_sqlite_migration_is_idempotent_and_refuses_the_future(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "r.db", isolation_level=None)
    assert migrate(conn) == 0
    assert migrate(conn) == SCHEMA_VERSION
    conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(RuntimeError, match="99"):
        migrate(conn)
    conn.close()
    with pytest.raises(RuntimeError, match="99"):
        SqliteSink(tmp_path / "r.db")


async def test_postgres_migration_at_start(tmp_path: Path) -> None:
    if not await pg_available():
        service_missing(f"no PostgreSQL at {PG_DSN}")
    schema = f"omnisense_mig_{uuid.uuid4().hex[:10]}"
    try:
        first = PostgresSink(PG_DSN, schema=schema)
        await first.start()
        await first.write([record("positive", 0.9)])
        await first.close()
        second = PostgresSink(PG_DSN, schema=schema)  # a restart: nothing to migrate, data kept
        await second.start()
        assert len((await second.query(LogQuery())).records) == 1
        assert second._pool is not None
        version = await second._pool.fetchval(f'SELECT version FROM "{schema}".schema_version')
        assert version == second.version == 3  # 2: the unique (time, request_id) index; 3: region
        await second._pool.execute(f'UPDATE "{schema}".schema_version SET version = 99')
        await second.close()
        with pytest.raises(RuntimeError, match="99"):
            await PostgresSink(PG_DSN, schema=schema).start()
    finally:
        await drop_schema(schema)


def test_postgres_rejects_odd_identifiers() -> None:
    with pytest.raises(ValueError):
        PostgresSink(PG_DSN, table='x"; DROP TABLE y; --')
