"""Helpers of the live-transcription tests: a gateway on scripted streaming providers and a
real WebSocket client (``websockets``' sync client) that plays a session."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from gateway.logs import MemorySink, RequestLog

STREAMER = "contract_tests.scripted_stream:ScriptedStreamer"


def stream_policy(tmp_path: Path, first: str = "", second: str = "", budgets: str = "") -> Path:
    """Two scripted streaming providers, ``first`` then ``second`` (extra YAML keys for each)."""
    path = tmp_path / "live-policy.yaml"
    path.write_text(
        "version: 1\nproviders:\n"
        f'  first: {{kind: "{STREAMER}", label: first, price_usd: 0.001{first}}}\n'
        f'  second: {{kind: "{STREAMER}", label: second, price_usd: 0.0005{second}}}\n'
        "routes:\n  speech.transcribe: {candidates: [first, second]}\n" + budgets
    )
    return path


@dataclass
class Played:
    events: list[dict[str, Any]] = field(default_factory=list)
    code: int | None = None
    reason: str = ""

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]

    @property
    def final_text(self) -> str:
        return " ".join(e["text"] for e in self.of("final"))


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/v1/speech/transcribe/stream"


def open_ws(base: str, headers: dict[str, str] | None = None) -> ClientConnection:
    return connect(ws_url(base), additional_headers=headers or {}, max_size=None, open_timeout=10)


def chunks(pcm: bytes, size: int = 3200) -> list[bytes]:
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


def play(
    base: str,
    frames: Iterable[bytes | str],
    *,
    start: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    end: bool = True,
    pace_s: float = 0.0,
) -> Played:
    """One session: the start message (none when ``start`` is None), the frames, ``end``; every
    event until the close, and the close code and reason."""
    out = Played()
    with open_ws(base, headers) as ws:
        with contextlib.suppress(ConnectionClosed):  # the gateway closed while we sent (bad input):
            _send_all(ws, start, frames, end, pace_s)  # what it said before closing is still to read
        try:
            while True:
                out.events.append(json.loads(ws.recv(timeout=30)))
        except ConnectionClosed as closed:
            out.code = closed.rcvd.code if closed.rcvd else None
            out.reason = closed.rcvd.reason if closed.rcvd else ""
    return out


def _send_all(ws: Any, start: dict[str, Any] | None, frames: Iterable[bytes | str], end: bool, pace_s: float) -> None:
    if start is not None:
        ws.send(json.dumps({"type": "start", **start}))
    for frame in frames:
        ws.send(frame)
        if pace_s:
            time.sleep(pace_s)
    if end:
        ws.send(json.dumps({"type": "end"}))


def records_of(sink: MemorySink, count: int = 1, seconds: float = 10.0) -> list[RequestLog]:
    """The live sessions' records, once ``count`` have been written."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [r for r in sink.records if r.stream is not None]
        if len(found) >= count:
            return found
        time.sleep(0.05)
    return [r for r in sink.records if r.stream is not None]
