"""Live transcription from the Python client: ``async for event in client.transcribe_stream(chunks)``.

httpx speaks no WebSocket, so this one method uses ``websockets`` (the ``live`` extra:
``pip install 'omnisense[live]'``), imported only when it is called: the maintained asyncio
WebSocket library (also uvicorn's), with no dependencies of its own, typed, and with a
client that sends and receives at once on one connection. ``chunks`` (bytes, sync or async
iterable) are sent as they come while the events are read; the session's ``done`` event is
the last one yielded. A session that ends with another close code raises the gateway's error
class for it (``BudgetExceeded`` for 4002, ``Unauthorized`` for 4001 ...), with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from typing import Any

import msgspec

from omnisense.schema import (
    BudgetExceeded,
    Forbidden,
    InternalError,
    InvalidInput,
    NoProvider,
    OmnisenseError,
    PayloadTooLarge,
    RateLimited,
    ShuttingDown,
    Unauthorized,
    UnprocessableInput,
    UnsupportedMediaType,
    UpstreamUnavailable,
)
from omnisense.schema.streaming import StreamDone, StreamError, StreamEvent, StreamStart

PATH = "/v1/speech/transcribe/stream"
ERROR_OF_CLOSE: dict[int, type[OmnisenseError]] = {
    1001: ShuttingDown, 1003: UnsupportedMediaType, 1007: UnprocessableInput, 1008: InvalidInput,
    1009: PayloadTooLarge, 1011: InternalError, 1013: UpstreamUnavailable, 4001: Unauthorized,
    4002: BudgetExceeded, 4003: Forbidden, 4008: InvalidInput, 4009: PayloadTooLarge, 4013: RateLimited,
    4029: RateLimited, 4503: NoProvider,
}  # fmt: skip


class _Kind(msgspec.Struct):
    type: str


_kind = msgspec.json.Decoder(_Kind).decode
_DECODERS: dict[str, type[StreamEvent | StreamDone | StreamError]] = {
    "partial": StreamEvent,
    "final": StreamEvent,
    "done": StreamDone,
    "error": StreamError,
}


def _decode(message: str | bytes) -> StreamEvent | StreamDone | StreamError:
    kind = _DECODERS.get(_kind(message).type)
    if kind is None:  # a newer gateway's event: not this client's
        raise UpstreamUnavailable(f"an unknown live event: {message[:80]!r}")
    return msgspec.json.decode(message, type=kind)


_encode = msgspec.json.Encoder().encode

Chunks = Iterable[bytes] | AsyncIterable[bytes]


def ws_url(base_url: str) -> str:
    if base_url.startswith("https://"):
        return "wss://" + base_url[len("https://") :].rstrip("/") + PATH
    return "ws://" + base_url.removeprefix("http://").rstrip("/") + PATH


async def transcribe_stream(
    base_url: str, headers: Mapping[str, str], chunks: Chunks, start: StreamStart
) -> AsyncIterator[StreamEvent | StreamDone]:
    """The session's events: partials and finals as they come, then ``done``."""
    try:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("live transcription needs websockets: pip install 'omnisense[live]'") from exc
    async with connect(ws_url(base_url), additional_headers=dict(headers), max_size=None) as ws:
        await ws.send(_encode(start).decode())
        sender = asyncio.create_task(_send_all(ws, chunks))
        try:
            async for message in ws:
                event = _decode(message)
                if isinstance(event, StreamError):
                    raise _error(event.code, event.reason)
                yield event
                if isinstance(event, StreamDone):
                    return
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else 1006
            raise _error(code, closed.rcvd.reason if closed.rcvd else "connection lost") from None
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender
        raise _error(ws.close_code or 1006, ws.close_reason or "the session closed before done")


async def _send_all(ws: Any, chunks: Chunks) -> None:
    if isinstance(chunks, AsyncIterable):
        async for chunk in chunks:
            await ws.send(bytes(chunk))
    else:
        for chunk in chunks:
            await ws.send(bytes(chunk))
    await ws.send('{"type": "end"}')


def _error(code: int, reason: str) -> OmnisenseError:
    cls = ERROR_OF_CLOSE.get(code, UpstreamUnavailable)
    return cls(f"live session closed with {code}: {reason}")
