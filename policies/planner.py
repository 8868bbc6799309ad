"""Turn (task, request, provider facts) into an ordered plan: a pure function.

Routes are resolved once per task when the planner is built (exact task name first,
then ``modality.*``, then ``*``), so a request pays only for the filter and ordering.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from gateway.schema import ProviderInfo, Task, TaskRequest
from policies.capabilities import unsupported_reason
from policies.loader import LoadedPolicy, task_pattern_matches
from policies.model import Candidate, Defaults, Route
from policies.plan import Decision, Plan, Step


class ResolvedRoute(msgspec.Struct, frozen=True, kw_only=True):
    pattern: str
    strategy: str
    candidates: list[Candidate]
    shadow: list[str]
    step_timeout_s: float
    deadline_s: float
    hedge_after_ms: float | None
    route: Route


def _specificity(pattern: str) -> int:
    return 0 if pattern == "*" else 1 if pattern.endswith(".*") else 2


def resolve_routes(loaded: LoadedPolicy) -> dict[Task, ResolvedRoute]:
    policy, defaults = loaded.policy, loaded.policy.defaults
    out: dict[Task, ResolvedRoute] = {}
    for task in Task:
        matching = [p for p in policy.routes if task_pattern_matches(p, task)]
        if not matching:
            continue
        pattern = max(matching, key=_specificity)
        out[task] = _resolve(pattern, policy.routes[pattern], defaults)
    return out


def _resolve(pattern: str, route: Route, defaults: Defaults) -> ResolvedRoute:
    return ResolvedRoute(
        pattern=pattern,
        strategy=route.strategy or defaults.strategy,
        candidates=route.candidate_list(),
        shadow=list(route.shadow),
        step_timeout_s=route.timeout_s or defaults.timeout_s,
        deadline_s=route.deadline_s or defaults.deadline_s,
        hedge_after_ms=route.hedge_after_ms if route.hedge_after_ms is not None else defaults.hedge_after_ms,
        route=route,
    )


class Planner:
    def __init__(self, loaded: LoadedPolicy, infos: Mapping[str, ProviderInfo]) -> None:
        self.loaded = loaded
        self.infos = dict(infos)
        self.routes = resolve_routes(loaded)

    def plan(self, task: Task, request: TaskRequest, *, pinned: str | None = None) -> Plan:
        resolved = self.routes.get(task)
        candidates = resolved.candidates if resolved else []
        if pinned is not None:
            candidates = [Candidate(provider=pinned)]
        decisions: list[Decision] = []
        kept: list[Candidate] = []
        for cand in candidates:
            info = self.infos.get(cand.provider)
            reason = "not configured" if info is None else unsupported_reason(info, task, request)
            decisions.append(Decision(provider=cand.provider, kept=reason is None, reason=reason or "capable"))
            if reason is None:
                kept.append(cand)
        defaults = self.loaded.policy.defaults
        retries = (resolved.route.retries if resolved else None) or defaults.retries
        timeout = resolved.step_timeout_s if resolved else defaults.timeout_s
        return Plan(
            policy=self.loaded.name,
            route=resolved.pattern if resolved else "",
            strategy=resolved.strategy if resolved else defaults.strategy,
            steps=[Step(provider=c.provider, timeout_s=timeout, retries=retries) for c in kept],
            deadline_s=resolved.deadline_s if resolved else defaults.deadline_s,
            hedge_after_ms=resolved.hedge_after_ms if resolved else None,
            shadow=[s for s in (resolved.shadow if resolved else []) if s in self.infos],
            decisions=decisions,
        )
