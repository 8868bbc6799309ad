"""Streamed synthesis for both clients: ``synthesize_stream`` yields audio as the gateway sends it.

The gateway answers ``POST /v1/speech/synthesize`` with ``"stream": true`` by chunked
transfer: the first bytes arrive before the whole text is spoken. An error before the
first byte is a problem+json (raised as the gateway's error class, and sent again under
``transport.retry_wait``'s rule like any call); after it, the gateway can only cut the
body short (no closing chunk), which httpx reports as an incomplete read and these raise
as ``StreamInterrupted``, with the request id: ``GET /v1/logs/{request_id}`` has the cause.
A stream that ends normally is complete.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from omnisense.client.calls import Call, SynthesizeCall
from omnisense.schema.errors import UpstreamUnavailable

_SYNTHESIZE = SynthesizeCall()
_BROKEN = (httpx.RemoteProtocolError, httpx.ReadError, httpx.ReadTimeout)


class StreamInterrupted(UpstreamUnavailable):
    """The audio stream ended before its end: what came is incomplete."""


def stream_call(
    text: str,
    *,
    voice: str | None = None,
    language: str | None = None,
    gender: str | None = None,
    format: str = "wav",
    provider: str | None = None,
) -> Call[bytes]:
    call = _SYNTHESIZE(text, voice=voice, language=language, gender=gender, format=format, provider=provider)
    assert call.json is not None
    call.json["stream"] = True
    return call


def interrupted(exc: Exception, response: httpx.Response, received: int) -> StreamInterrupted:
    request_id = response.headers.get("x-request-id")
    err = StreamInterrupted(
        f"the audio stream broke after {received} bytes ({type(exc).__name__}): the gateway's log record"
        f" {request_id} says why"
    )
    err.request_id = request_id
    return err


def iterate_sync(response: httpx.Response) -> Iterator[bytes]:
    received = 0
    try:
        for chunk in response.iter_bytes():
            received += len(chunk)
            yield chunk
    except _BROKEN as exc:
        raise interrupted(exc, response, received) from exc


async def iterate_async(response: httpx.Response) -> AsyncIterator[bytes]:
    received = 0
    try:
        async for chunk in response.aiter_bytes():
            received += len(chunk)
            yield chunk
    except _BROKEN as exc:
        raise interrupted(exc, response, received) from exc


def options(call: Call[Any]) -> dict[str, Any]:
    return {"json": call.json, "headers": call.headers}
