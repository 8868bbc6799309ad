"""boto3 clients built once per provider, and the one way every service module calls them.

boto3 is imported here, lazily, when the first client is built: importing
``adapters.registry`` or even ``adapters.aws.provider`` does not import it.

Each call runs in the provider's bounded thread pool (the kit's ``BlockingPool``), is
bounded by the request's deadline (``ctx.remaining_s()``) on top of botocore's own read
timeout, and has its exceptions mapped by ``errors.classify``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from adapters.aws.config import AwsConfig
from adapters.aws.errors import classify
from adapters.base import CallContext
from adapters.kit import BlockingPool, mapped_errors

T = TypeVar("T")


class AwsClients:
    """One boto3 session and one client per service, created on first use, shared by threads.

    boto3 clients are thread-safe once built; building them is not, hence the lock.
    """

    def __init__(self, name: str, config: AwsConfig) -> None:
        self.name = name
        self.config = config
        self.pool = BlockingPool(name, config.max_workers)
        self._lock = threading.Lock()
        self._session: Any = None
        self._clients: dict[str, Any] = {}

    def _boto_session(self) -> Any:
        if self._session is None:
            import boto3

            cfg = self.config
            self._session = boto3.session.Session(
                aws_access_key_id=cfg.access_key_id,
                aws_secret_access_key=cfg.secret_access_key,
                aws_session_token=cfg.session_token,
                region_name=cfg.region,
                profile_name=cfg.profile,
            )
        return self._session

    def client(self, service: str, *, probe: bool = False) -> Any:
        """The client for ``service`` (``probe=True``: a twin with the probe's short timeouts)."""
        key = f"{service}:probe" if probe else service
        with self._lock:
            found = self._clients.get(key)
            if found is None:
                found = self._clients[key] = self._build(service, probe)
            return found

    def _build(self, service: str, probe: bool) -> Any:
        from botocore.config import Config

        cfg = self.config
        read = cfg.probe_timeout_s if probe else cfg.timeout_s
        connect = min(cfg.connect_timeout_s, read)
        botocfg = Config(
            connect_timeout=connect,
            read_timeout=read,
            # Deliberate: 1 attempt by default (no SDK retries); the gateway's dispatcher retries.
            retries={"mode": "standard", "total_max_attempts": 1 if probe else cfg.max_attempts},
            max_pool_connections=cfg.max_workers,
            user_agent_extra="omnisense",
        )
        return self._boto_session().client(service, endpoint_url=cfg.endpoint_for(service), config=botocfg)

    async def run(self, fn: Callable[..., T], *args: Any, ctx: CallContext | None = None) -> T:
        """Run blocking ``fn(*args)`` in the pool, within the request's deadline, errors mapped."""
        with mapped_errors(self.name, classify):
            return await self.pool.run_blocking(fn, *args, ctx=ctx)

    async def call(self, service: str, operation: str, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """``client(service).<operation>(**params)``, minus ``ResponseMetadata``."""

        def invoke() -> dict[str, Any]:
            response: dict[str, Any] = getattr(self.client(service), operation)(**params)
            response.pop("ResponseMetadata", None)
            return response

        return await self.run(invoke, ctx=ctx)

    def background(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run blocking ``fn(*args)`` in the pool without waiting for it (cleanup work)."""
        self.pool.background(fn, *args)

    async def drain(self, timeout_s: float = 10.0) -> None:
        await self.pool.drain(timeout_s)

    def close(self) -> None:
        self.pool.shutdown()
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
