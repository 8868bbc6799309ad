"""Idempotency-Key on the task endpoints (issue #28): a retry gets the stored answer, one vendor call."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from litestar.testing import TestClient

from contract_tests.scripted_provider import ScriptedProvider
from gateway.logs import MemorySink
from tests.jobs_helpers import wait_until

Client = TestClient  # type: ignore[type-arg]


def calls(client: Client) -> int:
    found: Any = client.app.state.runtime.providers["primary"]
    assert isinstance(found, ScriptedProvider)
    return len(found.calls)


def test_a_repeated_idempotency_key_makes_one_vendor_call(client: Client, sink: MemorySink) -> None:
    body, headers = {"text": "charge me once"}, {"Idempotency-Key": "retry-1"}
    first = client.post("/v1/text/sentiment", json=body, headers=headers)
    again = client.post("/v1/text/sentiment", json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()  # the stored answer: the same request id, the same usage
    assert calls(client) == 1
    records = wait_until(lambda: sink.records if len(sink.records) >= 2 else None)
    assert [r.cache for r in records[:2]] == [None, "replay"]
    other = client.post("/v1/text/sentiment", json={"text": "something else"}, headers=headers)
    assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key"
    assert client.post("/v1/text/sentiment", json=body).status_code == 200  # no key: a new call
    assert calls(client) == 2


def test_repeats_in_flight_together_wait_for_the_first(client: Client) -> None:
    body, headers = {"text": "all at once"}, {"Idempotency-Key": "burst"}
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: client.post("/v1/text/sentiment", json=body, headers=headers), range(8)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["request_id"] for a in answers}) == 1
    assert calls(client) == 1


def test_a_failed_first_answer_is_not_kept(client: Client) -> None:
    from contract_tests.scripted_provider import Fail
    from omnisense.schema import UpstreamUnavailable

    for name in ("primary", "secondary"):
        client.app.state.runtime.providers[name].script(Fail(UpstreamUnavailable("scripted outage")))
    headers = {"Idempotency-Key": "try-again"}
    assert client.post("/v1/text/sentiment", json={"text": "x"}, headers=headers).status_code >= 500
    assert client.post("/v1/text/sentiment", json={"text": "x"}, headers=headers).status_code == 200
