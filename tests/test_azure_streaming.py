"""Azure live transcription: the Speech SDK (its own websocket protocol, USP) against our
wire-level fake of the recognition websocket (``contract_tests/fakes/azure_speech_stream.py``)."""

from __future__ import annotations

import asyncio
import os
import threading

import psutil
import pytest

from adapters import registry
from adapters.azure.provider import AzureProvider
from adapters.azure.speech_stream import AzureTranscriptionStream
from adapters.base import StreamingTranscriber
from contract_tests.conftest_azure import (
    azure_live_provider,
    azure_stream_provider,
    speech_websocket_fake,
    stream_block,
)
from contract_tests.fakes.azure_speech_stream import CONFIDENCE, DISPLAY, END, START, Failure, SpeechWebsocketFake
from contract_tests.streaming_helpers import SENTENCE, Heard, ctx, read_all, spoken_pcm, transcribe_live
from omnisense.schema import Task, Unsupported, UpstreamAuth, UpstreamThrottled

__all__ = ["azure_live_provider", "azure_stream_provider", "speech_websocket_fake"]


@pytest.fixture(scope="module")
def speech() -> tuple[bytes, int]:
    return spoken_pcm()


async def test_the_provider_declares_and_is_a_streaming_transcriber(azure_stream_provider: AzureProvider) -> None:
    assert isinstance(azure_stream_provider, StreamingTranscriber)
    assert azure_stream_provider.info.capabilities[Task.SPEECH_TRANSCRIBE].streaming


async def test_spoken_audio_gives_partials_then_a_final_with_its_times(
    azure_stream_provider: AzureProvider, speech_websocket_fake: SpeechWebsocketFake, speech: tuple[bytes, int]
) -> None:
    pcm, rate = speech
    heard = await transcribe_live(azure_stream_provider, pcm, rate)
    assert heard.before_finish >= 1
    assert [h.text for h in heard.partials] == ["what's", "what's the", "what's the weather", "what's the weather like"]
    assert all(h.start_s == START and h.confidence is None for h in heard.partials)
    (final,) = heard.finals
    assert heard.hypotheses[-1] is final
    assert (final.text, final.start_s, final.end_s) == (DISPLAY, START, END)  # 100-ns ticks as seconds
    assert final.confidence == pytest.approx(CONFIDENCE)
    (handshake, *_) = speech_websocket_fake.handshakes
    assert handshake["ocp-apim-subscription-key"] == speech_websocket_fake.key
    assert "language=en-US" in handshake[":path"] and "format=detailed" in handshake[":path"]
    first = speech_websocket_fake.turns[0]
    assert first.rate == rate and first.ended
    assert bytes(first.audio) == pcm[: len(first.audio)] and len(first.audio) >= rate * 2 * END


async def test_without_interim_only_the_final_comes(
    azure_stream_provider: AzureProvider, speech: tuple[bytes, int]
) -> None:
    pcm, rate = speech
    heard = await transcribe_live(azure_stream_provider, pcm, rate, interim=False)
    assert [(h.text, h.final) for h in heard.hypotheses] == [(DISPLAY, True)]


async def test_wrong_key_is_upstream_auth_at_open(speech_websocket_fake: SpeechWebsocketFake) -> None:
    provider = registry.build("azure-bad", stream_block(speech_websocket_fake, key="not-the-key"))
    try:
        with pytest.raises(UpstreamAuth):
            await provider.open_transcription(sample_rate=16000, language="en", interim=True, ctx=ctx())  # type: ignore[attr-defined]
    finally:
        await provider.aclose()
    assert await _closed(speech_websocket_fake)


async def test_throttling_is_upstream_throttled(
    azure_stream_provider: AzureProvider, speech_websocket_fake: SpeechWebsocketFake
) -> None:
    speech_websocket_fake.fail(*[Failure.throttle()] * 5)
    with pytest.raises(UpstreamThrottled, match="429"):
        await azure_stream_provider.open_transcription(sample_rate=16000, language="en", interim=True, ctx=ctx())
    assert len(speech_websocket_fake.handshakes) == 5  # the SDK tries a 429 five times before it gives up


@pytest.mark.parametrize(
    "failure", [Failure.close(1011, "Internal server error", after=2), Failure.drop(after=2)], ids=["close", "drop"]
)
async def test_a_connection_lost_midway_is_reopened_by_the_sdk_with_no_words_lost(
    azure_stream_provider: AzureProvider,
    speech_websocket_fake: SpeechWebsocketFake,
    speech: tuple[bytes, int],
    failure: Failure,
) -> None:
    pcm, rate = speech
    speech_websocket_fake.fail(failure)
    heard = await transcribe_live(azure_stream_provider, pcm, rate)
    assert len(speech_websocket_fake.handshakes) >= 2  # the SDK reconnected and sent the audio again
    assert [h.text for h in heard.hypotheses][:2] == ["what's", "what's the"]
    assert [(h.text, h.start_s, h.end_s) for h in heard.finals] == [(DISPLAY, START, END)]


