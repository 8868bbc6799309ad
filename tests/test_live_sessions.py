"""WS /v1/speech/transcribe/stream over a real WebSocket: sessions, failover in the middle of a
stream, budgets, and the close codes of bad input, each with its one record."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from contract_tests.scripted_stream import speech_pcm
from gateway.logs import MemorySink
from gateway.server.config import ApiKey, GatewayConfig, LogSettings, hash_key
from gateway.streaming.settings import StreamSettings
from tests.conftest import LiveServer, free_port
from tests.live_helpers import STREAMER, chunks, open_ws, play, records_of, stream_policy

WORDS: list[str | None] = [
    "alpha", "bravo", "charlie", None, "delta", "echo", None, None, "foxtrot", "golf", "hotel", "india", None,
    "juliet", "kilo", None, "lima", "mike", "november",
]  # fmt: skip
SPOKEN = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november"
START = {"encoding": "pcm_s16le", "sample_rate": 16000, "language": "en"}


def _server(policy: Path, sink: MemorySink, **kwargs: object) -> LiveServer:
    settings = StreamSettings(**kwargs)  # type: ignore[arg-type]
    keys = [ApiKey(id="team-a", sha256=hash_key("secret-a")), ApiKey(id="vision", sha256=hash_key("secret-v"),
            tasks=["vision.*"])]  # fmt: skip
    config = GatewayConfig(policy=str(policy), keys=keys, logs=LogSettings(sink="none"), streaming=settings)
    return LiveServer(config, sink)


AUTH = {"Authorization": "Bearer secret-a"}


def test_a_session_gets_partials_finals_and_done_and_leaves_one_record(tmp_path: Path) -> None:
    sink = MemorySink()
    with _server(stream_policy(tmp_path), sink) as server:
        played = play(server.url, chunks(speech_pcm(WORDS)), start=START, headers=AUTH)
    assert played.code == 1000
    assert played.final_text == SPOKEN
    partials = played.of("partial")
    assert partials and partials[0]["text"] == "alpha"
    assert {e["provider"] for e in played.events if e["type"] != "done"} == {"first"}
    done = played.events[-1]
    assert done["type"] == "done" and done["text"] == SPOKEN and done["failovers"] == 0
    assert done["audio_s"] == pytest.approx(len(WORDS) * 0.2)
    assert done["cost_usd"] == pytest.approx(len(WORDS) * 0.2 * 0.001)
    finals = played.of("final")
    assert finals[1]["start_s"] == pytest.approx(0.8) and finals[1]["end_s"] == pytest.approx(1.2)  # delta echo
    (record,) = records_of(sink)
    assert record.key_id == "team-a" and record.status == "ok" and record.provider == "first"
    assert record.stream is not None and record.stream.close_code == 1000
    assert record.stream.first_partial_ms is not None and record.units == pytest.approx(3.8)
    assert [p.provider for p in record.stream.providers] == ["first"]


def test_a_provider_killed_mid_session_loses_no_words_and_the_record_names_both(tmp_path: Path) -> None:
    sink = MemorySink()
    policy = stream_policy(tmp_path, first=", fail_after_s: 2.0")  # dies inside "foxtrot golf hotel india"
    with _server(policy, sink) as server:
        played = play(server.url, chunks(speech_pcm(WORDS)), start=START, headers=AUTH)
    assert played.code == 1000
    assert played.final_text == SPOKEN  # the same words as the uninterrupted session above
    finals = played.of("final")
    assert [f["provider"] for f in finals] == ["first", "first", "second", "second", "second"]
    assert finals[2]["text"] == "foxtrot golf hotel india"
    assert finals[2]["start_s"] == pytest.approx(1.6)  # on the session's time line, not the new stream's
    assert played.events[-1]["failovers"] == 1
    (record,) = records_of(sink)
    assert record.stream is not None and record.stream.failovers == 1
    by_provider = {p.provider: p for p in record.stream.providers}
    assert set(by_provider) == {"first", "second"}
    assert by_provider["first"].audio_s == pytest.approx(2.0, abs=0.21)
    # the second heard the audio since the last final (which ended at 1.2 s, after "echo") and the rest
    assert by_provider["second"].audio_s == pytest.approx(3.8 - 1.2)
    assert [a.provider for a in record.attempts] == ["first", "second"]
    assert record.attempts[0].outcome == "error" and record.attempts[1].outcome == "ok"
    assert record.cost_usd == pytest.approx(by_provider["first"].cost_usd + by_provider["second"].cost_usd)


def test_a_provider_that_stops_answering_is_failed_over(tmp_path: Path) -> None:
    sink = MemorySink()
    policy = stream_policy(tmp_path, first=", hang_after_s: 1.0")
    with _server(policy, sink, answer_timeout_s=0.5) as server:
        played = play(server.url, chunks(speech_pcm(WORDS)), start=START, headers=AUTH, pace_s=0.02)
    assert played.code == 1000 and played.final_text == SPOKEN
    (record,) = records_of(sink)
    assert record.stream is not None and record.stream.failovers == 1
    assert "no answer" in (record.attempts[0].detail or "")


def test_a_pause_longer_than_the_answer_limit_is_not_a_failover(tmp_path: Path) -> None:
    """Silence owes no answer: a speaker pausing for 2 s (limit 0.5 s), with finals only asked
    for, stays on the first provider."""
    sink = MemorySink()
    words: list[str | None] = ["alpha", "bravo", *[None] * 10, "charlie", None]
    with _server(stream_policy(tmp_path), sink, answer_timeout_s=0.5) as server:
        start = {**START, "interim": False}
        played = play(server.url, chunks(speech_pcm(words)), start=start, headers=AUTH, pace_s=0.1)
    assert played.code == 1000 and played.final_text == "alpha bravo charlie"
    assert {e["provider"] for e in played.events if e["type"] == "final"} == {"first"}
    (record,) = records_of(sink)
    assert record.stream is not None and record.stream.failovers == 0


def test_every_candidate_failing_closes_4503(tmp_path: Path) -> None:
    sink = MemorySink()
    policy = stream_policy(tmp_path, first=", refuse_open: true", second=", fail_after_s: 0.4")
    with _server(policy, sink) as server:
        played = play(server.url, chunks(speech_pcm(WORDS)), start=START, headers=AUTH)
    assert played.code == 4503
    assert played.events[-1] == {"type": "error", "code": 4503, "reason": played.reason}
    (record,) = records_of(sink)
    assert record.stream is not None and record.stream.close_code == 4503 and record.http_status == 503


def test_a_budget_that_runs_out_mid_stream_closes_4002_and_charges_nothing_past_it(tmp_path: Path) -> None:
    sink = MemorySink()
    budgets = "budgets:\n  - {key: team-a, usd_per_day: 0.002, then: reject}\n"  # 2 s of audio at $0.001/s
    with _server(stream_policy(tmp_path, budgets=budgets), sink) as server:
        played = play(server.url, chunks(speech_pcm(WORDS)), start=START, headers=AUTH)
        runtime = server.app.state.runtime
        spent = runtime.dispatcher.state.budgets.store.totals
    assert played.code == 4002
    assert "budget" in played.reason
    (record,) = records_of(sink)
    assert record.stream is not None and record.stream.close_code == 4002
    assert record.cost_usd <= 0.002 + 1e-9 and record.cost_usd == pytest.approx(0.002, abs=0.0002)
    assert max(spent.values()) <= 0.002 + 1e-9


def test_keys_and_scopes_are_those_of_rest(tmp_path: Path) -> None:
    sink = MemorySink()
    with _server(stream_policy(tmp_path), sink) as server:
        nokey = play(server.url, [], start=START)
        wrong = play(server.url, [], start=START, headers={"Authorization": "Bearer nope"})
        scoped = play(server.url, [], start=START, headers={"Authorization": "Bearer secret-v"})
    assert (nokey.code, wrong.code, scoped.code) == (4001, 4001, 4003)
    records = records_of(sink, 3)
    assert sorted(r.stream.close_code for r in records if r.stream) == [4001, 4001, 4003]
    assert {r.key_id for r in records} == {None, "vision"}


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("no start message", 1008),
        ("wrong encoding", 1007),
        ("text frame mid-audio", 1003),
        ("oversized frame", 1009),
        ("wav header that is not 16-bit mono", 1003),
    ],
)
def test_bad_input_gets_its_close_code_and_a_record(tmp_path: Path, case: str, code: int) -> None:
    sink = MemorySink()
    audio = speech_pcm(["alpha", "bravo"])
    start: dict[str, object] | None = START
    frames: list[bytes | str] = list(chunks(audio))
    if case == "no start message":
        start = None
    elif case == "wrong encoding":
        start = {**START, "encoding": "mp3"}
    elif case == "text frame mid-audio":
        frames = [frames[0], "hello", *frames[1:]]
    elif case == "oversized frame":
        frames = [b"\x00" * 70_000]
    else:
        start = {**START, "encoding": "wav"}
        frames = [_wav_header(channels=2) + audio]
    with _server(stream_policy(tmp_path), sink) as server:
        played = play(server.url, frames, start=start, headers=AUTH, end=False)
    assert played.code == code, played
    assert played.events and played.events[-1]["type"] == "error" and played.events[-1]["code"] == code
    (record,) = records_of(sink)
    assert record.stream is not None and record.stream.close_code == code and record.status == "error"


def test_a_silent_client_is_closed_4008_after_the_idle_limit(tmp_path: Path) -> None:
    sink = MemorySink()
    with _server(stream_policy(tmp_path), sink, idle_s=0.5) as server, open_ws(server.url, AUTH) as ws:
        ws.send(json.dumps({"type": "start", **START}))
        ws.send(speech_pcm(["alpha"]))
        began = time.monotonic()
        with contextlib.suppress(ConnectionClosed):
            while True:
                ws.recv(timeout=10)
        waited = time.monotonic() - began
        assert ws.close_code == 4008
    assert 0.4 < waited < 5
    (record,) = records_of(sink)
    assert record.stream is not None and record.stream.close_code == 4008


def test_a_wav_stream_is_read_from_its_header(tmp_path: Path) -> None:
    sink = MemorySink()
    audio = speech_pcm(["alpha", None, "bravo"], rate=8000)
    data = _wav_header(rate=8000) + audio
    with _server(stream_policy(tmp_path), sink) as server:
        played = play(server.url, [data[:30], data[30:100], data[100:]], start={"encoding": "wav"}, headers=AUTH)
    assert played.code == 1000 and played.final_text == "alpha bravo"
    assert played.events[-1]["audio_s"] == pytest.approx(0.6)


def _wav_header(rate: int = 16000, channels: int = 1, bits: int = 16) -> bytes:
    import struct

    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * bits // 8, channels * bits // 8, bits)
    return (
        b"RIFF"
        + struct.pack("<I", 0xFFFFFFFF)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", 0xFFFFFFFF)
    )


def test_a_client_that_goes_away_leaves_a_record_and_the_provider_stream_closed(tmp_path: Path) -> None:
    sink = MemorySink()
    with _server(stream_policy(tmp_path), sink) as server:
        with open_ws(server.url, AUTH) as ws:
            ws.send(json.dumps({"type": "start", **START}))
            ws.send(speech_pcm(["alpha", "bravo"]))
            assert json.loads(ws.recv(timeout=10))["type"] == "partial"
        (record,) = records_of(sink)
        streams = server.app.state.runtime.providers["first"].streams
    assert record.stream is not None and record.stream.close_code == 499 and record.http_status == 499
    assert record.attempts[0].outcome == "cancelled"
    assert len(streams) == 1 and streams[0].closed
    assert not server.app.state.runtime.sessions.open


def test_the_session_length_limit_closes_4009(tmp_path: Path) -> None:
    sink = MemorySink()
    with _server(stream_policy(tmp_path), sink, max_session_s=1.0) as server:
        played = play(server.url, chunks(speech_pcm(WORDS)), start=START, headers=AUTH, end=False)
    assert played.code == 4009
    (record,) = records_of(sink)
    assert record.stream is not None and record.stream.close_code == 4009 and record.units <= 1.0 + 0.1


def test_a_client_faster_than_the_provider_gets_backpressure_then_4013(tmp_path: Path) -> None:
    sink = MemorySink()
    policy = stream_policy(tmp_path, first=", send_latency_ms: 300")
    with _server(policy, sink, buffer_s=0.3, backpressure_s=0.3) as server:
        played = play(server.url, chunks(speech_pcm(WORDS * 3)), start=START, headers=AUTH, end=False)
    assert played.code == 4013
    (record,) = records_of(sink)
    assert record.stream is not None and record.stream.close_code == 4013


def test_the_keys_rate_limit_counts_a_session_as_a_request(tmp_path: Path) -> None:
    sink = MemorySink()
    keys = [ApiKey(id="slow", sha256=hash_key("secret-s"), rate_per_minute=1)]
    config = GatewayConfig(policy=str(stream_policy(tmp_path)), keys=keys, logs=LogSettings(sink="none"))
    headers = {"Authorization": "Bearer secret-s"}
    with LiveServer(config, sink) as server:
        first = play(server.url, chunks(speech_pcm(["alpha"])), start=START, headers=headers)
        second = play(server.url, chunks(speech_pcm(["alpha"])), start=START, headers=headers)
    assert (first.code, second.code) == (1000, 4029)
    assert sorted(r.stream.close_code for r in records_of(sink, 2) if r.stream) == [1000, 4029]


def test_the_local_model_server_killed_mid_session_fails_over_with_no_word_lost(tmp_path: Path) -> None:
    """The real local adapter on a model-server stand-in (``tests/fake_live_models.py``), SIGKILLed
    once the session is under way: the scripted provider takes over from the last final."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    server = subprocess.Popen([sys.executable, "-m", "tests.fake_live_models", str(port)], env=env)
    try:
        _wait_port(port)
        policy = tmp_path / "policy.yaml"
        policy.write_text(
            "version: 1\nproviders:\n"
            f"  local: {{kind: local, url: 'http://127.0.0.1:{port}'}}\n"
            f'  second: {{kind: "{STREAMER}", label: second, price_usd: 0.0005}}\n'
            "routes:\n  speech.transcribe: {candidates: [local, second]}\n"
        )
        sink = MemorySink()
        with _server(policy, sink) as gateway, open_ws(gateway.url, AUTH) as ws:
            ws.send(json.dumps({"type": "start", **START}))
            frames = chunks(speech_pcm(WORDS))
            for frame in frames[:12]:  # 1.2 s: "alpha bravo charlie" finalled, "delta echo" under way
                ws.send(frame)
            events = [json.loads(ws.recv(timeout=10)) for _ in range(4)]
            server.kill()
            server.wait(10)
            for frame in frames[12:]:
                ws.send(frame)
            ws.send(json.dumps({"type": "end"}))
            with contextlib.suppress(ConnectionClosed):
                while True:
                    events.append(json.loads(ws.recv(timeout=20)))
            assert ws.close_code == 1000
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
    finals = [e for e in events if e["type"] == "final"]
    assert " ".join(f["text"] for f in finals) == SPOKEN
    assert finals[0]["provider"] == "local" and finals[-1]["provider"] == "second"
    (record,) = records_of(sink)
    assert record.stream is not None and record.stream.failovers == 1
    assert {p.provider for p in record.stream.providers} == {"local", "second"}
    assert record.attempts[0].provider == "local" and record.attempts[0].outcome == "error"


