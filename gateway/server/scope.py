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

from adapters.kit.regions import ResidencyError, requirement
from gateway.dispatch import Dispatcher
from gateway.server.config import ApiKey
from gateway.server.runtime import Runtime
from omnisense.schema import RoutingHints, UnprocessableInput
from policies.residency import HEADER, CallerResidency, narrow


@dataclass(frozen=True, slots=True)
class RouteChoice:
    dispatcher: Dispatcher
    pinned: str | None
    policy: str | None
    allowed: frozenset[str] | None
    residency: CallerResidency | None = None


def caller_residency(headers: Mapping[str, str], key: ApiKey | None) -> CallerResidency | None:
    """``X-Omnisense-Residency: eu`` (or ``eu, ch``) narrowed by the key's ``residency``; a code
    the table does not know is the caller's mistake (422 naming the header)."""
    asked = headers.get(HEADER.lower()) or None
    try:
        from_header = requirement(asked) if asked is not None else None
    except ResidencyError as exc:
        raise UnprocessableInput(f"{HEADER}: {exc}", field=HEADER) from None
    from_key = requirement(key.residency) if key is not None and key.residency is not None else None
    allowed = narrow(from_key, from_header)
    if allowed is None:
        return None
    return CallerResidency(allowed=allowed, field=HEADER if from_header is not None else None)


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
    residency = caller_residency(headers, key)
    return RouteChoice(dispatcher=dispatcher, pinned=pinned, policy=policy, allowed=allowed, residency=residency)
