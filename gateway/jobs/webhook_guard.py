"""Where a webhook may go: not into the operator's own network unless the operator says so.

A job's ``webhook_url`` is the caller's, so the gateway checks it like a URL input:
http(s) only, no credentials in it, the host on ``jobs.webhook_hosts`` when that list is
set, and every address the host resolves to public (no loopback, private, link-local
(cloud metadata), multicast or reserved address) unless ``jobs.webhook_private`` allows
them. The host is resolved once per try and the connection goes only to the addresses
checked (a pinned resolver), so a second DNS answer cannot swap in an internal one: the
guard that URL inputs use too (``gateway.ssrf``).
"""

from __future__ import annotations

import fnmatch
from urllib.parse import urlsplit

from gateway import ssrf
from gateway.ssrf import IpAddress, PinnedResolver

__all__ = ["PinnedResolver", "WebhookRefused", "check_url", "checked_addresses"]


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


async def checked_addresses(host: str, port: int, allow_private: bool) -> list[IpAddress]:
    """The addresses to connect to: all of them public, unless private ones are allowed."""
    try:
        return await ssrf.checked_addresses(host, port, allow_all=allow_private)
    except ssrf.Unresolved:
        raise WebhookRefused(f"webhook host {host!r} does not resolve") from None
    except ssrf.AddressRefused as exc:
        raise WebhookRefused(
            f"webhook host {host!r} resolves to {exc.why} address (jobs.webhook_private is off)"
        ) from None
