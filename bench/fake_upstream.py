"""An instant fake model server for benchmarks: answers like ``local_models`` would.

python bench/fake_upstream.py PORT
"""

from __future__ import annotations

import sys

from aiohttp import web

CAPABILITIES = b'{"tasks": {"text.sentiment": {"model": "fake", "languages": null}}, "device": "cpu"}'
SENTIMENT = b'{"label": "positive", "scores": {"positive": 0.9, "negative": 0.05, "neutral": 0.05, "mixed": 0.0}}'


async def capabilities(_: web.Request) -> web.Response:
    return web.Response(body=CAPABILITIES, content_type="application/json")


async def sentiment(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(body=SENTIMENT, content_type="application/json")


async def ready(_: web.Request) -> web.Response:
    return web.Response(text="ok")


def main() -> None:
    app = web.Application()
    app.router.add_post("/capabilities", capabilities)
    app.router.add_post("/text/sentiment", sentiment)
    app.router.add_get("/readyz", ready)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
