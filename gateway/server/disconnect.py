"""Cancel a request's work when its client goes away, without a task per request.

uvicorn does not cancel a handler whose client went away; it answers a ``receive()`` made
after the body was read with ``http.disconnect`` when that happens. Watching for that
with a task per request (plus ``asyncio.wait`` over the work and the watcher) cost more
than the rest of the gateway's own work on a request, so ``DisconnectWatch`` drives the
``receive()`` coroutine by hand instead: each future it waits on gets a done-callback
that resumes it, as a task would, and ``http.disconnect`` cancels the request's own task.
``close()`` (when the work is done) closes the coroutine, which takes its waiter off the
server's event. A server whose ``receive()`` is not a coroutine is watched by a task, as
before; one whose coroutine waits on something other than an asyncio future (no server on
asyncio does) leaves the request unwatched: it still ends, at its deadline.

Most requests are answered in a few milliseconds, long before a person or a client library
gives up on them. So ``Disconnects`` watches a request only once it has run for
``after_s`` (50 ms): one timer, shared by every request, starts the watches that are due,
and a request answered before then costs a dict entry. A client that leaves is noticed
at most ``after_s`` plus one timer turn after it left.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, TypeVar

T = TypeVar("T")
Receive = Callable[[], Awaitable[Mapping[str, Any]]]


class ClientGone(Exception):
    """The client closed the connection while its request was being served (the message says when)."""


class DisconnectWatch:
    """Calls ``task.cancel()`` once ``receive()`` says ``http.disconnect``; ``gone`` tells it did."""

    def __init__(self, receive: Receive, task: asyncio.Task[Any]) -> None:
        self.task = task
        self.gone = False
        self._coro: Coroutine[Any, Any, Mapping[str, Any]] | None = None
        self._fallback: asyncio.Future[Mapping[str, Any]] | None = None
        waiting = receive()
        if isinstance(waiting, Coroutine):
            self._coro = waiting
            self._step()
        else:
            self._watch_by_task(waiting)

    def _step(self, _: object = None) -> None:
        coro = self._coro
        if coro is None:
            return
        try:
            waits_on = coro.send(None)
        except StopIteration as stop:
            self._coro = None
            self._message(stop.value)
            return
        except BaseException:  # the channel broke: nothing to watch any more
            self._coro = None
            return
        if waits_on is None:  # a bare yield (``asyncio.sleep(0)``): resume on the next turn
            asyncio.get_running_loop().call_soon(self._step)
        elif asyncio.isfuture(waits_on):
            waits_on._asyncio_future_blocking = False  # what a task does with a future it is handed
            waits_on.add_done_callback(self._step)
        else:  # not an asyncio future: only its own event loop's task could wait on it
            self._coro = None
            coro.close()

    def _watch_by_task(self, waiting: Awaitable[Mapping[str, Any]]) -> None:
        fut = self._fallback = asyncio.ensure_future(waiting)
        fut.add_done_callback(self._fallback_done)

    def _fallback_done(self, fut: asyncio.Future[Mapping[str, Any]]) -> None:
        if not fut.cancelled() and fut.exception() is None:
            self._message(fut.result())

    def _message(self, message: Mapping[str, Any]) -> None:
        if message.get("type") == "http.disconnect" and not self.task.done():
            self.gone = True
            self.task.cancel()

    def close(self) -> None:
        if self._coro is not None:
            self._coro.close()  # runs its ``finally``: the server's waiter is removed
            self._coro = None
        if self._fallback is not None and not self._fallback.done():
            self._fallback.cancel()


class Disconnects:
    """The requests of one app that may be watched: each one starts being watched once it has
    run for ``after_s``, by one timer for all of them."""

    def __init__(self, after_s: float = 0.05) -> None:
        self.after_s = after_s
        self._due: dict[asyncio.Task[Any], tuple[float, Receive]] = {}  # in the order they came (and fall due)
        self._watching: dict[asyncio.Task[Any], DisconnectWatch] = {}
        self._timer: asyncio.TimerHandle | None = None

    def add(self, receive: Receive, task: asyncio.Task[Any]) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + self.after_s
        self._due[task] = (due, receive)
        if self._timer is None:
            self._timer = loop.call_at(due, self._start_due)

    def remove(self, task: asyncio.Task[Any]) -> DisconnectWatch | None:
        """Stop watching ``task``; its watch, if one had started."""
        if self._due.pop(task, None) is not None:
            return None
        watch = self._watching.pop(task, None)
        if watch is not None:
            watch.close()
        return watch

    def _start_due(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        for task, (due, receive) in list(self._due.items()):
            if due > now:
                self._timer = loop.call_at(due, self._start_due)
                return
            del self._due[task]
            self._watching[task] = DisconnectWatch(receive, task)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for watch in self._watching.values():
            watch.close()
        self._due.clear()
        self._watching.clear()


async def until_disconnected(disconnects: Disconnects, receive: Receive, work: Awaitable[T]) -> T:
    """Run ``work`` in this task, cancelling it if the client disconnects meanwhile (raises ClientGone).

    The body must already be consumed (it is: the input was decoded) before this watches."""
    task = asyncio.current_task()
    if task is None:  # not inside a task (no server runs a handler so): nothing to cancel
        return await work
    disconnects.add(receive, task)
    try:
        return await work
    except asyncio.CancelledError:
        watch = disconnects.remove(task)
        if watch is not None and watch.gone and task.uncancel() == 0:
            raise ClientGone("the client went away before the answer") from None
        raise
    finally:
        disconnects.remove(task)  # a no-op when the cancel path removed it already
