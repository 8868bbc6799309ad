"""The Python client of Omnisense: one method per task, typed results.

Users import it as ``from omnisense import Client, AsyncClient``. It imports only
``omnisense.schema``, httpx and msgspec, so ``pip install omnisense`` installs light. Errors come back as
the gateway's own error classes (``UpstreamTimeout``, ``UnsupportedMediaType`` ...) with
``request_id`` and ``attempts`` set from the problem+json answer.
"""

from omnisense.client.aio import AsyncClient
from omnisense.client.sync import Client

__all__ = ["AsyncClient", "Client"]
