"""Observed latency per (provider, task) over a sliding window: the ``fastest`` strategy's facts.

Every finished attempt is a sample: a success counts its latency; a provider fault
(error or timeout) counts ``failure_penalty_ms`` at least, so a fast provider that fails
is not the fastest to a good answer; a hedged call cancelled by the winner counts what
it had taken so far (a lower bound). Samples leave the window by count (``window``) and
by age (``window_s``), so a provider nobody called lately has no mean and gets measured
again first.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from omnisense.schema import Attempt, Task
from policies.circuit import is_fault
from policies.model import Fastest
from policies.plan import LatencyStat


class LatencyBook:
    def __init__(
        self,
        settings_for: Callable[[Task], Fastest],
        *,
        failure_penalty_ms: float = 5000.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings_for = settings_for
        self.failure_penalty_ms = failure_penalty_ms
        self.clock = clock
        self.samples: dict[tuple[str, Task], deque[tuple[float, float]]] = {}

    def sample_ms(self, attempt: Attempt) -> float | None:
        """What the attempt counts in the window (None: it says nothing about speed)."""
        if attempt.outcome == "error" and not is_fault(attempt):
            return None  # bad input or unsupported
        ms = attempt.latency_ms
        return max(ms, self.failure_penalty_ms) if is_fault(attempt) else ms

    def observe(self, provider: str, task: Task, attempt: Attempt) -> None:
        ms = self.sample_ms(attempt)
        if ms is None:
            return
        window = self.samples.setdefault((provider, task), deque())
        window.append((self.clock(), ms))
        limit = self.settings_for(task).window
        while len(window) > limit:
            window.popleft()

    def replace(self, provider: str, task: Task, samples: list[tuple[float, float]]) -> None:
        """The window as every replica saw it (``policies.shared``): (age in s, ms), oldest first."""
        now = self.clock()
        self.samples[(provider, task)] = deque((now - age, ms) for age, ms in samples)

    def stat(self, provider: str, task: Task) -> LatencyStat | None:
        window = self.samples.get((provider, task))
        if not window:
            return None
        now = self.clock()
        horizon = now - self.settings_for(task).window_s
        while window and window[0][0] < horizon:
            window.popleft()
        if not window:
            return None
        mean = sum(ms for _, ms in window) / len(window)
        return LatencyStat(mean_ms=mean, samples=len(window), age_s=now - window[-1][0])

    def snapshot(self) -> dict[str, dict[str, dict[str, float]]]:
        out: dict[str, dict[str, dict[str, float]]] = {}
        for provider, task in sorted(self.samples):
            stat = self.stat(provider, task)
            if stat is not None:
                out.setdefault(provider, {})[task.value] = {"mean_ms": round(stat.mean_ms, 3), "samples": stat.samples}
        return out
