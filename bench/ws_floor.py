"""Baseline for ``bench/streaming.py``: the thinnest litestar + uvicorn WebSocket that answers
live audio as the scripted provider would (a partial per 200 ms block), with no session engine.

uvicorn bench.ws_floor:app
"""

from __future__ import annotations

import json
from typing import Any

from litestar import Litestar, WebSocket, websocket

BLOCK_BYTES = 6400  # 200 ms of 16 kHz 16-bit PCM


@websocket("/v1/speech/transcribe/stream")
async def floor(socket: WebSocket[Any, Any, Any]) -> None:
    await socket.accept()
    await socket.receive_text()  # the start message
    held, blocks = 0, 0
    while True:
        message = await socket.receive()
        if message["type"] != "websocket.receive":
            return
        data = message.get("bytes")
        if data is None:  # end
            await socket.send_text(json.dumps({"type": "done"}))
            await socket.close(1000)
            return
        held += len(data)
        while held >= BLOCK_BYTES:
            held -= BLOCK_BYTES
            blocks += 1
            end = round(blocks * 0.2, 3)
            event = {"type": "partial", "text": "alpha", "start_s": 0.0, "end_s": end, "provider": "floor"}
            await socket.send_text(json.dumps(event))


app = Litestar([floor], openapi_config=None)
