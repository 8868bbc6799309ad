"""A stand-in for the local model server's live endpoint, for killing mid-session: it speaks the
model server's contract (``/readyz``, ``/capabilities``, ``WS /live/transcribe``) and transcribes
the scripted audio code of ``contract_tests.scripted_stream`` (so its words can be checked).

    python -m tests.fake_live_models PORT
"""

from __future__ import annotations

import json
import sys

from aiohttp import WSMsgType, web

from adapters.base import Hypothesis
from contract_tests.scripted_stream import ScriptedStreamConfig, _Stream

CAPABILITIES = {"tasks": {"speech.transcribe": {"model": "fake-live", "languages": ["en"], "streaming": True,
                                                "stream_languages": ["en"]}}, "device": "cpu"}  # fmt: skip


async def readyz(_: web.Request) -> web.Response:
    return web.Response(text="ok")


async def capabilities(_: web.Request) -> web.Response:
    return web.json_response(CAPABILITIES)


async def live(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    start = json.loads(await ws.receive_str())
    stream = _Stream(ScriptedStreamConfig(label="fake"), int(start["sample_rate"]), bool(start["interim"]))
    async for message in ws:
        if message.type == WSMsgType.BINARY:
            await stream.send(message.data)
        elif message.type == WSMsgType.TEXT:
            await stream.finish()
        while not stream.answers.empty():
            item = stream.answers.get_nowait()
            if isinstance(item, Hypothesis):
                kind = "final" if item.final else "partial"
                await ws.send_json({"type": kind, "text": item.text, "start_s": item.start_s, "end_s": item.end_s})
            elif item is None:
                await ws.send_json({"type": "done"})
                await ws.close()
    return ws


def main() -> None:
    app = web.Application()
    app.router.add_get("/readyz", readyz)
    app.router.add_post("/capabilities", capabilities)
    app.router.add_get("/live/transcribe", live)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, handle_signals=True)


if __name__ == "__main__":
    main()
