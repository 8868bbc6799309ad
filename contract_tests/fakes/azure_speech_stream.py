"""A wire-level fake of Azure AI Speech's recognition websocket, the protocol the Speech SDK speaks.

The SDK connects to ``ws://HOST/speech/recognition/conversation/cognitiveservices/v1?language=..``
(a ``host=`` of its ``SpeechConfig``, as for Speech containers) with the ``USP`` subprotocol and
``Ocp-Apim-Subscription-Key``. Messages, as the service's websocket protocol documents them:

- client text messages: headers (``Path``, ``X-RequestId``, ``X-Timestamp``, ``Content-Type``),
  a blank line, a JSON body: ``speech.config``, ``speech.context``;
- client binary messages (``Path: audio``): a 2-byte big-endian header length, the headers,
  the audio; a turn's first carries a RIFF/WAV header (format, rate), an empty one ends it;
- server text messages for that turn (its ``X-RequestId``): ``turn.start``,
  ``speech.startDetected``, ``speech.hypothesis`` (``Text``, ``Offset``, ``Duration`` in
  100-ns ticks), ``speech.phrase`` (``RecognitionStatus``, ``DisplayText``, ``Offset``,
  ``Duration``; with ``format=detailed`` also ``NBest``), ``speech.endDetected``, ``turn.end``.

The transcript is the Speech REST reference's detailed example ("What's the weather like?",
NBest confidence 0.9052885, 0.5 s to 2.0 s), with partials growing word by word, each sent once
the audio received reaches its end (the times are ours), the rest when the turn's audio ends.
The SDK then sends the audio after ``speech.endDetected`` again in a new turn: such later turns
are answered ``NoMatch``, and a turn with no audio ``turn.end`` alone.

Failures a test queues with ``fail(...)`` (each taken by the next connection): ``Failure.auth``
(the upgrade answered 401), ``Failure.throttle`` (429), ``Failure.close`` (the websocket closed
with a code and reason after N hypotheses, as the service does on errors), ``Failure.drop``
(the TCP connection aborted after N hypotheses), ``Failure.hang`` (audio taken, nothing answered).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

PATH = "/speech/recognition/conversation/cognitiveservices/v1"
TICKS = 10_000_000  # 100-ns ticks per second
DISPLAY = "What's the weather like?"
CONFIDENCE = 0.9052885
# (hypothesis text, its end in seconds from the start of the audio)
HYPOTHESES = (("what's", 0.8), ("what's the", 1.1), ("what's the weather", 1.5), ("what's the weather like", 1.9))
START, END = 0.5, 2.0


@dataclass(frozen=True)
class Failure:
    kind: str  # auth | throttle | close | drop | hang
    after: int = 0
    code: int = 1011
    reason: str = ""

    @classmethod
    def auth(cls) -> Failure:
        return cls("auth")

    @classmethod
    def throttle(cls) -> Failure:
        return cls("throttle")

    @classmethod
    def close(cls, code: int, reason: str, after: int = 1) -> Failure:
        return cls("close", after, code, reason)

    @classmethod
    def drop(cls, after: int = 1) -> Failure:
        return cls("drop", after)

    @classmethod
    def hang(cls) -> Failure:
        return cls("hang")


@dataclass
class Turn:
    request_id: str
    language: str
    detailed: bool
    rate: int = 0
    audio: bytearray = field(default_factory=bytearray)
    first: bool = True  # the connection's first turn: it has the transcript, later ones NoMatch
    started: bool = False  # speech.startDetected sent
    ended: bool = False
    sent: int = 0  # hypotheses sent

    @property
    def seconds(self) -> float:
        return len(self.audio) / (2 * self.rate) if self.rate else 0.0


def parse_text(message: str) -> tuple[dict[str, str], str]:
    head, _, body = message.partition("\r\n\r\n")
    return _headers(head), body


def parse_binary(message: bytes) -> tuple[dict[str, str], bytes]:
    (size,) = struct.unpack_from(">H", message)
    return _headers(message[2 : 2 + size].decode()), message[2 + size :]


def _headers(block: str) -> dict[str, str]:
    pairs = (line.split(":", 1) for line in block.split("\r\n") if ":" in line)
    return {name.strip().lower(): value.strip() for name, value in pairs}


def message(path: str, request_id: str, body: dict[str, Any]) -> str:
    head = f"X-RequestId:{request_id}\r\nContent-Type:application/json; charset=utf-8\r\nPath:{path}"
    return f"{head}\r\n\r\n{json.dumps(body)}"


def phrase(detailed: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"RecognitionStatus": "Success", "Offset": int(START * TICKS)}
    body.update(Duration=int((END - START) * TICKS), DisplayText=DISPLAY)
    if detailed:
        body["NBest"] = [
            {"Confidence": CONFIDENCE, "Lexical": "what's the weather like", "ITN": "what's the weather like"}
            | {"MaskedITN": "what's the weather like", "Display": DISPLAY}
        ]
    return body


class SpeechWebsocketFake:
    """The fake in a thread of its own; ``url`` (http://, which the adapter turns into ws://) once started."""

    def __init__(self, key: str = "fake-speech-key") -> None:
        self.key = key
        self.port = 0
        self.turns: list[Turn] = []
        self.handshakes: list[dict[str, str]] = []
        self.log: list[str] = []  # "< path" received, "> path" sent, in order
        self.open = 0  # websocket connections open now
        self._failures: deque[Failure] = deque()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail(self, *failures: Failure) -> None:
        with self._lock:
            self._failures.extend(failures)

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()
            self.turns.clear()
            self.handshakes.clear()

    def _take(self) -> Failure | None:
        with self._lock:
            return self._failures.popleft() if self._failures else None

    def _upgrade(self, connection: ServerConnection, request: Request) -> Response | None:
        self.handshakes.append({k.lower(): v for k, v in request.headers.raw_items()} | {":path": request.path})
        failure = self._take()
        connection.failure = failure  # type: ignore[attr-defined]
        if urlsplit(request.path).path != PATH:
            return connection.respond(HTTPStatus.NOT_FOUND, "no such path\n")
        if (failure is not None and failure.kind == "auth") or request.headers.get(
            "Ocp-Apim-Subscription-Key"
        ) != self.key:
            return Response(401, "Unauthorized", Headers(), b"")
        if failure is not None and failure.kind == "throttle":
            return Response(429, "Too Many Requests", Headers({"Retry-After": "1"}), b"")
        return None

    async def _session(self, ws: ServerConnection) -> None:
        failure: Failure | None = getattr(ws, "failure", None)
        query = parse_qs(urlsplit(ws.request.path if ws.request else "").query)
        language = query.get("language", [""])[0]
        detailed = query.get("format", [""])[0] == "detailed"
        turns: dict[str, Turn] = {}
        self.open += 1
        try:
            async for raw in ws:
                if isinstance(raw, str):
                    self.log.append("< " + parse_text(raw)[0].get("path", "?"))
                    continue  # speech.config, speech.context
                headers, audio = parse_binary(raw)
                self.log.append(f"< audio {len(audio)} {headers.get('x-requestid', '')[:6]}")
                rid = headers.get("x-requestid", "")
                turn = turns.get(rid)
                if turn is None:
                    turn = turns[rid] = Turn(rid, language, detailed, first=not any(t.audio for t in turns.values()))
                    self.turns.append(turn)
                if audio[:4] == b"RIFF":  # the turn's first message: the format, then maybe audio
                    (turn.rate,) = struct.unpack_from("<I", audio, 24)
                    await self._send(ws, message("turn.start", rid, {"context": {"serviceTag": uuid.uuid4().hex}}))
                    audio = audio[44:]
                    if not audio:
                        continue
                if audio:
                    turn.audio += audio
                    await self._progress(ws, turn, failure)
                elif not turn.ended:
                    turn.ended = True
                    await self._end(ws, turn, failure)
        finally:
            self.open -= 1

    async def _progress(self, ws: ServerConnection, turn: Turn, failure: Failure | None) -> None:
        if (failure is not None and failure.kind == "hang") or not turn.first:
            return
        if not turn.started and turn.seconds >= START:
            turn.started = True
            await self._send(ws, message("speech.startDetected", turn.request_id, {"Offset": int(START * TICKS)}))
        while turn.sent < len(HYPOTHESES) and HYPOTHESES[turn.sent][1] <= turn.seconds:
            await self._hypothesis(ws, turn, failure)

    async def _hypothesis(self, ws: ServerConnection, turn: Turn, failure: Failure | None) -> None:
        if failure is not None and failure.kind in ("close", "drop") and turn.sent >= failure.after:
            if failure.kind == "close":
                await ws.close(failure.code, failure.reason)
            else:
                ws.transport.abort()
            raise asyncio.CancelledError
        text, end = HYPOTHESES[turn.sent]
        body = {"Text": text, "Offset": int(START * TICKS), "Duration": int((end - START) * TICKS)}
        await self._send(ws, message("speech.hypothesis", turn.request_id, body))
        turn.sent += 1

    async def _end(self, ws: ServerConnection, turn: Turn, failure: Failure | None) -> None:
        if failure is not None and failure.kind == "hang":
            return
        if turn.audio and turn.first:
            while turn.sent < len(HYPOTHESES):
                await self._hypothesis(ws, turn, failure)
            await self._send(ws, message("speech.phrase", turn.request_id, phrase(turn.detailed)))
            await self._send(ws, message("speech.endDetected", turn.request_id, {"Offset": int(END * TICKS)}))
        elif turn.audio:  # what the SDK sends again after the first utterance's end
            rest = {"RecognitionStatus": "NoMatch", "Offset": 0, "Duration": int(turn.seconds * TICKS)}
            await self._send(ws, message("speech.phrase", turn.request_id, rest))
        await self._send(ws, message("turn.end", turn.request_id, {}))

    async def _send(self, ws: ServerConnection, text: str) -> None:
        self.log.append("> " + text.split("Path:", 1)[1].split("\r\n", 1)[0])
        await ws.send(text)

    async def _handler(self, ws: ServerConnection) -> None:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._session(ws)

    def start(self) -> SpeechWebsocketFake:
        started = threading.Event()

        async def main() -> None:
            self._stop = asyncio.Event()
            server: Server
            async with serve(
                self._handler,
                "127.0.0.1",
                0,
                subprotocols=["USP"],
                process_request=self._upgrade,  # type: ignore[list-item]
            ) as server:
                self.port = next(iter(server.sockets)).getsockname()[1]
                started.set()
                await self._stop.wait()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(main())
            self._loop.close()

        self._thread = threading.Thread(target=run, name="azure-speech-fake", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the Azure Speech websocket fake did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)
