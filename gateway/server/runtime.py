"""Everything the server builds once at start-up and shares between requests.

Providers are built from the policy's ``providers`` blocks through the lazy registry
(so only the SDKs a policy names are imported); a provider that needs to learn its
capabilities at start (the local model server) does so in its optional ``start()``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from adapters import registry
from adapters.base import Provider
from gateway.dispatch import Dispatcher
from gateway.health import Prober
from gateway.logs import JsonlSink, LogSink, LogWriter, RequestLog
from gateway.logs.record import PayloadSample, sample_payload
from gateway.logs.redact import Redactor, secrets_in
from gateway.logs.sinks import NullSink
from gateway.metrics import Metrics
from gateway.schema import Health, TaskRequest, UnprocessableInput
from gateway.server.auth import KeyRing
from gateway.server.config import GatewayConfig, LogSettings, TracingSettings
from gateway.server.reload import PolicyReloader
from gateway.tracing import Tracing
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
    metrics: Metrics = field(default_factory=Metrics)
    tracing: Tracing = field(default_factory=lambda: Tracing(TracingSettings()))
    health: dict[str, Health] = field(default_factory=dict)
    reloader: PolicyReloader | None = None
    prober: Prober | None = None
    # Named policies chosen per request with X-Omnisense-Policy: name -> dispatcher, and the
    # providers they built (a block identical to the main policy's shares its instance).
    alternates: dict[str, Dispatcher] = field(default_factory=dict)
    alternate_providers: list[Provider] = field(default_factory=list)
    _redaction: tuple[LoadedPolicy, Redactor] | None = field(default=None, repr=False)

    def redactor(self) -> Redactor:
        """Knows the credentials of the policy in force (rebuilt after a reload)."""
        if self._redaction is None or self._redaction[0] is not self.policy:
            secrets = secrets_in({"providers": self.policy.policy.providers, "dsn": self.config.logs.dsn})
            self._redaction = (self.policy, Redactor(secrets))
        return self._redaction[1]

    def scrub(self, text: str) -> str:
        return self.redactor().text(text)

    def submit(self, record: RequestLog) -> None:
        """The one exit of every request: redaction, metrics, then the log queue (never blocks)."""
        record = self.redactor().record(record)
        try:
            self.metrics.observe(record)
        except Exception:  # metrics must never cost a record
            log.exception("metrics failed for request %s", record.request_id)
        self.writer.submit(record)

    def sample_payload(self, request: TaskRequest) -> PayloadSample | None:
        """The input to keep in the record: only when the operator turned sampling on."""
        rate = self.config.logs.payload_sample_rate
        if rate <= 0 or (rate < 1 and random.random() >= rate):
            return None
        return sample_payload(request, self.config.logs.payload_max_chars)

    @property
    def planner(self) -> Planner:
        return self.dispatcher.planner

    def dispatcher_for(self, policy: str | None) -> Dispatcher:
        """The dispatcher of the policy a request chose (the main one when it chose none)."""
        if policy is None or policy == self.policy.name:
            return self.dispatcher
        chosen = self.alternates.get(policy)
        if chosen is None:
            known = ", ".join([self.policy.name, *self.alternates])
            raise UnprocessableInput(
                f"unknown policy {policy!r} (this gateway has: {known})", field="X-Omnisense-Policy"
            )
        return chosen

    async def probe_all(self) -> dict[str, Health]:
        """Probe every provider now (the background prober does this on its schedule)."""
        if self.prober is None:
            self.prober = make_prober(self)
        return await self.prober.probe_all()

    def on_probe(self, name: str, provider: Provider, health: Health) -> None:
        """A probe result: cached for /readyz, given to the planners (unhealthy: tried last),
        and capabilities learnt late (a provider that was down at start) reach them too."""
        if self.providers.get(name) is not provider:
            return  # a provider a reload has replaced
        self.health[name] = health
        for dispatcher in [self.dispatcher, *self.alternates.values()]:
            if dispatcher.providers.get(name) is provider:
                dispatcher.state.health[name] = health
                dispatcher.planner.infos[name] = provider.info

    def ready(self) -> bool:
        """At least one route can be served: a candidate of it is healthy and offers its task."""
        planner = self.planner
        for task, route in planner.routes.items():
            for cand in route.candidates:
                health, info = self.health.get(cand.provider), planner.infos.get(cand.provider)
                if health is not None and health.ok and info is not None and task in info.capabilities:
                    return True
        return False

    async def aclose(self) -> None:
        if self.prober is not None:
            await self.prober.aclose()
        if self.reloader is not None:
            await self.reloader.aclose()
        for dispatcher in [self.dispatcher, *self.alternates.values()]:
            await dispatcher.shadows.drain()  # their records reach the writer before it closes
        owned = [*self.providers.values(), *self.alternate_providers]
        await asyncio.gather(*(p.aclose() for p in owned), return_exceptions=True)
        await self.writer.aclose()
        await self.tracing.aclose()


def make_prober(runtime: Runtime) -> Prober:
    settings = runtime.config.probes
    return Prober(
        lambda: runtime.providers,
        runtime.on_probe,
        interval_s=settings.interval_s,
        min_backoff_s=settings.min_backoff_s,
        max_backoff_s=settings.max_backoff_s,
        timeout_s=settings.timeout_s,
    )


def provider_states(runtime: Runtime) -> list[tuple[str, bool | None, int | None]]:
    """(provider, last probe ok, model-server restarts) for /metrics (read at scrape time)."""
    out = []
    for name, provider in runtime.providers.items():
        health = runtime.health.get(name)
        restarts = getattr(provider, "model_server_restarts", None)
        out.append((name, health.ok if health else None, restarts() if callable(restarts) else None))
    return out


def circuit_states(runtime: Runtime) -> list[tuple[str, str, str]]:
    """(provider, task, state) of every circuit breaker (read at scrape time; survives reloads)."""
    snapshot = runtime.dispatcher.state.circuits.snapshot()
    return [(p, t, str(v["state"])) for p, tasks in snapshot.items() for t, v in tasks.items()]


def make_sink(config: GatewayConfig | LogSettings) -> LogSink:
    """The configured sink (SQLite by default); ``omnisense logs`` opens the same one to read."""
    settings = config.logs if isinstance(config, GatewayConfig) else config
    if settings.sink == "jsonl":
        return JsonlSink(settings.file)
    if settings.sink == "sqlite":
        from gateway.logs.sqlite import SqliteSink

        return SqliteSink(settings.file)
    if settings.sink == "postgres":
        from gateway.logs.postgres import PostgresSink

        dsn = settings.dsn or os.environ.get("OMNISENSE_LOG_DSN")
        if not dsn:
            raise ValueError("logs.sink is postgres but neither logs.dsn nor OMNISENSE_LOG_DSN is set")
        return PostgresSink(dsn, schema=settings.schema, table=settings.table)
    return NullSink()


async def build_providers(blocks: Mapping[str, Mapping[str, object]]) -> dict[str, Provider]:
    providers: dict[str, Provider] = {}
    try:
        for name, block in blocks.items():
            provider = registry.build(name, block)
            await provider.start()
            providers[name] = provider
    except BaseException:
        await asyncio.gather(*(p.aclose() for p in providers.values()), return_exceptions=True)
        raise
    return providers


async def build_runtime(config: GatewayConfig, *, sink: LogSink | None = None) -> Runtime:
    loaded = load_policy(config.policy)
    providers = await build_providers(loaded.policy.providers)
    planner = Planner(loaded, {name: p.info for name, p in providers.items()})
    sink = sink or make_sink(config)
    start = getattr(sink, "start", None)
    if start is not None:
        await start()  # e.g. PostgreSQL: connect, create or migrate the table
    writer = LogWriter(
        sink,
        max_queue=config.logs.max_queue,
        batch_size=config.logs.batch_size,
        when_full=config.logs.when_full,
        block_s=config.logs.block_s,
    )
    writer.start()
    metrics = Metrics(drift_window_s=config.logs.drift_window_s)
    metrics.bind_queue(writer)
    tracing = Tracing(config.tracing)
    log.info("policy %s loaded from %s: providers %s", loaded.name, loaded.source, ", ".join(providers))
    spend = RedisSpendStore(config.spend_store) if config.spend_store else None
    runtime = Runtime(
        config=config,
        policy=loaded,
        providers=providers,
        dispatcher=Dispatcher(
            planner,
            providers,
            observers=[tracing] if tracing.enabled else [],
            state=RoutingState(planner, spend=spend),
        ),
        writer=writer,
        keys=KeyRing(config),
        metrics=metrics,
        tracing=tracing,
    )
    runtime.dispatcher.scrub = runtime.scrub
    metrics.bind_circuits(lambda: circuit_states(runtime))
    metrics.bind_providers(lambda: provider_states(runtime))
    try:
        await build_alternates(runtime, spend)
    except BaseException:
        await runtime.aclose()
        raise
    runtime.prober = make_prober(runtime)
    await runtime.prober.probe_all()  # /readyz is right from the first request
    runtime.prober.start()
    reloader = runtime.reloader = PolicyReloader(runtime, watch_interval_s=config.policy_watch_s)
    metrics.bind_reloads(lambda: (reloader.status.reloads, reloader.status.refused))
    reloader.start()
    return runtime


async def build_alternates(runtime: Runtime, spend: RedisSpendStore | None) -> None:
    """Load the named policies of ``config.policies``, each with its own dispatcher."""
    main_blocks = runtime.policy.policy.providers
    for name, ref in runtime.config.policies.items():
        loaded = load_policy(ref)
        providers: dict[str, Provider] = {}
        for pname, block in loaded.policy.providers.items():
            if main_blocks.get(pname) == block:
                providers[pname] = runtime.providers[pname]  # the same provider: share it
            else:
                built = await build_providers({pname: block})
                runtime.alternate_providers.extend(built.values())
                providers.update(built)
        planner = Planner(loaded, {n: p.info for n, p in providers.items()})
        observers = [runtime.tracing] if runtime.tracing.enabled else []
        state = RoutingState(planner, spend=spend)
        runtime.alternates[name] = Dispatcher(planner, providers, observers, state=state, scrub=runtime.scrub)
        log.info("policy %s loaded from %s for X-Omnisense-Policy", name, loaded.source)
