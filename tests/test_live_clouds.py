"""WS /v1/speech/transcribe/stream end to end on the cloud adapters: a real WebSocket client,
the gateway, each vendor's real SDK, and our wire-level fakes of AWS Transcribe streaming
(HTTP/2 event stream), Google StreamingRecognize (gRPC) and Azure Speech (the SDK's websocket)."""

from __future__ import annotations

import io
import math
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract_tests.fakes.aws_transcribe_stream import SEGMENT, Failure, TranscribeStreamingFake
from contract_tests.fakes.azure_speech_stream import DISPLAY, SpeechWebsocketFake
from contract_tests.fakes.google_speech_stream import MAX_STREAM_S, SpeechStreamingFake
from contract_tests.streaming_helpers import spoken_pcm
from gateway.logs import MemorySink
from gateway.server.config import ApiKey, GatewayConfig, LogSettings, hash_key
from tests.conftest import LiveServer
from tests.live_helpers import chunks, play, records_of

AUTH = {"Authorization": "Bearer secret-a"}
Fakes = tuple[TranscribeStreamingFake, SpeechStreamingFake, SpeechWebsocketFake]
GOOGLE_TEXT = "to be or not to be that is the question"


@pytest.fixture(scope="module")
def fakes() -> Iterator[Fakes]:
    aws, google, azure = TranscribeStreamingFake().start(), SpeechStreamingFake().start(), SpeechWebsocketFake().start()
    yield aws, google, azure
    aws.stop()
    google.stop()
    azure.stop()


@pytest.fixture(scope="module")
def speech_wav() -> tuple[bytes, float]:
    """The spoken sentence as the WAV file a client streams (``encoding: wav``), and its seconds."""
    pcm, rate = spoken_pcm()
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue(), len(pcm) / (2 * rate)


def _policy(
    tmp_path: Path,
    fakes: tuple[TranscribeStreamingFake, SpeechStreamingFake, SpeechWebsocketFake],
    *order: str,
    google_extra: str = "",
) -> Path:
    aws, google, azure = fakes
    path = tmp_path / "clouds.yaml"
    path.write_text(
        "version: 1\nproviders:\n"
        f"  aws: {{kind: aws, region: eu-west-1, access_key_id: {aws.access_key_id},"
        f" secret_access_key: {aws.secret_access_key},"
        f" endpoints: {{transcribestreaming: '{aws.url}'}}, ca_bundle: '{aws.ca_file}', timeout_s: 5}}\n"
        f"  google: {{kind: google, credentials: anonymous,"
        f" endpoints: {{speech_stream: '{google.url}'}}{google_extra}}}\n"
        f"  azure: {{kind: azure, key: {azure.key}, region: westeurope, endpoints: {{speech_stream: '{azure.url}'}}}}\n"
        f"routes:\n  speech.transcribe: {{candidates: [{', '.join(order)}]}}\n"
    )
    return path


def _server(policy: Path, sink: MemorySink) -> LiveServer:
    keys = [ApiKey(id="team-a", sha256=hash_key("secret-a"))]
    return LiveServer(GatewayConfig(policy=str(policy), keys=keys, logs=LogSettings(sink="none")), sink)


START = {"encoding": "wav", "language": "en", "interim": True}


@pytest.mark.parametrize(
    ("provider", "text", "cost"),
    [
        ("aws", SEGMENT, 15 * 0.0004),  # Transcribe: per second, 15 s minimum per stream
        ("google", GOOGLE_TEXT, 0.006),  # Speech-to-Text v1: rounded up to 15 s
        ("azure", DISPLAY, None),  # $1 an hour, per second
    ],
)
def test_a_live_session_through_each_cloud_sdk(
    tmp_path: Path,
    fakes: Fakes,
    speech_wav: tuple[bytes, float],
    provider: str,
    text: str,
    cost: float | None,
) -> None:
    wav, seconds = speech_wav
    sink = MemorySink()
    with _server(_policy(tmp_path, fakes, provider), sink) as server:
        played = play(server.url, chunks(wav, 8192), start=START, headers=AUTH, pace_s=0.01)
    assert played.code == 1000, played.reason
    assert played.of("partial"), "partials come before the end"
    assert " ".join(e["text"] for e in played.of("final")).replace(" ,", ",") == text
    assert {e["provider"] for e in played.events if e["type"] in ("partial", "final")} == {provider}
    done = played.events[-1]
    assert done["type"] == "done" and done["audio_s"] == pytest.approx(seconds, abs=0.01)
    expected = cost if cost is not None else math.ceil(seconds) / 3600  # whole seconds
    assert done["cost_usd"] == pytest.approx(expected, rel=1e-3)
    (record,) = records_of(sink)
    assert record.provider == provider and record.stream is not None and record.stream.close_code == 1000
    assert [p.provider for p in record.stream.providers] == [provider]


def test_aws_broken_mid_session_fails_over_to_google_in_one_record(
    tmp_path: Path,
    fakes: Fakes,
    speech_wav: tuple[bytes, float],
) -> None:
    aws = fakes[0]
    aws.fail(Failure.drop(after=2))
    wav, _ = speech_wav
    sink = MemorySink()
    with _server(_policy(tmp_path, fakes, "aws", "google"), sink) as server:
        played = play(server.url, chunks(wav, 8192), start=START, headers=AUTH, pace_s=0.01)
    assert played.code == 1000, played.reason
    by = [(e["type"], e["provider"]) for e in played.events if e["type"] in ("partial", "final")]
    assert by[:2] == [("partial", "aws"), ("partial", "aws")]  # what AWS said before its connection broke
    assert {p for t, p in by if t == "final"} == {"google"}
    assert played.events[-1]["failovers"] == 1
    (record,) = records_of(sink)
    assert record.stream is not None and record.stream.failovers == 1
    assert [p.provider for p in record.stream.providers] == ["aws", "google"]


@pytest.mark.parametrize("rolls_over", [True, False], ids=["limit-known", "limit-unknown"])
def test_google_past_its_stream_limit_rolls_over_to_a_new_stream(
    tmp_path: Path, fakes: Fakes, speech_wav: tuple[bytes, float], rolls_over: bool
) -> None:
    """The fake ends a stream past 1 s of audio with Google's OUT_OF_RANGE (as Google does past
    305 s). Told the limit (``stream_limit_s``), the session moves to fresh Google streams before
    it; told a longer one, Google's cut is an error and, with no other candidate, 4503."""
    google = fakes[1]
    google.reset()
    google.max_stream_s = 1.0
    wav, seconds = speech_wav
    sink = MemorySink()
    limit = ", stream_limit_s: 1.0" if rolls_over else ""
    try:
        with _server(_policy(tmp_path, fakes, "google", google_extra=limit), sink) as server:
            played = play(server.url, chunks(wav, 4096), start=START, headers=AUTH, pace_s=0.01)
    finally:
        google.max_stream_s = MAX_STREAM_S
    (record,) = records_of(sink)
    assert record.stream is not None
    if not rolls_over:
        assert played.code == 4503 and record.attempts[0].error_type == "UpstreamUnavailable"
        assert "Exceeded maximum allowed stream duration" in (record.attempts[0].detail or "")
        return
    assert played.code == 1000, played.reason
    assert played.events[-1]["failovers"] == 0 and record.stream.failovers == 0
    assert len(google.sessions) >= 3 and all(s.audio_seconds <= 1.0 for s in google.sessions)
    assert sum(s.audio_seconds for s in google.sessions) >= seconds  # every second heard at least once
    assert [a.outcome for a in record.attempts] == ["ok"] * len(google.sessions)
    assert {e["provider"] for e in played.of("final")} == {"google"}
