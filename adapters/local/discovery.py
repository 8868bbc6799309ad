"""Where the ``local`` provider's replicas are: the configured URLs, or (``discover: dns``)
every address their host names resolve to.

A Kubernetes *headless* Service (``clusterIP: None``) answers a name lookup with one address
per ready pod, so resolving it again on every probe follows the pods as they come and go. A
plain (ClusterIP) Service resolves to one virtual address: one replica, balanced per
connection by kube-proxy. An address literal in a URL is used as it is.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlsplit

from adapters.local.replicas import Target

# (host, port) -> the addresses it resolves to; the default asks the system (loop.getaddrinfo)
Resolver = Callable[[str, int], Awaitable[list[str]]]
RESOLVE_TIMEOUT_S = 5.0


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def fixed(urls: Sequence[str]) -> list[Target]:
    """The configured URLs as they are, one replica each."""
    return [Target(url, source=url) for url in urls]


async def discover(
    urls: Sequence[str], resolve: Resolver, previous: Sequence[Target] = ()
) -> tuple[list[Target], list[str]]:
    """One target per address of each URL's host (resolved concurrently), and one error per
    URL that did not resolve; such a URL keeps the targets it had in ``previous``."""
    found = await asyncio.gather(*(_resolve(url, resolve) for url in urls))
    targets: list[Target] = []
    errors: list[str] = []
    for url, result in zip(urls, found, strict=True):
        if isinstance(result, str):
            errors.append(result)
            targets += [t for t in previous if t.source == url]
        else:
            targets += [t for t in result if t.url not in {k.url for k in targets}]
    return targets, errors


async def _resolve(url: str, resolve: Resolver) -> list[Target] | str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if _is_address(host):
        return [Target(url, source=url)]
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_S):
            addresses = await resolve(host, port)
    except (OSError, TimeoutError) as exc:
        return f"DNS {host}: {type(exc).__name__}: {exc}"
    if not addresses:
        return f"DNS {host}: no address"
    tls_name = host if parts.scheme == "https" else None
    out = []
    for address in dict.fromkeys(addresses):
        shown = f"[{address}]" if ":" in address else address
        out.append(Target(f"{parts.scheme}://{shown}:{port}", url, parts.netloc, tls_name))
    return out


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
