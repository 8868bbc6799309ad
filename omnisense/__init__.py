"""Omnisense's contract and its Python client: exactly what ``pip install omnisense`` installs.

    from omnisense import Client, AsyncClient, UpstreamTimeout

    with Client("http://127.0.0.1:8080") as omni:
        mood = omni.text.sentiment("What a lovely day").result.label

``omnisense.schema`` is the contract every other part builds on (the task table, requests,
results, envelope, errors); ``omnisense.client`` is the client (httpx and msgspec only).
The gateway (``gateway/``), the adapters and the policies sit on top of this package and
come with ``pip install 'omnisense[server]'``.

The one export list is the schema's ``__all__`` plus the two clients. The clients are
imported on first use, so the gateway, which builds on the schema, never loads httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omnisense.schema import *  # noqa: F403 -- the contract's names are the package's names
from omnisense.schema import __all__ as _contract

if TYPE_CHECKING:
    from omnisense.client import AsyncClient, Client

__all__ = [*_contract, "AsyncClient", "Client"]


def __getattr__(name: str) -> Any:
    if name in ("AsyncClient", "Client"):
        import omnisense.client

        return getattr(omnisense.client, name)
    raise AttributeError(f"module 'omnisense' has no attribute {name!r}")
