"""A wire-level fake of Cloud Speech-to-Text v1 ``StreamingRecognize`` (gRPC, bidirectional).

A real gRPC server (grpcio, plaintext on 127.0.0.1) serving ``google.cloud.speech.v1.Speech/
StreamingRecognize`` with Google's published protobuf messages, behind a small TCP relay that
can cut the connection the way a network does (``Failure.drop``). Point the client at
``url`` (``http://127.0.0.1:PORT``: plaintext).

What it checks, as the service does: the first request carries ``streaming_config`` and no
audio, the later ones audio and no config (``INVALID_ARGUMENT`` otherwise); the encoding is
LINEAR16 with a rate of 8000-48000 Hz and a language; each audio request holds at most 25 KB.

What it answers, for any audio: the reference's documented example of
``StreamingRecognizeResponse``s ("tube", "to be a", "to be" + " or not to be", the final "to
be or not to be" (0.92), " that's", " that is" + " the question", the final " that is the
question" (0.98)), each sent once the audio received reaches its ``result_end_time`` (times
are ours: the documentation gives none), the rest when the client half-closes. Interim
responses only when ``interim_results`` is set; finals carry word time offsets.

A stream that gets more than ``max_stream_s`` seconds of audio (305, as Google's) ends with
OUT_OF_RANGE "Exceeded maximum allowed stream duration of 305 seconds." (Google's words; a
test lowers the cap to see it). With ``api_key`` set, a call without that key in
``x-goog-api-key`` gets Google's answer to a bad key. Failures a test queues with
``fail(...)`` (each taken by the next stream): ``Failure.status`` (the RPC ends with a gRPC
status after N responses: UNAUTHENTICATED, RESOURCE_EXHAUSTED, OUT_OF_RANGE...),
``Failure.drop`` (the TCP connection cut after N responses), ``Failure.hang`` (audio taken,
nothing answered).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.cloud.speech_v1.types import cloud_speech

MAX_AUDIO = 25 * 1024
MAX_STREAM_S = 305.0
SERVICE, METHOD = "google.cloud.speech.v1.Speech", "StreamingRecognize"

Words = tuple[tuple[str, float, float], ...]
# (results: ((transcript, stability, final, confidence, alternative, words), ...), result_end_time)
SCRIPT: tuple[tuple[tuple[tuple[str, float, bool, float, str, Words], ...], float], ...] = (
    ((("tube", 0.01, False, 0.0, "", ()),), 0.4),
    ((("to be a", 0.01, False, 0.0, "", ()),), 0.8),
    ((("to be", 0.9, False, 0.0, "", ()), (" or not to be", 0.01, False, 0.0, "", ())), 1.2),
    (
        (
            (
                "to be or not to be",
                0.0,
                True,
                0.92,
                "to bee or not to bee",
                (
                    ("to", 0.0, 0.2),
                    ("be", 0.2, 0.4),
                    ("or", 0.4, 0.6),
                    ("not", 0.6, 0.9),
                    ("to", 0.9, 1.1),
                    ("be", 1.1, 1.5),
                ),
            ),
        ),
        1.6,
    ),
    (((" that's", 0.01, False, 0.0, "", ()),), 2.0),
    (((" that is", 0.9, False, 0.0, "", ()), (" the question", 0.01, False, 0.0, "", ())), 2.4),
    (
        (
            (
                " that is the question",
                0.0,
                True,
                0.98,
                " that was the question",
                (("that", 1.7, 1.9), ("is", 1.9, 2.1), ("the", 2.1, 2.3), ("question", 2.3, 2.9)),
            ),
        ),
        2.9,
    ),
)


@dataclass(frozen=True)
class Failure:
    kind: str  # status | drop | hang
    after: int = 0  # responses sent first
    code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE
    message: str = ""

    @classmethod
    def status(cls, code: grpc.StatusCode, message: str, after: int = 0) -> Failure:
        return cls("status", after, code, message)

    @classmethod
    def drop(cls, after: int = 1) -> Failure:
        return cls("drop", after)

    @classmethod
    def hang(cls) -> Failure:
        return cls("hang")


@dataclass
class Session:
    """One ``StreamingRecognize`` as the fake saw it."""

    config: Any = None  # the StreamingRecognitionConfig
    audio: bytearray = field(default_factory=bytearray)
    audio_requests: int = 0
    half_closed: bool = False
    responses: int = 0

    @property
    def audio_seconds(self) -> float:
        rate = self.config.config.sample_rate_hertz if self.config is not None else 16000
        return len(self.audio) / (2 * rate)


def response(
    results: tuple[tuple[str, float, bool, float, str, Words], ...], end: float
) -> cloud_speech.StreamingRecognizeResponse:
    out = []
    for text, stability, final, confidence, other, words in results:
        best: dict[str, Any] = {"transcript": text}
        if final:
            best["confidence"] = confidence
            best["words"] = [{"word": w, "start_time": _duration(a), "end_time": _duration(b)} for w, a, b in words]
        alternatives = [best] + ([{"transcript": other}] if other else [])
        result: dict[str, Any] = {"alternatives": alternatives, "is_final": final, "language_code": "en-us"}
        result.update(result_end_time=_duration(end), stability=stability)
        out.append(result)
    return cloud_speech.StreamingRecognizeResponse(results=out)


def _duration(seconds: float) -> dict[str, int]:
    whole = int(seconds)
    return {"seconds": whole, "nanos": round((seconds - whole) * 1e9)}


class _Relay:
    """A TCP relay in front of the gRPC server, so a test can cut connections mid-stream."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.open = 0  # client connections not yet closed
        threading.Thread(target=self.accept, name="speech-fake-relay", daemon=True).start()

    def accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            with self.lock:
                self.sockets.update((client, upstream))
                self.open += 1
            for args in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self.pipe, args=args, name="speech-fake-pipe", daemon=True).start()

    def pipe(self, src: socket.socket, dst: socket.socket, from_client: bool) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            if from_client:
                with self.lock:
                    self.open -= 1

    def cut(self) -> None:
        """Reset every connection (linger 0: an RST, as when a network path dies)."""
        with self.lock:
            sockets = list(self.sockets)
            self.sockets.clear()
        for s in sockets:
            try:  # shutdown wakes the relay's threads blocked in recv; close with linger 0 resets
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self) -> None:
        self.listener.close()
        self.cut()


