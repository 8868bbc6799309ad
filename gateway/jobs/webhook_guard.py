"""Where a webhook may go: not into the operator's own network unless the operator says so.

A job's ``webhook_url`` is the caller's, so the gateway checks it like a URL input:
http(s) only, no credentials in it, the host on ``jobs.webhook_hosts`` when that list is
set, and every address the host resolves to public (no loopback, private, link-local
(cloud metadata), multicast or reserved address) unless ``jobs.webhook_private`` allows
them. The host is resolved once per try and the connection goes only to the addresses
checked (a pinned resolver), so a second DNS answer cannot swap in an internal one.
"""

from __future__ import annotations

import asyncio
import fnmatch
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class WebhookRefused(Exception):
    """The webhook URL may not be called (never retried)."""


def check_url(url: str, hosts: list[str] | None) -> tuple[str, int]:
    """(host, port) of an acceptable webhook URL, else ``WebhookRefused`` saying why."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookRefused("webhook_url must be an absolute http(s) URL")
    if parts.username or parts.password:
        raise WebhookRefused("webhook_url must not carry credentials")
    host = parts.hostname.lower()
    if hosts is not None and not any(fnmatch.fnmatch(host, pattern.lower()) for pattern in hosts):
        raise WebhookRefused(f"webhook host {host!r} is not on this gateway's jobs.webhook_hosts")
    return host, parts.port or (443 if parts.scheme == "https" else 80)


def _refused(address: IpAddress) -> str | None:
    mapped = getattr(address, "ipv4_mapped", None)
    target: Any = mapped or address
    if target.is_loopback:
        return "a loopback"
    if target.is_link_local:
        return "a link-local (metadata)"
    if target.is_multicast or target.is_unspecified or target.is_reserved:
        return "a reserved"
    if target.is_private or not target.is_global:
        return "a private"
    return None


async def checked_addresses(host: str, port: int, allow_private: bool) -> list[IpAddress]:
    """The addresses to connect to: all of them public, unless private ones are allowed."""
    try:
        addresses: list[IpAddress] = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            raise WebhookRefused(f"webhook host {host!r} does not resolve") from None
        addresses = sorted({ipaddress.ip_address(str(info[4][0])) for info in infos}, key=str)
    if not allow_private:
        for address in addresses:
            why = _refused(address)
            if why:
                raise WebhookRefused(f"webhook host {host!r} resolves to {why} address (jobs.webhook_private is off)")
    return addresses


class PinnedResolver(AbstractResolver):
    """aiohttp's resolver for one delivery: answers the checked addresses of one host, nothing else."""

    def __init__(self, host: str, addresses: list[IpAddress]) -> None:
        self.host, self.addresses = host, addresses

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host.lower() != self.host:
            raise OSError(f"refusing to resolve {host!r}: only {self.host!r} was checked")
        return [
            ResolveResult(
                hostname=host, host=str(a), port=port, family=socket.AF_INET6 if a.version == 6 else socket.AF_INET,
                proto=0, flags=socket.AI_NUMERICHOST,
            )
            for a in self.addresses
        ]  # fmt: skip

    async def close(self) -> None:
        return None
