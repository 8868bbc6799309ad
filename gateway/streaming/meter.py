"""What a session costs, per provider, as the audio goes out: seconds sent to each provider
(a failover's replay included: the vendor hears it again) priced by its price list, and each
increment taken from the key's budget before that audio is sent (``policies.budgets``: the
same atomic reservation as a REST request). An increment that does not fit ends the session
with 4002; that audio is neither sent nor charged, so a key is never charged past its limit."""

from __future__ import annotations

from collections.abc import Mapping

from gateway.streaming.errors import SessionClosed
from omnisense.schema import ProviderInfo, Task
from omnisense.schema.streaming import ProviderSeconds
from policies.budgets import BudgetBook

TASK = Task.SPEECH_TRANSCRIBE


class Meter:
    def __init__(self, infos: Mapping[str, ProviderInfo], budgets: BudgetBook | None, key_id: str | None) -> None:
        self.infos = infos
        self.budgets = budgets if budgets is not None and key_id in budgets.budgets else None
        self.key_id = key_id
        self.seconds: dict[str, float] = {}
        self.costs: dict[str, float] = {}

    async def accrue(self, provider: str, seconds: float) -> None:
        """``seconds`` more audio for ``provider``: charged (within the budget) before it is sent."""
        total = self.seconds.get(provider, 0.0) + seconds
        info = self.infos.get(provider)
        price = info.cost(TASK, total) if info is not None else 0.0
        delta = price - self.costs.get(provider, 0.0)
        if delta > 0 and self.budgets is not None:
            hold = await self.budgets.reserve(self.key_id, delta)
            if not hold.ok:
                raise SessionClosed(4002, f"budget exhausted: key {self.key_id!r} has no budget left for more audio")
            await self.budgets.settle(hold, delta)  # the audio is sent now: the reservation is the charge
        self.seconds[provider] = total
        self.costs[provider] = max(price, self.costs.get(provider, 0.0))

    @property
    def cost_usd(self) -> float:
        return round(sum(self.costs.values()), 8)

    def providers(self) -> list[ProviderSeconds]:
        return [
            ProviderSeconds(provider=p, audio_s=round(s, 3), cost_usd=round(self.costs.get(p, 0.0), 8))
            for p, s in self.seconds.items()
        ]
