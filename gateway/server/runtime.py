"""Everything the server builds once at start-up and shares between requests.

Providers are built from the policy's ``providers`` blocks through the lazy registry
(so only the SDKs a policy names are imported); a provider that needs to learn its
capabilities at start (the local model server) does so in its optional ``start()``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from adapters import registry
from adapters.base import Provider
from gateway.dispatch import Dispatcher
from gateway.logs import JsonlSink, LogSink, LogWriter, MemorySink
from gateway.schema import Health
from gateway.server.auth import KeyRing
from gateway.server.config import GatewayConfig
from gateway.server.reload import PolicyReloader
from policies.budgets import RedisSpendStore
from policies.live import RoutingState
from policies.loader import LoadedPolicy, load_policy
from policies.planner import Planner

log = logging.getLogger("omnisense.server")


@dataclass
class Runtime:
    config: GatewayConfig
    policy: LoadedPolicy
    providers: dict[str, Provider]
    dispatcher: Dispatcher
    writer: LogWriter
    keys: KeyRing
    health: dict[str, Health] = field(default_factory=dict)
    reloader: PolicyReloader | None = None

    @property
    def planner(self) -> Planner:
        return self.dispatcher.planner

    async def probe_all(self) -> dict[str, Health]:
        async def one(name: str, provider: Provider) -> tuple[str, Health]:
            try:
                return name, await asyncio.wait_for(provider.probe(), 5.0)
            except Exception as exc:
                return name, Health(ok=False, detail=f"{type(exc).__name__}: {exc}"[:200])

        results = await asyncio.gather(*(one(n, p) for n, p in self.providers.items()))
        self.health = dict(results)
        self.dispatcher.state.health.update(self.health)  # the planner tries unhealthy providers last
        return self.health

    async def aclose(self) -> None:
        if self.reloader is not None:
            await self.reloader.aclose()
        await self.dispatcher.shadows.drain()  # their records reach the writer before it closes
        await asyncio.gather(*(p.aclose() for p in self.providers.values()), return_exceptions=True)
        await self.writer.aclose()


def make_sink(config: GatewayConfig) -> LogSink:
    if config.logs.sink == "jsonl":
        return JsonlSink(config.logs.path)
    return MemorySink()


async def build_providers(blocks: Mapping[str, Mapping[str, object]]) -> dict[str, Provider]:
    providers: dict[str, Provider] = {}
    try:
        for name, block in blocks.items():
            provider = registry.build(name, block)
            start = getattr(provider, "start", None)
            if start is not None:
                await start()
            providers[name] = provider
    except BaseException:
        await asyncio.gather(*(p.aclose() for p in providers.values()), return_exceptions=True)
        raise
    return providers


async def build_runtime(config: GatewayConfig, *, sink: LogSink | None = None) -> Runtime:
    loaded = load_policy(config.policy)
    providers = await build_providers(loaded.policy.providers)
    planner = Planner(loaded, {name: p.info for name, p in providers.items()})
    writer = LogWriter(
        sink or make_sink(config),
        max_queue=config.logs.max_queue,
        batch_size=config.logs.batch_size,
        when_full=config.logs.when_full,
    )
    writer.start()
    log.info("policy %s loaded from %s: providers %s", loaded.name, loaded.source, ", ".join(providers))
    spend = RedisSpendStore(config.spend_store) if config.spend_store else None
    runtime = Runtime(
        config=config,
        policy=loaded,
        providers=providers,
        dispatcher=Dispatcher(planner, providers, state=RoutingState(planner, spend=spend)),
        writer=writer,
        keys=KeyRing(config),
    )
    runtime.reloader = PolicyReloader(runtime, watch_interval_s=config.policy_watch_s)
    runtime.reloader.start()
    return runtime
