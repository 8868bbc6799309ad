"""API keys and what each may do: the one place that checks a key's scope.

Callers send ``Authorization: Bearer <key>``; the config holds SHA-256 digests. A key
may be limited to

- ``tasks``: task names or patterns (``vision.*``, ``text.sentiment``); others are 403;
- ``providers``: the providers that may serve it, for routing as for pinning: the
  planner drops every other candidate (and shadow), and pinning one is 403;
- ``policies``: the policies it may choose with ``X-Omnisense-Policy``;
- ``admin``: the request log, stats and policy reload need it;
- ``rate_per_minute`` / ``rate_per_second``: task requests a minute / a second (token
  buckets that hold one period's worth), 429 with ``Retry-After`` beyond either. With
  ``state.redis`` in the config the buckets live in Redis and hold across every replica
  (``policies.shared.ratelimit``); without, in this process. Budgets (``budgets:`` in the
  policy) cap what a key spends.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.server.config import ApiKey, GatewayConfig, hash_key
from omnisense.schema import Forbidden, RateLimited, Task, Unauthorized
from policies.loader import task_pattern_matches
from policies.shared.ratelimit import Limit, MemoryRateLimiter, RateLimiter


class KeyRing:
    def __init__(self, config: GatewayConfig, limiter: RateLimiter | None = None) -> None:
        self.protected = config.protected
        self._by_digest = {k.sha256.lower(): k for k in config.keys}
        self.limiter: RateLimiter = limiter or MemoryRateLimiter()
        self._limits = {k.id: limits_of(k) for k in config.keys}

    def authenticate(self, headers: Mapping[str, str]) -> ApiKey | None:
        """The caller's key, ``None`` on an open gateway; raises Unauthorized otherwise."""
        if not self.protected:
            return None
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("this gateway needs an API key: send 'Authorization: Bearer <key>'")
        # Looked up by its SHA-256: one dict probe whatever the number of keys. Timing tells
        # nothing useful: a caller chooses a token, not the digest that the probe compares.
        key = self._by_digest.get(hash_key(token.strip()))
        if key is None:
            raise Unauthorized("the API key is not valid")
        return key

    @staticmethod
    def check_task(key: ApiKey | None, task: Task) -> None:
        if key is not None and key.tasks is not None and not any(task_pattern_matches(p, task) for p in key.tasks):
            raise Forbidden(f"key {key.id!r} may not call {task} (it may call: {', '.join(key.tasks) or 'nothing'})")

    async def check_rate(self, key: ApiKey | None) -> None:
        """Take one request from the key's rate limits, or refuse with 429 and when to come back."""
        limits = self._limits.get(key.id) if key is not None else None
        if key is None or not limits:
            return
        verdict = await self.limiter.take(key.id, limits)
        if not verdict.allowed:
            limit = verdict.limit or limits[0]
            rate = f"{limit.rate:g} requests a {limit.name}"
            raise RateLimited(f"key {key.id!r} is over its {rate}", retry_after_s=verdict.retry_after_s)

    async def token_wait(self, key_id: str | None) -> float:
        """Take one token of ``key_id``'s rate limits for a job's item: 0 when taken, else the
        seconds until one is due (the item waits, then asks again)."""
        limits = self._limits.get(key_id) if key_id is not None else None
        if key_id is None or not limits:
            return 0.0
        verdict = await self.limiter.take(key_id, limits)
        return 0.0 if verdict.allowed else max(verdict.retry_after_s, 0.05)

    @staticmethod
    def allowed_providers(key: ApiKey | None) -> frozenset[str] | None:
        """The providers that may serve this key's requests (``None``: any)."""
        return None if key is None or key.providers is None else frozenset(key.providers)

    @staticmethod
    def check_hints(key: ApiKey | None, provider: str | None, policy: str | None) -> None:
        """Routing hints are allowed only where the caller's key permits them."""
        if key is None:
            return
        if provider is not None and key.providers is not None and provider not in key.providers:
            raise Forbidden(f"key {key.id!r} may not use provider {provider!r}", field="X-Omnisense-Provider")
        if policy is not None and key.policies is not None and policy not in key.policies:
            raise Forbidden(f"key {key.id!r} may not choose policy {policy!r}", field="X-Omnisense-Policy")

    @staticmethod
    def require_admin(key: ApiKey | None, protected: bool) -> None:
        if protected and (key is None or not key.admin):
            raise Forbidden("this endpoint needs an admin key")


def limits_of(key: ApiKey) -> list[Limit]:
    out = []
    if key.rate_per_second is not None:
        out.append(Limit("second", float(key.rate_per_second), 1.0))
    if key.rate_per_minute is not None:
        out.append(Limit("minute", float(key.rate_per_minute), 60.0))
    return out
