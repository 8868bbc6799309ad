"""The routing unit: what a request is routed by, built by one function, swapped in one step.

A ``RoutingUnit`` is one policy file with its providers, planner, dispatcher and routing
state (circuits, latency, budgets). ``Routing`` is every unit a gateway serves: its main
policy and the named ones a caller picks with ``X-Omnisense-Policy``. ``build_routing``
loads every file and builds all of it; the server installs the result with one
assignment, at start and on every reload, so a request sees one consistent set.

On a rebuild, a provider whose block did not change (same name, same block, in any unit)
keeps its instance and its connections; a unit whose name was there before keeps its
routing state through ``Dispatcher.successor``. If anything fails, the providers built
for the attempt are closed and the error raised: the routing in force keeps serving.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from adapters import registry
from adapters.base import Provider
from gateway.dispatch import AttemptObserver, Dispatcher
from gateway.quality import QualityRecorder, discard
from gateway.redaction.session import KeyRedaction
from gateway.shadow import ShadowRunner
from omnisense.schema import UnprocessableInput
from policies.budgets import SpendStore
from policies.live import RoutingState
from policies.loader import LoadedPolicy, load_policy
from policies.planner import Planner
from policies.quality import QualityBook
from policies.shared.routing import SharedHub

ProviderKey = tuple[str, bytes]  # (name, the block as canonical JSON)


def provider_key(name: str, block: Mapping[str, Any]) -> ProviderKey:
    return name, msgspec.json.encode(block, order="sorted")


@dataclass(frozen=True)
class RoutingUnit:
    policy: LoadedPolicy
    dispatcher: Dispatcher

    @property
    def providers(self) -> Mapping[str, Provider]:
        return self.dispatcher.providers

    @property
    def planner(self) -> Planner:
        return self.dispatcher.planner

    @property
    def blocks(self) -> Mapping[str, Mapping[str, Any]]:
        """The policy file's provider blocks, by provider name."""
        return self.policy.policy.providers


@dataclass(frozen=True)
class Routing:
    main: RoutingUnit
    named: Mapping[str, RoutingUnit] = field(default_factory=dict)
    instances: Mapping[ProviderKey, Provider] = field(default_factory=dict)  # every provider, once

    def unit(self, name: str | None) -> RoutingUnit:
        """The unit of the policy a request chose (the main one when it chose none)."""
        if name is None or name == self.main.policy.name:
            return self.main
        unit = self.named.get(name)
        if unit is None:
            known = ", ".join([self.main.policy.name, *self.named])
            raise UnprocessableInput(f"unknown policy {name!r} (this gateway has: {known})", field="X-Omnisense-Policy")
        return unit

    def units(self) -> Iterator[RoutingUnit]:
        yield self.main
        yield from self.named.values()

    def sources(self) -> list[str]:
        return [u.policy.source for u in self.units()]


@dataclass(frozen=True)
class RoutingDeps:
    """What every unit is built with besides its policy file."""

    observers: Sequence[AttemptObserver] = ()
    spend: SpendStore | None = None
    scrub: Callable[[str], str] | None = None
    shared: SharedHub | None = None  # circuits and latency shared with other replicas (Redis)
    quality: QualityBook | None = None  # the measured quality every unit routes on (best_quality)
    recorder: QualityRecorder = discard  # where shadows' and fan-outs' agreement samples go (the quality table)
    redaction_keys: Mapping[str, KeyRedaction] = field(default_factory=dict)  # what each API key asks to redact


async def build_routing(
    main: str, named: Mapping[str, str], deps: RoutingDeps, previous: Routing | None = None
) -> tuple[Routing, list[Provider]]:
    """Load the main and named policy files and build every unit.

    Returns the new routing and the providers of ``previous`` that it no longer uses (to
    close once the requests still running on the old routing are done)."""
    files: dict[str | None, LoadedPolicy] = {None: load_policy(main)}
    files.update({name: load_policy(ref) for name, ref in named.items()})
    old = dict(previous.instances) if previous else {}
    instances = await _providers_for(files.values(), old)
    units: dict[str | None, RoutingUnit] = {}
    for name, loaded in files.items():
        providers = {p: instances[provider_key(p, b)] for p, b in loaded.policy.providers.items()}
        before = _unit_named(previous, name)
        units[name] = RoutingUnit(loaded, _dispatcher(loaded, providers, deps, before))
    main_unit = units.pop(None)
    routing = Routing(main_unit, {str(n): u for n, u in units.items()}, instances)
    retired = [p for key, p in old.items() if key not in instances]
    return routing, retired


def _unit_named(previous: Routing | None, name: str | None) -> RoutingUnit | None:
    if previous is None:
        return None
    return previous.main if name is None else previous.named.get(name)


def _dispatcher(
    loaded: LoadedPolicy, providers: dict[str, Provider], deps: RoutingDeps, before: RoutingUnit | None
) -> Dispatcher:
    planner = Planner(loaded, {n: p.info for n, p in providers.items()})
    if before is not None:
        return before.dispatcher.successor(planner, providers)  # circuits, latency and spend carry over
    state = RoutingState(planner, spend=deps.spend, shared=deps.shared, quality=deps.quality)
    shadows = ShadowRunner(deps.recorder)
    return Dispatcher(
        planner, providers, deps.observers, state=state, scrub=deps.scrub, shadows=shadows, quality=deps.recorder,
        redaction_keys=deps.redaction_keys,
    )  # fmt: skip


async def _providers_for(
    files: Iterable[LoadedPolicy], old: Mapping[ProviderKey, Provider]
) -> dict[ProviderKey, Provider]:
    """Every provider the files name: reused when its block is unchanged, else built and started."""
    instances: dict[ProviderKey, Provider] = {}
    fresh: list[Provider] = []
    try:
        for loaded in files:
            for name, block in loaded.policy.providers.items():
                key = provider_key(name, block)
                if key in instances:
                    continue
                if key in old:
                    instances[key] = old[key]
                    continue
                provider = registry.build(name, block)
                fresh.append(provider)
                await provider.start()
                instances[key] = provider
    except BaseException:
        await asyncio.gather(*(p.aclose() for p in fresh), return_exceptions=True)
        raise
    return instances


async def close_routing(routing: Routing) -> None:
    """Drain every unit's shadows (their records reach the log), then close every provider."""
    for unit in routing.units():
        await unit.dispatcher.shadows.drain()
    await asyncio.gather(*(p.aclose() for p in routing.instances.values()), return_exceptions=True)
