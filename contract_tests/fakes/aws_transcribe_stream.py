"""A wire-level fake of Amazon Transcribe streaming: ``StartStreamTranscription`` over HTTP/2.

What it speaks (the API reference's "StartStreamTranscription" and "Event stream encoding"):

- TLS with ALPN ``h2`` (the SDK refuses anything but HTTP/2), a throwaway self-signed
  certificate (``ca_file``: the client must trust it);
- ``POST /stream-transcription`` with the ``x-amzn-transcribe-language-code``,
  ``-sample-rate`` and ``-media-encoding`` headers, ``x-amz-date`` and a SigV4
  ``authorization`` that the fake recomputes with ``secret_access_key`` (the SDK signs an
  empty payload's hash and ``host`` without the port): a key other than ``access_key_id`` is
  answered ``403 UnrecognizedClientException``, a wrong signature ``403
  InvalidSignatureException``, as AWS does;
- the request body: event-stream messages signed in a chain (``:date``, ``:chunk-signature``:
  AWS's ``AWS4-HMAC-SHA256-PAYLOAD`` string to sign, seeded by the request's signature, each
  checked) whose payload is an ``AudioEvent`` message carrying PCM; an empty signed message
  ends the audio;
- the answer: ``200`` with the ``x-amzn-*`` headers, then ``TranscriptEvent`` messages
  (``:message-type event``, JSON payload). The transcript is AWS's documented example
  ("The Amazon is the largest rainforest on the planet."): the partials of the developer
  guide's table, each sent once the audio received reaches its ``EndTime``, the rest
  when the audio ends, then the complete segment (``IsPartial: false``, 0.025 s to
  6.025 s) with its items (word times spread over the segment, 0-1 confidences). The
  answer is the same for any audio.

Failures a test queues with ``fail(...)`` (each taken by the next stream): ``Failure.auth``
(403), ``Failure.throttle`` (429 ``LimitExceededException``), ``Failure.exception`` (an
``InternalFailureException`` exception event after N transcript events), ``Failure.drop``
(the TCP connection aborted after N events), ``Failure.hang`` (audio taken, nothing answered).
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import hmac
import json
import re
import shutil
import tempfile
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import ConnectionTerminated, DataReceived, RequestReceived, StreamEnded, StreamReset
from h2.exceptions import ProtocolError

from contract_tests.fakes import eventstream
from contract_tests.fakes.tls import self_signed, server_context

SEGMENT = "The Amazon is the largest rainforest on the planet."
# The developer guide's partial results (stabilization off): (Transcript, EndTime).
PARTIALS: tuple[tuple[str, float], ...] = (
    ("The", 0.545),
    ("The Amazon.", 1.045),
    ("The Amazon is", 1.545),
    ("The Amazon is the law.", 2.045),
    ("The Amazon is the largest", 2.545),
    ("The Amazon is the largest ray", 3.045),
    ("The Amazon is the largest rain for", 3.545),
    ("The Amazon is the largest rainforest.", 4.045),
    ("The Amazon is the largest rainforest on the", 4.545),
    ("The Amazon is the largest rainforest on the planet.", 5.045),
)
START, END = 0.025, 6.025
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, SignedHeaders=([^,]+), Signature=(\w+)"
)


def signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def request_signature(headers: dict[str, str], secret: str) -> tuple[str, str] | None:
    """(the signature the request should carry, its scope), or None when unparsable."""
    found = AUTH.fullmatch(headers.get("authorization", ""))
    if found is None:
        return None
    _, day, region, service, signed, _ = found.groups()
    values = {**headers, "host": headers.get(":authority", "").split(":")[0]}
    lines = [f"{name}:{values.get(name, '').strip()}" for name in signed.split(";")]
    canonical = "\n".join([headers.get(":method", ""), headers.get(":path", ""), "", *lines, "", signed, EMPTY_SHA256])
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", headers.get("x-amz-date", ""), scope, _sha(canonical.encode())])
    key = signing_key(secret, day, region, service)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest(), scope


def chunk_signature(key: bytes, scope: str, prior: str, millis: int, payload: bytes) -> bytes:
    stamp = datetime.datetime.fromtimestamp(millis / 1000, datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    date_header = eventstream.timestamp_header(":date", millis)
    to_sign = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", stamp, scope, prior, _sha(date_header), _sha(payload)])
    return hmac.new(key, to_sign.encode(), hashlib.sha256).digest()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


CONFIDENCES = (0.9989, 0.9951, 0.9998, 0.9997, 0.9843, 0.8721, 0.9995, 0.9999, 0.9967)


@dataclass(frozen=True)
class Failure:
    kind: str  # auth | throttle | exception | drop | hang
    after: int = 0  # transcript events sent first (exception, drop)
    code: str = "InternalFailureException"

    @classmethod
    def auth(cls) -> Failure:
        return cls("auth")

    @classmethod
    def throttle(cls) -> Failure:
        return cls("throttle")

    @classmethod
    def exception(cls, after: int = 1, code: str = "InternalFailureException") -> Failure:
        return cls("exception", after, code)

    @classmethod
    def drop(cls, after: int = 1) -> Failure:
        return cls("drop", after)

    @classmethod
    def hang(cls) -> Failure:
        return cls("hang")


@dataclass
class Session:
    """One ``StartStreamTranscription`` as the fake saw it."""

    headers: dict[str, str]
    audio: bytearray = field(default_factory=bytearray)
    audio_events: int = 0
    ended: bool = False  # the client sent the empty message that ends the audio
    events_sent: int = 0
    closed: bool = False  # the HTTP/2 stream is over (answered, reset or dropped)

    @property
    def sample_rate(self) -> int:
        return int(self.headers.get("x-amzn-transcribe-sample-rate", "16000"))

    @property
    def audio_seconds(self) -> float:
        return len(self.audio) / (2 * self.sample_rate)


def transcript_event(text: str, end: float, partial: bool, result_id: str) -> dict[str, Any]:
    words = SEGMENT.rstrip(".").split()
    shown = text.rstrip(".").split()
    step = (END - START) / len(words)
    items: list[dict[str, Any]] = []
    for i, word in enumerate(shown):
        item: dict[str, Any] = {
            "Content": word,
            "StartTime": round(START + i * step, 4),
            "EndTime": round(START + (i + 1) * step, 4),
            "Type": "pronunciation",
            "VocabularyFilterMatch": False,
        }
        if not partial:
            item["Confidence"] = CONFIDENCES[i]
        items.append(item)
    if text.endswith("."):
        at = items[-1]["EndTime"] if items else START
        items.append({"Content": ".", "StartTime": at, "EndTime": at, "Type": "punctuation"})
    result = {
        "Alternatives": [{"Items": items, "Transcript": text}],
        "EndTime": end,
        "IsPartial": partial,
        "ResultId": result_id,
        "StartTime": START,
    }
    return {"Transcript": {"Results": [result]}}


class _Protocol(asyncio.Protocol):
    """One HTTP/2 connection (the SDK opens one per client)."""

    def __init__(self, fake: TranscribeStreamingFake) -> None:
        self.fake = fake
        self.conn = H2Connection(H2Configuration(client_side=False, header_encoding="utf-8"))
        self.transport: asyncio.Transport | None = None
        self.streams: dict[int, _Stream] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.fake.connections += 1
        self.fake.protocols.add(self)
        self.conn.initiate_connection()
        self.flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self.fake.connections -= 1
        self.fake.protocols.discard(self)
        for stream in self.streams.values():
            stream.session.closed = True

    def flush(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(self.conn.data_to_send())

    def data_received(self, data: bytes) -> None:
        try:
            self.handle(data)
        except ProtocolError:  # the client went away (GOAWAY, reset) while an answer was due
            self.abort()
            return
        self.flush()

    def handle(self, data: bytes) -> None:
        for event in self.conn.receive_data(data):
            if isinstance(event, RequestReceived):
                self.streams[event.stream_id] = _Stream(self, event.stream_id, dict(event.headers))  # type: ignore[arg-type]
            elif isinstance(event, DataReceived):
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                if event.stream_id in self.streams:
                    self.streams[event.stream_id].body(event.data)
            elif isinstance(event, StreamEnded) and event.stream_id in self.streams:
                self.streams[event.stream_id].end_of_audio()
            elif isinstance(event, StreamReset) and event.stream_id in self.streams:
                self.streams.pop(event.stream_id).session.closed = True
            elif isinstance(event, ConnectionTerminated) and self.transport is not None:
                self.transport.close()
                return

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class _Stream:
    def __init__(self, proto: _Protocol, stream_id: int, headers: dict[str, str]) -> None:
        self.proto, self.id = proto, stream_id
        self.session = Session(headers)
        self.decoder = eventstream.Decoder()
        self.failure = proto.fake.take_failure()
        self.partials = deque(PARTIALS)
        self.result_id = str(uuid.uuid4())
        self.answered = False
        self.prior, self.scope, self.key = "", "", b""  # the signature chain, once the request is checked
        proto.fake.sessions.append(self.session)
        problem = self.check(headers)
        if problem is not None:
            self.reject(*problem)
        else:
            self.answer_headers()

    def check(self, h: dict[str, str]) -> tuple[int, str, str] | None:
        auth = h.get("authorization", "")
        key = self.proto.fake.access_key_id
        if (self.failure is not None and self.failure.kind == "auth") or f"Credential={key}/" not in auth:
            return 403, "UnrecognizedClientException", "The security token included in the request is invalid."
        if not h.get("x-amz-date"):
            return 400, "BadRequestException", "the request has no x-amz-date"
        secret = self.proto.fake.secret_access_key
        signed = request_signature(h, secret)
        given = AUTH.fullmatch(auth)
        if signed is None or given is None or not hmac.compare_digest(signed[0], given.group(6)):
            message = "The request signature we calculated does not match the signature you provided."
            return 403, "InvalidSignatureException", message
        self.prior, self.scope = signed[0], signed[1]
        self.key = signing_key(secret, *given.group(2, 3, 4))
        if self.failure is not None and self.failure.kind == "throttle":
            return 429, "LimitExceededException", "You have reached your limit of concurrent streams."
        if h.get(":method") != "POST" or h.get(":path") != "/stream-transcription":
            return 404, "UnknownOperationException", f"no operation at {h.get(':path')}"
        for name in ("language-code", "sample-rate", "media-encoding"):
            if not h.get(f"x-amzn-transcribe-{name}"):
                return 400, "BadRequestException", f"x-amzn-transcribe-{name} is required"
        rate = int(h["x-amzn-transcribe-sample-rate"])
        if not 8000 <= rate <= 48000:
            return 400, "BadRequestException", "The sample rate must be between 8000 and 48000."
        return None

    def reject(self, status: int, code: str, message: str) -> None:
        conn = self.proto.conn
        headers = [(":status", str(status)), ("x-amzn-errortype", f"{code}:http://internal.amazon.com/coral/")]
        headers += [("content-type", "application/json"), ("x-amzn-requestid", str(uuid.uuid4()))]
        conn.send_headers(self.id, headers)
        conn.send_data(self.id, json.dumps({"Message": message}).encode(), end_stream=True)
        self.answered = True
        self.session.closed = True

    def answer_headers(self) -> None:
        h = self.session.headers
        headers = [(":status", "200"), ("content-type", "application/vnd.amazon.eventstream")]
        headers += [("x-amzn-request-id", str(uuid.uuid4())), ("x-amzn-transcribe-session-id", str(uuid.uuid4()))]
        for name in ("language-code", "sample-rate", "media-encoding"):
            headers.append((f"x-amzn-transcribe-{name}", h[f"x-amzn-transcribe-{name}"]))
        self.proto.conn.send_headers(self.id, headers)

    def body(self, data: bytes) -> None:
        if self.answered:
            return
        for outer in self.decoder.feed(data):
            signature, millis = outer.headers.get(":chunk-signature"), outer.headers.get(":date")
            if not isinstance(signature, bytes) or not isinstance(millis, int):
                self.fail_with("BadRequestException", "an audio event is not signed")
                return
            expected = chunk_signature(self.key, self.scope, self.prior, millis, outer.payload)
            if not hmac.compare_digest(expected, signature):
                self.fail_with("BadRequestException", "an audio event's signature does not match")
                return
            self.prior = signature.hex()
            if not outer.payload:
                self.end_of_audio()
                return
            inner = eventstream.decode(outer.payload)
            if inner.headers.get(":event-type") != "AudioEvent" or inner.headers.get(":message-type") != "event":
                self.fail_with("BadRequestException", f"unexpected event {inner.headers.get(':event-type')!r}")
                return
            self.session.audio += inner.payload
            self.session.audio_events += 1
            self.progress()

    def progress(self) -> None:
        if self.failure is not None and self.failure.kind == "hang":
            return
        while self.partials and self.partials[0][1] <= self.session.audio_seconds:
            text, end = self.partials.popleft()
            self.send_event(transcript_event(text, end, True, self.result_id))
            if self.answered:
                return

    def end_of_audio(self) -> None:
        if self.answered or self.session.ended:
            return
        self.session.ended = True
        if self.failure is not None and self.failure.kind == "hang":
            return
        while self.partials and not self.answered:
            text, end = self.partials.popleft()
            self.send_event(transcript_event(text, end, True, self.result_id))
        if not self.answered:
            self.send_event(transcript_event(SEGMENT, END, False, self.result_id))
        if not self.answered:
            self.proto.conn.end_stream(self.id)
            self.answered = True
            self.session.closed = True

    def send_event(self, body: dict[str, Any]) -> None:
        failure = self.failure
        if failure is not None and failure.kind in ("exception", "drop") and self.session.events_sent >= failure.after:
            if failure.kind == "drop":
                self.answered = True
                self.proto.flush()
                self.proto.abort()
                return
            self.fail_with(failure.code, "A problem occurred while processing the audio.")
            return
        headers = {":message-type": "event", ":event-type": "TranscriptEvent", ":content-type": "application/json"}
        self.proto.conn.send_data(self.id, eventstream.encode(headers, json.dumps(body).encode()))
        self.session.events_sent += 1

    def fail_with(self, code: str, message: str) -> None:
        headers = {":message-type": "exception", ":exception-type": code, ":content-type": "application/json"}
        self.proto.conn.send_data(self.id, eventstream.encode(headers, json.dumps({"Message": message}).encode()))
        self.proto.conn.end_stream(self.id)
        self.answered = True
        self.session.closed = True


class TranscribeStreamingFake:
    """The fake in a thread of its own; ``url`` and ``ca_file`` once started."""

    def __init__(
        self, host: str = "127.0.0.1", access_key_id: str = "testing", secret_access_key: str = "testing-secret"
    ) -> None:
        self.host, self.port = host, 0
        self.access_key_id, self.secret_access_key = access_key_id, secret_access_key
        self.sessions: list[Session] = []
        self.connections = 0  # open client connections
        self.protocols: set[_Protocol] = set()
        self._failures: deque[Failure] = deque()
        self._lock = threading.Lock()
        self._folder = Path(tempfile.mkdtemp(prefix="transcribe-fake-"))
        self._cert, self._key = self_signed(self._folder)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def ca_file(self) -> str:
        return str(self._cert)

    def fail(self, *failures: Failure) -> None:
        with self._lock:
            self._failures.extend(failures)

    def take_failure(self) -> Failure | None:
        with self._lock:
            return self._failures.popleft() if self._failures else None

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()
            self.sessions.clear()

    def start(self) -> TranscribeStreamingFake:
        started = threading.Event()
        ssl_ctx = server_context(self._cert, self._key, ["h2"])

        async def serve() -> None:
            loop = asyncio.get_running_loop()
            self._server = await loop.create_server(lambda: _Protocol(self), self.host, 0, ssl=ssl_ctx)
            self.port = self._server.sockets[0].getsockname()[1]
            started.set()
            await self._server.serve_forever()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(serve())
            except asyncio.CancelledError:
                pass
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="transcribe-stream-fake", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the Transcribe streaming fake did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._server is not None:
            server = self._server

            def close() -> None:
                server.close()
                for proto in list(self.protocols):
                    proto.abort()
                for task in asyncio.all_tasks(self._loop):
                    task.cancel()

            self._loop.call_soon_threadsafe(close)
        if self._thread is not None:
            self._thread.join(10)
        shutil.rmtree(self._folder, ignore_errors=True)
