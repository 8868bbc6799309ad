"""``WS /v1/speech/transcribe/stream``: live transcription (``gateway.streaming``).

The same keys, scopes and rate limits as REST (``KeyRing``: a session is one request of
speech.transcribe), the same routing hints (``X-Omnisense-Provider``, ``X-Omnisense-Policy``
or the start message's ``policy``, checked by ``route_choice``) and the same budgets (the
``Meter`` charges the key's budget as the audio goes out). The connection is always accepted
first, so that a refusal is a close code the client can read (4001, 4003, 4029 ...), and
every session, refused or not, leaves one record.
"""

from __future__ import annotations

from typing import Any

from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.types import ReceiveMessage

from gateway.logs.record import RequestLog
from gateway.server.runtime import Runtime
from gateway.server.scope import route_choice
from gateway.server.tasks import header_map, request_id_from
from gateway.streaming.candidates import streaming_candidates
from gateway.streaming.errors import ClientGone
from gateway.streaming.meter import Meter
from gateway.streaming.session import LiveSession, Routed
from omnisense.schema import RoutingHints, Task
from omnisense.schema.streaming import StreamStart

PATH = "/v1/speech/transcribe/stream"
TASK = Task.SPEECH_TRANSCRIBE


class SocketChannel:
    """A litestar WebSocket as the session's ``Channel``."""

    def __init__(self, socket: WebSocket[Any, Any, Any]) -> None:
        self.socket = socket

    async def receive(self) -> bytes | str:
        message: ReceiveMessage = await self.socket.receive()
        if message["type"] != "websocket.receive":
            raise ClientGone(message.get("code"))  # type: ignore[arg-type]
        data = message.get("bytes")
        return data if data is not None else message.get("text") or ""

    async def send_text(self, text: str) -> None:
        try:
            await self.socket.send_text(text)
        except (WebSocketDisconnect, OSError, RuntimeError) as exc:  # the client left while we answered
            raise ClientGone(None) from exc

    async def close(self, code: int, reason: str) -> None:
        await self.socket.close(code=code, reason=reason)


@websocket(PATH, name="speech.transcribe.stream")
async def transcribe_stream(socket: WebSocket[Any, Any, Any]) -> None:
    runtime: Runtime = socket.app.state.runtime
    headers = header_map(socket.scope)
    protocol = _browser_key(headers)
    await socket.accept(subprotocols=protocol)
    session = LiveSession(SocketChannel(socket), runtime.config.streaming, request_id_from(headers), runtime.submit)
    if not runtime.sessions.add(session):
        session.stop(1013, "try again later: this gateway holds its maximum of live sessions")
    try:
        await session.run(_authorize(runtime, headers), _prepare(runtime, headers))
    finally:
        runtime.sessions.remove(session)


def _browser_key(headers: dict[str, str]) -> str | None:
    """A browser cannot set ``Authorization`` on a WebSocket: ``new WebSocket(url, ["bearer", key])``
    sends ``Sec-WebSocket-Protocol: bearer, <key>``, read here as the key (the answer names the
    ``bearer`` subprotocol, as the browser requires)."""
    offered = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",")]
    if len(offered) >= 2 and offered[0] == "bearer" and offered[1] and "authorization" not in headers:
        headers["authorization"] = f"Bearer {offered[1]}"
        return "bearer"
    return None


def _authorize(runtime: Runtime, headers: dict[str, str]) -> Any:
    async def authorize(record: RequestLog) -> None:
        key = runtime.keys.authenticate(headers)
        if key is not None:
            record.key_id = key.id
            runtime.keys.check_task(key, TASK)
            await runtime.keys.check_rate(key)

    return authorize


def _prepare(runtime: Runtime, headers: dict[str, str]) -> Any:
    async def prepare(start: StreamStart, record: RequestLog) -> Routed:
        key = runtime.keys.authenticate(headers)
        hints = RoutingHints(policy=start.policy) if start.policy else None
        choice = route_choice(runtime, headers, key, hints)
        dispatcher = choice.dispatcher
        candidates = await streaming_candidates(
            dispatcher, record.key_id, start.language, pinned=choice.pinned, allowed=choice.allowed,
            residency=choice.residency,
        )  # fmt: skip
        infos = {name: p.info for name, p in dispatcher.providers.items()}
        meter = Meter(infos, dispatcher.state.budgets, record.key_id)
        return Routed(candidates, meter, dispatcher.planner.placements)

    return prepare


LIVE_HANDLERS = [transcribe_stream]
