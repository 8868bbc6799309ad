"""The gateway's own settings (not routing: that is the policy file's job).

Read from a YAML file (``omnisense serve --config``), with the policy also settable by
``--policy`` or ``OMNISENSE_POLICY``. API keys are stored as SHA-256 hex digests only.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
from pathlib import Path
from typing import Literal

import msgspec
import yaml

from adapters.kit.regions import requirement
from gateway.cache.settings import CacheSettings
from gateway.jobs.settings import JobSettings
from gateway.logs.settings import LogSettings
from gateway.streaming.settings import StreamSettings
from gateway.tracing import TracingSettings
from omnisense.schema import Task
from policies.model import RedactKind

__all__ = [
    "ApiKey",
    "GatewayConfig",
    "Limits",
    "LogSettings",
    "ProbeSettings",
    "StateSettings",
    "TracingSettings",
    "UrlRules",
    "hash_key",
    "load_config",
]


class UrlRules(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where ``{"image": {"url": ...}}`` inputs may be fetched from (``gateway.server.fetch``)."""

    hosts: list[str] = msgspec.field(default_factory=list)  # "images.example.com", "*.example.com", or "*": any
    networks: list[str] = msgspec.field(default_factory=list)  # CIDRs allowed although not public (10.1.0.0/16)
    max_redirects: int = 3
    timeout_s: float = 10.0  # the whole fetch, redirects included


