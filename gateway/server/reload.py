"""Live policy reload: on SIGHUP, on ``POST /v1/policy/reload``, and when a policy file changes.

A reload rebuilds the whole routing (the main policy and the named ones) with
``gateway.routing.build_routing``: an unchanged provider block keeps its instance and its
connections, and every unit keeps its routing state (circuits, latency, spend). The
result is installed in one step: requests already running finish on the old routing,
new requests take the new one, so none is lost. Providers that left the files are
closed once the old dispatchers have no request in flight.

A bad file (or a provider block that cannot be built) is refused: the last good routing
keeps serving, and the refusal shows in ``GET /v1/policy`` (``last_error``, ``refused``),
in a log line (``omnisense.policy``, WARNING) and in the metrics.

Files are watched with watchfiles (inotify where the OS has it); the watch is on their
folders, so an editor's write-and-rename or a Kubernetes ConfigMap's symlink swap counts.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from pathlib import Path
from typing import Any, Protocol

import msgspec
import watchfiles

from adapters.base import Provider
from gateway.routing import Routing
from policies.loader import PolicyError

log = logging.getLogger("omnisense.policy")


class ReloadHost(Protocol):
    """What the reloader reloads: the server's runtime."""

    @property
    def routing(self) -> Routing: ...

    async def rebuild(self) -> tuple[Routing, list[Provider]]: ...

    def install(self, routing: Routing) -> None: ...


class _Named:
    """watchfiles filter: a change to one of the policy files, or a ConfigMap's ``..data`` swap."""

    def __init__(self, names: set[str]) -> None:
        self.names = names

    def __call__(self, change: watchfiles.Change, path: str) -> bool:
        name = Path(path).name
        return name in self.names or name.startswith("..")


def _watched(sources: list[str]) -> tuple[set[str], set[str]]:
    """The folders to watch and the file names that count."""
    paths = [Path(s).absolute() for s in sources]
    return {str(p.parent) for p in paths}, {p.name for p in paths}


class ReloadStatus(msgspec.Struct, kw_only=True):
    policy: str
    source: str
    loaded_at: float
    reloads: int = 0  # good reloads since start
    refused: int = 0  # bad files refused since start
    last_refused_at: float | None = None
    last_error: list[str] | None = None  # problems of the last refused file; cleared by a good reload


class PolicyReloader:
    def __init__(self, host: ReloadHost, *, watch_s: float | None = 1.0, drain_timeout_s: float = 60.0) -> None:
        """``watch_s``: reload when a file changes, changes coalesced over that many seconds (None: no watch)."""
        self.host = host
        main = host.routing.main.policy
        self.status = ReloadStatus(policy=main.name, source=main.source, loaded_at=time.time())
        self.drain_timeout_s = drain_timeout_s
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Future[Any]] = set()
        self._watch_s = watch_s
        self._stop = asyncio.Event()
        self._sighup = False

    def start(self) -> None:
        if self._watch_s is not None:
            self._keep(self._watch_files())
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._on_sighup)
            self._sighup = True
        except (ValueError, RuntimeError, NotImplementedError, AttributeError):
            log.debug("SIGHUP reload unavailable here (not the main thread, or no signals)")

    def _keep(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)  # keep a reference until it is done
        task.add_done_callback(self._tasks.discard)

    def _on_sighup(self) -> None:
        self._keep(self.reload("SIGHUP"))

    async def _watch_files(self) -> None:
        while not self._stop.is_set():
            folders, names = _watched(self.host.routing.sources())
            try:
                async for _ in watchfiles.awatch(
                    *folders,
                    watch_filter=_Named(names),
                    stop_event=self._stop,
                    debounce=int((self._watch_s or 0) * 1000),
                    step=50,
                ):
                    await self.reload("file change")
                    break  # the set of files may have changed: watch anew
            except Exception:
                log.exception("watching the policy files failed; SIGHUP and POST /v1/policy/reload still work")
                return

    async def reload(self, trigger: str = "request") -> bool:
        """Load the policy files again; True when the new routing now serves."""
        async with self._lock:
            try:
                routing, retired = await self.host.rebuild()
            except PolicyError as exc:
                return self._refuse(trigger, exc.problems)
            except Exception as exc:  # a provider block its adapter rejects
                return self._refuse(trigger, [f"{type(exc).__name__}: {exc}"])
            old = self.host.routing
            self.host.install(routing)
            main = routing.main.policy
            self.status = msgspec.structs.replace(
                self.status, policy=main.name, source=main.source, loaded_at=time.time(),
                reloads=self.status.reloads + 1, last_error=None,
            )  # fmt: skip
            if retired:
                self._keep(self._close_after(old, retired))
            log.info("policy %s reloaded from %s (%s)", main.name, main.source, trigger)
            return True

    def _refuse(self, trigger: str, problems: list[str]) -> bool:
        self.status.refused += 1
        self.status.last_refused_at = time.time()
        self.status.last_error = problems
        log.warning("policy reload (%s) refused, still serving the last good one: %s", trigger, "; ".join(problems))
        return False

    async def _close_after(self, old: Routing, retired: list[Provider]) -> None:
        """Close ``retired`` once the old routing's requests and shadows are done."""
        for unit in old.units():
            await unit.dispatcher.drained(self.drain_timeout_s)
            running = list(unit.dispatcher.shadows.running)
            if running:
                await asyncio.wait(running, timeout=self.drain_timeout_s)
        await asyncio.gather(*(p.aclose() for p in retired), return_exceptions=True)

    async def aclose(self) -> None:
        self._stop.set()
        if self._sighup:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
