"""A scripted fake vendor: a real HTTP server whose answers a test writes.

It runs in a thread with its own event loop, so the vendor's real SDK (sync or async)
talks to it over real sockets. Routes match method, a path regex and optional header
values (AWS's ``X-Amz-Target``); a route answers through its handler unless replies
were queued for it with ``push``, which are consumed first, in order. That is how a
test scripts "throttle twice, then succeed" or "hang once". Every request is recorded.

    fake = ScriptedVendor().start()
    fake.route("POST", r"/v1/images:annotate", lambda req: Reply(json={"responses": []}))
    fake.push("POST", r"/v1/images:annotate", Reply(status=429), Reply(hang=True))
    ... point the SDK at fake.url ...
    fake.stop()
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import struct
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    json: Any = None
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    hang: bool = False  # never answer (until the server stops)
    delay_s: float = 0.0
    reset: bool = False  # close the connection with a TCP RST instead of answering
    truncate: bool = False  # announce the whole body, send half of it, close
    # A chunked body: these pieces in turn, each flushed at once; with ``gate`` (a threading.Event),
    # the pieces after the first wait until the test sets it (a vendor still synthesizing).
    chunks: tuple[bytes, ...] = ()
    gate: threading.Event | None = None

    @classmethod
    def connection_reset(cls) -> Reply:
        return cls(reset=True)

    @classmethod
    def truncated(cls, json_body: Any) -> Reply:
        return cls(json=json_body, truncate=True)

    @classmethod
    def malformed(cls) -> Reply:
        return cls(status=200, body=b'{"truncated": ', content_type="application/json")


Handler = Callable[[Recorded], Reply]


@dataclass
class _Route:
    method: str
    path: re.Pattern[str]
    when: Mapping[str, str]
    handler: Handler
    queued: deque[Reply] = field(default_factory=deque)

    def matches(self, method: str, path: str, headers: Mapping[str, str]) -> bool:
        return (
            self.method == method
            and self.path.fullmatch(path) is not None
            and all(headers.get(k) == v for k, v in self.when.items())
        )


class ScriptedVendor:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.requests: list[Recorded] = []
        self._routes: list[_Route] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # --- scripting ---------------------------------------------------------------------

    def route(self, method: str, path: str, handler: Handler, *, when: Mapping[str, str] | None = None) -> None:
        with self._lock:
            self._routes.append(_Route(method.upper(), re.compile(path), dict(when or {}), handler))

    def push(self, method: str, path: str, *replies: Reply, when: Mapping[str, str] | None = None) -> None:
        """Queue one-shot replies for the route registered with the same method/path/when."""
        with self._lock:
            for r in self._routes:
                if r.method == method.upper() and r.path.pattern == path and dict(r.when) == dict(when or {}):
                    r.queued.extend(replies)
                    return
        raise KeyError(f"no route {method} {path} {when or ''}: register it with route() first")

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            for r in self._routes:
                r.queued.clear()

    # --- serving -----------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        rec = Recorded(request.method, request.path, dict(request.query), dict(request.headers), await request.read())
        with self._lock:
            self.requests.append(rec)
            route = next((r for r in self._routes if r.matches(rec.method, rec.path, rec.headers)), None)
            reply = route.queued.popleft() if route is not None and route.queued else None
        if route is None:
            return web.json_response({"message": f"fake: no route for {rec.method} {rec.path}"}, status=404)
        if reply is None:
            reply = route.handler(rec)
        if reply.hang:
            assert self._stop is not None
            await self._stop.wait()
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        body = reply.body if reply.body is not None else json.dumps(reply.json).encode()
        if reply.reset or reply.truncate:
            return await _broken(request, reply, body)
        if reply.chunks:
            return await _chunked(request, reply)
        return web.Response(
            status=reply.status, body=body, headers=dict(reply.headers), content_type=reply.content_type
        )

    def start(self) -> ScriptedVendor:
        started = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            loop.run_until_complete(self._serve(started))

        self._thread = threading.Thread(target=serve, name="scripted-vendor", daemon=True)
        self._thread.start()
        started.wait(10)
        return self

    async def _serve(self, started: threading.Event) -> None:
        self._stop = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        started.set()
        await self._stop.wait()
        await runner.cleanup()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)


async def _chunked(request: web.Request, reply: Reply) -> web.StreamResponse:
    """A 200 sent with chunked transfer encoding, piece by piece."""
    response = web.StreamResponse(status=reply.status, headers={"Content-Type": reply.content_type, **reply.headers})
    response.enable_chunked_encoding()
    await response.prepare(request)
    for i, piece in enumerate(reply.chunks):
        if i == 1 and reply.gate is not None:
            await asyncio.to_thread(reply.gate.wait, 10)
        await response.write(piece)
    await response.write_eof()
    return response


async def _broken(request: web.Request, reply: Reply, body: bytes) -> web.StreamResponse:
    """A connection reset before any answer, or a 200 cut off halfway through its body."""
    transport = request.transport
    assert transport is not None
    if reply.truncate:
        response = web.StreamResponse(status=reply.status, headers={"Content-Type": reply.content_type})
        response.content_length = len(body)
        await response.prepare(request)
        await response.write(body[: len(body) // 2])
    sock = transport.get_extra_info("socket")
    if sock is not None:  # linger 0: close() sends RST, not FIN
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.close()
    raise asyncio.CancelledError  # the handler ends here; aiohttp drops the dead connection
