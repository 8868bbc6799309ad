"""Run a plan's steps with hedging: the first good answer wins.

Without hedging, the dispatcher runs the steps in turn itself (``Dispatcher._in_turn``):
a step starts when the one before it has failed with an error that allows fallback.
With ``hedge_after_s``, the next step also starts when every running step has taken
longer than that; the first success wins and the others are cancelled
(their attempts are recorded as ``cancelled`` by the dispatcher, so both are logged).
An error that does not allow fallback (bad input) ends the race at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from omnisense.schema import OmnisenseError

S = TypeVar("S")  # a step (the dispatcher's ``StepTry``)
T = TypeVar("T")
RunStep = Callable[[S, bool], Awaitable[T]]  # (step, started as a hedge) -> result


async def race(steps: Sequence[S], run_step: RunStep[S, T], hedge_after_s: float) -> tuple[S, T]:
    """The first step to succeed and its result; raises the last error when all fail."""
    pending: dict[asyncio.Task[T], S] = {}
    nxt = 0
    last: BaseException | None = None

    def start(hedged: bool) -> None:
        nonlocal nxt
        step = steps[nxt]
        nxt += 1
        pending[asyncio.ensure_future(run_step(step, hedged))] = step

    try:
        while True:
            if not pending:
                if nxt >= len(steps):
                    assert last is not None
                    raise last
                start(False)
            can_hedge = nxt < len(steps)
            done, _ = await asyncio.wait(
                pending, timeout=hedge_after_s if can_hedge else None, return_when=asyncio.FIRST_COMPLETED
            )
            if not done:
                start(True)  # everything running is slow: hedge with the next candidate
                continue
            for fut in done:
                step = pending.pop(fut)
                exc = fut.exception()
                if exc is None:
                    return step, fut.result()
                last = exc
                if not (isinstance(exc, OmnisenseError) and exc.fallback):
                    raise exc
    finally:
        await _cancel(pending)


async def _cancel(pending: dict[asyncio.Task[T], S]) -> None:
    for fut in pending:
        fut.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
