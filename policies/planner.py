"""Turn (task, request, provider facts) into an ordered plan: a pure function.

Routes are resolved once per task when the planner is built (exact task name first,
then ``modality.*``, then ``*``), and so are the steps (timeouts, retries) per provider,
so a request pays only for the guards and the ordering:

1. the candidates: the route's, or the one pinned by the request;
2. guards, each dropping a candidate with its reason: capability (task, language,
   format, size), ``max_cost_usd``, the key's budget, an open circuit;
3. the strategy orders what is left; providers whose last probe failed go last;
4. when nothing is left: candidates dropped *only* for an open circuit are kept as a
   last resort (a request is not failed while a capable provider may answer); over
   budget, ``then`` names the provider to switch to, or the plan says "reject".
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from adapters.kit.regions import requirement
from omnisense.schema import ProviderInfo, Task, TaskRequest, request_language, request_units
from policies.capabilities import input_field_of, is_size_limit, unsupported_reason
from policies.loader import LoadedPolicy, pattern_specificity, task_pattern_matches
from policies.model import BestQuality, Candidate, CircuitSettings, Defaults, Fastest, Route
from policies.plan import (
    INPUT,
    KEY_SCOPE,
    OVER_COST,
    RESIDENCY,
    TOO_LARGE,
    Decision,
    Facts,
    NoFacts,
    Plan,
    RequestMeta,
    Step,
)
from policies.residency import Placements, Requirement, narrow
from policies.strategies import STRATEGIES, Inputs, request_costs

_NO_FACTS = NoFacts()
_NO_META = RequestMeta()


def _kind(reason: str | None) -> str:
    """What a capability reason is about: the input's size, the input itself, or ("") the provider."""
    if reason is None:
        return ""
    if is_size_limit(reason):
        return TOO_LARGE
    return INPUT if input_field_of(reason) is not None else ""


def primary_language(request: TaskRequest) -> str | None:
    """The language the request declares, as its primary subtag in lower case ("en-GB": "en")."""
    declared = request_language(request)
    return declared.split("-")[0].lower() if declared else None


class ResolvedRoute(msgspec.Struct, frozen=True, kw_only=True):
    pattern: str
    strategy: str
    candidates: list[Candidate]
    fallback: list[Candidate]  # after the ranked candidates, in order
    shadow: list[str]
    shadow_fraction: float
    step_timeout_s: float | None  # None: the provider's own timeout_s, else the defaults'
    deadline_s: float
    hedge_after_ms: float | None
    circuit: CircuitSettings
    fastest: Fastest
    best_quality: BestQuality
    sticky: bool
    route: Route

    @property
    def explore_share(self) -> float:
        """The fraction of requests that explore (``RequestMeta.explore``): the strategy's setting."""
        return self.best_quality.explore if self.strategy == "best_quality" else self.fastest.explore


def resolve_routes(loaded: LoadedPolicy) -> dict[Task, ResolvedRoute]:
    policy, defaults = loaded.policy, loaded.policy.defaults
    out: dict[Task, ResolvedRoute] = {}
    for task in Task:
        matching = [p for p in policy.routes if task_pattern_matches(p, task)]
        if not matching:
            continue
        pattern = max(matching, key=pattern_specificity)
        out[task] = _resolve(pattern, policy.routes[pattern], defaults)
    return out


def _resolve(pattern: str, route: Route, defaults: Defaults) -> ResolvedRoute:
    return ResolvedRoute(
        pattern=pattern,
        strategy=route.strategy or defaults.strategy,
        candidates=route.candidate_list(),
        fallback=[Candidate(provider=p) for p in route.fallback],
        shadow=list(route.shadow),
        shadow_fraction=route.shadow_fraction,
        step_timeout_s=route.timeout_s,
        deadline_s=route.deadline_s or defaults.deadline_s,
        hedge_after_ms=route.hedge_after_ms if route.hedge_after_ms is not None else defaults.hedge_after_ms,
        circuit=route.circuit or defaults.circuit,
        fastest=route.fastest or defaults.fastest,
        best_quality=route.best_quality or defaults.best_quality,
        sticky=route.sticky if route.sticky is not None else defaults.sticky,
        route=route,
    )


