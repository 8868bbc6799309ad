"""State that several gateway processes share through Redis (optional; in-process is the default).

- ``link``: the connection, whether Redis is reachable now, and the loop that notices it
  coming back (a replica without Redis keeps serving on its local state).
- ``ratelimit``: per-key token buckets, in-process or in Redis (one Lua script per check).
- ``spend``: budget spend in Redis with a local fallback that is paid back on rejoin.
- ``routing``: circuit-breaker and latency facts written to Redis and read back by every replica.
"""

from policies.shared.link import RedisLink, SharedStatus

__all__ = ["RedisLink", "SharedStatus"]
