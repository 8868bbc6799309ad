"""Ten minutes of audio as a job: through AWS Transcribe's job API (wire fake on moto) and
through the local model server in 30-second chunks (the real BentoML server and whisper).

The synchronous endpoint refuses the same audio with a 413 that names the jobs API.
"""

from __future__ import annotations

import io
import json
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from adapters.kit.long_audio import merge, split_wav
from contract_tests.conftest_aws import *  # noqa: F403  (the fixtures)
from contract_tests.conftest_aws import aws_block
from contract_tests.fakes.aws_json import AwsJsonFake
from gateway.logs import MemorySink
from gateway.server import create_app
from gateway.server.config import GatewayConfig, Limits
from omnisense.schema import TranscribeResult, Word
from tests.jobs_helpers import job_config, wait_until, wav

TEN_MINUTES = 600.0
WAV = {"Content-Type": "audio/wav"}
Client = TestClient  # type: ignore[type-arg]


def with_limits(config: GatewayConfig) -> GatewayConfig:
    import msgspec

    return msgspec.structs.replace(config, limits=Limits(max_audio_bytes=40 * 1024 * 1024, max_sync_audio_s=300))


def run_job(client: Client, audio: bytes, timeout_s: float) -> dict[str, Any]:
    r = client.post("/v1/jobs?task=speech.transcribe", content=audio, headers=WAV)
    assert r.status_code == 202, r.text

    def probe() -> dict[str, Any] | None:
        body: dict[str, Any] = client.get(r.headers["location"]).json()
        return body if body["status"] in ("succeeded", "failed", "cancelled") else None

    return wait_until(probe, timeout_s=timeout_s, every_s=0.5)


@pytest.fixture
def aws_gateway(tmp_path: Path, moto_url: str, aws_fake: AwsJsonFake) -> Iterator[Client]:
    policy = {
        "version": 1,
        "providers": {"aws": aws_block(moto_url, aws_fake.url, timeout_s=5)},
        "defaults": {"timeout_s": 5.0, "deadline_s": 10.0},
        "routes": {"*": {"candidates": ["aws"]}},
    }
    path = tmp_path / "policy.yaml"
    path.write_text(json.dumps(policy))
    aws_fake.reset()
    with TestClient(create_app(with_limits(job_config(path)), sink=MemorySink())) as client:
        yield client
    aws_fake.reset()


def test_ten_minutes_through_aws_transcribe_jobs(aws_gateway: Client, aws_fake: AwsJsonFake) -> None:
    audio = wav(TEN_MINUTES)
    refused = aws_gateway.post("/v1/speech/transcribe", content=audio, headers=WAV)
    assert refused.status_code == 413 and "/v1/jobs" in refused.json()["detail"]
    done = run_job(aws_gateway, audio, timeout_s=60)
    assert done["status"] == "succeeded", done
    envelope = done["result"]
    assert envelope["provider"] == "aws" and envelope["model"] == "transcribe"
    assert envelope["usage"]["units"] == TEN_MINUTES and envelope["usage"]["unit"] == "second"
    assert envelope["result"]["text"] and envelope["result"]["words"]
    (start,) = [
        r.json() for r in aws_fake.requests if r.headers.get("X-Amz-Target", "").endswith("StartTranscriptionJob")
    ]
    assert start["MediaFormat"] == "wav" and start["Media"]["MediaFileUri"].startswith("s3://")


def test_wav_chunks_and_merged_word_times() -> None:
    chunks = split_wav(wav(65.0), 30.0)
    assert chunks is not None and [offset for offset, _ in chunks] == [0.0, 30.0, 60.0]
    lengths = []
    for _, data in chunks:
        with wave.open(io.BytesIO(data)) as w:
            lengths.append(w.getnframes() / w.getframerate())
    assert lengths == [30.0, 30.0, 5.0]
    assert split_wav(wav(20.0), 30.0) is None and split_wav(b"ID3 not a wav", 30.0) is None
    merged = merge([
        (0.0, TranscribeResult(text="hello", confidence=0.8, words=[Word("hello", 1.0, 1.5, 0.8)], language="en")),
        (30.0, TranscribeResult(text="", confidence=0.0)),
        (60.0, TranscribeResult(text="world", confidence=0.6, words=[Word("world", 2.0, 2.5, 0.6)])),
    ])  # fmt: skip
    assert merged.text == "hello world" and merged.language == "en"
    assert [(w.text, w.start, w.end) for w in merged.words] == [("hello", 1.0, 1.5), ("world", 62.0, 62.5)]
    assert merged.confidence == pytest.approx(0.7)


def speech_at_the_end(spoken: bytes, total_s: float) -> tuple[bytes, float]:
    """``total_s`` of silence with ``spoken`` (a WAV) at its end; returns the audio and where speech starts."""
    with wave.open(io.BytesIO(spoken)) as w:
        params, pcm = w.getparams(), w.readframes(w.getnframes())
    speech_s = params.nframes / params.framerate
    offset = total_s - speech_s - 1.0
    silence = b"\x00" * (int(offset * params.framerate) * params.sampwidth * params.nchannels)
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setparams(params)
        w.writeframes(silence + pcm + b"\x00" * (params.framerate * params.sampwidth * params.nchannels))
    return out.getvalue(), offset


def test_ten_minutes_through_the_local_models_in_chunks(model_server_url: str, tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        "version: 1\nproviders:\n"
        f"  local: {{kind: local, url: '{model_server_url}', transcribe_chunk_s: 30, timeout_s: 120}}\n"
        'routes:\n  "*": {candidates: [local]}\n'
    )
    with TestClient(create_app(with_limits(job_config(path)), sink=MemorySink())) as client:
        spoken = client.post("/v1/speech/synthesize", json={"text": "Hello from the gateway"}).content
        audio, offset = speech_at_the_end(spoken, TEN_MINUTES)
        done = run_job(client, audio, timeout_s=600)
    assert done["status"] == "succeeded", done
    envelope = done["result"]
    assert envelope["provider"] == "local"
    assert envelope["usage"]["units"] == pytest.approx(TEN_MINUTES, abs=0.1)
    assert "gateway" in envelope["result"]["text"].lower()
    (word,) = [w for w in envelope["result"]["words"] if "gateway" in w["text"].lower()]
    assert offset < word["start"] < TEN_MINUTES  # the last chunk's times, shifted by its offset
