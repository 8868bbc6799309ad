"""Azure AI Speech: live speech.transcribe through the Speech SDK (its own websocket protocol).

- Endpoint: ``endpoints.speech_stream``, else the ``speech`` endpoint (``endpoints.speech``,
  or an ``endpoint`` that is not Azure's: a fake, a Speech container), as ``ws://``/``wss://``
  for the SDK's ``host=``; else the SDK's own endpoint for ``region`` (the same host as the
  REST endpoint, so the residency of speech.transcribe holds for live sessions). Key
  credentials only (``credential: entra`` does not stream here).
- Audio: a ``PushAudioInputStream`` of 16-bit mono PCM at the session's rate (8-48 kHz);
  ``send`` writes to it (the SDK buffers: it does not block), ``finish`` closes it.
- Results (``OutputFormat.Detailed``): ``recognizing`` -> a partial, ``recognized`` with
  ``RecognizedSpeech`` -> a final; ``Offset``/``Duration`` are 100-ns ticks from the start of
  the audio; a final's confidence is its best ``NBest`` entry's. ``NoMatch`` is no hypothesis.
- The SDK calls back on its own threads: each event crosses to the event loop with
  ``call_soon_threadsafe``. The iteration ends when the SDK says the audio is over
  (``canceled`` with ``EndOfStream``) or the session stopped.
- Errors (``canceled`` with ``Error``, by its ``CancellationErrorCode``):
  AuthenticationFailure, Forbidden -> UpstreamAuth; TooManyRequests -> UpstreamThrottled;
  BadRequest -> InvalidInput; ServiceTimeout -> UpstreamTimeout; ConnectionFailure,
  ServiceError, ServiceUnavailable, RuntimeError -> UpstreamUnavailable. ``open_transcription``
  waits for the SDK to connect (or fail) for up to ``timeout_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from adapters.azure.clients import AzureClients
from adapters.azure.speech import locale_for
from adapters.base import CallContext, Hypothesis
from omnisense.schema import (
    InvalidInput,
    OmnisenseError,
    Unsupported,
    UpstreamAuth,
    UpstreamThrottled,
    UpstreamTimeout,
    UpstreamUnavailable,
)

MODEL = "azure-speech-stream"
MIN_RATE, MAX_RATE = 8000, 48000
TICKS = 10_000_000  # 100-ns ticks per second


def stream_host(azure: AzureClients) -> str | None:
    """The ``ws(s)://host[:port]`` the SDK is pointed at, or None for Azure's regional endpoint."""
    cfg = azure.config
    url = cfg.endpoint_for("speech_stream") or cfg.endpoint_for("speech")
    if not url:
        return None
    parts = urlsplit(url)
    return f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}"


def error_for(code: Any, details: str, provider: str) -> OmnisenseError:
    """The gateway error for a ``CancellationErrorCode`` (its name) and the SDK's details."""
    name = str(getattr(code, "name", code))
    text = f"{provider}: speech recognition canceled ({name}): {details}"[:500]
    cls: type[OmnisenseError] = UpstreamUnavailable
    if name in ("AuthenticationFailure", "Forbidden"):
        cls = UpstreamAuth
    elif name == "TooManyRequests":
        cls = UpstreamThrottled
    elif name == "BadRequest":
        cls = InvalidInput
    elif name == "ServiceTimeout":
        cls = UpstreamTimeout
    return cls(text)


def confidence_of(result: Any) -> float | None:
    """The best ``NBest`` entry's confidence in a detailed result's JSON (None without one)."""
    try:
        best = json.loads(result.json).get("NBest") or []
        scores = [float(n["Confidence"]) for n in best if n.get("Confidence") is not None]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return max(0.0, min(1.0, max(scores))) if scores else None


def _recognizer(azure: AzureClients, sample_rate: int, language: str | None) -> tuple[Any, Any]:
    """(recognizer, push stream); building them starts nothing."""
    import azure.cognitiveservices.speech as speechsdk

    cfg = azure.config
    key = cfg.key_for("speech")
    host = stream_host(azure)
    if host is not None:
        config = speechsdk.SpeechConfig(host=host, subscription=key)
    else:
        config = speechsdk.SpeechConfig(subscription=key, region=cfg.region)
    config.speech_recognition_language = locale_for(language, cfg.default_language)
    config.output_format = speechsdk.OutputFormat.Detailed
    audio_format = speechsdk.audio.AudioStreamFormat(samples_per_second=sample_rate, bits_per_sample=16, channels=1)
    push = speechsdk.audio.PushAudioInputStream(audio_format)
    audio = speechsdk.audio.AudioConfig(stream=push)
    return speechsdk.SpeechRecognizer(speech_config=config, audio_config=audio), push


