"""Amazon Transcribe streaming: live speech.transcribe (``StartStreamTranscription``, HTTP/2 event stream).

Through AWS's Python streaming SDK ``amazon-transcribe`` (awscrt's HTTP/2 client). Its
successor ``aws-sdk-transcribe-streaming`` needs Python 3.12, and the gateway runs on 3.11
(``adapters/aws/README.md``, "Live transcription", says why and what it costs).

- One SDK client, so one HTTP/2 connection, per stream: awscrt 0.26 cannot cancel one HTTP/2
  stream, so ``aclose`` closes the stream's own connection (and with it the socket). The
  CRT's event-loop threads are its process-wide default ones, not per stream.
- Credentials and region are the provider's (its boto3 session: keys, profile, SSO, roles),
  resolved once per stream, since every audio event is signed with them; the endpoint is
  ``endpoints.transcribestreaming`` (else the region's), trusted through ``ca_bundle``
  when that is set.
- Audio: 16-bit PCM (``pcm``) at 8-48 kHz, sent in events of at most 32 KB (the SDK's
  documented maximum). The language is the request's, else ``default_language``, as a
  streaming locale (``en`` -> ``en-US``); one Transcribe does not stream is Unsupported.
- Results: each ``Result`` is a hypothesis: ``IsPartial`` true -> a partial (dropped when
  the session asked for none), false -> a final; ``StartTime``/``EndTime`` are its span;
  the confidence is the mean of its words' (``Items`` of type ``pronunciation``), null when
  none has one (partials have none).
- Errors: the HTTP answer's ``x-amzn-errortype`` (403 ``UnrecognizedClientException``, 429
  ``LimitExceededException``...) and the exception events of the stream map by AWS's code
  (``adapters.aws.errors``); a connection lost, or an answer that ends before the audio
  did, is UpstreamUnavailable; an open that outlasts ``timeout_s`` is UpstreamTimeout.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from adapters.aws.clients import AwsClients
from adapters.aws.errors import error_for_code
from adapters.base import CallContext, Hypothesis
from adapters.kit import mean, optional_unit, request_language
from omnisense.schema import (
    OmnisenseError,
    Unsupported,
    UpstreamAuth,
    UpstreamBadResponse,
    UpstreamTimeout,
    UpstreamUnavailable,
    primary,
)

MODEL = "transcribe-streaming"
CHUNK_BYTES = 32 * 1024
MAX_STREAM_S = 4 * 3600.0  # Transcribe's cap on one stream: a longer session rolls over to a new one
MIN_RATE, MAX_RATE = 8000, 48000
# The streaming LanguageCode enum of the SDKs (a subset of the batch locales).
_LOCALES = (
    "en-US en-GB es-US fr-CA fr-FR en-AU it-IT de-DE pt-BR ja-JP ko-KR zh-CN th-TH es-ES ar-SA pt-PT "
    "ca-ES ar-AE hi-IN zh-HK nl-NL no-NO sv-SE pl-PL fi-FI zh-TW en-IN en-IE en-NZ en-AB en-ZA en-WL de-CH"
)
LOCALES = frozenset(_LOCALES.split())
DEFAULT_LOCALE = {"en": "en-US", "es": "es-US", "fr": "fr-FR", "pt": "pt-BR", "zh": "zh-CN", "ar": "ar-SA"}
DEFAULT_LOCALE["de"] = "de-DE"
LANGUAGES = frozenset(primary(loc) for loc in LOCALES)


def stream_locale(language: str | None, default: str) -> str:
    """Transcribe streaming's locale for a BCP-47 tag, or Unsupported."""
    tag = request_language(language, default) or "en-US"
    if tag in LOCALES:
        return tag
    lang = primary(tag)
    locale = DEFAULT_LOCALE.get(lang) or next((loc for loc in sorted(LOCALES) if primary(loc) == lang), None)
    if locale is None:
        raise Unsupported(f"transcribe streaming does not know language {tag!r}", field="language")
    return locale


def hypothesis(result: Any) -> Hypothesis | None:
    """One Transcribe ``Result`` as a hypothesis (None: no alternative, or no text)."""
    if not result.alternatives:
        return None
    best = result.alternatives[0]
    text = str(best.transcript or "").strip()
    if not text:
        return None
    words = [i for i in best.items or () if i.item_type in (None, "pronunciation")]
    start = float(result.start_time or 0.0)
    end = max(start, float(result.end_time if result.end_time is not None else start))
    confidence = mean(optional_unit(i.confidence) for i in words)
    return Hypothesis(text=text, start_s=start, end_s=end, final=result.is_partial is not True, confidence=confidence)


def classify(exc: BaseException, provider: str) -> OmnisenseError:
    """The gateway error for what the streaming SDK or awscrt raised."""
    from amazon_transcribe import exceptions as tx
    from awscrt.exceptions import AwsCrtError

    if isinstance(exc, OmnisenseError):
        return exc
    if isinstance(exc, tx.UnknownServiceException):
        return error_for_code(str(exc.error_code), str(exc.message), int(exc.status_code or 0))
    if isinstance(exc, tx.ServiceException):
        code, message = type(exc).__name__, str(getattr(exc, "message", exc))
        return error_for_code(code, message, int(getattr(exc, "status_code", 0) or 0))
    if isinstance(exc, tx.CredentialsException):
        return UpstreamAuth(f"{provider}: credentials not usable for transcribe streaming: {exc}"[:500])
    if isinstance(exc, tx.HTTPException | AwsCrtError | OSError):
        return UpstreamUnavailable(f"{provider}: transcribe streaming connection failed: {exc}"[:500])
    return UpstreamBadResponse(f"{provider}: transcribe streaming: {type(exc).__name__}: {exc}"[:500])


