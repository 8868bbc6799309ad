"""A request's money: what its plan may cost (reserved on the key's budget before any call)
and what its calls that were sent but did not serve cost (charged after, reported as such).

``policies.budgets`` holds the reservation; ``gateway.dispatch`` and ``gateway.fanout``
reserve ``estimate`` before the first call and settle to the served cost plus
``lost_cost`` (hedges cancelled when another step won, calls cancelled with the request:
the vendor was already asked) once the request ends, failed or not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from adapters.base import Provider
from omnisense.schema import Attempt, Task, TaskRequest, request_units
from policies.plan import Step


def estimate(
    providers: Mapping[str, Provider], task: Task, request: TaskRequest, steps: Sequence[Step], *, together: bool
) -> float:
    """The plan's price: the dearest step when they run one after another (one serves), the sum of
    all when they may run together (hedging, fan-out)."""
    units = request_units(request)
    costs = [providers[s.provider].info.cost(task, units) for s in steps if s.provider in providers]
    return round(sum(costs) if together else max(costs, default=0.0), 8)


def lost_cost(
    providers: Mapping[str, Provider], task: Task, request: TaskRequest, attempts: Iterable[Attempt]
) -> float:
    """What the cancelled calls (a hedge that lost, a call cut off with its request) cost, by price list."""
    units = request_units(request)
    lost = [a.provider for a in attempts if a.outcome == "cancelled" and a.provider in providers]
    return round(sum(providers[name].info.cost(task, units) for name in lost), 8)
