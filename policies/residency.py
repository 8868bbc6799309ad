"""Residency: which providers may process a request, by the jurisdiction of their region.

A requirement (``residency: eu``, or a list such as ``[eu, ch]``; groups like ``eea``
expand) can be set on the whole policy, on a route, on an API key and per request with
``X-Omnisense-Residency``; each narrows the others (they intersect). Where a provider
processes a task comes from its block (``ProviderConfig.placement``, ``adapters.kit.regions``).

- ``check_policy`` (``omnisense policy check``, start-up, reload): every provider a route
  could send a request of one of its tasks to -- candidates, fallback, shadows, fan-out,
  a budget's ``then`` -- must be inside the route's requirement, else the file is refused
  with the provider, the task and the region named.
- ``Placements``: the planner's table of (provider, task) -> placement, with the reason a
  provider is excluded for a request's requirement (``Decision.kind == "residency"``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from adapters import registry
from adapters.kit.config import parse_config
from adapters.kit.regions import UNDECLARED, Placement, ResidencyError, describe, requirement
from omnisense.schema import Task
from policies.model import Candidate, PolicyFile, Route

Requirement = frozenset[str] | None
HEADER = "X-Omnisense-Residency"


@dataclass(frozen=True, slots=True)
class CallerResidency:
    """The caller's residency requirement: its key's and its request header's, intersected."""

    allowed: frozenset[str]
    field: str | None = None  # HEADER when the request header narrowed it (then a refusal is 422)


def placement_of(name: str, block: Mapping[str, Any], task: Task | None) -> Placement:
    """Where provider ``name`` processes ``task``; a block that cannot be read has no jurisdiction."""
    return placements_of(name, block, [task])[0]


def placements_of(name: str, block: Mapping[str, Any], tasks: Iterable[Task | None]) -> list[Placement]:
    """Where provider ``name`` processes each of ``tasks``, its block read once."""
    try:
        config = parse_config(registry.config_type(str(block.get("kind"))), name, block)
    except (ValueError, registry.UnknownKind) as exc:
        unreadable = Placement(region=UNDECLARED, jurisdiction=None, source=f"block not readable: {exc}")
        return [unreadable for _ in tasks]
    return [config.placement(task) for task in tasks]


def narrow(*requirements: Requirement) -> Requirement:
    """The intersection of the requirements given (None: no requirement)."""
    out: Requirement = None
    for r in requirements:
        if r is not None:
            out = r if out is None else out & r
    return out


def parse(value: str | list[str] | None, where: str, problems: list[str]) -> Requirement:
    if value is None:
        return None
    try:
        return requirement(value)
    except ResidencyError as exc:
        problems.append(f"{where}: {exc}")
        return None


def outside(placement: Placement, task: Task, allowed: frozenset[str]) -> str:
    """Why a provider at ``placement`` may not serve ``task`` under ``allowed``."""
    return f"processes {task} in {placement}, outside the residency required ({describe(allowed)})"


def _route_providers(route: Route) -> Iterable[tuple[str, str]]:
    """(path inside the route, provider) for every provider the route may send a request to."""
    for i, c in enumerate(route.candidates):
        yield f"candidates[{i}]", c.provider if isinstance(c, Candidate) else c
    for i, p in enumerate(route.fallback):
        yield f"fallback[{i}]", p
    for i, p in enumerate(route.shadow):
        yield f"shadow[{i}]", p
    if route.fanout is not None:
        for i, p in enumerate(route.fanout.providers):
            yield f"fanout.providers[{i}]", p
        if route.fanout.tiebreak is not None:
            yield "fanout.tiebreak", route.fanout.tiebreak


def check_policy(policy: PolicyFile, governed: Mapping[str, list[Task]], key: Any) -> list[str]:
    """Every route that could send a request outside its residency requirement, named.

    ``governed``: the tasks each route pattern serves; ``key``: how a pattern is written in a path."""
    problems: list[str] = []
    base = parse(policy.residency, "residency", problems)
    if base is None and all(r.residency is None for r in policy.routes.values()):
        return problems  # no requirement anywhere: nothing to read
    places = Placements(policy)  # every block read once
    for pattern, route in policy.routes.items():
        where = f"routes.{key(pattern)}"
        required = narrow(base, parse(route.residency, f"{where}.residency", problems))
        if required is None:
            continue
        tasks = governed.get(pattern, [])
        for path, provider in _route_providers(route):
            bad = _violations(places, provider, tasks, required)
            if bad:
                problems.append(f"{where}.{path}: provider '{provider}' {bad}")
        for i, budget in enumerate(policy.budgets):  # a key over budget is switched to `then` on every route
            bad = _violations(places, budget.then, tasks, required)
            if budget.then != "reject" and bad:
                problems.append(f"budgets[{i}].then: provider '{budget.then}' (for {where}) {bad}")
    return problems


def _violations(places: Placements, name: str, tasks: list[Task], required: frozenset[str]) -> str | None:
    by_place: dict[Placement, list[str]] = {}
    for task in tasks:
        place = places.of(name, task)
        if place is None:
            return None  # an unknown provider (or "reject"): reported by the reference check
        if not place.within(required):
            by_place.setdefault(place, []).append(task.value)
    if not by_place:
        return None

    def which(ts: list[str]) -> str:
        return f"all {len(ts)} tasks of the route" if len(ts) == len(tasks) and len(ts) > 2 else ", ".join(ts)

    parts = [f"{which(ts)} in {place} [{place.source}]" for place, ts in by_place.items()]
    return f"could send data outside residency {describe(required)}: processes {'; '.join(parts)}"


class Placements:
    """(provider, task) -> placement for one policy's providers, computed once per policy load."""

    def __init__(self, policy: PolicyFile, tasks: Iterable[Task] = tuple(Task)) -> None:
        self._table: dict[tuple[str, Task], Placement] = {}
        chosen = list(tasks)
        for name, block in policy.providers.items():
            for task, place in zip(chosen, placements_of(name, block, chosen), strict=True):
                self._table[(name, task)] = place

    def of(self, provider: str, task: Task) -> Placement | None:
        return self._table.get((provider, task))

    def excluded(self, provider: str, task: Task, allowed: Requirement) -> str | None:
        """Why ``provider`` may not serve ``task`` under ``allowed`` (None: it may)."""
        if allowed is None:
            return None
        place = self.of(provider, task) or Placement(region=UNDECLARED, jurisdiction=None)
        return None if place.within(allowed) else outside(place, task, allowed)
