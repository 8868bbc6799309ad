"""Jobs while their store is down: a submit is a 503 with Retry-After (nothing accepted that is
not stored); a running job finishes its item, records it once the store is back, and ends (not
stuck ``running``) without calling the provider twice."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from contract_tests.scripted_provider import Ok, ScriptedProvider
from gateway.logs import MemorySink
from gateway.server import create_app
from tests.jobs_helpers import job_config, wait_until

Client = TestClient  # type: ignore[type-arg]


class Outage:
    """Makes the job store's methods fail while ``down``."""

    def __init__(self, store: Any) -> None:
        self.down = False
        self.failed = 0
        for name in ("create", "get", "update", "list_jobs", "claim"):
            setattr(store, name, self._wrap(getattr(store, name)))

    def _wrap(self, method: Any) -> Any:
        async def call(*args: Any, **kwargs: Any) -> Any:
            if self.down:
                self.failed += 1
                raise sqlite3.OperationalError("unable to open database file")
            return await method(*args, **kwargs)

        return call


@pytest.fixture
def jobs(policy_file: Path, sink: MemorySink) -> Iterator[Client]:
    with TestClient(create_app(job_config(policy_file), sink=sink)) as c:
        yield c


def test_submitting_while_the_store_is_down_is_a_503_with_retry_after(jobs: Client) -> None:
    outage = Outage(jobs.app.state.runtime.jobs.store)
    outage.down = True
    r = jobs.post("/v1/jobs", json={"task": "text.sentiment", "input": {"text": "hello"}})
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert r.json()["type"] == "/problems/job-store-unavailable"
    assert jobs.get("/v1/jobs").status_code == 503
    outage.down = False
    assert jobs.get("/v1/jobs").json()["jobs"] == [], "nothing was accepted"


def test_a_running_job_records_its_item_when_the_store_is_back(jobs: Client, sink: MemorySink) -> None:
    runtime = jobs.app.state.runtime
    primary: ScriptedProvider = runtime.providers["primary"]
    primary.script(Ok(delay_s=0.5))
    outage = Outage(runtime.jobs.store)
    job = jobs.post("/v1/jobs", json={"task": "text.sentiment", "input": {"text": "slow"}}).json()
    wait_until(lambda: jobs.get(f"/v1/jobs/{job['id']}").json()["status"] == "running")
    outage.down = True  # the item is in flight: it finishes while the store is down
    wait_until(lambda: [r for r in sink.records if r.request_id == f"{job['id']}.0"])
    wait_until(lambda: outage.failed >= 2, 5)  # the runner tried to record it, and tries again
    outage.down = False
    done = wait_until(lambda: (b := jobs.get(f"/v1/jobs/{job['id']}").json())["status"] == "succeeded" and b, 15)
    assert done["done"] == 1 and done["result"]["provider"] == "primary"
    assert len(primary.calls) == 1, "the item was not run again"


def test_a_store_down_for_longer_than_the_lease_does_not_start_the_job_twice(
    policy_file: Path, sink: MemorySink
) -> None:
    with TestClient(create_app(job_config(policy_file, lease_s=1.2), sink=sink)) as jobs:
        runtime = jobs.app.state.runtime
        primary: ScriptedProvider = runtime.providers["primary"]
        primary.script(*[Ok(delay_s=0.5)] * 4)
        outage = Outage(runtime.jobs.store)
        inputs = [{"text": f"item {i}"} for i in range(4)]
        job = jobs.post("/v1/jobs", json={"task": "text.sentiment", "inputs": inputs}).json()
        wait_until(lambda: jobs.get(f"/v1/jobs/{job['id']}").json()["status"] == "running")
        # Two leases long. The claim loop (every 50 ms) mostly meets the lapsed lease before the
        # job's next renewal (every 0.4 s) does.
        outage.down = True
        time.sleep(2.5)
        outage.down = False
        done = wait_until(lambda: (b := jobs.get(f"/v1/jobs/{job['id']}").json())["status"] == "succeeded" and b, 15)
    assert done["done"] == 4 and done["attempts"] == 1
    assert len(primary.calls) == 4, "every item ran once"
    ids = [r.request_id for r in sink.records if r.request_id.startswith(job["id"])]
    assert sorted(ids) == [f"{job['id']}.{i}" for i in range(4)], "one record per item"
