"""A fake model server shaped like BentoML's: a root process that owns the listening
socket and a worker, in a session of its own, that inherits it and serves.

    python tests/faults/fake_model_server.py PORT [--workers N]

Killing only the root leaves the workers serving on the port with no parent, exactly
what happens to BentoML's workers; the supervisor's reaper must clean them up.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

from aiohttp import web

CAPABILITIES = {
    "tasks": {"text.sentiment": {"model": "fake", "languages": None, "limits": {"max_chars": 5000}}},
    "device": "cpu",
}
SENTIMENT = {"label": "positive", "scores": {"positive": 0.9, "negative": 0.05, "neutral": 0.05, "mixed": 0.0}}


def serve(fd: int) -> None:
    async def capabilities(_: web.Request) -> web.Response:
        return web.json_response(CAPABILITIES)

    async def sentiment(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response(SENTIMENT)

    async def ready(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/capabilities", capabilities)
    app.router.add_post("/text/sentiment", sentiment)
    app.router.add_get("/readyz", ready)
    sock = socket.socket(fileno=fd)
    web.run_app(app, sock=sock, access_log=None, print=None, handle_signals=True)


def main() -> None:
    if sys.argv[1] == "--worker":
        serve(int(sys.argv[2]))
        return
    port = int(sys.argv[1])
    workers = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[2] == "--workers" else 1
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(128)
    fd = listener.fileno()
    procs = [
        subprocess.Popen([sys.executable, __file__, "--worker", str(fd)], pass_fds=[fd], start_new_session=True)
        for _ in range(workers)
    ]
    signal.signal(signal.SIGTERM, lambda *_: [p.terminate() for p in procs])
    for p in procs:
        p.wait()
    os._exit(0)


if __name__ == "__main__":
    main()
