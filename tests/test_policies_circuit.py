"""Circuit breakers and latency windows, table-driven over scripted outcomes and a fake clock."""

from __future__ import annotations

import pytest

from omnisense.schema import Attempt, Task
from policies.circuit import Breaker, CircuitBoard
from policies.latency import LatencyBook
from policies.model import CircuitSettings, Fastest

OK = Attempt(provider="p", outcome="ok", latency_ms=10.0)
FAIL = Attempt(provider="p", outcome="error", latency_ms=10.0, error_type="UpstreamUnavailable")
TIMEOUT = Attempt(provider="p", outcome="timeout", latency_ms=1000.0, error_type="UpstreamTimeout")
BAD_INPUT = Attempt(provider="p", outcome="error", latency_ms=1.0, error_type="InvalidInput")
CANCELLED = Attempt(provider="p", outcome="cancelled", latency_ms=50.0)
SEQ = {"o": OK, "f": FAIL, "t": TIMEOUT, "i": BAD_INPUT, "c": CANCELLED}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("settings", "outcomes", "state"),
    [
        (CircuitSettings(failures=3), "ff", "closed"),
        (CircuitSettings(failures=3), "fff", "open"),
        (CircuitSettings(failures=3), "ftf", "open"),  # timeouts are failures
        (CircuitSettings(failures=3), "ffof", "closed"),  # a success resets the streak
        (CircuitSettings(failures=3), "ffiif", "open"),  # bad input says nothing about the provider
        (CircuitSettings(failures=3), "ffccf", "open"),  # nor does a cancelled hedge
        (CircuitSettings(failures=0, failure_rate=0.5, window=10, min_calls=4), "fof", "closed"),  # too few calls
        (CircuitSettings(failures=0, failure_rate=0.5, window=10, min_calls=4), "fofo", "open"),
        (CircuitSettings(failures=0, failure_rate=0.5, window=4, min_calls=4), "oooofoo", "closed"),
        (
            CircuitSettings(failures=0, failure_rate=0.5, window=4, min_calls=4),
            "oooofoof",
            "open",
        ),  # old successes slid out
        (CircuitSettings(failures=0, failure_rate=0.5, window=4, min_calls=4), "ooofof", "open"),
    ],
)
def test_breaker_opens(settings: CircuitSettings, outcomes: str, state: str) -> None:
    b = Breaker(settings, Clock())
    for o in outcomes:
        b.record(SEQ[o])
    assert b.state() == state


@pytest.mark.parametrize(("trial", "after"), [("o", "closed"), ("f", "open"), ("t", "open"), ("c", "half_open")])
def test_half_open_trial(trial: str, after: str) -> None:
    clock = Clock()
    b = Breaker(CircuitSettings(failures=1, cooldown_s=10), clock)
    b.record(FAIL)
    assert b.state() == "open" and not b.acquire()
    clock.now += 9.9
    assert b.state() == "open" and b.cooldown_left_s() == pytest.approx(0.1)
    clock.now += 0.1
    assert b.state() == "half_open"
    assert b.acquire() and not b.acquire()  # exactly one trial at a time
    b.record(SEQ[trial])
    assert b.state() == after
    if after == "open":
        assert b.cooldown_left_s() == pytest.approx(10)  # a new cooldown


def test_board_keeps_one_breaker_per_provider_and_task() -> None:
    board = CircuitBoard(lambda task: CircuitSettings(failures=2), Clock())
    for _ in range(2):
        board.observe("p", Task.VISION_LABELS, FAIL)
    assert board.state("p", Task.VISION_LABELS) == "open"
    assert board.state("p", Task.VISION_OCR) == "closed"
    assert board.state("q", Task.VISION_LABELS) == "closed"
    assert board.by_provider() == {"p": "open"}
    board.observe("q", Task.VISION_LABELS, OK)
    assert board.by_provider() == {"p": "open", "q": "closed"}
    snap = board.snapshot()
    assert snap["p"]["vision.labels"]["state"] == "open" and snap["p"]["vision.labels"]["opened"] == 1


def test_board_takes_new_settings_on_reload_and_keeps_state() -> None:
    settings = {"n": 5}
    board = CircuitBoard(lambda task: CircuitSettings(failures=settings["n"]), Clock())
    board.observe("p", Task.VISION_LABELS, FAIL)
    settings["n"] = 2
    board.resettle()
    board.observe("p", Task.VISION_LABELS, FAIL)
    assert board.state("p", Task.VISION_LABELS) == "open"


@pytest.mark.parametrize(
    ("samples", "mean"),
    [("oo", 10.0), ("of", (10 + 5000) / 2), ("t", 5000.0), ("oi", 10.0), ("oc", 30.0)],
)
def test_latency_samples(samples: str, mean: float) -> None:
    book = LatencyBook(lambda task: Fastest(window=10), clock=Clock())
    for s in samples:
        book.observe("p", Task.VISION_LABELS, SEQ[s])
    stat = book.stat("p", Task.VISION_LABELS)
    assert stat is not None and stat.mean_ms == pytest.approx(mean)


def test_latency_window_slides_by_count_and_age() -> None:
    clock = Clock()
    book = LatencyBook(lambda task: Fastest(window=3, window_s=60), clock=clock)
    for ms in (100, 200, 300, 400):
        book.observe("p", Task.VISION_LABELS, Attempt(provider="p", outcome="ok", latency_ms=ms))
        clock.now += 10
    stat = book.stat("p", Task.VISION_LABELS)
    assert stat is not None and stat.samples == 3 and stat.mean_ms == 300 and stat.age_s == 10
    clock.now += 60
    assert book.stat("p", Task.VISION_LABELS) is None  # forgotten: the provider will be measured again


def test_a_breaker_adopts_a_circuit_another_replica_opened() -> None:
    now = [0.0]
    b = Breaker(CircuitSettings(failures=3, cooldown_s=30.0), clock=lambda: now[0])
    assert b.adopt_open(20.0) and b.state() == "open" and b.cooldown_left_s() == pytest.approx(20.0)
    assert not b.adopt_open(10.0) and b.cooldown_left_s() == pytest.approx(20.0)  # keeps the later end
    assert not b.adopt_open(25.0) and b.cooldown_left_s() == pytest.approx(25.0) and b.opened_count == 1
    now[0] = 25.0
    assert b.state() == "half_open" and b.acquire()
