"""The operator's dashboard: a static page (HTML, JS, CSS shipped as package data) at ``/dashboard``.

The page has no build step and loads nothing from outside the package: it draws its charts
as SVG itself and reads the gateway's JSON endpoints (``/v1/providers``, ``/v1/stats``,
``/v1/logs``, ``/v1/quality``, ``/v1/policy``, ``POST /v1/route/explain`` and the task endpoints), polling
them for live updates. The page and its assets are open (they hold no data); on a protected
gateway the page asks for an admin key and sends it as ``Authorization: Bearer`` to the data
endpoints, which check it as they do for any caller. ``/dashboard/tasks.json`` describes
every task for the try-it form, derived from the task table (``catalog.py``).
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated

import msgspec
from litestar import Response, get
from litestar.exceptions import NotFoundException
from litestar.params import PathParameter

from gateway.server.dashboard.catalog import catalog

_ASSETS = {  # litestar adds "; charset=utf-8" to a text/* media type
    "index.html": "text/html",
    "app.js": "text/javascript",
    "charts.js": "text/javascript",
    "logs.js": "text/javascript",
    "quality.js": "text/javascript",
    "budgets.js": "text/javascript",
    "tryit.js": "text/javascript",
    "live.js": "text/javascript",
    "mic-worklet.js": "text/javascript",
    "util.js": "text/javascript",
    "style.css": "text/css",
}
# The page's own scripts and styles only; no frames, no third-party origin, no inline script.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'"
)
_HEADERS = {"Content-Security-Policy": _CSP, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
_cache: dict[str, bytes] = {}


def asset(name: str) -> bytes:
    if name not in _cache:
        _cache[name] = resources.files(__package__).joinpath("static", name).read_bytes()
    return _cache[name]


@get("/dashboard", include_in_schema=False)
async def dashboard_page() -> Response[bytes]:
    return Response(asset("index.html"), media_type=_ASSETS["index.html"], headers=_HEADERS)


@get("/dashboard/tasks.json", include_in_schema=False)
async def dashboard_tasks() -> Response[bytes]:
    return Response(msgspec.json.encode({"tasks": catalog()}), media_type="application/json", headers=_HEADERS)


@get("/dashboard/{name:str}", include_in_schema=False)
async def dashboard_asset(name: Annotated[str, PathParameter()]) -> Response[bytes]:
    if name not in _ASSETS:
        raise NotFoundException(f"no dashboard asset {name!r}")
    return Response(asset(name), media_type=_ASSETS[name], headers=_HEADERS)


DASHBOARD_HANDLERS = [dashboard_page, dashboard_tasks, dashboard_asset]
