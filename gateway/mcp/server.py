"""The MCP server: lists the tools, and sends each call to the gateway as the task's JSON body.

The gateway does the work (keys, scopes, rate limits, URL rules, routing, budgets, one log
record), so the tools behave exactly as the native endpoints do. The API key: over stdio,
``OMNISENSE_API_KEY`` (or ``--api-key``); over streamable HTTP, the ``Authorization``
header of the MCP request itself, passed on as it came.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
import msgspec
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp_types import CallToolRequestParams, CallToolResult, ListToolsResult, PaginatedRequestParams, TextContent, Tool

from gateway.mcp.tools import TOOLS
from omnisense.schema import spec_of

DIALECT_HEADER = "X-Omnisense-Dialect"


def _tool_error(message: str, problem: Any = None) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=message)], structured_content=problem, is_error=True)


def _authorization(ctx: ServerRequestContext[Any], api_key: str | None) -> str | None:
    request = ctx.request
    headers: Mapping[str, str] | None = getattr(request, "headers", None)
    if headers is not None:  # streamable HTTP: the caller's own key
        return headers.get("authorization")
    return f"Bearer {api_key}" if api_key else None


def build_server(
    gateway_url: str, api_key: str | None = None, *, timeout_s: float = 120.0
) -> Server[dict[str, httpx.AsyncClient]]:
    """The MCP server in front of the gateway at ``gateway_url``."""

    @asynccontextmanager
    async def lifespan(_: Server[dict[str, httpx.AsyncClient]]) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
        """The connection to the gateway: once per server (stdio, or every HTTP session), closed with it."""
        async with httpx.AsyncClient(base_url=gateway_url.rstrip("/"), timeout=timeout_s) as http:
            yield {"http": http}

    async def list_tools(ctx: ServerRequestContext[Any], params: PaginatedRequestParams | None) -> ListToolsResult:
        tools = [Tool(name=t.name, description=t.description, input_schema=t.input_schema) for t in TOOLS.values()]
        return ListToolsResult(tools=tools)

    async def call_tool(ctx: ServerRequestContext[Any], params: CallToolRequestParams) -> CallToolResult:
        http: httpx.AsyncClient = ctx.lifespan_context["http"]
        tool = TOOLS.get(params.name)
        if tool is None:
            return _tool_error(f"unknown tool {params.name!r}; tools/list names them")
        headers = {"Accept": "application/json", DIALECT_HEADER: "mcp", "User-Agent": "omnisense-mcp"}
        authorization = _authorization(ctx, api_key)
        if authorization:
            headers["Authorization"] = authorization
        body = msgspec.json.encode(params.arguments or {})
        headers["Content-Type"] = "application/json"
        try:
            answer = await http.post(spec_of(tool.task).path, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return _tool_error(f"the gateway at {gateway_url} did not answer: {exc}")
        data = answer.json() if answer.headers.get("content-type", "").endswith("json") else None
        if answer.status_code != 200 or not isinstance(data, dict):
            detail = data.get("detail") if isinstance(data, dict) else answer.text[:300]
            return _tool_error(f"{tool.task} failed ({answer.status_code}): {detail}", data)
        return CallToolResult(content=[TextContent(type="text", text=answer.text)], structured_content=data)

    return Server("omnisense", lifespan=lifespan, on_list_tools=list_tools, on_call_tool=call_tool)
