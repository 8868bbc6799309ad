"""The REST services' one way to call Azure (Speech; Content Safety images when configured):
the provider's shared aiohttp session, the request's deadline, Azure's error bodies mapped."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from adapters.azure.clients import AzureClients
from adapters.azure.errors import classify, error_for, parse_error_body
from adapters.base import CallContext
from adapters.kit import mapped_errors
from omnisense.schema import UpstreamBadResponse


async def request(
    azure: AzureClients,
    service: str,
    method: str,
    url: str,
    ctx: CallContext | None,
    *,
    probe: bool = False,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    data: bytes | None = None,
) -> tuple[bytes, Mapping[str, str]]:
    """The body and headers of a 2xx answer; any other status raises the mapped error."""
    import aiohttp

    connect, read = azure.timeouts(ctx, probe)
    with mapped_errors(azure.name, classify):
        auth = await azure.run(azure.auth_headers, service) if azure.config.credential == "entra" else None
        all_headers = {**(auth or azure.auth_headers(service)), **(headers or {})}
        session = await azure.session()
        timeout = aiohttp.ClientTimeout(total=read + connect, connect=connect, sock_read=read)
        try:
            async with session.request(
                method, url, params=params, headers=all_headers, data=data, timeout=timeout
            ) as resp:
                body = await resp.read()
                if resp.status >= 300:
                    code, message = parse_error_body(body)
                    raise error_for(resp.status, code, message or resp.reason or "", resp.headers)
                return body, resp.headers
        except TimeoutError as exc:
            raise TimeoutError(f"no answer from {service} within {read:.1f} s") from exc


async def stream(
    azure: AzureClients,
    service: str,
    url: str,
    ctx: CallContext,
    *,
    headers: Mapping[str, str],
    data: bytes,
) -> AsyncIterator[bytes]:
    """A POST whose 2xx body is read as it arrives (Azure sends synthesized audio chunked):
    each piece at once; any other status raises the mapped error before the first piece."""
    import aiohttp

    connect, read = azure.timeouts(ctx, False)
    with mapped_errors(azure.name, classify):
        auth = await azure.run(azure.auth_headers, service) if azure.config.credential == "entra" else None
        all_headers = {**(auth or azure.auth_headers(service)), **headers}
        session = await azure.session()
        timeout = aiohttp.ClientTimeout(total=None, connect=connect, sock_read=read)  # each read, not the whole
        try:
            async with session.post(url, headers=all_headers, data=data, timeout=timeout) as resp:
                if resp.status >= 300:
                    code, message = parse_error_body(await resp.read())
                    raise error_for(resp.status, code, message or resp.reason or "", resp.headers)
                async for piece in resp.content.iter_any():
                    yield piece
        except TimeoutError as exc:
            raise TimeoutError(f"no audio from {service} within {read:.1f} s") from exc


def json_body(body: bytes, service: str) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise UpstreamBadResponse(f"azure {service}: malformed JSON answer: {exc}") from exc
