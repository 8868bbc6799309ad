"""The SSRF guard: which addresses a URL that a caller names may reach, and a connection to only those.

Two features fetch a URL that a caller gives: URL inputs (``gateway.server.fetch``) and job
webhooks (``gateway.jobs.webhook_guard``). Both resolve the host once, refuse it when any of
its addresses is not public (loopback, link-local (cloud metadata), multicast, reserved,
unspecified, private), unless the operator allows it, and then connect only to the addresses
checked (``PinnedResolver``), so that a second DNS answer cannot swap in an internal one (DNS
rebinding). Each caller words its own refusal from the reason given here.

Here, below the server and the jobs, so that both import it (the jobs may not import the
server). The ``local`` provider's replica discovery resolves the operator's own model-server
names, which are private by design: it checks nothing here.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence

from aiohttp.abc import AbstractResolver, ResolveResult

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]  # (host, port) -> its addresses


class Unresolved(Exception):
    """The host has no address."""


class AddressRefused(Exception):
    """The host resolves to an address that may not be reached."""

    def __init__(self, address: IpAddress, why: str) -> None:
        super().__init__(f"{why} address {address}")
        self.address, self.why = address, why


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host``."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def refused(address: IpAddress, allowed: Sequence[IpNetwork] = ()) -> str | None:
    """Why ``address`` may not be reached ("a loopback", "a private", ...), or None: public,
    or inside one of the ``allowed`` networks. An IPv4-mapped IPv6 address is judged as its IPv4."""
    if any(address in net for net in allowed):
        return None
    target = (address.ipv4_mapped or address) if isinstance(address, ipaddress.IPv6Address) else address
    if target.is_loopback:
        return "a loopback"
    if target.is_link_local:
        return "a link-local (metadata)"
    if target.is_multicast:
        return "a multicast"
    if target.is_unspecified or target.is_reserved:
        return "a reserved"
    if target.is_private or not target.is_global:
        return "a private"
    return None


async def checked_addresses(
    host: str,
    port: int,
    *,
    resolve: Resolver = system_resolver,
    allowed: Sequence[IpNetwork] = (),
    allow_all: bool = False,
) -> list[IpAddress]:
    """The addresses of ``host`` (an address literal stands for itself), every one of them
    reachable: ``Unresolved`` when there is none, ``AddressRefused`` at the first that is
    not public nor ``allowed`` (``allow_all``: the operator allows every address)."""
    try:
        addresses: list[IpAddress] = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        try:
            addresses = [ipaddress.ip_address(a) for a in await resolve(host, port)]
        except OSError as exc:
            raise Unresolved(host) from exc
    if not addresses:
        raise Unresolved(host)
    if not allow_all:
        for address in addresses:
            why = refused(address, allowed)
            if why:
                raise AddressRefused(address, why)
    return addresses


def _name(host: str) -> str:
    return host.lower().rstrip(".")


class PinnedResolver(AbstractResolver):
    """aiohttp's resolver for one connection: answers the checked addresses of one host, nothing else."""

    def __init__(self, host: str, addresses: Sequence[IpAddress]) -> None:
        self.host, self.addresses = _name(host), list(addresses)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if _name(host) != self.host:
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
