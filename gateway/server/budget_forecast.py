"""When each budget runs out at the current rate: the ``budgets`` part of ``/v1/stats``.

For every key with a budget and every window of it (day, month, ``usd_per`` days) it gives
the limit, the spend so far (reservations of requests in flight included), what is left,
when the window resets, and ``runs_out_in_s``: what is left divided by the key's current
rate, the average spend per second since the start of the UTC day (its day counter), or
None when the window resets first (or nothing was spent today).
"""

from __future__ import annotations

import calendar
import math
import time
from typing import Any

from policies.budgets import BudgetBook, Window, windows_of


def resets_at(window: Window, now: float) -> float:
    """When ``window``'s counter starts again (unix seconds)."""
    kind, _, value = window.period.partition(":")
    if kind == "day":
        return (math.floor(now / 86400.0) + 1) * 86400.0
    if kind == "month":
        t = time.gmtime(now)
        year, month = (t.tm_year + 1, 1) if t.tm_mon == 12 else (t.tm_year, t.tm_mon + 1)
        return float(calendar.timegm((year, month, 1, 0, 0, 0, 0, 0, 0)))
    span = float(kind.removeprefix("days")) * 86400.0  # ``days{N}:{index}``
    return (int(value) + 1) * span


async def forecast(book: BudgetBook, now: float | None = None) -> list[dict[str, Any]]:
    now = book.clock() if now is None else now
    out = []
    for key_id, budget in sorted(book.budgets.items()):
        windows = windows_of(budget, now)
        spent = await book.store.spent(key_id, [w.period for w in windows])
        today_s = max(1.0, now - math.floor(now / 86400.0) * 86400.0)
        rate = spent[0] / today_s  # USD per second: today's average
        rows = []
        for window, used in zip(windows, spent, strict=True):
            if math.isinf(window.limit_usd):
                continue  # counted, not limited
            left = max(0.0, window.limit_usd - used)
            reset_in = resets_at(window, now) - now
            runs_out = left / rate if rate > 0 else math.inf
            rows.append({
                "window": window.period.split(":", 1)[0], "limit_usd": window.limit_usd,
                "spent_usd": round(used, 8), "left_usd": round(left, 8), "resets_in_s": round(reset_in, 1),
                "runs_out_in_s": round(runs_out, 1) if runs_out < reset_in else None,
            })  # fmt: skip
        out.append({"key": key_id, "then": budget.then, "usd_per_hour": round(rate * 3600.0, 8), "windows": rows})
    return out
