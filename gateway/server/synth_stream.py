"""The HTTP side of streamed synthesis (``POST /v1/speech/synthesize`` with ``"stream": true``).

``gateway.synth_stream`` picks the provider (fallback only until a first chunk of audio);
this module sends the answer while the provider produces it:

- ``200`` with the format's ``Content-Type`` and no ``Content-Length``: HTTP/1.1 sends it
  with chunked transfer encoding, each chunk as it comes. The headers are those of a whole
  answer (``X-Request-Id``, ``X-Omnisense-Provider``, ``-Model``, ``-Cost-Usd``, ``-Units``)
  plus ``X-Omnisense-Stream: 1``; ``Server-Timing`` has ``gateway`` (the gateway's own time
  up to the first byte), ``upstream`` (the providers' time up to it, failed attempts
  included) and ``ttfb`` (from the request's arrival to the first chunk of audio).
- WAV is sent with a header whose RIFF and data sizes are ``0xFFFFFFFF`` (the length is
  not known when it goes out: the streaming convention that ffmpeg, libsndfile, browsers
  and Python's ``wave`` read as "up to the end"); ``pcm`` is raw 16-bit PCM; mp3 and ogg
  are self-delimiting.
- Nothing can be said after the first byte but more audio: HTTP/1.1 trailers are not
  available to an ASGI app under uvicorn. So a stream that fails after its first byte
  ends **without its closing chunk**: the server closes the connection, and every HTTP
  client reports an incomplete body (httpx: ``RemoteProtocolError``, the Python client:
  ``StreamInterrupted``). A complete body means a complete synthesis. The request's log
  record has the error (``GET /v1/logs/{request_id}``), with ``http_status`` the error's.
- A client that goes away mid-stream stops the provider's stream; the record says 499.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, TypeGuard

from litestar import Request

from gateway.server.dialect import wants_audio
from gateway.server.disconnect import ClientGone, until_disconnected
from gateway.server.responses import AnswerResponse
from gateway.server.runtime import Runtime
from gateway.server.scope import RouteChoice
from gateway.synth_stream import OpenStream, StreamBroken, open_stream
from gateway.trace import RequestTrace
from omnisense.schema import SynthesizeRequest, TaskRequest, UnprocessableInput
from omnisense.schema.results import AUDIO_MEDIA_TYPES

Outcome = tuple[int, str | None, str | None]  # the record's http status, error type, detail


def streamed(request: TaskRequest) -> TypeGuard[SynthesizeRequest]:
    """Whether ``request`` asks for streamed synthesis."""
    return isinstance(request, SynthesizeRequest) and request.stream


def check(headers: Mapping[str, str]) -> None:
    """What a streamed synthesis cannot be: a JSON envelope, or an answer replayed for a key."""
    if not wants_audio(headers):
        raise UnprocessableInput(
            "a streamed synthesis answers audio bytes: leave Accept: application/json out, or stream: false",
            field="stream",
        )
    if headers.get("idempotency-key"):
        raise UnprocessableInput(
            "a streamed synthesis is not stored for an Idempotency-Key: send one or the other", field="stream"
        )


async def serve_stream(
    runtime: Runtime,
    choice: RouteChoice,
    trace: RequestTrace,
    request: SynthesizeRequest,
    http: Request[Any, Any, Any],
    headers: Mapping[str, str],
) -> Outcome:
    """Open the stream (errors before its first byte raise, for a problem+json), then send it all."""
    check(headers)
    opened = await open_stream(
        choice.dispatcher, request, trace, pinned=choice.pinned, allowed=choice.allowed, residency=choice.residency
    )
    try:
        return await until_disconnected(runtime.disconnects, http.receive, _send(opened, trace, request, http))
    except ClientGone as gone:
        return 499, "ClientClosedRequest", f"{gone} (mid-stream)"
    except asyncio.CancelledError:  # the server's shutdown grace ran out mid-stream: cut short
        current = asyncio.current_task()
        if current is not None:
            current.uncancel()
        return 503, "ShuttingDown", "the gateway stopped while the audio was being sent"
    finally:
        await opened.close()


async def _send(
    opened: OpenStream, trace: RequestTrace, request: SynthesizeRequest, http: Request[Any, Any, Any]
) -> Outcome:
    send = http.send
    record = trace.record
    ttfb = trace.elapsed_ms()
    record.ttfb_ms = round(ttfb, 3)
    upstream = trace.upstream_ms + opened.first_wait_ms
    timing = f"gateway;dur={max(0.0, ttfb - upstream):.3f}, upstream;dur={upstream:.3f}, ttfb;dur={ttfb:.3f}"
    headers = {
        "X-Request-Id": record.request_id,
        "X-Omnisense-Provider": record.provider or "",
        "X-Omnisense-Model": record.model or "",
        "X-Omnisense-Cost-Usd": f"{record.cost_usd:.8f}",
        "X-Omnisense-Units": f"{record.units:g} {record.unit}",
        "X-Omnisense-Stream": "1",
        "Server-Timing": timing,
        "Cache-Control": "no-store",
    }
    media_type = AUDIO_MEDIA_TYPES.get(request.format, "application/octet-stream")
    encoded = [(b"content-type", media_type.encode("latin-1"))]
    encoded += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": 200, "headers": encoded})
    await send({"type": "http.response.body", "body": opened.first, "more_body": True})
    try:
        async for chunk in opened.chunks():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    except StreamBroken as broken:
        err = broken.error
        record.decisions.append(f"stream: cut short after {broken.sent} bytes (no closing chunk)")
        return err.status, type(err).__name__, f"after {broken.sent} bytes of audio: {err.detail}"[:300]
    await send({"type": "http.response.body", "body": b"", "more_body": False})
    return 200, None, None


class Sent(AnswerResponse):
    """The answer was sent already (streamed): nothing more to send. When the stream was
    cut short, the server sees the app return without the last body message and closes
    the connection: the client gets an incomplete chunked body."""

    def __init__(self) -> None:
        super().__init__(b"", "application/octet-stream", {})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        return None


SENT = Sent()
