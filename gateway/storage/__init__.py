"""One storage layer: the backends a gateway process opens, each once, shared by every store.

``Storage`` hands out one handle per backend location: one SQLite file (one connection on
one thread), one asyncpg pool per DSN, one Redis client per URL. Each is opened on first use
and closed once, by ``Storage.aclose`` at shutdown. The request log's sink, the job store,
the response cache and the shared routing state (``policies.shared``) each take a handle
and keep their own namespace on it: a table in the SQLite file, a schema and table in
PostgreSQL, a key prefix in Redis (litestar's ``NamespacedStore.with_namespace`` is the
model). A store built alone (a test, ``omnisense logs``) gets a handle of its own, which
it closes with itself.
"""

from gateway.storage.backends import Storage
from gateway.storage.sqlite import SqliteFile

__all__ = ["SqliteFile", "Storage"]