class _Credentials:
    """The SDK's credential resolver, answering the provider's credentials resolved once."""

    def __init__(self, frozen: Any) -> None:
        from amazon_transcribe.auth import Credentials

        self._credentials = Credentials(frozen.access_key, frozen.secret_key, frozen.token)

    async def get_credentials(self) -> Any:
        return self._credentials


def _resolve(aws: AwsClients) -> tuple[Any, str]:
    """(frozen credentials, region) from the provider's boto3 session (blocking: may ask IMDS/SSO)."""
    session = aws.session()
    credentials = session.get_credentials()
    if credentials is None:
        raise UpstreamAuth(f"{aws.name}: no AWS credentials found for transcribe streaming")
    region = session.region_name
    if not region:
        raise UpstreamAuth(f"{aws.name}: transcribe streaming needs a region (region: in the provider's block)")
    return credentials.get_frozen_credentials(), str(region)


def _client(aws: AwsClients, frozen: Any, region: str) -> Any:
    from amazon_transcribe.client import TranscribeStreamingClient
    from amazon_transcribe.endpoints import StaticEndpointResolver

    url = aws.config.endpoints.get("transcribestreaming")
    resolver = StaticEndpointResolver(url) if url else None  # type: ignore[no-untyped-call]
    credentials: Any = _Credentials(frozen)
    client = TranscribeStreamingClient(region=region, endpoint_resolver=resolver, credential_resolver=credentials)
    if aws.config.ca_bundle:
        from awscrt import io

        options = io.TlsContextOptions()
        options.override_default_trust_store_from_path(ca_filepath=aws.config.ca_bundle)
        # The SDK builds its TLS context with the system's trust store and offers no option.
        client._session_manager._tls_ctx = io.ClientTlsContext(options)
    return client


async def open_stream(
    aws: AwsClients, *, sample_rate: int, language: str | None, interim: bool, ctx: CallContext
) -> AwsTranscriptionStream:
    if not MIN_RATE <= sample_rate <= MAX_RATE:
        raise Unsupported(f"transcribe streaming takes {MIN_RATE}-{MAX_RATE} Hz audio, not {sample_rate} Hz")
    locale = stream_locale(language, aws.config.default_language)
    frozen, region = await aws.run(_resolve, aws, ctx=ctx)
    client = _client(aws, frozen, region)
    timeout = aws.timeout(ctx, aws.config.timeout_s)
    try:
        async with asyncio.timeout(timeout):
            started = await client.start_stream_transcription(
                language_code=locale, media_sample_rate_hz=sample_rate, media_encoding="pcm"
            )
    except TimeoutError:
        await _close_connections(client)
        raise UpstreamTimeout(f"{aws.name}: transcribe streaming did not answer within {timeout:.1f} s") from None
    except BaseException as exc:
        await _close_connections(client)
        if isinstance(exc, Exception):
            raise classify(exc, aws.name) from exc
        raise
    return AwsTranscriptionStream(aws.name, client, started, sample_rate=sample_rate, interim=interim)


async def _close_connections(client: Any) -> None:
    """Close the client's HTTP/2 connection(s) and wait (briefly) until their sockets are shut."""
    connections = list(client._session_manager._connections.values())
    client._session_manager._connections.clear()
    for connection in connections:
        connection.close()
    for connection in connections:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.wrap_future(connection.shutdown_future), 5.0)


class AwsTranscriptionStream:
    """A ``TranscriptionStream`` over one ``StartStreamTranscription``."""

    def __init__(self, provider: str, client: Any, started: Any, *, sample_rate: int, interim: bool) -> None:
        self.provider = provider
        self.max_audio_s: float | None = MAX_STREAM_S
        self._client, self._started = client, started
        self._interim = interim
        self._bytes_per_s = 2 * sample_rate
        self.bytes_sent = 0
        self._finished = self._closed = False

    @property
    def seconds_sent(self) -> float:
        """Audio seconds sent on this stream (what Transcribe bills, before its 15 s minimum)."""
        return self.bytes_sent / self._bytes_per_s

    async def send(self, pcm: bytes) -> None:
        if self._closed or self._finished:
            raise UpstreamUnavailable(f"{self.provider}: audio sent after the stream was finished or closed")
        try:
            for at in range(0, len(pcm), CHUNK_BYTES):
                await self._started.input_stream.send_audio_event(audio_chunk=pcm[at : at + CHUNK_BYTES])
        except Exception as exc:
            raise classify(exc, self.provider) from exc
        self.bytes_sent += len(pcm)

    async def finish(self) -> None:
        if self._finished or self._closed:
            return
        self._finished = True
        try:
            await self._started.input_stream.end_stream()
        except Exception as exc:
            raise classify(exc, self.provider) from exc

    def __aiter__(self) -> AsyncIterator[Hypothesis]:
        return self._hypotheses()

    async def _hypotheses(self) -> AsyncIterator[Hypothesis]:
        from amazon_transcribe.model import TranscriptEvent

        try:
            async for event in self._started.output_stream:
                if not isinstance(event, TranscriptEvent):
                    continue
                for result in event.transcript.results or ():
                    found = hypothesis(result)
                    if found is not None and (found.final or self._interim):
                        yield found
            # The SDK ends its iteration quietly when the connection is lost: ask the HTTP/2 stream.
            await self._started.output_stream._raw_stream.done
        except Exception as exc:
            if self._closed:
                return
            raise classify(exc, self.provider) from exc
        if not self._finished and not self._closed:
            raise UpstreamUnavailable(f"{self.provider}: transcribe streaming ended the stream before the audio")

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        # A closed body reads as its end: awscrt stops polling it for audio.
        with contextlib.suppress(Exception):
            self._started.input_stream._input_stream.close()
        await _close_connections(self._client)
