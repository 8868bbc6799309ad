"""``/v1/stats`` sums what redaction removed, per provider and task, in every log store."""

from __future__ import annotations

from gateway.logs.query import LogQuery, LogStore
from gateway.logs.record import RedactionSummary
from tests.test_logs_stores import NOW, rec, store, write  # noqa: F401  (store: the fixture)


async def test_stats_sum_redaction_counts(store: LogStore) -> None:  # noqa: F811
    records = [rec(i, time=NOW - 100 + i) for i in range(4)]
    records[0].redaction = RedactionSummary(input={"EMAIL": 2, "PERSON": 1}, version="omnilocal-pii-1")
    records[1].redaction = RedactionSummary(input={"EMAIL": 1}, output={"PHONE": 3}, version="omnilocal-pii-1")
    records[2].redaction = RedactionSummary(outcome="unavailable")
    await write(store, records)
    (row,) = (await store.stats(3600, now=NOW)).rows
    assert row.requests == 4
    assert row.redacted == {"EMAIL": 3, "PERSON": 1, "out:PHONE": 3}
    page = await store.query(LogQuery())
    kept = {r.request_id: r.redaction for r in page.records}
    assert kept[records[1].request_id] == records[1].redaction  # the record keeps counts and version
