"""Cloud Speech-to-Text v1 ``StreamingRecognize``: live speech.transcribe over gRPC.

Through google-cloud-speech's own async client (``SpeechAsyncClient``, gRPC asyncio transport):
the REST transport the other Google calls use cannot stream.

- Channel: one per stream, with a connection of its own, closed by ``aclose`` (so a broken
  connection fails one session, and a closed session holds no socket; the price is a TLS
  handshake per session). ``endpoints.speech_stream``: ``http://host:port`` is a plaintext
  channel (fakes, emulators), ``https://host[:port]`` TLS with the provider's credentials
  (ADC, a service-account file, or ``api_key``); else the ``speech`` endpoint when it is a
  Google host (regional endpoints serve gRPC too: residency holds); else ``speech.googleapis.com:443``.
- Requests: the first carries ``streaming_config`` (LINEAR16 at the session's rate, its
  language or ``default_language`` as a locale, ``interim_results``, word time offsets,
  punctuation, the provider's ``speech_model``); then audio in requests of at most 25 KB
  (Google's limit), written on the call: ``send`` waits while gRPC's flow control does.
- Results: each final result is a final hypothesis (its best alternative, the confidence
  Google gives it, from its first word's start, else the previous final's end, to its
  ``result_end_time``); the non-final results of one response together are one partial (the
  reference's rule: joined, they are the current guess), from the last final's end.
- Errors: gRPC statuses as Google's HTTP equivalents (``adapters.google.errors``), except
  that OUT_OF_RANGE (a stream past Google's ~5 minutes) and CANCELLED by the server are
  UpstreamUnavailable, so the session re-opens elsewhere rather than failing as bad input.
  A write that races Google's end of the call can hide its status: gRPC then ends the call
  with INTERNAL ("Internal error from Core"), which is UpstreamUnavailable too.
- Length: ``max_audio_s`` is the provider's ``stream_limit_s`` (300 s): the gateway rolls a
  longer session over to a new stream before Google's cut.
"""

from __future__ import annotations

import asyncio
import contextlib
import traceback
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from adapters.base import CallContext, Hypothesis
from adapters.google.clients import GoogleClients, build_credentials
from adapters.google.errors import classify as classify_google
from adapters.google.speech import given, language_code, seconds
from adapters.kit import mean
from omnisense.schema import (
    OmnisenseError,
    Unsupported,
    UpstreamBadResponse,
    UpstreamUnavailable,
)

MODEL = "speech-to-text-v1-streaming"
CHUNK_BYTES = 25 * 1024
MIN_RATE, MAX_RATE = 8000, 48000


def classify(exc: BaseException, provider: str) -> OmnisenseError:
    """The gateway error for what the streaming call raised."""
    import grpc
    from google.api_core import exceptions as gx

    if isinstance(exc, OmnisenseError):
        return exc
    if isinstance(exc, gx.OutOfRange | gx.Cancelled):
        return UpstreamUnavailable(f"{provider}: streaming_recognize ended: {exc}"[:500])
    if isinstance(exc, grpc.aio.AioRpcError):
        exc = gx.from_grpc_error(exc)  # type: ignore[no-untyped-call]
    found = classify_google(exc)
    if found is not None:
        return found
    return UpstreamBadResponse(f"{provider}: streaming_recognize: {type(exc).__name__}: {exc}"[:500])


def streaming_config(google: GoogleClients, sample_rate: int, language: str | None, interim: bool) -> Any:
    from google.cloud.speech_v1.types import cloud_speech

    cfg = google.config
    config = cloud_speech.RecognitionConfig(
        encoding=cloud_speech.RecognitionConfig.AudioEncoding.LINEAR16,
        sample_rate_hertz=sample_rate,
        language_code=language_code(language, cfg.default_language),
        enable_word_time_offsets=True,
        enable_automatic_punctuation=True,
        model=cfg.speech_model,
    )
    return cloud_speech.StreamingRecognitionConfig(config=config, interim_results=interim)


