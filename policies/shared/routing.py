"""Circuit breakers and latency windows shared by every replica through Redis.

Each replica keeps its own ``CircuitBoard`` and ``LatencyBook`` (the planner reads them
synchronously, on the hot path, without a network call) and shares what it sees:

- writes: every finished attempt becomes an event (a provider fault, a success, a circuit
  this replica opened, a latency sample), queued without waiting and sent by the hub's
  loop in one pipeline. Each is one Lua script, atomic in Redis: a fault increments the
  fleet's consecutive-failure count and opens the shared circuit at the threshold; an
  opened circuit sets ``open_until`` (the later of the two); a sample is pushed to a list
  trimmed to the window.
- reads: every ``sync_s`` seconds the hub reads each policy's
  circuits (one hash) and latency lists, opens locally what is open in Redis for the
  cooldown left, and replaces the local latency windows with the fleet's.

Times are Redis's own (``TIME``), so replicas' clocks need not agree. Keys live under
``{prefix}{policy}:``, so replicas serving the same policy name share, and a policy's
hash expires a day after its last write. While Redis is down, events are dropped (the
local state has them) and the replica decides alone; on rejoin it publishes the circuits
it holds open. Half-open trials are per replica: after a cooldown each replica may send
one trial call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass
from typing import Any

from omnisense.schema import Attempt, Task
from policies.circuit import CircuitBoard, is_fault
from policies.latency import LatencyBook
from policies.shared.link import RedisLink, SharedDown

log = logging.getLogger("omnisense.shared")

_NOW_MS = "local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
# KEYS: the policy's circuit hash. ARGV: "provider|task", failures threshold, cooldown ms.
_FAULT = (
    _NOW_MS
    + """
local f = ARGV[1]
if tonumber(redis.call('HGET', KEYS[1], f .. '|open_until') or '0') > now then return 0 end
local n = redis.call('HINCRBY', KEYS[1], f .. '|fails', 1)
local threshold = tonumber(ARGV[2])
if threshold > 0 and n >= threshold then
  redis.call('HSET', KEYS[1], f .. '|open_until', now + tonumber(ARGV[3]), f .. '|fails', 0)
end
redis.call('EXPIRE', KEYS[1], 86400)
return n
"""
)
# KEYS: the circuit hash. ARGV: "provider|task", cooldown ms left (0: a success, reset the count).
_MARK = (
    _NOW_MS
    + """
local f, left = ARGV[1], tonumber(ARGV[2])
if left <= 0 then
  redis.call('HSET', KEYS[1], f .. '|fails', 0)
else
  local until_ms = now + left
  if tonumber(redis.call('HGET', KEYS[1], f .. '|open_until') or '0') < until_ms then
    redis.call('HSET', KEYS[1], f .. '|open_until', until_ms, f .. '|fails', 0)
  end
end
redis.call('EXPIRE', KEYS[1], 86400)
return 1
"""
)
# KEYS: the sample list, the policy's index of lists. ARGV: ms, window (count), ttl s.
_SAMPLE = (
    _NOW_MS
    + """
