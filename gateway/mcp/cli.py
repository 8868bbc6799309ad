"""``omnisense mcp``: serve the tools over stdio (the default) or streamable HTTP (``--transport http``)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

HINT = "omnisense mcp needs the mcp extra: pip install 'omnisense[mcp]'"


def add_parser(sub: Any) -> None:
    mcp = sub.add_parser("mcp", help="serve the tasks as MCP tools (stdio, or streamable HTTP at /mcp)")
    mcp.add_argument("--url", default=None, help="the gateway (default: $OMNISENSE_URL or http://127.0.0.1:8080)")
    mcp.add_argument("--api-key", default=None, help="stdio: the gateway key (default: $OMNISENSE_API_KEY)")
    mcp.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    mcp.add_argument("--host", default="127.0.0.1", help="http: the address to listen on")
    mcp.add_argument("--port", type=int, default=8090, help="http: the port (the endpoint is /mcp)")
    mcp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        from gateway.mcp.server import build_server
    except ModuleNotFoundError as exc:
        print(f"{HINT} ({exc.name} is missing)", file=sys.stderr)
        return 2
    url = args.url or os.environ.get("OMNISENSE_URL") or "http://127.0.0.1:8080"
    if args.transport == "stdio":
        import anyio
        from mcp.server.stdio import stdio_server

        server = build_server(url, args.api_key or os.environ.get("OMNISENSE_API_KEY"))

        async def serve() -> None:
            async with stdio_server() as (read, write):
                await server.run(read, write, server.create_initialization_options())

        anyio.run(serve)
        return 0
    import uvicorn

    app = build_server(url).streamable_http_app(host=args.host)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
