"""One asyncpg pool for one DSN (extra ``omnisense[postgres]``), created on first use.

Its size is the sum of what its users reserved before it opened (the request log and the
job store each ask for two connections), so one pool on a shared DSN holds what two did.
"""

from __future__ import annotations

import asyncio

import asyncpg


class PgPool:
    def __init__(self, dsn: str, size: int = 2, *, shared: bool = False) -> None:
        self.dsn, self.size, self.shared = dsn, size, shared
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    def reserve(self, size: int) -> None:
        """Another user of the pool: it grows by ``size`` (only before it opens)."""
        self.size += size

    async def get(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=self.size)
        return self._pool

    async def aclose(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def release(self) -> None:
        """A store is done with the pool: closed unless the Storage shares it."""
        if not self.shared:
            await self.aclose()
