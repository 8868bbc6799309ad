"""Fetch ``{"image": {"url": ...}}`` inputs without becoming a proxy into the operator's network.

Only when the operator sets ``limits.allow_urls`` and lists the hosts (``limits.urls``).
Every hop of a fetch, the first and each redirect, is checked the same way:

1. the scheme is http or https, the URL carries no credentials, the host is on the
   allow-list (exact names, ``*.example.com`` patterns, or ``*``);
2. the host is resolved ONCE, and every address it resolves to must be public: no
   loopback, private, link-local (cloud metadata), multicast, reserved or unspecified
   address, unless it lies in ``limits.urls.networks``; one bad address refuses the hop;
3. the connection goes to those checked addresses (a resolver that answers only them),
   so a second DNS answer cannot swap in another address (DNS rebinding); TLS still
   verifies the certificate for the host name (steps 2 and 3: ``gateway.ssrf``, which job
   webhooks share);
4. redirects are followed by hand, each re-checked, at most ``max_redirects``;
5. the whole fetch has one deadline (``timeout_s``) and the body a size limit (the
   field's upload limit), enforced while reading.

The bytes then go through the same sniffing and limits as an upload. Refusals are 422
with ``field`` ``image.url`` (or ``audio.url``); a body over the limit is 413. Messages
name the host, never the full URL (signed URLs carry credentials in the query).
"""

from __future__ import annotations

import asyncio
import fnmatch
import ipaddress
from urllib.parse import urljoin, urlsplit

import aiohttp

from gateway.server.config import UrlRules
from gateway.ssrf import (
    AddressRefused,
    IpAddress,
    PinnedResolver,
    Resolver,
    Unresolved,
    checked_addresses,
    system_resolver,
)
from omnisense.schema import PayloadTooLarge, UnprocessableInput

REDIRECTS = frozenset({301, 302, 303, 307, 308})
CHUNK = 64 * 1024


class UrlFetcher:
    def __init__(self, rules: UrlRules, resolver: Resolver = system_resolver) -> None:
        self.rules = rules
        self.resolver = resolver
        self.networks = [ipaddress.ip_network(n, strict=False) for n in rules.networks]

    async def fetch(self, url: str, field: str, max_bytes: int) -> bytes:
        """The body at ``url`` (following checked redirects); refusals name ``field``."""
        try:
            async with asyncio.timeout(self.rules.timeout_s):
                for _ in range(self.rules.max_redirects + 1):
                    body, location = await self._hop(url, field, max_bytes)
                    if location is None:
                        return body
                    url = urljoin(url, location)
        except TimeoutError:
            raise UnprocessableInput(
                f"{field}: the fetch took longer than {self.rules.timeout_s:g} s", field=field
            ) from None
        raise UnprocessableInput(f"{field}: more than {self.rules.max_redirects} redirects", field=field)

    async def _hop(self, url: str, field: str, max_bytes: int) -> tuple[bytes, str | None]:
        """One request: checked, connected to the checked addresses; (body, None) or (b"", location)."""
        host, port = self._check_url(url, field)
        addresses = await self._checked_addresses(host, port, field)
        connector = aiohttp.TCPConnector(resolver=PinnedResolver(host, addresses), use_dns_cache=False)
        try:
            async with (
                aiohttp.ClientSession(connector=connector, trust_env=False) as session,
                session.get(url, allow_redirects=False, headers={"Accept": "image/*, audio/*"}) as resp,
            ):
                if resp.status in REDIRECTS and "location" in resp.headers:
                    return b"", resp.headers["location"]
                if resp.status != 200:
                    raise UnprocessableInput(f"{field}: {host} answered HTTP {resp.status}", field=field)
                return await _read_limited(resp, field, max_bytes), None
        except aiohttp.ClientError as exc:
            raise UnprocessableInput(
                f"{field}: could not fetch from {host}: {type(exc).__name__}", field=field
            ) from None

    def _check_url(self, url: str, field: str) -> tuple[str, int]:
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise UnprocessableInput(f"{field}: not a valid URL", field=field) from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UnprocessableInput(f"{field}: only http and https URLs with a host are fetched", field=field)
        if parts.username is not None or parts.password is not None:
            raise UnprocessableInput(f"{field}: URLs with credentials are not fetched", field=field)
        host = parts.hostname.lower().rstrip(".")
        if not any(fnmatch.fnmatchcase(host, pattern.lower()) for pattern in self.rules.hosts):
            raise UnprocessableInput(f"{field}: host {host!r} is not on this gateway's allow-list", field=field)
        return host, port

    async def _checked_addresses(self, host: str, port: int, field: str) -> list[IpAddress]:
        try:
            return await checked_addresses(host, port, resolve=self.resolver, allowed=self.networks)
        except Unresolved:
            raise UnprocessableInput(f"{field}: host {host!r} does not resolve", field=field) from None
        except AddressRefused as exc:
            raise UnprocessableInput(f"{field}: host {host!r} resolves to {exc}", field=field) from None


async def _read_limited(resp: aiohttp.ClientResponse, field: str, max_bytes: int) -> bytes:
    declared = resp.content_length
    if declared is not None and declared > max_bytes:
        raise PayloadTooLarge(f"{field}: the resource is {declared} bytes; the limit is {max_bytes}", field=field)
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"{field}: the resource is over the limit of {max_bytes} bytes", field=field)
        chunks.append(chunk)
    return b"".join(chunks)
