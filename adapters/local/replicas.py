"""The ``local`` provider's replica set: which model server a call goes to.

One job: keep the replicas (base URL, requests in flight, a ready mark, the last error) and
choose one per call. ``pick()`` takes the ready replica with the fewest requests in flight,
ties broken round-robin. When none is marked ready it still offers them all, the one that
failed longest ago first (a mark can be stale: a replica may be back before anyone looked),
so a whole-set outage ends in a failed call and the dispatcher falls back.

A replica marked down is re-checked every ``recheck_s`` by one background task (while any
is down, and only then), so a restarted model server takes traffic again within about a
second, not at the provider's next probe. The HTTP check itself is the provider's: this
module does no I/O of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("omnisense.local")

Check = Callable[["Replica"], Awaitable[None]]


@dataclass(frozen=True)
class Target:
    """Where a replica is: its base URL, and the name it was found under (DNS discovery)."""

    url: str
    source: str = ""  # the configured URL it came from
    host_header: str | None = None  # the configured host[:port], sent as Host when url is an address
    server_hostname: str | None = None  # the TLS server name when url is an address (https)


@dataclass(eq=False)
class Replica:
    target: Target
    in_flight: int = 0
    ready: bool = True  # optimistic until a call or a probe says otherwise
    error: str = ""
    down_since: float | None = None  # monotonic: when it was marked down
    failed_at: float = 0.0  # monotonic: its last failure (pick() tries the oldest first)
    answered: int = 0

    @property
    def url(self) -> str:
        return self.target.url

    def status(self, now: float) -> dict[str, Any]:
        """What ``GET /v1/providers`` shows of it."""
        out: dict[str, Any] = {"url": self.url, "ready": self.ready, "in_flight": self.in_flight}
        out["answered"] = self.answered
        if not self.ready:
            out["error"] = self.error
            out["down_s"] = round(now - self.down_since, 1) if self.down_since is not None else None
        return out


@dataclass(eq=False)
class ReplicaSet:
    replicas: list[Replica] = field(default_factory=list)
    recheck: Check | None = None  # re-checks one replica marked down (and marks it)
    recheck_s: float = 1.0
    _turn: int = 0
    _watch: asyncio.Task[None] | None = None

    @classmethod
    def of(cls, targets: Sequence[Target], *, recheck: Check | None = None, recheck_s: float = 1.0) -> ReplicaSet:
        return cls([Replica(t) for t in targets], recheck=recheck, recheck_s=recheck_s)

    def pick(self, tried: Collection[Replica] = ()) -> Replica | None:
        """The replica for the next call (None: every replica is in ``tried``)."""
        replicas = self.replicas
        n = len(replicas)
        if n == 0:
            return None
        start = self._turn % n
        self._turn = start + 1
        best: Replica | None = None
        for i in range(n):
            r = replicas[(start + i) % n]
            if r.ready and (best is None or r.in_flight < best.in_flight) and r not in tried:
                best = r
        if best is not None:
            return best
        return min((r for r in replicas if r not in tried), key=_failed_at, default=None)

    def mark_down(self, replica: Replica, error: str) -> None:
        now = time.monotonic()
        if replica.ready:
            log.warning("model-server replica %s is down (%s)", replica.url, error)
            replica.ready, replica.down_since = False, now
        replica.error, replica.failed_at = error, now
        self._watch_down()

    def mark_ready(self, replica: Replica) -> None:
        if not replica.ready:
            log.info("model-server replica %s is back", replica.url)
        replica.ready, replica.error, replica.down_since = True, "", None

    def replace(self, targets: Sequence[Target]) -> None:
        """A new list of targets (DNS discovery): a replica still listed keeps its state."""
        known = {r.url: r for r in self.replicas}
        self.replicas = [known.get(t.url) or Replica(t) for t in targets]

    def ready_count(self) -> int:
        return sum(1 for r in self.replicas if r.ready)

    def summary(self) -> str:
        """``2/3 replicas ready; http://10.0.0.7:3000: down (ClientConnectorError: ...)``."""
        parts = [f"{self.ready_count()}/{len(self.replicas)} replicas ready"]
        parts += [f"{r.url}: down ({r.error})" for r in self.replicas if not r.ready]
        return "; ".join(parts)

    def status(self) -> list[dict[str, Any]]:
        now = time.monotonic()
        return [r.status(now) for r in self.replicas]

    def _watch_down(self) -> None:
        if self.recheck is None or (self._watch is not None and not self._watch.done()):
            return
        self._watch = asyncio.get_running_loop().create_task(self._rechecks(), name="omnisense-replica-recheck")

    async def _rechecks(self) -> None:
        assert self.recheck is not None
        while True:
            await asyncio.sleep(self.recheck_s)
            down = [r for r in self.replicas if not r.ready]
            if not down:
                return  # every replica is back; the next mark_down starts a new watch
            try:
                await asyncio.gather(*(self.recheck(r) for r in down))
            except Exception:  # a check marks its replica; an escaped error must not end the watch
                log.exception("re-checking model-server replicas failed")

    async def aclose(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None


def _failed_at(replica: Replica) -> float:
    return replica.failed_at
