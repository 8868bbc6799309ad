"""The fault-injection matrix (see ``matrix.py``): for every fault kind and every strategy,
with one healthy candidate, every request is answered, the faulty provider gets at most
the configured attempts per request (and exactly the calls the log records: no retry layer
hides below the dispatcher), each request leaves one log record, and no process is left."""

from __future__ import annotations

import psutil
import pytest

from tests.faults.matrix import ATTEMPTS, SCENARIOS, STRATEGIES, run_cell

NOT_RETRYABLE = {"malformed 200", "truncated 200", "error inside 200", "adapter crash", "429 Retry-After 30s"}


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_one_healthy_candidate_answers_everything(scenario: str, strategy: str) -> None:
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    cell = run_cell(scenario, strategy, requests=6)
    assert cell.answered == cell.requests, f"{cell.answered}/{cell.requests} answered"
    assert cell.records == cell.requests, "exactly one log record per request"
    assert cell.max_calls <= (1 if scenario in NOT_RETRYABLE else ATTEMPTS)
    # Every call the faulty provider saw is a logged attempt (no retry hides below the
    # dispatcher). A hung attempt may time out before the fake has even read the request.
    seen, logged = cell.bad_calls, cell.recorded_bad_attempts
    assert all(c <= a for c, a in zip(seen, logged, strict=True)), (seen, logged)
    if scenario != "hang":
        assert seen == logged
    if scenario == "429 Retry-After 30s":
        assert cell.max_latency_s < 1.0, "a Retry-After beyond the deadline is not waited out"
    after = {p.pid for p in psutil.Process().children(recursive=True)}
    assert after <= before, "no process left behind"
