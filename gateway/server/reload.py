"""Live policy reload: on SIGHUP and when the policy file changes.

A reload loads and checks the file, builds providers for new or changed blocks (an
unchanged block keeps its provider instance, with its connections), builds a new
planner and dispatcher that share the routing state (circuits, latency, spend), and
swaps ``runtime.dispatcher`` in one assignment: requests already running finish on the
old one, new requests take the new one, so none is lost. Providers that left the file
are closed once the old dispatcher has no request in flight.

A bad file (or a provider block that cannot be built) is refused: the last good policy
keeps serving, and the refusal shows in ``GET /v1/policy`` (``last_error``, ``refused``),
in a log line (``omnisense.policy``, WARNING) and in the metrics.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from typing import TYPE_CHECKING, Any

import msgspec

from adapters.base import Provider
from policies.loader import LoadedPolicy, PolicyError, load_policy
from policies.planner import Planner
from policies.watch import FileWatcher

if TYPE_CHECKING:
    from gateway.server.runtime import Runtime

log = logging.getLogger("omnisense.policy")


class ReloadStatus(msgspec.Struct, kw_only=True):
    policy: str
    source: str
    loaded_at: float
    reloads: int = 0  # good reloads since start
    refused: int = 0  # bad files refused since start
    last_refused_at: float | None = None
    last_error: list[str] | None = None  # problems of the last refused file; cleared by a good reload


class PolicyReloader:
    def __init__(self, runtime: Runtime, *, watch_interval_s: float | None = 1.0, drain_timeout_s: float = 60.0):
        self.runtime = runtime
        self.source = runtime.policy.source
        self.status = ReloadStatus(policy=runtime.policy.name, source=self.source, loaded_at=time.time())
        self.drain_timeout_s = drain_timeout_s
        self._lock = asyncio.Lock()
        self._closing: set[asyncio.Future[Any]] = set()
        self.watcher = FileWatcher(self.source, lambda: self.reload("file change"), watch_interval_s or 1.0)
        self._watch = watch_interval_s is not None
        self._sighup = False

    def start(self) -> None:
        if self._watch:
            self.watcher.start()
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._on_sighup)
            self._sighup = True
        except (ValueError, RuntimeError, NotImplementedError, AttributeError):
            log.debug("SIGHUP reload unavailable here (not the main thread, or no signals)")

    def _on_sighup(self) -> None:
        task = asyncio.ensure_future(self.reload("SIGHUP"))
        self._closing.add(task)  # keep a reference until it is done
        task.add_done_callback(self._closing.discard)

    async def reload(self, trigger: str = "request") -> bool:
        """Load the policy file again; True when the new policy now serves."""
        async with self._lock:
            self.watcher.mark_seen()
            try:
                loaded = load_policy(self.source)
                providers, removed = await self._providers_for(loaded)
            except PolicyError as exc:
                return self._refuse(trigger, exc.problems)
            except Exception as exc:  # a provider block its adapter rejects
                return self._refuse(trigger, [f"{type(exc).__name__}: {exc}"])
            self._swap(loaded, providers, removed)
            log.info("policy %s reloaded from %s (%s)", loaded.name, self.source, trigger)
            return True

    def _refuse(self, trigger: str, problems: list[str]) -> bool:
        self.status.refused += 1
        self.status.last_refused_at = time.time()
        self.status.last_error = problems
        log.warning("policy reload (%s) refused, still serving the last good one: %s", trigger, "; ".join(problems))
        return False

    async def _providers_for(self, loaded: LoadedPolicy) -> tuple[dict[str, Provider], list[Provider]]:
        from gateway.server.runtime import build_providers

        old_blocks = self.runtime.policy.policy.providers
        keep = {n: p for n, p in self.runtime.providers.items() if loaded.policy.providers.get(n) == old_blocks.get(n)}
        fresh = await build_providers({n: b for n, b in loaded.policy.providers.items() if n not in keep})
        removed = [p for n, p in self.runtime.providers.items() if n not in keep]
        return {n: keep.get(n) or fresh[n] for n in loaded.policy.providers}, removed

    def _swap(self, loaded: LoadedPolicy, providers: dict[str, Provider], removed: list[Provider]) -> None:
        rt = self.runtime
        old = rt.dispatcher
        dispatcher = old.successor(Planner(loaded, {n: p.info for n, p in providers.items()}), providers)
        rt.policy, rt.providers, rt.dispatcher = loaded, providers, dispatcher  # new requests take the new one
        self.status = msgspec.structs.replace(
            self.status, policy=loaded.name, loaded_at=time.time(), reloads=self.status.reloads + 1, last_error=None
        )
        if removed:
            task = asyncio.ensure_future(self._close_after(old, removed))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def _close_after(self, old: object, removed: list[Provider]) -> None:
        from gateway.dispatch import Dispatcher

        if isinstance(old, Dispatcher):
            await old.drained(self.drain_timeout_s)
            running = list(old.shadows.running)
            if running:
                await asyncio.wait(running, timeout=self.drain_timeout_s)
        await asyncio.gather(*(p.aclose() for p in removed), return_exceptions=True)

    async def aclose(self) -> None:
        await self.watcher.aclose()
        if self._sighup:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
