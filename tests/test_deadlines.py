"""gateway.deadlines: time limits on one shared timer behave as asyncio.timeout does."""

from __future__ import annotations

import asyncio
import time

import pytest

from gateway.deadlines import TICK_S, Deadlines


async def _sleep_then(seconds: float, value: str = "done") -> str:
    await asyncio.sleep(seconds)
    return value


async def _limited(deadlines: Deadlines, limit_s: float, work_s: float) -> tuple[str, float]:
    start = time.monotonic()
    try:
        with deadlines.limit(limit_s):
            value = await _sleep_then(work_s)
    except TimeoutError:
        value = "timeout"
    return value, time.monotonic() - start


async def test_a_call_within_its_limit_returns_and_leaves_no_cancellation() -> None:
    deadlines = Deadlines()
    value, _ = await _limited(deadlines, 1.0, 0.01)
    assert value == "done"
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0


async def test_a_call_over_its_limit_raises_timeout_error_at_about_its_limit() -> None:
    value, took = await _limited(Deadlines(), 0.1, 5.0)
    assert value == "timeout"
    assert 0.1 <= took < 0.1 + TICK_S + 0.2
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0  # our cancel was taken back


async def test_a_zero_limit_times_out_at_once() -> None:
    value, took = await _limited(Deadlines(), 0.0, 5.0)
    assert value == "timeout" and took < 0.2


async def test_limits_of_different_lengths_each_fire_at_their_own_time() -> None:
    deadlines = Deadlines()
    long_first = asyncio.create_task(_limited(deadlines, 3.0, 0.5))  # armed first, ends by itself
    await asyncio.sleep(0.01)
    short, took = await _limited(deadlines, 0.05, 5.0)  # a shorter limit must not wait for the longer one
    assert short == "timeout" and took < 0.3
    assert (await long_first)[0] == "done"


async def test_a_cancel_from_elsewhere_stays_a_cancel_even_when_the_limit_ran_out_too() -> None:
    deadlines = Deadlines()
    entered = asyncio.Event()

    async def guarded() -> None:
        with deadlines.limit(0.05):
            entered.set()
            try:
                await asyncio.sleep(5)
            finally:
                await asyncio.sleep(0.1)  # the limit runs out while the other cancel is handled

    task = asyncio.create_task(guarded())
    await entered.wait()
    task.cancel()  # a client that left, a hedge that lost
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_an_outer_asyncio_timeout_is_not_taken_for_the_inner_limit() -> None:
    deadlines = Deadlines()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            with deadlines.limit(5.0):
                await asyncio.sleep(5)
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0


async def test_many_concurrent_calls_time_out_independently() -> None:
    deadlines = Deadlines()
    results = await asyncio.gather(*(_limited(deadlines, 0.05 if i % 2 else 2.0, 0.2) for i in range(200)))
    assert [value for value, _ in results] == ["timeout" if i % 2 else "done" for i in range(200)]


async def test_ended_limits_do_not_pile_up() -> None:
    """Calls that end long before their limit leave entries behind; the heap is rebuilt from the
    live ones, so it holds a few thousand at most, not one per call ever made."""
    deadlines = Deadlines()
    for _ in range(20):
        await asyncio.gather(*(_limited(deadlines, 60.0, 0) for _ in range(500)))
    assert deadlines.held() <= 3000
    value, _ = await _limited(deadlines, 0.05, 5.0)  # and limits still fire after a rebuild
    assert value == "timeout"


def test_a_limit_outside_a_task_is_refused() -> None:
    async def outside() -> None:
        limit = Deadlines().limit(1.0)
        loop = asyncio.get_running_loop()
        # a callback of the loop runs outside any task
        error: list[BaseException] = []

        def enter() -> None:
            try:
                limit.__enter__()
            except RuntimeError as exc:
                error.append(exc)

        loop.call_soon(enter)
        await asyncio.sleep(0.01)
        assert error and "inside" in str(error[0])

    asyncio.run(outside())
