"""``OPTIONS`` for a path served by more than one handler.

litestar (2.25) makes an ``OPTIONS`` handler for each route it builds, and when a second
handler joins the path the first route's one stays, naming only the first handler's method
in ``Allow``. A path with several methods declares its own (``tests/test_refusals.py`` holds
every path's ``Allow`` to the OpenAPI document).
"""

from __future__ import annotations

from litestar import Response, route
from litestar.handlers import HTTPRouteHandler


def allow(path: str, methods: str) -> HTTPRouteHandler:
    """An ``OPTIONS`` handler for ``path`` answering 204 with ``Allow: methods``."""

    @route(path, http_method=["OPTIONS"], include_in_schema=False, name=f"options {path}")
    async def options() -> Response[None]:
        return Response(None, status_code=204, headers={"Allow": methods})

    return options
