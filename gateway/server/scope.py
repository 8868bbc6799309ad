"""Which dispatcher and which providers a request may use: its hints checked against its key.

``X-Omnisense-Provider`` (or ``routing.provider``) pins a provider and
``X-Omnisense-Policy`` (or ``routing.policy``) chooses a loaded policy. Both are checked
against the caller's key (403), and a provider the chosen policy does not have is the
caller's mistake (422 naming the header or field), not a 503. The key's ``providers``
travel on as ``allowed``: the planner drops every other candidate, pinned or not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gateway.dispatch import Dispatcher
from gateway.server.config import ApiKey
from gateway.server.runtime import Runtime
from omnisense.schema import RoutingHints, UnprocessableInput


@dataclass(frozen=True, slots=True)
class RouteChoice:
    dispatcher: Dispatcher
    pinned: str | None
    policy: str | None
    allowed: frozenset[str] | None


def route_choice(
    runtime: Runtime, headers: Mapping[str, str], key: ApiKey | None, hints: RoutingHints | None
) -> RouteChoice:
    header_pin = headers.get("x-omnisense-provider") or None
    pinned = header_pin or (hints.provider if hints else None)
    policy = headers.get("x-omnisense-policy") or (hints.policy if hints else None)
    allowed = None  # an open gateway: any provider
    if key is not None:
        runtime.keys.check_hints(key, pinned, policy)
        allowed = runtime.keys.allowed_providers(key)
    dispatcher = runtime.dispatcher if policy is None else runtime.dispatcher_for(policy)
    if pinned is not None and pinned not in dispatcher.providers:
        known = ", ".join(p for p in dispatcher.providers if allowed is None or p in allowed)
        raise UnprocessableInput(
            f"unknown provider {pinned!r} (policy {dispatcher.planner.loaded.name!r} has: {known})",
            field="X-Omnisense-Provider" if header_pin else "routing.provider",
        )
    return RouteChoice(dispatcher=dispatcher, pinned=pinned, policy=policy, allowed=allowed)
