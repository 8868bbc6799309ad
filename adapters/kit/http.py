"""HTTP plumbing a vendor's clients share: a lazily opened aiohttp session, and a ``requests``
session that reads its environment once.

Neither library is imported until it is used.
"""

from __future__ import annotations

import os
from typing import Any


class LazySession:
    """One aiohttp ``ClientSession`` per provider, opened on first use in the running loop
    (at most ``limit`` connections), closed by ``aclose``."""

    def __init__(self, limit: int, user_agent: str = "omnisense") -> None:
        self.limit = limit
        self.user_agent = user_agent
        self._session: Any = None

    async def get(self) -> Any:
        if self._session is None or self._session.closed:
            import aiohttp

            connector = aiohttp.TCPConnector(limit=self.limit)
            self._session = aiohttp.ClientSession(connector=connector, headers={"User-Agent": self.user_agent})
        return self._session

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def freeze_environment(session: Any, url: str) -> None:
    """Read the proxy and CA-bundle settings from the environment once, for the one host a
    ``requests`` session calls, instead of on every request: ``requests`` re-reads
    ``os.environ`` per request (``trust_env``), which was ~30% of a call's CPU in
    ``bench/adapters.py``. NO_PROXY is honoured (``get_environ_proxies`` checks the host); a
    change of the environment after the session is built is not seen (as with any SDK client
    setting)."""
    import requests.utils

    session.proxies.update(requests.utils.get_environ_proxies(url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    session.trust_env = False
