"""Bounded work, without a server: VADER in linear time on pieces, the deadline a family
call carries, and the entry's gate (503 beyond the family's bound, 504 past the budget)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from omnilocal.budget import Admission, DeadlineExceeded, budget_from, check_deadline, set_deadline
from omnilocal.errors import guarded
from omnilocal.sentiment import VADER_CHUNK_CHARS, vader_chunks, vader_scores
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

VADER = SentimentIntensityAnalyzer()


def test_a_short_text_gets_vaders_own_answer() -> None:
    text = "The food was great but the service was terribly slow 😡"
    assert vader_scores(VADER, text) == VADER.polarity_scores(text)


def test_long_text_is_cut_into_bounded_pieces() -> None:
    emoji = "😀" * 5000
    pieces = vader_chunks(emoji, heavy=VADER.emojis)
    assert "".join(pieces) == emoji
    assert max(len(p) for p in pieces) * 16 <= VADER_CHUNK_CHARS + 16
    prose = "It was fine. " * 200
    assert all(len(p) <= VADER_CHUNK_CHARS for p in vader_chunks(prose, heavy=VADER.emojis))


def test_long_text_keeps_its_polarity() -> None:
    assert vader_scores(VADER, "I love this, it is wonderful. " * 500)["compound"] > 0.5
    assert vader_scores(VADER, "😞" * 20_000)["compound"] < -0.5


def test_scoring_stops_at_the_deadline() -> None:
    set_deadline(time.time() - 0.001)
    try:
        with pytest.raises(DeadlineExceeded):
            vader_scores(VADER, "😀" * 5000)
    finally:
        set_deadline(None)
    check_deadline()  # no deadline: nothing to check


def test_a_call_queued_past_its_deadline_is_not_run() -> None:
    ran: list[str] = []

    @guarded
    def model(text: str, deadline: float | None = None) -> dict[str, Any]:
        ran.append(text)
        return {"ok": True}

    late = model("late", deadline=time.time() - 1)
    assert late["__error__"]["error"] == "timeout" and not ran
    assert model("in time", deadline=time.time() + 5) == {"ok": True} and ran == ["in time"]


def test_budget_header() -> None:
    assert budget_from("2.5") == 2.5
    assert budget_from(None) == budget_from("junk") == 60.0
    assert budget_from("100000") == 300.0


def test_admission_bounds_each_family() -> None:
    gate = Admission(2)
    assert gate.enter("text") and gate.enter("text")
    assert not gate.enter("text") and gate.shed == 1
    assert gate.enter("vision"), "one family's queue does not block another"
    gate.leave("text")
    assert gate.enter("text")


def context(timeout: str | None = None) -> Any:
    headers = {"x-omnisense-timeout-s": timeout} if timeout else {}
    return SimpleNamespace(
        request=SimpleNamespace(headers=headers), response=SimpleNamespace(status_code=200, headers={})
    )


class SlowFamily:
    """A family dependency whose calls take ``delay_s`` and remember their deadline."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.deadlines: list[float] = []
        self.to_async = self

    async def sentiment(self, text: str, language: str | None = None, deadline: float | None = None) -> Any:
        assert deadline is not None
        self.deadlines.append(deadline)
        await asyncio.sleep(self.delay_s)
        return {"label": "positive"}


def test_the_gate_sheds_times_out_and_passes_the_deadline() -> None:
    asyncio.run(_gate_behaviour())


async def _gate_behaviour() -> None:
    from service import Gate

    gate, family = Gate(limit=1), SlowFamily(0.3)
    first = asyncio.ensure_future(gate.call("text", family, "sentiment", context(), text="a"))
    await asyncio.sleep(0.05)
    busy = context()
    shed = await gate.call("text", family, "sentiment", busy, text="b")
    assert busy.response.status_code == 503 and busy.response.headers["Retry-After"] == "1"
    assert shed["error"] == "overloaded"
    assert await first == {"label": "positive"}
    assert 55 < family.deadlines[0] - time.time() < 61, "the default budget became a deadline"
    slow = context("0.1")
    late = await gate.call("text", family, "sentiment", slow, text="c")
    assert slow.response.status_code == 504 and late["error"] == "timeout"
    assert gate.admission.held("text") == 0, "every call left the gate"


def test_bentoml_timeout_middleware_lets_go_of_finished_requests() -> None:
    """BentoML's TimeoutMiddleware left a timer per request alive for traffic.timeout
    (holding the request's context); patched, a finished request leaves no timer."""
    from bentoml._internal.server.http.traffic import TimeoutMiddleware
    from omnilocal.patches import patch_timeout_middleware

    assert patch_timeout_middleware()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def run() -> int:
        middleware = TimeoutMiddleware(app, timeout=300)
        sent: list[Any] = []

        async def send(message: Any) -> None:
            sent.append(message)

        async def receive() -> Any:
            return {"type": "http.request", "body": b""}

        for _ in range(200):
            await middleware({"type": "http"}, receive, send)
        loop = asyncio.get_running_loop()
        assert len(sent) == 400
        return sum(1 for h in loop._scheduled if not h.cancelled())  # type: ignore[attr-defined]

    assert asyncio.run(run()) == 0


def _apertium_processes() -> set[int]:
    """Processes of an apertium pipeline (the script and the lt-proc/apertium-* stages)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"apertium" in cmdline or b"lt-proc" in cmdline:
            found.add(int(entry.name))
    return found


def test_a_translation_keeps_to_the_budget_and_leaves_no_process() -> None:
    """An apertium step is bounded by the call's deadline, and the whole pipeline goes when it is up."""
    from omnilocal.translate import Translator

    translator = Translator()
    route = translator.route("en", "es")
    before = _apertium_processes()
    set_deadline(time.time() + 0.05)
    try:
        start = time.monotonic()
        with pytest.raises(DeadlineExceeded, match="time budget"):
            translator.translate("The cat is sleeping on the table. " * 2000, route)
        assert time.monotonic() - start < 2
    finally:
        set_deadline(None)
    assert not (_apertium_processes() - before), "the pipeline was killed with its script"
    assert "gato" in translator.translate("The cat is sleeping.", route).lower(), "unbounded: translated"
