"""``WS /live/transcribe``: live transcription on the model server (mounted on the entry service).

The gateway's ``local`` adapter speaks it:

1. a text frame ``{"sample_rate": 16000, "language": "en" | null, "interim": true}``;
2. binary frames of 16-bit little-endian mono PCM at that rate;
3. ``{"type": "end"}``: the server sends the last finals, ``{"type": "done"}``, and closes with 1000.

The server sends ``{"type": "partial" | "final", "text", "start_s", "end_s"}`` as it hears, and
``{"type": "error", "error": "unsupported" | "invalid_input" | "overloaded" | "internal", "detail"}``
before a close other than 1000 (1003 unsupported, 1007 invalid, 1013 overloaded, 1011 internal).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from typing import Any

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from omnilocal import langs
from omnilocal.live import MODEL, LiveModel, LiveStream

log = logging.getLogger("omnilocal.live")
MAX_STREAMS = int(os.environ.get("LOCAL_MODELS_LIVE_STREAMS", "4"))  # sessions at once; more: 1013
LANGUAGES = ["en"]
live_model = LiveModel()
_open = 0


class _Refused(Exception):
    def __init__(self, code: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.code, self.error, self.detail = code, error, detail


async def _refuse(ws: WebSocket, refused: _Refused) -> None:
    await ws.send_json({"type": "error", "error": refused.error, "detail": refused.detail})
    await ws.close(refused.code, refused.detail[:120])


def _start(text: str) -> tuple[int, bool]:
    try:
        start: dict[str, Any] = json.loads(text)
        rate, interim = int(start.get("sample_rate", 16000)), bool(start.get("interim", True))
        language = start.get("language")
    except (ValueError, TypeError, AttributeError) as exc:
        raise _Refused(1007, "invalid_input", f"start message: {exc}") from None
    if not 8000 <= rate <= 48000:
        raise _Refused(1007, "invalid_input", f"sample_rate {rate} is outside 8000-48000")
    if language and langs.base(langs.normalize(str(language))) not in LANGUAGES:
        raise _Refused(1003, "unsupported", f"{MODEL} transcribes English only, not {language!r}")
    return rate, interim


async def transcribe(ws: WebSocket) -> None:
    global _open
    await ws.accept()
    if _open >= MAX_STREAMS:
        await _refuse(ws, _Refused(1013, "overloaded", f"{MAX_STREAMS} live streams are open: try again shortly"))
        return
    _open += 1
    try:
        rate, interim = _start(await asyncio.wait_for(ws.receive_text(), 30))
        loop = asyncio.get_running_loop()
        stream = await loop.run_in_executor(live_model.executor, live_model.open, rate, interim)
        try:
            await _serve(ws, stream)
        finally:
            await loop.run_in_executor(live_model.executor, stream.close)
    except _Refused as refused:
        await _refuse(ws, refused)
    except Exception as exc:  # a client that left mid-way, or a model error
        log.debug("live stream ended: %s", exc)
        with contextlib.suppress(Exception):
            await _refuse(ws, _Refused(1011, "internal", f"{type(exc).__name__}: {exc}"[:200]))
    finally:
        _open -= 1


async def _serve(ws: WebSocket, stream: LiveStream) -> None:
    loop = asyncio.get_running_loop()
    executor = live_model.executor
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("bytes"):
            events = await loop.run_in_executor(executor, stream.add, message["bytes"])
        elif message.get("text") and json.loads(message["text"]).get("type") == "end":
            for event in await loop.run_in_executor(executor, stream.finish):
                await ws.send_json(event.as_json())
            await ws.send_json({"type": "done"})
            await ws.close(1000)
            return
        else:
            raise _Refused(1003, "invalid_input", 'expected binary audio frames or {"type": "end"}')
        for event in events:
            await ws.send_json(event.as_json())


def streaming_capability(tasks: dict[str, Any]) -> None:
    """``/capabilities``: speech.transcribe also streams (in ``stream_languages``) when Moonshine is installed."""
    transcribe = tasks.get("speech.transcribe")
    if transcribe is not None and LiveModel.available():
        tasks["speech.transcribe"] = {**transcribe, "streaming": True, "stream_languages": LANGUAGES,
                                      "stream_model": MODEL}  # fmt: skip


app = Starlette(routes=[WebSocketRoute("/transcribe", transcribe)])