class SpeechStreamingFake:
    """``api_key``: when set, calls must carry it as ``x-goog-api-key`` metadata, else Google's
    answer to a bad key (INVALID_ARGUMENT, "API key not valid", reason API_KEY_INVALID)."""

    def __init__(self, api_key: str | None = None) -> None:
        self.api_key = api_key
        self.max_stream_s = MAX_STREAM_S
        self.sessions: list[Session] = []
        self._failures: deque[Failure] = deque()
        self._lock = threading.Lock()
        self._server: grpc.Server | None = None
        self._relay: _Relay | None = None

    @property
    def port(self) -> int:
        assert self._relay is not None
        return self._relay.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def connections(self) -> int:
        """Client connections open through the relay."""
        return self._relay.open if self._relay is not None else 0

    def fail(self, *failures: Failure) -> None:
        with self._lock:
            self._failures.extend(failures)

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()
            self.sessions.clear()

    def _take(self) -> Failure | None:
        with self._lock:
            return self._failures.popleft() if self._failures else None

    def start(self) -> SpeechStreamingFake:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="speech-fake"))
        handler = grpc.stream_stream_rpc_method_handler(
            self._recognize,
            request_deserializer=cloud_speech.StreamingRecognizeRequest.deserialize,
            response_serializer=cloud_speech.StreamingRecognizeResponse.serialize,
        )
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, {METHOD: handler}),))
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._server, self._relay = server, _Relay(port)
        return self

    def stop(self) -> None:
        if self._relay is not None:
            self._relay.close()
        if self._server is not None:
            self._server.stop(grace=None).wait(5)

    # --- the RPC -----------------------------------------------------------------------------

    def _recognize(self, requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
        session = Session()
        with self._lock:
            self.sessions.append(session)
        failure = self._take()
        metadata = dict(context.invocation_metadata())
        if self.api_key is not None and metadata.get("x-goog-api-key") != self.api_key:
            message = "API key not valid. Please pass a valid API key. (reason: API_KEY_INVALID)"
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, message)
        first = next(requests, None)
        problem = self._check_config(first)
        if problem:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem)
        session.config = first.streaming_config
        script = deque(SCRIPT)
        if failure is not None and failure.kind == "status" and failure.after == 0:
            context.abort(failure.code, failure.message)
        for request in requests:
            if "streaming_config" in request:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "streaming_config must come in the first request only")
            if len(request.audio_content) > MAX_AUDIO:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"Request audio can be a maximum of {MAX_AUDIO} bytes")
            session.audio += request.audio_content
            session.audio_requests += 1
            if session.audio_seconds > self.max_stream_s:
                message = f"Exceeded maximum allowed stream duration of {MAX_STREAM_S:g} seconds."
                context.abort(grpc.StatusCode.OUT_OF_RANGE, message)
            while script and script[0][1] <= session.audio_seconds:
                yield from self._answer(script.popleft(), session, failure, context)
        session.half_closed = True
        if failure is not None and failure.kind == "hang":
            while context.is_active():  # silent until the client gives up
                time.sleep(0.05)
            return
        while script:
            yield from self._answer(script.popleft(), session, failure, context)

    def _check_config(self, first: Any) -> str | None:
        if first is None or "streaming_config" not in first:
            return "the first StreamingRecognizeRequest must carry streaming_config"
        config = first.streaming_config.config
        if config.encoding != cloud_speech.RecognitionConfig.AudioEncoding.LINEAR16:
            return f"this fake takes LINEAR16 audio, not {config.encoding.name}"
        if not 8000 <= config.sample_rate_hertz <= 48000:
            return "sample_rate_hertz must be between 8000 and 48000"
        if not config.language_code:
            return "language_code is required"
        return None

    def _answer(
        self, step: Any, session: Session, failure: Failure | None, context: grpc.ServicerContext
    ) -> Iterator[Any]:
        if failure is not None and failure.kind == "hang":
            return
        if failure is not None and session.responses >= failure.after:
            if failure.kind == "status":
                context.abort(failure.code, failure.message)
            if failure.kind == "drop":
                assert self._relay is not None
                time.sleep(0.2)  # the answers already sent reach the client first
                self._relay.cut()
                context.abort(grpc.StatusCode.CANCELLED, "connection cut")
        results, end = step
        if not session.config.interim_results and not any(final for _, _, final, *_ in results):
            return
        session.responses += 1
        yield response(results, end)
