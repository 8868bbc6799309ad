"""AWS live transcription: the real streaming SDK (amazon-transcribe, awscrt HTTP/2) against our
wire-level fake of ``StartStreamTranscription`` (``contract_tests/fakes/aws_transcribe_stream.py``)."""

from __future__ import annotations

import asyncio
import os
import threading

import psutil
import pytest

from adapters import registry
from adapters.aws.provider import AwsProvider
from adapters.aws.transcribe_stream import AwsTranscriptionStream, stream_locale
from adapters.base import StreamingTranscriber, TranscriptionStream
from contract_tests.conftest_aws import aws_live_provider, aws_stream_provider, stream_block, transcribe_stream_fake
from contract_tests.fakes.aws_transcribe_stream import END, SEGMENT, START, Failure, TranscribeStreamingFake
from contract_tests.streaming_helpers import Heard, ctx, read_all, spoken_pcm, transcribe_live
from omnisense.schema import Task, Unsupported, UpstreamAuth, UpstreamThrottled, UpstreamUnavailable

__all__ = ["aws_live_provider", "aws_stream_provider", "transcribe_stream_fake"]


@pytest.fixture(scope="module")
def speech() -> tuple[bytes, int]:
    return spoken_pcm()


async def test_the_provider_declares_and_is_a_streaming_transcriber(aws_stream_provider: AwsProvider) -> None:
    assert isinstance(aws_stream_provider, StreamingTranscriber)
    assert aws_stream_provider.info.capabilities[Task.SPEECH_TRANSCRIBE].streaming


async def test_spoken_audio_gives_partials_then_a_final_with_its_times(
    aws_stream_provider: AwsProvider, transcribe_stream_fake: TranscribeStreamingFake, speech: tuple[bytes, int]
) -> None:
    pcm, rate = speech
    heard = await transcribe_live(aws_stream_provider, pcm, rate)
    assert heard.before_finish >= 1  # partials came while the audio was still open
    assert [h.text for h in heard.partials][:2] == ["The", "The Amazon."]
    assert all(h.confidence is None and h.start_s == START for h in heard.partials)
    assert [h.end_s for h in heard.partials] == sorted(h.end_s for h in heard.partials)
    (final,) = heard.finals
    assert heard.hypotheses[-1] is final
    assert (final.text, final.start_s, final.end_s) == (SEGMENT, START, END)
    assert final.confidence == pytest.approx(0.9829, abs=1e-4)  # the mean of its words' confidences
    (session,) = transcribe_stream_fake.sessions
    assert session.headers["x-amzn-transcribe-language-code"] == "en-US"
    assert session.headers["x-amzn-transcribe-sample-rate"] == str(rate)
    assert session.headers["x-amzn-transcribe-media-encoding"] == "pcm"
    assert bytes(session.audio) == pcm and session.ended  # every byte arrived, then the end of the audio
    assert session.audio_events >= len(pcm) // (32 * 1024)


async def test_without_interim_only_finals_come(aws_stream_provider: AwsProvider, speech: tuple[bytes, int]) -> None:
    pcm, rate = speech
    heard = await transcribe_live(aws_stream_provider, pcm, rate, interim=False)
    assert [h.final for h in heard.hypotheses] == [True]


async def test_the_stream_counts_the_seconds_it_sent(aws_stream_provider: AwsProvider) -> None:
    stream = await aws_stream_provider.open_transcription(sample_rate=16000, language="en-GB", interim=True, ctx=ctx())
    try:
        assert isinstance(stream, AwsTranscriptionStream)
        await stream.send(b"\0\0" * 24000)
        assert stream.seconds_sent == pytest.approx(1.5)
    finally:
        await stream.aclose()


@pytest.mark.parametrize(
    ("failure", "error", "words"),
    [
        (Failure.auth(), UpstreamAuth, "UnrecognizedClientException"),
        (Failure.throttle(), UpstreamThrottled, "LimitExceededException"),
    ],
)
async def test_a_refused_stream_is_the_gateway_error(
    aws_stream_provider: AwsProvider,
    transcribe_stream_fake: TranscribeStreamingFake,
    failure: Failure,
    error: type[Exception],
    words: str,
) -> None:
    transcribe_stream_fake.fail(failure)
    with pytest.raises(error, match=words):
        await aws_stream_provider.open_transcription(sample_rate=16000, language="en", interim=True, ctx=ctx())
    assert await _connections_gone(transcribe_stream_fake)


@pytest.mark.parametrize(
    ("keys", "words"),
    [
        ({"access_key_id": "AKIAWRONG"}, "UnrecognizedClientException"),
        ({"secret_access_key": "not-the-secret"}, "InvalidSignatureException"),  # the fake checks SigV4
    ],
)
async def test_wrong_keys_are_upstream_auth(
    transcribe_stream_fake: TranscribeStreamingFake, keys: dict[str, str], words: str
) -> None:
    provider = registry.build("aws-bad", stream_block(transcribe_stream_fake, **keys))
    try:
        with pytest.raises(UpstreamAuth, match=words):
            await provider.open_transcription(sample_rate=16000, language="en", interim=True, ctx=ctx())  # type: ignore[attr-defined]
    finally:
        await provider.aclose()