async def open_stream(
    azure: AzureClients, *, sample_rate: int, language: str | None, interim: bool, ctx: CallContext
) -> AzureTranscriptionStream:
    cfg = azure.config
    if cfg.credential != "key":
        raise Unsupported(f"{azure.name}: live transcription takes key credentials here (credential: entra)")
    if not MIN_RATE <= sample_rate <= MAX_RATE:
        raise Unsupported(f"azure speech streams {MIN_RATE}-{MAX_RATE} Hz audio, not {sample_rate} Hz")
    locale_for(language, cfg.default_language)  # Unsupported before anything is built
    recognizer, push = _recognizer(azure, sample_rate, language)
    stream = AzureTranscriptionStream(azure, recognizer, push, sample_rate=sample_rate, interim=interim)
    timeout = azure.timeout(ctx, cfg.timeout_s)
    try:
        await azure.run(lambda: recognizer.start_continuous_recognition_async().get(), ctx=ctx)
        async with asyncio.timeout(timeout):
            await stream.connected()
    except TimeoutError:
        await stream.aclose()
        raise UpstreamTimeout(f"{azure.name}: azure speech did not connect within {timeout:.1f} s") from None
    except BaseException:
        await stream.aclose()
        raise
    return stream


class AzureTranscriptionStream:
    """A ``TranscriptionStream`` over one continuous recognition of the Speech SDK."""

    def __init__(self, azure: AzureClients, recognizer: Any, push: Any, *, sample_rate: int, interim: bool) -> None:
        self.azure, self.provider = azure, azure.name
        self.max_audio_s: float | None = None  # the SDK reconnects past the service's own connection limit
        self._recognizer, self._push, self._loop = recognizer, push, asyncio.get_running_loop()
        self._interim = interim
        self._events: asyncio.Queue[Hypothesis | OmnisenseError | None] = asyncio.Queue()
        self._connected = asyncio.Event()
        self._error: OmnisenseError | None = None
        self._bytes_per_s = 2 * sample_rate
        self.bytes_sent = 0
        self._finished = self._closed = False
        self._lock = threading.Lock()
        self._wire(recognizer)

    def _wire(self, recognizer: Any) -> None:
        import azure.cognitiveservices.speech as speechsdk

        self._connection = speechsdk.Connection.from_recognizer(recognizer)
        self._connection.connected.connect(lambda _: self._post(self._connected.set))
        recognizer.recognizing.connect(self._recognizing)
        recognizer.recognized.connect(self._on_recognized)
        recognizer.canceled.connect(self._on_canceled)
        recognizer.session_stopped.connect(lambda _: self._post(self._put, None))

    # --- SDK threads -> the loop -------------------------------------------------------------

    def _post(self, fn: Any, *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody listens any more
            self._loop.call_soon_threadsafe(fn, *args)

    def _put(self, item: Hypothesis | OmnisenseError | None) -> None:
        """Queue a hypothesis, an error, or None (the SDK says the audio or the session is over)."""
        if isinstance(item, OmnisenseError):
            self._error = item
            self._connected.set()
        self._events.put_nowait(item)

    def _recognizing(self, event: Any) -> None:
        found = self._hypothesis(event.result, False)
        if found is not None:
            self._post(self._put, found)

    def _hypothesis(self, result: Any, final: bool) -> Hypothesis | None:
        text = str(result.text or "").strip()
        if not text or (not final and not self._interim):
            return None
        start = result.offset / TICKS
        end = start + result.duration / TICKS
        return Hypothesis(
            text=text, start_s=start, end_s=end, final=final, confidence=confidence_of(result) if final else None
        )

    def _on_recognized(self, event: Any) -> None:
        import azure.cognitiveservices.speech as speechsdk

        found = self._hypothesis(event.result, True)
        if event.result.reason == speechsdk.ResultReason.RecognizedSpeech and found is not None:
            self._post(self._put, found)

    def _on_canceled(self, event: Any) -> None:
        import azure.cognitiveservices.speech as speechsdk

        details = event.cancellation_details
        if details.reason == speechsdk.CancellationReason.EndOfStream:
            self._post(self._put, None)
        else:
            self._post(self._put, error_for(details.code, str(details.error_details or ""), self.provider))

    # --- the protocol ------------------------------------------------------------------------

    @property
    def seconds_sent(self) -> float:
        """Audio seconds sent on this stream (what Azure bills)."""
        return self.bytes_sent / self._bytes_per_s

    async def connected(self) -> None:
        await self._connected.wait()
        if self._error is not None:
            raise self._error

    async def send(self, pcm: bytes) -> None:
        if self._error is not None:
            raise self._error
        if self._closed or self._finished:
            raise UpstreamUnavailable(f"{self.provider}: audio sent after the stream was finished or closed")
        self._push.write(pcm)
        self.bytes_sent += len(pcm)

    async def finish(self) -> None:
        if not self._finished and not self._closed:
            self._finished = True
            self._push.close()  # the end of the audio: Azure flushes its last finals

    def __aiter__(self) -> AsyncIterator[Hypothesis]:
        return self._hypotheses()

    async def _hypotheses(self) -> AsyncIterator[Hypothesis]:
        while not self._closed:
            item = await self._events.get()
            if item is None:
                if self._finished or self._closed:
                    return
                raise UpstreamUnavailable(f"{self.provider}: azure speech stopped before the audio ended")
            if isinstance(item, OmnisenseError):
                raise item
            yield item

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._events.put_nowait(None)
        recognizer, push, connection = self._recognizer, self._push, self._connection

        def stop() -> None:
            with contextlib.suppress(Exception):
                push.close()
            with contextlib.suppress(Exception):
                recognizer.stop_continuous_recognition_async().get()
            with contextlib.suppress(Exception):
                connection.close()

        with contextlib.suppress(Exception):
            await self.azure.run(stop)
        self._recognizer = self._push = self._connection = None