class Planner:
    def __init__(self, loaded: LoadedPolicy, infos: Mapping[str, ProviderInfo]) -> None:
        self.loaded = loaded
        self.infos = dict(infos)
        self.routes = resolve_routes(loaded)
        self.defaults = loaded.policy.defaults
        self.placements = Placements(loaded.policy)
        self.residency = self._residency(loaded)
        self._steps: dict[tuple[Task, str], Step] = {}
        for task in Task:
            for name in loaded.policy.providers:
                self._steps[(task, name)] = self._make_step(task, Candidate(provider=name))

    def _residency(self, loaded: LoadedPolicy) -> dict[Task, Requirement]:
        """The policy's and each task's route's residency requirement, narrowed (checked at load)."""
        policy = loaded.policy
        base = requirement(policy.residency) if policy.residency is not None else None
        out: dict[Task, Requirement] = {}
        for task in Task:
            resolved = self.routes.get(task)
            own = resolved.route.residency if resolved else None
            out[task] = narrow(base, requirement(own) if own is not None else None)
        return out

    def required(self, task: Task, meta: RequestMeta) -> Requirement:
        """Where this request may be processed: the policy's, the route's and the caller's requirements."""
        return narrow(self.residency.get(task), meta.residency)

    def outside_residency(self, provider: str, task: Task, meta: RequestMeta) -> str | None:
        """Why ``provider`` may not serve this request for where it processes data (None: it may)."""
        return self.placements.excluded(provider, task, self.required(task, meta))

    def _make_step(self, task: Task, cand: Candidate) -> Step:
        resolved = self.routes.get(task)
        block_timeout = self.loaded.policy.providers.get(cand.provider, {}).get("timeout_s")
        timeout = (
            cand.timeout_s
            or (resolved.step_timeout_s if resolved else None)
            or (float(block_timeout) if isinstance(block_timeout, int | float) else None)
            or self.defaults.timeout_s
        )
        retries = (resolved.route.retries if resolved else None) or self.defaults.retries
        return Step(provider=cand.provider, timeout_s=timeout, retries=retries)

    def step(self, task: Task, cand: Candidate) -> Step:
        if cand.timeout_s is not None:
            return self._make_step(task, cand)
        return self._steps.get((task, cand.provider)) or self._make_step(task, cand)

    def circuit_settings(self, task: Task) -> CircuitSettings:
        resolved = self.routes.get(task)
        return resolved.circuit if resolved else self.defaults.circuit

    def fastest_settings(self, task: Task) -> Fastest:
        resolved = self.routes.get(task)
        return resolved.fastest if resolved else self.defaults.fastest

    def plan(self, task: Task, request: TaskRequest, meta: RequestMeta = _NO_META, facts: Facts = _NO_FACTS) -> Plan:
        resolved = self.routes.get(task)
        candidates = resolved.candidates if resolved else []
        fallback = resolved.fallback if resolved else []
        if fallback:
            ranked_names = {c.provider for c in candidates}
            fallback = [c for c in fallback if c.provider not in ranked_names]
        if meta.pinned is not None:
            candidates, fallback = [Candidate(provider=meta.pinned)], []
        names = [c.provider for c in candidates + fallback]
        if meta.budget_then != "reject":
            names.append(meta.budget_then)
        costs = request_costs(self.infos, task, request_units(request), names)
        kept, dropped, circuit_only = self._guard(task, request, candidates, costs, meta, facts)
        if fallback:
            spare, spare_dropped, spare_circuit = self._guard(task, request, fallback, costs, meta, facts)
            dropped, circuit_only = dropped + spare_dropped, circuit_only + spare_circuit
        else:
            spare = []
        strategy = resolved.strategy if resolved else self.defaults.strategy
        inputs = Inputs(
            task, costs, meta, facts, resolved.sticky if resolved else False,
            language=primary_language(request),
            best_quality=resolved.best_quality if resolved else self.defaults.best_quality,
        )  # fmt: skip
        ranked = STRATEGIES[strategy](kept, inputs) if meta.pinned is None else [(c, "pinned") for c in kept]
        if spare:
            ranked += [(c, "route fallback, after the ranked candidates") for c in spare]
        down = [r for r in ranked if not facts.healthy(r[0].provider)]
        if down:  # a provider whose last probe failed goes last
            up = [r for r in ranked if r not in down]
            ranked = up + [(c, f"{why}; last probe failed: tried last") for c, why in down]
        steps: list[Step] = []
        decisions: list[Decision] = []
        for i, (c, why) in enumerate(ranked):
            steps.append(self.step(task, c))
            decisions.append(Decision(provider=c.provider, kept=True, reason=f"#{i + 1}: {why}"))
        budget_rejected = False
        if not steps:
            steps, decisions, budget_rejected = self._when_empty(task, request, meta, dropped, circuit_only)
        required = self.required(task, meta)
        return Plan(
            policy=self.loaded.name,
            route=resolved.pattern if resolved else "",
            strategy="pinned" if meta.pinned is not None else strategy,
            steps=steps,
            deadline_s=resolved.deadline_s if resolved else self.defaults.deadline_s,
            hedge_after_ms=resolved.hedge_after_ms if resolved else None,
            shadow=self._shadows(resolved.shadow, task, request, meta) if resolved and resolved.shadow else [],
            shadow_fraction=resolved.shadow_fraction if resolved else 0.0,
            decisions=decisions + dropped,
            budget_rejected=budget_rejected,
            residency=sorted(required) if required is not None else None,
            residency_field=meta.residency_field,
        )

    def _when_empty(
        self,
        task: Task,
        request: TaskRequest,
        meta: RequestMeta,
        dropped: list[Decision],
        circuit_only: list[Candidate],
    ) -> tuple[list[Step], list[Decision], bool]:
        """Nothing survived the guards: last resort on open circuits, or the budget's ``then``."""
        if circuit_only:
            steps = [msgspec.structs.replace(self.step(task, c), last_resort=True) for c in circuit_only]
            why = "last resort: circuit open, nothing else can serve"
            return steps, [Decision(provider=c.provider, kept=True, reason=why) for c in circuit_only], False
        if not any(d.reason.startswith("over budget") for d in dropped):
            return [], [], False
        then = meta.budget_then
        if then == "reject" or (meta.allowed is not None and then not in meta.allowed):
            return [], [], True
        if self.outside_residency(then, task, meta) is not None:
            return [], [], True
        if self._unsupported(then, task, request) is not None:
            return [], [], True
        decision = Decision(provider=then, kept=True, reason="budget exhausted: switched to the budget's 'then'")
        return [self.step(task, Candidate(provider=then))], [decision], False

    def _shadows(self, shadow: list[str], task: Task, request: TaskRequest, meta: RequestMeta) -> list[str]:
        """The route's shadows that can serve this request and that the caller's key may use."""
        return [
            s
            for s in shadow
            if self._unsupported(s, task, request) is None
            and (meta.allowed is None or s in meta.allowed)
            and self.outside_residency(s, task, meta) is None  # a shadow sends the data too
        ]

    def _unsupported(self, provider: str, task: Task, request: TaskRequest) -> str | None:
        info = self.infos.get(provider)
        return "not configured" if info is None else unsupported_reason(info, task, request)

    def _guard(
        self,
        task: Task,
        request: TaskRequest,
        candidates: list[Candidate],
        costs: Mapping[str, float],
        meta: RequestMeta,
        facts: Facts,
    ) -> tuple[list[Candidate], list[Decision], list[Candidate]]:
        kept: list[Candidate] = []
        dropped: list[Decision] = []
        circuit_only: list[Candidate] = []
        required = self.required(task, meta)
        for cand in candidates:
            name = cand.provider
            cost = costs.get(name, 0.0)
            if meta.allowed is not None and name not in meta.allowed:
                dropped.append(Decision(provider=name, kept=False, reason="the key may not use it", kind=KEY_SCOPE))
                continue
            outside = self.placements.excluded(name, task, required)
            if outside is not None:  # never a last resort: the data must not go there
                dropped.append(Decision(provider=name, kept=False, reason=outside, kind=RESIDENCY))
                continue
            reason = self._unsupported(name, task, request)
            kind = _kind(reason)
            if reason is None and meta.max_cost_usd is not None and cost > meta.max_cost_usd + 1e-12:
                reason, kind = f"costs ${cost:.6f} > max_cost_usd ${meta.max_cost_usd:.6f}", OVER_COST
            if reason is None and meta.budget_left_usd is not None and cost > meta.budget_left_usd + 1e-12:
                reason = f"over budget: costs ${cost:.6f}, the key has ${max(0.0, meta.budget_left_usd):.6f} left"
            if reason is None and facts.circuit(name, task) == "open":
                reason = "circuit open"
                circuit_only.append(cand)
            if reason is None:
                kept.append(cand)
            else:
                dropped.append(Decision(provider=name, kept=False, reason=reason, kind=kind))
        return kept, dropped, circuit_only
