"""The dashboard's stats table shows what redaction removed (counts per type, from ``/v1/stats``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from gateway.logs import MemorySink, RequestLog
from gateway.logs.record import RedactionSummary
from tests.conftest import LiveServer, make_config
from tests.test_dashboard_browser import browser, page, refreshed, table_rows  # noqa: F401  (fixtures)


def _redacted(i: int, summary: RedactionSummary) -> RequestLog:
    return RequestLog(
        request_id=f"red{i}", time=time.time() - 5, task="text.entities", status="ok", http_status=200,
        latency_ms=10.0, provider="primary", redaction=summary,
    )  # fmt: skip


def test_stats_table_shows_redaction_counts(policy_file: Path, page: Any) -> None:  # noqa: F811
    sink = MemorySink()
    sink.records += [
        _redacted(1, RedactionSummary(input={"EMAIL": 2, "PERSON": 1}, version="v")),
        _redacted(2, RedactionSummary(input={"EMAIL": 1}, output={"PHONE": 2}, version="v")),
    ]
    with LiveServer(make_config(policy_file), sink) as server:
        rows = httpx.get(f"{server.url}/v1/stats", params={"window": "1h"}).json()["rows"]
        assert rows[0]["redacted"] == {"EMAIL": 3, "PERSON": 1, "out:PHONE": 2}
        page.goto(f"{server.url}/dashboard")
        refreshed(page, 0)
        (shown,) = table_rows(page, "#stats-table")
        assert shown["redacted"] == "EMAIL 3, PERSON 1; out: PHONE 2"