# Each stream's channel keeps its own connection, so that closing it closes the socket (by
# default gRPC shares one connection among equal channels and keeps it after they close).
CHANNEL_OPTIONS = [("grpc.use_local_subchannel_pool", 1)]


def _credentials(google: GoogleClients) -> Any:
    """The channel's credentials (blocking: ADC may ask the metadata server; run it in the pool)."""
    cfg = google.config
    if cfg.api_key:
        from google.auth import api_key

        return api_key.Credentials(cfg.api_key)  # type: ignore[no-untyped-call]
    if cfg.credentials == "adc":
        from google.auth import default

        credentials, _ = default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
        return credentials
    return build_credentials(cfg)


def _client(google: GoogleClients, credentials: Any) -> Any:
    """A ``SpeechAsyncClient`` on a channel of its own (built in the running loop)."""
    import grpc
    from google.cloud.speech_v1 import SpeechAsyncClient
    from google.cloud.speech_v1.services.speech.transports import SpeechGrpcAsyncIOTransport

    parts = urlsplit(google.config.stream_endpoint() or "")
    if parts.scheme == "http":
        channel = grpc.aio.insecure_channel(parts.netloc, options=CHANNEL_OPTIONS)
    else:
        host = parts.netloc or str(SpeechGrpcAsyncIOTransport.DEFAULT_HOST)
        host = host if ":" in host else f"{host}:443"
        channel = SpeechGrpcAsyncIOTransport.create_channel(host, credentials=credentials, options=CHANNEL_OPTIONS)
    return SpeechAsyncClient(transport=SpeechGrpcAsyncIOTransport(channel=channel))


async def open_stream(
    google: GoogleClients, *, sample_rate: int, language: str | None, interim: bool, ctx: CallContext
) -> GoogleTranscriptionStream:
    from google.cloud.speech_v1.types import cloud_speech

    if not MIN_RATE <= sample_rate <= MAX_RATE:
        raise Unsupported(f"streaming_recognize takes {MIN_RATE}-{MAX_RATE} Hz audio, not {sample_rate} Hz")
    config = streaming_config(google, sample_rate, language, interim)
    plaintext = (google.config.stream_endpoint() or "").startswith("http://")
    credentials = None if plaintext else await google.run(_credentials, google, ctx=ctx)
    client = _client(google, credentials)
    stream = GoogleTranscriptionStream(
        google.name, client, sample_rate=sample_rate, max_audio_s=google.config.stream_limit_s
    )
    try:
        # No request iterator: the call is written to (``write``/``done_writing``).
        # A plaintext channel carries no call credentials: an API key goes as metadata, as REST sends it.
        key = google.config.api_key
        metadata = [("x-goog-api-key", key)] if plaintext and key else []
        stream.call = await client.streaming_recognize(retry=None, timeout=None, metadata=metadata)
        await stream.write(cloud_speech.StreamingRecognizeRequest(streaming_config=config))
    except BaseException:
        await stream.aclose()
        raise
    return stream


