"""Per-key rate limits: token buckets, in this process or in Redis for every replica.

A limit is ``rate`` requests per ``per_s`` seconds with bursts up to ``rate`` (the bucket
holds one period's worth and refills continuously). In Redis a bucket is a hash updated
by one Lua script (read, refill, take, write in one atomic step, on Redis's own clock), so
replicas never race and a key gets ``rate`` requests per period across all of them.
When Redis is down, each replica falls back to its own in-process bucket.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from policies.shared.link import RedisLink, SharedDown


@dataclass(frozen=True)
class Limit:
    name: str  # "minute", "second": what the 429 names
    rate: float  # requests per period
    per_s: float  # the period, seconds


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_s: float = 0.0
    limit: Limit | None = None  # the limit that refused


class MemoryRateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.buckets: dict[tuple[str, str], tuple[float, float]] = {}  # (key, limit) -> (tokens, time)

    async def take(self, key_id: str, limits: Sequence[Limit]) -> Verdict:
        return self.take_now(key_id, limits)

    def take_now(self, key_id: str, limits: Sequence[Limit]) -> Verdict:
        """Take one token from every bucket of the key, or none when one of them is empty."""
        now = self.clock()
        filled = []
        for limit in limits:
            tokens, then = self.buckets.get((key_id, limit.name), (limit.rate, now))
            tokens = min(limit.rate, tokens + (now - then) * limit.rate / limit.per_s)
            if tokens < 1.0:
                return Verdict(False, (1.0 - tokens) * limit.per_s / limit.rate, limit)
            filled.append((limit, tokens))
        for limit, tokens in filled:
            self.buckets[(key_id, limit.name)] = (tokens - 1.0, now)
        return Verdict(True)


# KEYS: one bucket per limit. ARGV: rate_1, per_s_1, rate_2, per_s_2, ...
# Returns {1, 0, 0} (taken) or {0, wait_s as a string, index of the refusing limit (1-based)}.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local levels = {}
for i, key in ipairs(KEYS) do
  local rate, per = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local b = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens, ts = tonumber(b[1]) or rate, tonumber(b[2]) or now
  tokens = math.min(rate, tokens + math.max(0, now - ts) * rate / per)
  if tokens < 1 then
    return {0, tostring((1 - tokens) * per / rate), i}
  end
  levels[i] = tokens
end
for i, key in ipairs(KEYS) do
  local per = tonumber(ARGV[2 * i])
  redis.call('HSET', key, 'tokens', tostring(levels[i] - 1), 'ts', tostring(now))
  redis.call('EXPIRE', key, math.ceil(per) + 1)
end
return {1, '0', 0}
"""


class RedisRateLimiter:
    """Buckets at ``{prefix}rate:{key_id}:{limit}``; the local fallback while Redis is down."""

    def __init__(self, link: RedisLink, fallback: MemoryRateLimiter | None = None) -> None:
        self.link = link
        self.fallback = fallback or MemoryRateLimiter()
        self._script: Any = link.redis.register_script(_TAKE)

    async def take(self, key_id: str, limits: Sequence[Limit]) -> Verdict:
        if not limits:
            return Verdict(True)
        keys = [self.link.key("rate", key_id, limit.name) for limit in limits]
        args: list[float] = [x for limit in limits for x in (limit.rate, limit.per_s)]
        try:
            allowed, wait, index = await self.link.run(lambda _: self._script(keys=keys, args=args))
        except SharedDown:
            return self.fallback.take_now(key_id, limits)
        if int(allowed):
            return Verdict(True)
        return Verdict(False, float(wait), limits[int(index) - 1])


RateLimiter = MemoryRateLimiter | RedisRateLimiter