@pytest.mark.parametrize("failure", [Failure.exception(after=2), Failure.drop(after=2)], ids=["exception", "drop"])
async def test_a_stream_broken_midway_raises_after_its_partials(
    aws_stream_provider: AwsProvider,
    transcribe_stream_fake: TranscribeStreamingFake,
    speech: tuple[bytes, int],
    failure: Failure,
) -> None:
    pcm, rate = speech
    transcribe_stream_fake.fail(failure)
    stream = await aws_stream_provider.open_transcription(sample_rate=rate, language="en", interim=True, ctx=ctx())
    heard = Heard()
    try:
        await stream.send(pcm)
        with pytest.raises(UpstreamUnavailable):
            await asyncio.wait_for(read_all(stream, heard), 10)
    finally:
        await stream.aclose()
    assert [h.text for h in heard.hypotheses] == ["The", "The Amazon."]
    assert await _connections_gone(transcribe_stream_fake)


async def test_aclose_ends_a_silent_stream_and_releases_its_connection(
    aws_stream_provider: AwsProvider, transcribe_stream_fake: TranscribeStreamingFake
) -> None:
    transcribe_stream_fake.fail(Failure.hang())
    stream = await aws_stream_provider.open_transcription(sample_rate=16000, language="en", interim=True, ctx=ctx())
    reader = asyncio.create_task(read_all(stream, Heard()))
    await stream.send(b"\0\0" * 16000)
    await asyncio.sleep(0.1)
    assert transcribe_stream_fake.connections == 1 and _sockets_to(transcribe_stream_fake.port) == 1
    await stream.aclose()
    await asyncio.wait_for(reader, 5)  # the iteration ends instead of waiting for the silent vendor
    await stream.aclose()  # idempotent
    assert await _connections_gone(transcribe_stream_fake)


async def test_sessions_leave_no_threads_or_sockets_behind(
    aws_stream_provider: AwsProvider, transcribe_stream_fake: TranscribeStreamingFake, speech: tuple[bytes, int]
) -> None:
    pcm, rate = speech
    await transcribe_live(aws_stream_provider, pcm[: rate * 2], rate)  # warm-up: the CRT's shared threads start
    threads = threading.active_count()
    native = psutil.Process().num_threads()
    for _ in range(3):
        stream: TranscriptionStream = await aws_stream_provider.open_transcription(
            sample_rate=rate, language="en", interim=True, ctx=ctx()
        )
        await stream.send(pcm[:rate])
        await stream.aclose()
    assert await _connections_gone(transcribe_stream_fake)
    assert _sockets_to(transcribe_stream_fake.port) == 0
    assert threading.active_count() == threads and psutil.Process().num_threads() == native


async def test_languages_and_rates_transcribe_cannot_stream_are_unsupported(
    aws_stream_provider: AwsProvider, transcribe_stream_fake: TranscribeStreamingFake
) -> None:
    assert (stream_locale("en", "en"), stream_locale("de-CH", "en"), stream_locale(None, "fr")) == (
        "en-US",
        "de-CH",
        "fr-FR",
    )
    with pytest.raises(Unsupported, match="language"):
        await aws_stream_provider.open_transcription(sample_rate=16000, language="fa", interim=True, ctx=ctx())
    with pytest.raises(Unsupported, match="Hz"):
        await aws_stream_provider.open_transcription(sample_rate=96000, language="en", interim=True, ctx=ctx())
    assert transcribe_stream_fake.sessions == []  # refused before any connection


@pytest.mark.live
async def test_live_aws_transcribes_a_spoken_sentence(
    aws_live_provider: AwsProvider, speech: tuple[bytes, int]
) -> None:
    """Against real Transcribe streaming (``-m live`` with AWS credentials): the fake speaks AWS's protocol."""
    pcm, rate = speech
    heard = await transcribe_live(aws_live_provider, pcm, rate)
    assert heard.finals and "rainforest" in " ".join(h.text for h in heard.finals).lower()


async def _connections_gone(fake: TranscribeStreamingFake) -> bool:
    for _ in range(100):
        if fake.connections == 0:
            return True
        await asyncio.sleep(0.02)
    return False


def _sockets_to(port: int) -> int:
    """This process's TCP connections to ``port`` that are not closed yet."""
    conns = psutil.Process(os.getpid()).net_connections(kind="tcp")
    return sum(1 for c in conns if c.raddr and c.raddr.port == port and c.status != psutil.CONN_CLOSE)