class Limits(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    max_image_bytes: int = 10 * 1024 * 1024
    max_audio_bytes: int = 25 * 1024 * 1024
    max_text_chars: int = 100_000
    max_image_pixels: int = 50_000_000
    allow_urls: bool = False  # fetch {"url": ...} inputs from the hosts in ``urls.hosts`` (never private addresses)
    urls: UrlRules = UrlRules()
    max_sync_audio_s: float = 300.0  # longer audio goes to POST /v1/jobs (413 on the synchronous endpoint)


class ApiKey(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str  # what the logs show instead of the key
    sha256: str  # hex digest of the key
    admin: bool = False  # may read /v1/logs and /v1/stats, reload the policy
    tasks: list[str] | None = None  # may call these tasks: names or patterns such as "vision.*" (None: any)
    providers: list[str] | None = None  # may be served by (and pin) only these providers (None: any)
    policies: list[str] | None = None  # may choose these policies (None: any)
    webhook_secret: str | None = None  # signs this key's job webhooks (HMAC-SHA256); never logged
    rate_per_minute: int | None = None  # task requests a minute, bursts up to that many
    rate_per_second: float | None = None  # task requests a second, bursts up to that many (at least 1)
    # Added to every route this key calls (gateway.redaction): removed before an untrusted provider sees it.
    redact: list[RedactKind] = msgspec.field(default_factory=list)
    redact_output: list[Literal["pii"]] = msgspec.field(default_factory=list)
    # where this key's requests may be processed (``eu``, ``[eu, ch]``): narrows the policy's
    # and the route's residency (docs/data-protection.md)
    residency: str | list[str] | None = None

    def __post_init__(self) -> None:
        if self.residency is not None:
            requirement(self.residency)  # a ResidencyError (a ValueError) names the unknown code


class StateSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where replicas share circuits, latency, budgets and rate limits (``policies.shared``).

    No ``redis``: in-process state, each process alone (the embedded default)."""

    redis: str | None = None  # "redis://host:6379/0"
    prefix: str = "omnisense:"  # every key starts with it: one prefix per fleet
    sync_s: float = 0.5  # how often a replica reads the others' circuits and latency
    # A Redis call slower than this counts as Redis lost (local state until it answers); the response
    # cache on the same Redis shares the client (gateway.storage), so its calls get the same limit.
    timeout_s: float = 1.0


class ProbeSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Background re-probing of every provider (``gateway.health.Prober``)."""

    interval_s: float = 10.0  # between probes of a healthy provider
    min_backoff_s: float = 0.5  # first re-probe of a provider found down, doubling ...
    max_backoff_s: float = 10.0  # ... up to this
    timeout_s: float = 5.0  # one probe


class GatewayConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    policy: str = "local"  # a policy file path or a preset name
    # More policies a caller may choose per request with X-Omnisense-Policy (name -> file or
    # preset), where its key allows. They are loaded at start; live reload is the main policy's.
    policies: dict[str, str] = msgspec.field(default_factory=dict)
    policy_watch_s: float | None = 1.0  # reload on file change, coalesced over this (None: SIGHUP/POST only)
    state: StateSettings = StateSettings()
    spend_store: str | None = None  # old name of state.redis (still read; it now shares all the state)
    keys: list[ApiKey] = msgspec.field(default_factory=list)
    # Refuse to start without a key (the deploy/ configs): an open gateway is never deployed by
    # accident. $OMNISENSE_ADMIN_KEY_SHA256 (from a secret) adds the admin key ``admin``.
    require_keys: bool = False
    limits: Limits = Limits()
    logs: LogSettings = LogSettings()
    tracing: TracingSettings = TracingSettings()
    probes: ProbeSettings = ProbeSettings()
    cache: CacheSettings = CacheSettings()  # where cached answers live; which routes cache is the policy's
    jobs: JobSettings = JobSettings()
    streaming: StreamSettings = StreamSettings()  # WS /v1/speech/transcribe/stream: limits of a live session

    @property
    def protected(self) -> bool:
        return bool(self.keys)

    @property
    def redis_url(self) -> str | None:
        return self.state.redis or self.spend_store


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def load_config(path: str | None = None, *, policy: str | None = None) -> GatewayConfig:
    data: dict[str, object] = {}
    if path:
        loaded = yaml.safe_load(Path(path).read_text()) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: expected a mapping")
        data = loaded
    policy = policy or os.environ.get("OMNISENSE_POLICY")
    if policy:
        data["policy"] = policy
    admin = os.environ.get("OMNISENSE_ADMIN_KEY_SHA256", "").strip().lower()
    if admin:  # the admin key from a secret: its SHA-256, never the key itself
        keys = data.get("keys") or []
        if not isinstance(keys, list):
            raise ValueError(f"{path or 'config'}: keys must be a list")
        data["keys"] = [*keys, {"id": "admin", "sha256": admin, "admin": True}]
    try:
        config = msgspec.convert(data, GatewayConfig, str_keys=True)
    except msgspec.ValidationError as exc:
        raise ValueError(f"{path or 'config'}: {exc}") from None
    problems = config_problems(config)
    if problems:
        raise ValueError(f"{path or 'config'}: " + "; ".join(problems))
    return config


def config_problems(config: GatewayConfig) -> list[str]:
    """What msgspec cannot check: URL rules that make sense, key task patterns that match a task."""
    problems: list[str] = []
    urls = config.limits.urls
    if config.limits.allow_urls and not urls.hosts:
        problems.append("limits.allow_urls is true but limits.urls.hosts is empty: list the hosts (or '*')")
    for i, net in enumerate(urls.networks):
        try:
            ipaddress.ip_network(net, strict=False)
        except ValueError as exc:
            problems.append(f"limits.urls.networks[{i}]: {exc}")
    if config.spend_store and config.state.redis and config.spend_store != config.state.redis:
        problems.append("spend_store and state.redis name different Redis servers: keep state.redis only")
    if config.cache.store == "redis" and not (config.cache.url or config.redis_url):
        problems.append("cache.store is redis but neither cache.url nor state.redis names a Redis server")
    if config.state.sync_s <= 0 or config.state.timeout_s <= 0:
        problems.append("state.sync_s and state.timeout_s must be positive")
    if config.require_keys and not config.keys:
        problems.append("require_keys is true but no key is configured: set OMNISENSE_ADMIN_KEY_SHA256 or keys")
    for key in config.keys:
        if key.rate_per_second is not None and key.rate_per_second < 1:
            problems.append(f"keys[{key.id}].rate_per_second: must be at least 1 (use rate_per_minute below that)")
        if key.rate_per_minute is not None and key.rate_per_minute < 1:
            problems.append(f"keys[{key.id}].rate_per_minute: must be at least 1")
    patterns = {"*", *(t.value for t in Task), *(f"{t.modality}.*" for t in Task)}
    for key in config.keys:
        for pattern in key.tasks or []:
            if pattern not in patterns:
                problems.append(f"keys[{key.id}].tasks: {pattern!r} is not a task or a pattern like 'vision.*'")
    return problems