def _wait_port(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError("the stand-in model server did not start")


def test_a_browser_sends_its_key_as_the_bearer_subprotocol(tmp_path: Path) -> None:
    from websockets.sync.client import connect

    sink = MemorySink()
    with _server(stream_policy(tmp_path), sink) as server:
        url = server.url.replace("http://", "ws://") + "/v1/speech/transcribe/stream"
        with connect(url, subprotocols=["bearer", "secret-a"]) as ws:  # type: ignore[list-item]
            assert ws.subprotocol == "bearer"
            ws.send(json.dumps({"type": "start", **START}))
            ws.send(speech_pcm(["alpha", None]))
            ws.send(json.dumps({"type": "end"}))
            with contextlib.suppress(ConnectionClosed):
                while True:
                    ws.recv(timeout=10)
            assert ws.close_code == 1000
    (record,) = records_of(sink)
    assert record.key_id == "team-a"


def test_interim_false_sends_finals_only(tmp_path: Path) -> None:
    sink = MemorySink()
    with _server(stream_policy(tmp_path), sink) as server:
        played = play(server.url, chunks(speech_pcm(WORDS)), start={**START, "interim": False}, headers=AUTH)
    assert played.code == 1000 and not played.of("partial")
    assert played.final_text == SPOKEN


def test_a_residency_requirement_keeps_the_session_within_it(tmp_path: Path) -> None:
    sink = MemorySink()
    policy = stream_policy(tmp_path, first=", region: us-east-1", second=", region: eu-west-1")
    eu = {**AUTH, "X-Omnisense-Residency": "eu"}
    with _server(policy, sink) as server:
        played = play(server.url, chunks(speech_pcm(WORDS)), start=START, headers=eu)
        nowhere = play(server.url, [], start=START, headers={**AUTH, "X-Omnisense-Residency": "ch"})
    assert played.code == 1000 and {e["provider"] for e in played.of("final")} == {"second"}
    assert nowhere.code == 1007 and "residency" in nowhere.reason
    served, refused = records_of(sink, 2)
    assert (served.region, served.jurisdiction) == ("eu-west-1", "eu")
    assert refused.stream is not None and refused.stream.close_code == 1007
