"""ASGI middleware that keeps every bad-input answer in the contract's shape.

BentoML answers a body that fails its pydantic validation with a 400 of its
own shape, and a body that is not JSON at all with a 500. This middleware, in
front of the entry service's POST routes, answers non-JSON bodies itself with
400 and rewrites BentoML's own 400/422 bodies to
``{"error": "invalid_input", "detail": "..."}``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

OUR_CODES = ("invalid_input", "unsupported")
MAX_BODY_BYTES = 80 * 1024 * 1024


def _json_response(status: int, payload: dict[str, Any]) -> tuple[Message, Message]:
    body = json.dumps(payload).encode()
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    }
    return start, {"type": "http.response.body", "body": body, "more_body": False}


def _detail_of(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")[:500]
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data = data[0]  # BentoML 1.4 wraps some error bodies in a list
    if isinstance(data, dict):
        parts = [str(data.get("error", ""))]
        for item in data.get("detail", []) if isinstance(data.get("detail"), list) else []:
            if isinstance(item, dict):
                loc = ".".join(str(p) for p in item.get("loc", []))
                parts.append(f"{loc}: {item.get('msg', '')}")
        return "; ".join(p for p in parts if p)[:500]
    return str(data)[:500]


class ContractErrors:
    """Wraps the entry app; see the module docstring."""

    def __init__(self, app: ASGIApp, paths: Iterable[str] = ()) -> None:
        self.app = app
        self.paths = frozenset(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("path") not in self.paths:
            await self.app(scope, receive, send)
            return
        body = await self._read_body(receive)
        if body is None:
            await self._send(send, 413, "request body is too large")
            return
        try:
            parsed = json.loads(body) if body.strip() else {}
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            await self._send(send, 400, "request body must be a JSON object")
            return
        replay = json.dumps(parsed).encode() if not body.strip() else body
        await self.app(scope, self._replayer(replay, receive), self._rewriter(send))

    @staticmethod
    async def _read_body(receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    @staticmethod
    def _replayer(body: bytes, upstream: Receive) -> Receive:
        """The body read already, then the connection's own messages: a streamed answer
        (starlette's StreamingResponse) listens for ``http.disconnect`` while it sends, and
        must hear it only when the client really goes away."""
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return await upstream()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        return receive

    @staticmethod
    async def _send(send: Send, status: int, detail: str) -> None:
        start, body = _json_response(status, {"error": "invalid_input", "detail": detail})
        await send(start)
        await send(body)

    def _rewriter(self, send: Send) -> Send:
        held: Message | None = None
        chunks: list[bytes] = []

        async def wrapped(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and message["status"] in (400, 422):
                held = message
                return
            if held is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            await self._finish(send, held, b"".join(chunks))

        return wrapped

    async def _finish(self, send: Send, start: Message, body: bytes) -> None:
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if isinstance(data, dict) and data.get("error") in OUR_CODES:
            await send(start)
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return
        await self._send(send, 400, _detail_of(body) or "invalid request")
