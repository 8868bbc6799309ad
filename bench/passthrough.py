"""Baseline: the thinnest litestar + aiohttp proxy to the fake upstream.

UPSTREAM=http://127.0.0.1:PORT uvicorn bench.passthrough:app
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from litestar import Litestar, Request, Response, post


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    app.state.http = aiohttp.ClientSession(os.environ["UPSTREAM"])
    yield
    await app.state.http.close()


@post("/v1/text/sentiment")
async def sentiment(request: Request) -> Response[bytes]:  # type: ignore[type-arg]
    body = await request.body()
    async with request.app.state.http.post("/text/sentiment", data=body) as r:
        return Response(await r.read(), status_code=200, media_type="application/json")


app = Litestar([sentiment], lifespan=[lifespan], openapi_config=None)
