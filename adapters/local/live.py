"""Live transcription on the model server: ``WS /live/transcribe`` (``local_models/omnilocal/live_ws.py``).

One WebSocket per session, to the replica ``ReplicaSet.pick()`` chooses (counted in flight
while it is open): the start message, then binary PCM frames, then ``{"type": "end"}``; the
server's ``partial`` / ``final`` frames become ``Hypothesis`` objects and ``done`` ends the
iteration. A connection that closes before ``done``, or an ``error`` frame, is an
``UpstreamError`` (the gateway's session fails over); a language the model does not speak is
``Unsupported`` before anything is sent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Collection

import aiohttp
import msgspec

from adapters.base import Hypothesis
from adapters.local.replicas import Replica, ReplicaSet
from omnisense.schema import (
    OmnisenseError,
    Unsupported,
    UpstreamBadResponse,
    UpstreamThrottled,
    UpstreamTimeout,
    UpstreamUnavailable,
    primary,
)

PATH = "/live/transcribe"


class _Frame(msgspec.Struct, kw_only=True):
    type: str
    text: str = ""
    start_s: float = 0.0
    end_s: float = 0.0
    error: str = ""
    detail: str = ""


_decode = msgspec.json.Decoder(_Frame).decode


class LocalTranscription:
    """``adapters.base.TranscriptionStream`` over one model-server WebSocket."""

    def __init__(self, name: str, ws: aiohttp.ClientWebSocketResponse, replica: Replica) -> None:
        self.name = name
        self.max_audio_s: float | None = None
        self.ws = ws
        self.replica = replica
        self._closed = False

    async def send(self, pcm: bytes) -> None:
        try:
            await self.ws.send_bytes(pcm)
        except (aiohttp.ClientError, ConnectionError, RuntimeError) as exc:
            raise UpstreamUnavailable(f"{self.name}: the live stream broke ({exc})") from exc

    async def finish(self) -> None:
        try:
            await self.ws.send_str('{"type": "end"}')
        except (aiohttp.ClientError, ConnectionError, RuntimeError) as exc:
            raise UpstreamUnavailable(f"{self.name}: the live stream broke ({exc})") from exc

    def __aiter__(self) -> AsyncIterator[Hypothesis]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Hypothesis]:
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            try:
                frame = _decode(message.data)
            except msgspec.DecodeError as exc:
                raise UpstreamBadResponse(f"{self.name}: a live frame that is not JSON: {exc}") from exc
            if frame.type == "done":
                return
            if frame.type == "error":
                raise _error(self.name, frame)
            if frame.type in ("partial", "final"):
                yield Hypothesis(text=frame.text, start_s=frame.start_s, end_s=frame.end_s, final=frame.type == "final")
        raise UpstreamUnavailable(f"{self.name}: the model server closed the live stream (code {self.ws.close_code})")

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.replica.in_flight -= 1
        await self.ws.close()


def _error(name: str, frame: _Frame) -> OmnisenseError:
    detail = f"{name}: {frame.detail or frame.error}"
    if frame.error == "unsupported":
        return Unsupported(detail)
    if frame.error == "overloaded":
        return UpstreamThrottled(detail, retry_after_s=1.0)
    return UpstreamUnavailable(detail)


async def open_live(
    name: str,
    http: aiohttp.ClientSession,
    replicas: ReplicaSet,
    languages: Collection[str] | None,
    *,
    sample_rate: int,
    language: str | None,
    interim: bool,
    connect_timeout_s: float,
) -> LocalTranscription:
    if language and languages is not None and primary(language) not in languages:
        raise Unsupported(f"{name}: live transcription speaks {', '.join(sorted(languages))} only, not {language!r}")
    replica = replicas.pick()
    if replica is None:
        raise UpstreamUnavailable(f"{name}: no model server is ready for a live stream")
    target = replica.target
    headers = {"Host": target.host_header} if target.host_header else None
    try:
        async with asyncio.timeout(connect_timeout_s):
            ws = await http.ws_connect(
                target.url + PATH, headers=headers, server_hostname=target.server_hostname,
                timeout=aiohttp.ClientWSTimeout(ws_close=5.0), autoping=True,
            )  # fmt: skip
    except TimeoutError as exc:
        raise UpstreamTimeout(f"{name}: no live stream at {target.url} within {connect_timeout_s:g} s") from exc
    except (aiohttp.ClientError, OSError) as exc:
        if isinstance(exc, aiohttp.ClientConnectorError):
            replicas.mark_down(replica, f"{type(exc).__name__}: {exc}"[:200])
        raise UpstreamUnavailable(f"{name}: could not open a live stream at {target.url} ({exc})") from exc
    replica.in_flight += 1
    stream = LocalTranscription(name, ws, replica)
    try:
        await ws.send_str(json.dumps({"sample_rate": sample_rate, "language": language, "interim": interim}))
    except BaseException:
        await stream.aclose()
        raise
    return stream
