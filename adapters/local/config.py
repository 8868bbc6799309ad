"""The ``local`` provider's policy block."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from adapters.kit.config import ProviderConfig
from adapters.kit.regions import Placement, declared
from omnisense.schema import Task

GATEWAY_HOST = "gateway-host"


class LocalConfig(ProviderConfig, kw_only=True, forbid_unknown_fields=True):
    """``prices`` (e.g. an amortized GPU cost per unit) comes from ProviderConfig."""

    # Model server(s) someone else runs: one URL or a list of replicas, each
    # http(s)://host[:port]; None: start our own.
    url: str | list[str] | None = None
    # "dns": every address a URL's host name resolves to is a replica, resolved at start and
    # again on every probe (a Kubernetes headless Service lists its ready pods this way).
    discover: Literal["none", "dns"] = "none"
    host: str = "127.0.0.1"
    port: int = 3031
    timeout_s: float = 60.0
    connect_timeout_s: float = 2.0  # a replica that does not accept a connection by then is down
    recheck_s: float = 1.0  # how often a replica marked down is re-checked (its /readyz) until it is back
    start_timeout_s: float = 180.0
    max_connections: int = 64  # per replica
    capabilities_timeout_s: float = 10.0  # reading /capabilities at start (a slow or dead server: degraded start)
    transcribe_chunk_s: float = 30.0  # longer WAV audio is transcribed in chunks of this length (long_audio.py)
    serve_command: list[str] | None = None  # how to start the model server (default: local_models/serve.sh)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.connect_timeout_s <= 0 or self.recheck_s <= 0:
            raise ValueError("connect_timeout_s and recheck_s must be positive")
        if self.discover == "dns" and self.url is None:
            raise ValueError("dns discovery needs url (the host name to resolve) - at `$.discover`")
        urls = [self.url] if isinstance(self.url, str) else self.url or []
        if isinstance(self.url, list) and not urls:
            raise ValueError("an empty list names no model server - at `$.url`")
        seen: set[str] = set()
        for i, url in enumerate(urls):
            where = "$.url" if isinstance(self.url, str) else f"$.url[{i}]"
            problem = url_problem(url)
            if problem is None and url.rstrip("/") in seen:
                problem = f"{url!r} is listed twice"
            if problem is not None:
                # msgspec's own path suffix: `omnisense policy check` shows providers.NAME.url[i]
                raise ValueError(f"{problem} - at `{where}`")
            seen.add(url.rstrip("/"))

    def placement(self, task: Task | None = None) -> Placement:
        """The declared ``region:`` of the model server(s). Undeclared, a local model runs on the
        gateway's own host (or the ``url`` the operator runs), whose location the gateway cannot
        know: ``gateway-host``, with no jurisdiction, until the operator declares it."""
        if self.region is None:
            where = "the model server at " + ", ".join(self.urls()) if self.url else "the gateway's own host"
            return Placement(region=GATEWAY_HOST, jurisdiction=None, source=f"{where}; no `region:` declared")
        return declared(self.region, cloud=None, source="region (declared by the operator)")

    def urls(self) -> list[str]:
        """The configured replica URLs, without a trailing slash (empty: none configured)."""
        urls = [self.url] if isinstance(self.url, str) else self.url or []
        return [u.rstrip("/") for u in urls]


def url_problem(url: str) -> str | None:
    """Why ``url`` is not an ``http(s)://host[:port]`` model-server address (None: it is)."""
    expected = f"{url!r} is not a model-server URL (expected http(s)://host[:port])"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"{expected}: {exc}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return expected
    if parts.username is not None or parts.password is not None:
        return f"{expected}: credentials in a model-server URL are not supported"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return f"{expected}: no path, query or fragment"
    if port == 0:
        return f"{expected}: port 0"
    return None
