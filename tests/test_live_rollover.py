"""A live session longer than its vendor's cap on one stream rolls over to a new stream of the
same provider: no failover, no word lost or repeated, one record naming each stream."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest

from contract_tests.scripted_stream import speech_pcm
from gateway.logs import MemorySink
from gateway.server.config import ApiKey, GatewayConfig, LogSettings, hash_key
from gateway.streaming.rollover import HARD_SHARE, StreamClock
from tests.conftest import LiveServer
from tests.live_helpers import chunks, play, records_of, stream_policy

AUTH = {"Authorization": "Bearer secret-a"}
START = {"encoding": "pcm_s16le", "sample_rate": 16000, "language": "en"}
PAUSED: list[str | None] = [
    "alpha", "bravo", "charlie", None, "delta", "echo", None, None, "foxtrot", "golf", "hotel", "india", None,
    "juliet", "kilo", None, "lima", "mike", "november", None,
]  # fmt: skip
UNBROKEN: list[str | None] = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
                              "juliet", "kilo", "lima", "mike", "november", "oscar"]  # fmt: skip


def _server(policy: Path, sink: MemorySink) -> LiveServer:
    keys = [ApiKey(id="team-a", sha256=hash_key("secret-a"))]
    return LiveServer(GatewayConfig(policy=str(policy), keys=keys, logs=LogSettings(sink="none")), sink)


@pytest.mark.parametrize(("words", "cap"), [(PAUSED, 1.5), (UNBROKEN, 1.0)], ids=["with-pauses", "unbroken"])
def test_a_session_past_the_vendors_cap_rolls_over_with_every_word_once(
    tmp_path: Path, words: list[str | None], cap: float
) -> None:
    spoken = " ".join(w for w in words if w)
    sink = MemorySink()
    # "first" errors on any stream given more than `cap` seconds (as Google past 305 s); a
    # failover would show as finals from "second"
    with _server(stream_policy(tmp_path, first=f", max_audio_s: {cap}"), sink) as server:
        played = play(server.url, chunks(speech_pcm(words)), start=START, headers=AUTH)
        streams = server.app.state.runtime.providers["first"].streams
    assert played.code == 1000, played.reason
    finals = played.of("final")
    assert " ".join(f["text"] for f in finals) == spoken
    assert {f["provider"] for f in finals} == {"first"} and played.events[-1]["failovers"] == 0
    assert all(a["end_s"] <= b["start_s"] + 1e-6 for a, b in itertools.pairwise(finals))  # one time line
    seconds = len(words) * 0.2
    assert len(streams) >= seconds / cap and all(s.received_s <= cap + 1e-9 for s in streams)
    assert not any(s.dead for s in streams)
    (record,) = records_of(sink)
    assert record.stream is not None and record.stream.failovers == 0
    assert [a.provider for a in record.attempts] == ["first"] * len(streams)
    assert all(a.outcome == "ok" for a in record.attempts)
    assert all("rolled over" in (a.detail or "") for a in record.attempts[:-1]) and record.attempts[-1].detail is None
    (used,) = record.stream.providers
    assert used.provider == "first" and used.audio_s >= seconds  # the replays are heard (and billed) twice


def test_with_pauses_the_roll_over_waits_for_one() -> None:
    """From 90 % of the cap a silent frame starts the next stream; a word goes on to 97 %."""
    clock = StreamClock(10.0, 16000)
    word, pause = b"\x10\x27" * 1600, b"\0\0" * 1600  # 0.1 s each
    for _ in range(89):
        clock.sent(word, replayed=False)
    assert not clock.roll_over_before(pause, audible=False)  # 9.0 s: not yet
    clock.sent(word, replayed=False)
    assert clock.roll_over_before(pause, audible=False)
    assert not clock.roll_over_before(word, audible=True)
    for _ in range(5):
        clock.sent(word, replayed=False)
    assert not clock.roll_over_before(word, audible=True)  # 9.5 s sent, 9.6 with it
    for _ in range(2):
        clock.sent(word, replayed=False)
    assert clock.roll_over_before(word, audible=True)  # 9.8 s with it: past HARD_SHARE, a word or not
    assert 9.6 < 10.0 * HARD_SHARE < 9.8


def test_the_cap_counts_wall_clock_time_too_and_a_stream_takes_one_new_frame_first() -> None:
    """Google's limit is the stream's duration: a slow client's stream rolls over on time, not audio."""
    clock = StreamClock(1.0, 16000)
    clock.opened = time.monotonic() - 0.95
    frame = b"\0\0" * 160
    assert not clock.roll_over_before(frame, audible=False)  # only a replay so far: progress first
    clock.sent(frame, replayed=False)
    assert clock.roll_over_before(frame, audible=False)
    assert not StreamClock(None, 16000).roll_over_before(frame, audible=False)