def _forget_frames(exc: BaseException | None) -> None:
    """Clear the locals of the frames in ``exc``'s traceback and its causes': gRPC's frames
    hold the call, the call its channel, and gRPC closes the socket only once the channel is
    gone, so an error kept for the log would otherwise keep the connection open."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        traceback.clear_frames(exc.__traceback__)
        exc = exc.__cause__ or exc.__context__


class GoogleTranscriptionStream:
    """A ``TranscriptionStream`` over one ``StreamingRecognize`` call."""

    def __init__(self, provider: str, client: Any, *, sample_rate: int, max_audio_s: float | None = None) -> None:
        self.provider = provider
        self.max_audio_s = max_audio_s
        self.client = client
        self.call: Any = None
        self._bytes_per_s = 2 * sample_rate
        self.bytes_sent = 0
        self._final_end = 0.0
        self._finished = self._closed = False

    @property
    def seconds_sent(self) -> float:
        """Audio seconds sent on this stream (what Google bills)."""
        return self.bytes_sent / self._bytes_per_s

    async def write(self, request: Any) -> None:
        try:
            await self.call.write(request)
        except Exception as exc:
            _forget_frames(exc)
            raise await self._why(exc) from exc

    async def _why(self, exc: BaseException) -> OmnisenseError:
        """Why a write failed: the call's own status (a write fails first when the call ends)."""
        import grpc
        from google.api_core import exceptions as gx

        call = self.call
        if call is not None:
            try:
                code = await asyncio.wait_for(call.code(), 2.0)
                details = await call.details()
            except Exception:
                code = None
            if code is not None and code != grpc.StatusCode.OK:
                return classify(gx.from_grpc_status(code, details), self.provider)  # type: ignore[no-untyped-call]
        if isinstance(exc, asyncio.InvalidStateError):
            return UpstreamUnavailable(f"{self.provider}: streaming_recognize has ended")
        return classify(exc, self.provider)

    async def send(self, pcm: bytes) -> None:
        from google.cloud.speech_v1.types import cloud_speech

        if self._closed or self._finished:
            raise UpstreamUnavailable(f"{self.provider}: audio sent after the stream was finished or closed")
        for at in range(0, len(pcm), CHUNK_BYTES):
            await self.write(cloud_speech.StreamingRecognizeRequest(audio_content=pcm[at : at + CHUNK_BYTES]))
        self.bytes_sent += len(pcm)

    async def finish(self) -> None:
        if not self._finished and not self._closed:
            self._finished = True
            try:
                await self.call.done_writing()  # half-close: Google flushes its last finals
            except Exception as exc:
                _forget_frames(exc)
                raise await self._why(exc) from exc

    def __aiter__(self) -> AsyncIterator[Hypothesis]:
        return self._hypotheses()

    async def _hypotheses(self) -> AsyncIterator[Hypothesis]:
        from google.cloud.speech_v1.types import cloud_speech

        try:
            async for answer in self.call:
                for hypothesis in self._read(cloud_speech.StreamingRecognizeResponse.pb(answer)):
                    yield hypothesis
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self._closed and (task is None or not task.cancelling()):
                return  # aclose cancelled the call: the iteration just ends
            raise
        except Exception as exc:
            _forget_frames(exc)
            if self._closed:
                return
            raise classify(exc, self.provider) from exc
        if not self._finished and not self._closed:
            raise UpstreamUnavailable(f"{self.provider}: streaming_recognize ended before the audio did")

    def _read(self, answer: Any) -> list[Hypothesis]:
        """The hypotheses in one response (a raw protobuf message)."""
        from adapters.google.errors import status_error

        if answer.HasField("error") and answer.error.code:
            raise status_error(answer.error.code, answer.error.message, self.provider)
        out: list[Hypothesis] = []
        guesses: list[str] = []
        end = self._final_end
        for result in answer.results:
            if not result.alternatives:
                continue
            best = result.alternatives[0]
            end = max(end, seconds(result.result_end_time))
            if not result.is_final:
                guesses.append(best.transcript)
                continue
            start = seconds(best.words[0].start_time) if best.words else self._final_end
            text = best.transcript.strip()
            if text:
                confidence = given(best.confidence)
                confidence = confidence if confidence is not None else mean(given(w.confidence) for w in best.words)
                out.append(
                    Hypothesis(text=text, start_s=start, end_s=max(start, end), final=True, confidence=confidence)
                )
            self._final_end = max(self._final_end, end)
        text = "".join(guesses).strip()
        if text:
            out.append(Hypothesis(text=text, start_s=self._final_end, end_s=max(self._final_end, end), final=False))
        return out

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        call, client, self.call, self.client = self.call, self.client, None, None
        if call is not None:
            call.cancel()
        with contextlib.suppress(Exception):
            await client.transport.close()
        # gRPC closes the socket only when the channel object goes away: drop every reference.
        del call, client
