"""``Storage``: the process's backends by location, each opened once and closed once."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.storage.sqlite import SqliteFile

if TYPE_CHECKING:
    from gateway.storage.postgres import PgPool
    from gateway.storage.redis import RedisSpace


def _driver_missing(exc: ImportError, extra: str) -> ImportError:
    return ImportError(f"{exc}; install it with pip install 'omnisense[{extra}]'")


class Storage:
    """``keep=False``: a private storage that shares nothing (each call opens a new handle,
    closed by the store that took it); for a store built alone."""

    def __init__(self, *, redis_timeout_s: float = 1.0, keep: bool = True) -> None:
        self.redis_timeout_s = redis_timeout_s
        self.keep = keep
        self._sqlite: dict[str, SqliteFile] = {}
        self._postgres: dict[str, PgPool] = {}
        self._redis: dict[str, RedisSpace] = {}

    def sqlite(self, path: str | Path) -> SqliteFile:
        """The one handle on this SQLite file (``:memory:``: one in-memory database)."""
        key = str(path) if str(path) == ":memory:" else os.path.abspath(path)
        found = self._sqlite.get(key) if self.keep else None
        if found is None:
            found = SqliteFile(path, shared=self.keep)
            if self.keep:
                self._sqlite[key] = found
        return found

    def postgres(self, dsn: str, size: int = 2) -> PgPool:
        """The one pool on this DSN; ``size`` connections more for this user (before it opens)."""
        found = self._postgres.get(dsn) if self.keep else None
        if found is not None:
            found.reserve(size)
            return found
        try:
            from gateway.storage.postgres import PgPool
        except ImportError as exc:
            raise _driver_missing(exc, "postgres") from exc
        pool = PgPool(dsn, size, shared=self.keep)
        if self.keep:
            self._postgres[dsn] = pool
        return pool

    def redis(self, url: str, prefix: str) -> RedisSpace:
        """The one client on this URL, under ``prefix``."""
        found = self._redis.get(url) if self.keep else None
        if found is None:
            try:
                from gateway.storage.redis import RedisSpace, connect
            except ImportError as exc:
                raise _driver_missing(exc, "redis") from exc
            found = RedisSpace(connect(url, self.redis_timeout_s), prefix, self.keep)
            if self.keep:
                self._redis[url] = found
        return found.with_namespace(prefix)

    async def aclose(self) -> None:
        """Close every backend, once (after every store using them is closed)."""
        handles: list[SqliteFile | PgPool] = [*self._sqlite.values(), *self._postgres.values()]
        clients = [space.client for space in self._redis.values()]
        self._sqlite, self._postgres, self._redis = {}, {}, {}
        for handle in handles:
            await handle.aclose()
        for client in clients:
            await client.aclose()