redis.call('LPUSH', KEYS[1], now .. ' ' .. ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('SADD', KEYS[2], KEYS[1])
redis.call('EXPIRE', KEYS[2], 86400)
return 1
"""
)


@dataclass(frozen=True)
class _Event:
    script: str  # "fault", "mark", "sample"
    keys: tuple[str, ...]
    args: tuple[str | float | int, ...]


class SharedRouting:
    """One routing state's side of the sharing: turns attempts into events, applies reads."""

    def __init__(self, hub: SharedHub, namespace: str, circuits: CircuitBoard, latencies: LatencyBook) -> None:
        self.hub, self.circuits, self.latencies = hub, circuits, latencies
        self.circuit_key = hub.link.key(namespace, "circuits")
        self.latency_index = hub.link.key(namespace, "latency")
        self.latency_prefix = hub.link.key(namespace, "latency", "")

    def observe(self, provider: str, task: Task, attempt: Attempt, was_open: bool) -> None:
        """After the local breaker and window took ``attempt`` (``was_open``: the local state before)."""
        field = f"{provider}|{task.value}"
        settings = self.circuits.settings_for(task)
        breaker = self.circuits.breaker(provider, task)
        if not was_open and breaker.state_ == "open":
            self.hub.push(_Event("mark", (self.circuit_key,), (field, int(settings.cooldown_s * 1000))))
        elif is_fault(attempt):
            self.hub.push(
                _Event("fault", (self.circuit_key,), (field, settings.failures, int(settings.cooldown_s * 1000)))
            )
        elif attempt.outcome == "ok":
            self.hub.push(_Event("mark", (self.circuit_key,), (field, 0)))
        ms = self.latencies.sample_ms(attempt)
        if ms is not None:
            fastest = self.latencies.settings_for(task)
            ttl = max(1, int(fastest.window_s) + 1)
            keys = (self.latency_prefix + field, self.latency_index)
            self.hub.push(_Event("sample", keys, (round(ms, 3), fastest.window, ttl)))

    def republish(self) -> None:
        """On rejoin: the circuits this replica holds open."""
        for provider, task, left_s in self.circuits.opened():
            self.hub.push(_Event("mark", (self.circuit_key,), (f"{provider}|{task.value}", int(left_s * 1000))))

    async def pull(self, redis: Any) -> None:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.time()
            pipe.hgetall(self.circuit_key)
            pipe.smembers(self.latency_index)
            (sec, usec), circuits, lists = await pipe.execute()
        now_ms = sec * 1000 + usec // 1000
        self._apply_circuits(circuits, now_ms)
        names = sorted(n.decode() for n in lists)
        if not names:
            return
        async with redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.lrange(name, 0, -1)
            windows = await pipe.execute()
        for name, entries in zip(names, windows, strict=True):
            self._apply_latency(name.removeprefix(self.latency_prefix), entries, now_ms)

    def _apply_circuits(self, fields: dict[bytes, bytes], now_ms: int) -> None:
        for raw, value in fields.items():
            name = raw.decode()
            if not name.endswith("|open_until") or int(value) <= now_ms:
                continue
            found = _parse_field(name.removesuffix("|open_until"))
            if found is not None:
                provider, task = found
                if self.circuits.breaker(provider, task).adopt_open((int(value) - now_ms) / 1000.0):
                    log.info("circuit %s/%s opened by another replica", provider, task.value)

    def _apply_latency(self, field: str, entries: list[bytes], now_ms: int) -> None:
        found = _parse_field(field)
        if found is None:
            return
        samples = []
        for entry in reversed(entries):  # oldest first
            at, _, ms = entry.decode().partition(" ")
            samples.append(((now_ms - int(at)) / 1000.0, float(ms)))
        self.latencies.replace(*found, samples)


def _parse_field(field: str) -> tuple[str, Task] | None:
    provider, _, task = field.rpartition("|")
    try:
        return provider, Task(task)
    except ValueError:
        return None


class SharedHub:
    """The sending and reading loop of one process; every routing state attaches to it."""

    def __init__(self, link: RedisLink, *, sync_s: float = 0.5, max_queue: int = 10_000) -> None:
        self.link, self.sync_s = link, sync_s
        self.queue: deque[_Event] = deque(maxlen=max_queue)
        self.attached: dict[str, SharedRouting] = {}
        self.dropped = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._scripts = {
            n: link.redis.register_script(s) for n, s in (("fault", _FAULT), ("mark", _MARK), ("sample", _SAMPLE))
        }
        link.on_rejoin.append(self._rejoin)

    def attach(self, namespace: str, circuits: CircuitBoard, latencies: LatencyBook) -> SharedRouting:
        shared = self.attached[namespace] = SharedRouting(self, namespace, circuits, latencies)
        return shared

    def push(self, event: _Event) -> None:
        if not self.link.up:
            self.dropped += 1
            return
        self.queue.append(event)
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        next_pull = 0.0
        while not self._closed:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that lands as
            # the wake-up completes, and the loop (and aclose, and shutdown) would run forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, next_pull - loop.time())):
                    await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(0.005)  # coalesce the events of a burst into one pipeline
            try:
                await self.flush()
                if loop.time() >= next_pull:  # reads: every sync_s, not after every flush
                    next_pull = loop.time() + self.sync_s
                    await self.pull()
            except SharedDown:
                self.queue.clear()
            except Exception:
                log.exception("shared state: sync failed")

    async def sync(self) -> None:
        """Send the queued events, then read every attached state back."""
        await self.flush()
        await self.pull()

    async def flush(self) -> None:
        events = list(self.queue)
        self.queue.clear()
        if events:
            await self.link.run(lambda r: self._send(r, events))

    async def pull(self) -> None:
        for shared in list(self.attached.values()):
            await self.link.run(shared.pull)

    async def _send(self, redis: Any, events: list[_Event]) -> None:
        async with redis.pipeline(transaction=False) as pipe:
            for e in events:
                await self._scripts[e.script](keys=list(e.keys), args=list(e.args), client=pipe)
            await pipe.execute()

    async def _rejoin(self) -> None:
        for shared in self.attached.values():
            shared.republish()
        self._wake.set()

    async def aclose(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=5.0)
        with contextlib.suppress(Exception):
            await self.flush()  # what is queued still reaches the others
