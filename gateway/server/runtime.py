"""Everything the server builds once at start-up and shares between requests.

The routing (policies, providers, planners, dispatchers, routing state) is one
``gateway.routing.Routing``, built by ``build_routing`` at start and on every reload and
installed with one assignment (``Runtime.install``). Providers come from the policies'
``providers`` blocks through the lazy registry, so only the SDKs a policy names are
imported.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass, field

import msgspec

from adapters.base import Provider, Replicated, SupervisesModelServer
from gateway.cache import ResponseCache, make_store
from gateway.dispatch import Dispatcher
from gateway.health import Prober
from gateway.jobs.registry import make_job_store
from gateway.jobs.runner import JobRunner
from gateway.logs import LogSink, LogWriter, RequestLog
from gateway.logs.record import PayloadSample, sample_payload
from gateway.logs.redact import Redactor, secrets_in
from gateway.logs.registry import make_sink
from gateway.logs.spool import Spool
from gateway.metrics import Metrics, ProviderState
from gateway.quality.metrics import QualityCollector
from gateway.quality.registry import make_quality_table
from gateway.quality.store import MemoryQualityStore
from gateway.quality.table import QualityTable
from gateway.redaction.session import KeyRedaction
from gateway.routing import Routing, RoutingDeps, build_routing, close_routing
from gateway.server.auth import KeyRing
from gateway.server.config import GatewayConfig
from gateway.server.disconnect import Disconnects
from gateway.server.fetch import UrlFetcher
from gateway.server.reload import PolicyReloader
from gateway.storage import Storage
from gateway.streaming.sessions import Sessions
from gateway.tracing import Tracing
from omnisense.schema import Health, TaskRequest
from policies.loader import LoadedPolicy
from policies.planner import Planner
from policies.quality import QualityBook
from policies.shared.backend import SharedBackend, open_backend

log = logging.getLogger("omnisense.server")


class Scrubber:
    """Removes the credentials of the routing in force from any text (rebuilt on install)."""

    def __init__(self) -> None:
        self.redactor = Redactor()

    def learn(self, routing: Routing, dsn: str | None, *urls: str | None) -> None:
        """The routing's credentials, the log DSN's, and any password inside the other URLs given."""
        blocks = {f"{u.policy.name}.{name}": block for u in routing.units() for name, block in u.blocks.items()}
        self.redactor = Redactor(secrets_in({"providers": blocks, "dsn": dsn, "urls": list(urls)}))

    def __call__(self, text: str) -> str:
        return self.redactor.text(text)


@dataclass
class Runtime:
    config: GatewayConfig
    routing: Routing
    writer: LogWriter
    keys: KeyRing
    deps: RoutingDeps = field(default_factory=RoutingDeps)
    metrics: Metrics = field(default_factory=Metrics)
    tracing: Tracing = field(default_factory=lambda: Tracing(GatewayConfig().tracing))
    scrub: Scrubber = field(default_factory=Scrubber)
    health: dict[str, Health] = field(default_factory=dict)
    reloader: PolicyReloader | None = None
    prober: Prober | None = None
    cache: ResponseCache = field(default_factory=lambda: ResponseCache(make_store(GatewayConfig().cache)))
    jobs: JobRunner | None = None  # None: jobs.enabled is false
    fetcher: UrlFetcher | None = None  # URL inputs, where the operator allows them
    shared: SharedBackend = field(default_factory=SharedBackend)  # what replicas share (Redis), if anything
    disconnects: Disconnects = field(default_factory=Disconnects)  # requests watched for a client that left
    storage: Storage = field(default_factory=Storage)  # the backends (files, pools, clients), opened once
    # The quality table: the QualityRecorder that fan-outs, shadows and POST /v1/quality record
    # to, and the QualityBook that best_quality routes on (``gateway.quality``).
    quality: QualityTable = field(default_factory=lambda: QualityTable(MemoryQualityStore()))
    sessions: Sessions = field(default_factory=Sessions)  # open live sessions (WS /v1/speech/transcribe/stream)

    # The main policy's unit, as most of the server reads it.
    @property
    def policy(self) -> LoadedPolicy:
        return self.routing.main.policy

    @property
    def dispatcher(self) -> Dispatcher:
        return self.routing.main.dispatcher

    @property
    def providers(self) -> Mapping[str, Provider]:
        return self.routing.main.providers

    @property
    def planner(self) -> Planner:
        return self.routing.main.planner

    def dispatcher_for(self, policy: str | None) -> Dispatcher:
        """The dispatcher of the policy a request chose (the main one when it chose none)."""
        return self.routing.unit(policy).dispatcher

    async def rebuild(self) -> tuple[Routing, list[Provider]]:
        """The routing as the policy files say now (unchanged providers kept); installs nothing."""
        return await build_routing(self.config.policy, self.config.policies, self.deps, self.routing)

    def install(self, routing: Routing) -> None:
        """Swap the routing in one step: new requests take it, running ones finish on the old."""
        config = self.config
        urls = (config.jobs.dsn, config.redis_url, config.cache.url, config.tracing.endpoint)
        self.scrub.learn(routing, config.logs.dsn, *urls)
        self.routing = routing

    def redactor(self) -> Redactor:
        return self.scrub.redactor

    def submit(self, record: RequestLog) -> None:
        """The one exit of every request: redaction, metrics, then the log queue (never blocks)."""
        record = self.scrub.redactor.record(record)
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

    async def start_probing(self) -> None:
        """One round of probes now (so /readyz is right from the first request), then the
        background schedule. Called where log output is already scrubbed: a vendor SDK may
        log an endpoint URL with its password while it probes."""
        if self.prober is None:
            self.prober = make_prober(self)
        await self.prober.probe_all()
        self.prober.start()

    async def stop_probing(self) -> None:
        if self.prober is not None:
            await self.prober.aclose()

    async def probe_all(self) -> dict[str, Health]:
        """Probe every provider now (the background prober does this on its schedule)."""
        if self.prober is None:
            self.prober = make_prober(self)
        return await self.prober.probe_all()

    def on_probe(self, label: str, provider: Provider, health: Health) -> None:
        """A probe result: cached for /readyz, given to every planner that uses this provider
        (unhealthy: tried last), and capabilities learnt late (a provider that was down at
        start) reach them too."""
        if health.detail:  # a probe's error may quote an endpoint URL with its password
            health = msgspec.structs.replace(health, detail=self.scrub(health.detail))
        for unit in self.routing.units():
            for name, used in unit.providers.items():
                if used is not provider:
                    continue
                unit.dispatcher.state.health[name] = health
                unit.planner.infos[name] = provider.info
                if unit is self.routing.main:
                    self.health[name] = health

    def ready(self) -> bool:
        """At least one route can be served: a candidate of it is healthy and offers its task."""
        planner = self.planner
        for task, route in planner.routes.items():
            for cand in route.candidates:
                health, info = self.health.get(cand.provider), planner.infos.get(cand.provider)
                if health is not None and health.ok and info is not None and task in info.capabilities:
                    return True
        return False

    def webhook_secret(self, key_id: str | None) -> str | None:
        """The secret that signs the webhooks of jobs submitted with ``key_id``."""
        key = next((k for k in self.config.keys if k.id == key_id), None) if key_id else None
        return key.webhook_secret if key and key.webhook_secret else self.config.jobs.webhook_secret

    async def start_jobs(self) -> None:
        settings = self.config.jobs
        if not settings.enabled:
            return
        store = make_job_store(settings, self.config.logs, self.storage)
        await store.start()
        self.jobs = JobRunner(
            store, settings, self.dispatcher_for, self.submit, self.webhook_secret, take_token=self.keys.token_wait
        )
        self.jobs.start()

    async def aclose(self) -> None:
        await self.sessions.close_all()  # each open live session: 1001, and its record (before the writer closes)
        self.sessions.unhook_signals()
        if self.prober is not None:
            await self.prober.aclose()
        if self.jobs is not None:
            await self.jobs.aclose()  # running jobs go back to the queue; their records reach the writer
            await self.jobs.store.close()
        if self.reloader is not None:
            await self.reloader.aclose()
        await close_routing(self.routing)  # shadows drained first: their records reach the writer
        await self.quality.aclose()  # after the shadows: their samples are written too
        await self.shared.aclose()
        await self.writer.aclose()
        await self.tracing.aclose()
        await self.cache.store.aclose()
        await self.storage.aclose()  # every store above is closed: the files, pools and clients go once
        self.disconnects.close()


def key_redaction(config: GatewayConfig) -> dict[str, KeyRedaction]:
    """What each API key asks to redact on every route it calls (``keys[].redact``)."""
    return {
        k.id: KeyRedaction(frozenset(k.redact), frozenset(k.redact_output))
        for k in config.keys
        if k.redact or k.redact_output
    }


def make_prober(runtime: Runtime) -> Prober:
    settings = runtime.config.probes
    return Prober(
        lambda: {f"{name}#{id(p):x}": p for (name, _), p in runtime.routing.instances.items()},
        runtime.on_probe,
        interval_s=settings.interval_s,
        min_backoff_s=settings.min_backoff_s,
        max_backoff_s=settings.max_backoff_s,
        timeout_s=settings.timeout_s,
    )


def provider_states(runtime: Runtime) -> list[ProviderState]:
    """(provider, last probe ok, model-server restarts, (ready, all) replicas) for /metrics
    (read at scrape time)."""
    out = []
    for name, provider in runtime.providers.items():
        health = runtime.health.get(name)
        out.append(
            ProviderState(
                name,
                health.ok if health else None,
                provider.model_server_restarts() if isinstance(provider, SupervisesModelServer) else None,
                provider.replica_counts() if isinstance(provider, Replicated) else None,
            )
        )
    return out


def circuit_states(runtime: Runtime) -> list[tuple[str, str, str]]:
    """(provider, task, state) of every circuit breaker (read at scrape time; survives reloads)."""
    snapshot = runtime.dispatcher.state.circuits.snapshot()
    return [(p, t, str(v["state"])) for p, tasks in snapshot.items() for t, v in tasks.items()]


async def start_writer(config: GatewayConfig, sink: LogSink | None, storage: Storage) -> LogWriter:
    """The request log's writer on the configured sink, with its disk spool (none for a sink
    given in code: tests and benchmarks keep their records in memory)."""
    spool = config.logs.spool
    buffer = Spool(spool.dir, spool.max_bytes) if sink is None and spool.max_bytes > 0 else None
    sink = sink or make_sink(config.logs, storage)
    start = getattr(sink, "start", None)
    if start is not None:
        try:
            await start()  # e.g. PostgreSQL: connect, create or migrate the table
        except Exception as exc:
            if buffer is None:
                raise
            log.warning("request log sink unavailable at start (%s); records go to the spool until it answers", exc)
    writer = LogWriter(
        sink,
        max_queue=config.logs.max_queue,
        batch_size=config.logs.batch_size,
        when_full=config.logs.when_full,
        block_s=config.logs.block_s,
        linger_s=config.logs.linger_s,
        spool=buffer,
    )
    writer.start()
    await writer.recover()  # records an earlier run spooled: replayed in the background
    return writer


async def build_runtime(config: GatewayConfig, *, sink: LogSink | None = None) -> Runtime:
    tracing = Tracing(config.tracing)
    scrub = Scrubber()
    state = config.state
    storage = Storage(redis_timeout_s=state.timeout_s)  # one SQLite file, pool, client per location
    client = storage.redis(config.redis_url, state.prefix).client if config.redis_url else None
    shared = await open_backend(client=client, prefix=state.prefix, sync_s=state.sync_s, timeout_s=state.timeout_s)
    observers = [tracing] if tracing.enabled else []
    routing: Routing | None = None
    quality: QualityTable | None = None
    try:
        quality = make_quality_table(config.logs, storage, QualityBook(), in_memory=sink is not None)
        await quality.start()  # its table created or migrated, the window read into the book
        deps = RoutingDeps(observers=observers, spend=shared.spend, scrub=scrub, shared=shared.hub,
                           quality=quality.book, recorder=quality, redaction_keys=key_redaction(config))  # fmt: skip
        routing, _ = await build_routing(config.policy, config.policies, deps)
        writer = await start_writer(config, sink, storage)
    except BaseException:
        if routing is not None:
            await close_routing(routing)
        if quality is not None:
            await quality.aclose()
        await shared.aclose()
        await storage.aclose()
        raise
    metrics = Metrics(drift_window_s=config.logs.drift_window_s)
    metrics.bind_queue(writer)
    cache = config.cache
    runtime = Runtime(
        config=config, routing=routing, writer=writer, keys=KeyRing(config, shared.limiter), deps=deps,
        metrics=metrics, tracing=tracing, scrub=scrub, shared=shared, storage=storage, quality=quality,
        cache=ResponseCache(make_store(cache, config.redis_url, storage), max_entry_bytes=cache.max_entry_bytes),
        fetcher=UrlFetcher(config.limits.urls) if config.limits.allow_urls else None,
    )  # fmt: skip
    runtime.sessions.max_sessions = config.streaming.max_sessions
    runtime.install(routing)
    names = ", ".join(runtime.providers)
    log.info("policy %s loaded from %s: providers %s", runtime.policy.name, runtime.policy.source, names)
    metrics.bind_circuits(lambda: circuit_states(runtime))
    metrics.bind_shared(shared.status)
    metrics.bind_providers(lambda: provider_states(runtime))
    metrics.registry.register(QualityCollector(quality.book))
    runtime.prober = make_prober(runtime)  # started by start_probing(), once logs are scrubbed
    reloader = runtime.reloader = PolicyReloader(runtime, watch_s=config.policy_watch_s)
    metrics.bind_reloads(lambda: (reloader.status.reloads, reloader.status.refused))
    reloader.start()
    try:
        await runtime.start_jobs()
    except BaseException:
        await runtime.aclose()
        raise
    return runtime