async def test_a_connection_that_cannot_be_reopened_raises_after_its_partials(
    azure_stream_provider: AzureProvider, speech_websocket_fake: SpeechWebsocketFake, speech: tuple[bytes, int]
) -> None:
    pcm, rate = speech
    speech_websocket_fake.fail(Failure.drop(after=2), *[Failure.throttle()] * 5)
    stream = await azure_stream_provider.open_transcription(sample_rate=rate, language="en", interim=True, ctx=ctx())
    heard = Heard()
    try:
        await stream.send(pcm)
        with pytest.raises(UpstreamThrottled):
            await asyncio.wait_for(read_all(stream, heard), 15)
    finally:
        await stream.aclose()
    assert [h.text for h in heard.hypotheses] == ["what's", "what's the"]
    assert await _closed(speech_websocket_fake)


async def test_aclose_ends_a_silent_stream_and_releases_its_connection(
    azure_stream_provider: AzureProvider, speech_websocket_fake: SpeechWebsocketFake
) -> None:
    speech_websocket_fake.fail(Failure.hang())
    stream = await azure_stream_provider.open_transcription(sample_rate=16000, language="en", interim=True, ctx=ctx())
    reader = asyncio.create_task(read_all(stream, Heard()))
    await stream.send(b"\0\0" * 16000)
    await asyncio.sleep(0.3)
    assert speech_websocket_fake.open == 1 and _sockets_to(speech_websocket_fake.port) == 1
    await stream.aclose()
    await asyncio.wait_for(reader, 5)
    await stream.aclose()  # idempotent
    assert await _closed(speech_websocket_fake)
    assert _sockets_to(speech_websocket_fake.port) == 0


async def test_sessions_leave_no_threads_or_sockets_behind(
    azure_stream_provider: AzureProvider, speech_websocket_fake: SpeechWebsocketFake
) -> None:
    async def one() -> None:
        stream = await azure_stream_provider.open_transcription(
            sample_rate=16000, language="en", interim=True, ctx=ctx()
        )
        await stream.send(b"\0\0" * 16000)
        await stream.aclose()

    await one()
    native = _native_threads()
    for _ in range(3):
        await one()
    assert await _closed(speech_websocket_fake) and _sockets_to(speech_websocket_fake.port) == 0
    assert _native_threads() <= native  # the SDK's own threads end with each recognizer (others may end too)


async def test_the_stream_counts_the_seconds_it_sent(azure_stream_provider: AzureProvider) -> None:
    stream = await azure_stream_provider.open_transcription(sample_rate=16000, language="en", interim=True, ctx=ctx())
    try:
        assert isinstance(stream, AzureTranscriptionStream)
        await stream.send(b"\0\0" * 24000)
        assert stream.seconds_sent == pytest.approx(1.5)
    finally:
        await stream.aclose()


async def test_rates_and_credentials_it_cannot_stream_are_unsupported(
    azure_stream_provider: AzureProvider, speech_websocket_fake: SpeechWebsocketFake
) -> None:
    with pytest.raises(Unsupported, match="Hz"):
        await azure_stream_provider.open_transcription(sample_rate=96000, language="en", interim=True, ctx=ctx())
    assert speech_websocket_fake.handshakes == []


@pytest.mark.live
async def test_live_azure_transcribes_a_spoken_sentence(
    azure_live_provider: AzureProvider, speech: tuple[bytes, int]
) -> None:
    """Against the real service (``-m live`` with AZURE_AI_* set): the protocol the fake speaks is Azure's."""
    pcm, rate = speech
    heard = await transcribe_live(azure_live_provider, pcm, rate)
    assert "rainforest" in SENTENCE.lower()
    assert heard.finals and "rainforest" in " ".join(h.text for h in heard.finals).lower()


async def _closed(fake: SpeechWebsocketFake) -> bool:
    for _ in range(150):
        if fake.open == 0:
            return True
        await asyncio.sleep(0.02)
    return False


def _native_threads() -> int:
    """Threads that Python did not start (the SDK's): the provider's pool may grow meanwhile."""
    return psutil.Process().num_threads() - threading.active_count()


def _sockets_to(port: int) -> int:
    conns = psutil.Process(os.getpid()).net_connections(kind="tcp")
    return sum(1 for c in conns if c.raddr and c.raddr.port == port and c.status != psutil.CONN_CLOSE)
