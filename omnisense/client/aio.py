"""The asynchronous Python client: the same methods as ``Client``, each awaitable.

from omnisense import AsyncClient
async with AsyncClient() as omni:
    labels = (await omni.vision.labels("photo.jpg")).result.labels

The methods live in ``omnisense.client.methods`` (written once for both clients); this
module only sends.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import TracebackType
from typing import TypeVar

import httpx

from omnisense.client.calls import Call
from omnisense.client.jobs import Flow, JobsAPI, drive_async, followed
from omnisense.client.live import Chunks, transcribe_stream
from omnisense.client.methods import Async, SpeechAPI, TextAPI, VideoAPI, VisionAPI
from omnisense.client.streams import iterate_async, options, stream_call
from omnisense.client.transport import NEVER_SENT, error_from, request_kwargs, retry_wait, settings
from omnisense.schema import OmnisenseError
from omnisense.schema.streaming import StreamDone, StreamEncoding, StreamEvent, StreamStart

R = TypeVar("R")


class AsyncClient:
    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        retries: int = 2,
        http: httpx.AsyncClient | None = None,
        residency: str | None = None,
    ) -> None:
        url, headers = settings(base_url, api_key)
        self._http = http or httpx.AsyncClient(base_url=url, headers=headers, timeout=timeout)
        if residency:  # every request, jobs included: processed only there ("eu", "eu, ch")
            self._http.headers["X-Omnisense-Residency"] = residency
        given = {k: v for k, v in self._http.headers.items() if k.lower() == "authorization" or k.startswith("x-")}
        self._live = (str(self._http.base_url) or url, {**headers, **given})  # transcribe_stream's connection
        self.retries = retries
        self.vision = VisionAPI[Async](self.send)
        self.text = TextAPI[Async](self.send)
        self.speech = SpeechAPI[Async](self.send)
        self.video = VideoAPI[Async](self.send)
        self.jobs = JobsAPI[Async](self.run_flow)

    async def run_flow(self, flow: Flow[R]) -> R:
        """Run a ``client.jobs`` flow on this client's connection."""
        return await drive_async(self._http, flow)

    async def send(self, call: Call[R]) -> R:
        """Send ``call``; sent again (``retries`` more times at most) only by ``transport.retry_wait``'s rule:
        never reached the gateway, or 503/429 with ``Retry-After``."""
        attempt = 0
        while True:
            try:
                response = await self._http.post(call.path, **request_kwargs(call))
                return await drive_async(self._http, followed(response, call.result_type))
            except (OmnisenseError, *NEVER_SENT) as exc:
                wait = retry_wait(exc, attempt, self.retries)
                if wait is None:
                    raise
            await asyncio.sleep(wait)
            attempt += 1

    async def synthesize_stream(
        self,
        text: str,
        *,
        voice: str | None = None,
        language: str | None = None,
        gender: str | None = None,
        format: str = "wav",
        provider: str | None = None,
    ) -> AsyncIterator[bytes]:
        """``async for chunk in omni.synthesize_stream(text)``: the audio while it is produced
        (``Client.synthesize_stream``'s twin)."""
        call = stream_call(text, voice=voice, language=language, gender=gender, format=format, provider=provider)
        attempt = 0
        while True:
            try:
                async with self._http.stream("POST", call.path, **options(call)) as response:
                    if response.status_code >= 400:
                        await response.aread()
                        raise error_from(response)
                    async for chunk in iterate_async(response):
                        yield chunk
                    return
            except (OmnisenseError, *NEVER_SENT) as exc:
                wait = retry_wait(exc, attempt, self.retries)  # never after the first byte (a 502)
                if wait is None:
                    raise
            await asyncio.sleep(wait)
            attempt += 1

    def transcribe_stream(
        self,
        chunks: Chunks,
        *,
        encoding: StreamEncoding = "pcm_s16le",
        sample_rate: int = 16000,
        language: str | None = None,
        interim: bool = True,
        policy: str | None = None,
        provider: str | None = None,
    ) -> AsyncIterator[StreamEvent | StreamDone]:
        """Live transcription (``WS /v1/speech/transcribe/stream``, docs/streaming.md): send
        ``chunks`` of audio (16-bit mono PCM, or a WAV stream with ``encoding="wav"``) as they
        come, and ``async for`` the partial and final events, then ``done``. Needs the ``live``
        extra (``websockets``). ``provider`` pins one, as ``X-Omnisense-Provider``."""
        url, headers = self._live
        if provider:
            headers = {**headers, "X-Omnisense-Provider": provider}
        start = StreamStart(encoding=encoding, sample_rate=sample_rate, language=language, interim=interim,
                            policy=policy)  # fmt: skip
        return transcribe_stream(url, headers, chunks, start)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.aclose()
