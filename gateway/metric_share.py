"""Counters and histograms added up over the worker processes of ``omnisense serve --workers N``.

Each worker counts its own requests (``gateway.metrics``). With ``OMNISENSE_METRICS_DIR`` set
(``omnisense serve`` sets it for more than one worker, and removes the directory when it
stops), each worker also writes what its counters and histograms hold to a file of its own
there, every ``interval_s`` and once more when it stops: written aside, then renamed, so a
reader never sees half a file. A scrape of ``/metrics`` lands on whichever worker accepts
the connection; that worker adds the other workers' latest files to its own live figures,
child by child. So every scrape shows the same totals (the other workers' at most
``interval_s`` old), and a counter never seems to go back when the next scrape lands on
another worker. A worker that died keeps its file, so totals never go down, as with
prometheus_client's multiprocess mode. Gauges (the log queue, circuits, providers) still
describe the worker that answered.

Why not prometheus_client's multiprocess mode itself (measured for issue #32): it keeps every
value of its own ``Counter`` and ``Histogram`` in a per-process mmap file, under a lock, so
the request path would go back to those objects: ``bench/metrics_observe.py --multiprocess``
gives 11.8 µs of CPU per request's ``observe`` against 1.6 µs here (7x; 6.6 µs with
prometheus_client in memory). Its exposition has no ``_created`` series, which one worker
shows (the sum would no longer equal one process counting everything), and its directory
is process-global, read when prometheus_client is imported, where every app here has its own
registry. Sharing the finished numbers once a second costs the request path nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

import msgspec

from gateway.metric_families import Exported, FamiliesCollector

ENV = "OMNISENSE_METRICS_DIR"
SUFFIX = ".metrics"
_decoder = msgspec.msgpack.Decoder(dict[str, list[Exported]])
log = logging.getLogger("omnisense.metrics")


class MetricsShare:
    """This worker's file in ``directory``, and the sum of the other workers' files."""

    def __init__(self, collector: FamiliesCollector, directory: Path, interval_s: float = 1.0) -> None:
        self.collector = collector
        self.directory = directory
        self.interval_s = interval_s
        # pid and start time: a later worker that gets a dead one's pid does not overwrite its counts
        self.own = directory / f"{os.getpid()}-{time.time_ns()}{SUFFIX}"

    def publish(self) -> None:
        snapshot = {family.name: family.export() for family in self.collector.families}
        aside = self.own.with_suffix(".tmp")
        aside.write_bytes(msgspec.msgpack.encode(snapshot))
        os.replace(aside, self.own)

    def peers(self) -> Mapping[str, Sequence[Sequence[Exported]]]:
        """Family name -> the children each other worker exported last."""
        out: dict[str, list[list[Exported]]] = {}
        for path in self.directory.glob(f"*{SUFFIX}"):
            if path == self.own:
                continue
            try:
                snapshot = _decoder.decode(path.read_bytes())
            except (OSError, msgspec.DecodeError):  # gone, or not one of ours: nothing to add
                continue
            for name, children in snapshot.items():
                out.setdefault(name, []).append(children)
        return out

    async def run(self) -> None:
        while True:
            try:
                self.publish()
            except OSError as exc:  # a full or vanished directory costs the other workers' view, not a request
                log.warning("could not write this worker's metrics to %s: %s", self.directory, exc)
            await asyncio.sleep(self.interval_s)


def share_from_env(collector: FamiliesCollector) -> MetricsShare | None:
    """The share in ``OMNISENSE_METRICS_DIR``, when it names a directory."""
    directory = os.environ.get(ENV)
    if not directory or not Path(directory).is_dir():
        return None
    return MetricsShare(collector, Path(directory))


@contextlib.asynccontextmanager
async def shared_metrics(collector: FamiliesCollector) -> AsyncIterator[MetricsShare | None]:
    """Share ``collector``'s families with the other workers while the app runs (see the
    module's doc); without ``OMNISENSE_METRICS_DIR``, nothing."""
    share = share_from_env(collector)
    if share is None:
        yield None
        return
    collector.peers = share.peers
    task = asyncio.create_task(share.run(), name="omnisense-metrics-share")
    try:
        yield share
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        collector.peers = None
        with contextlib.suppress(OSError):
            share.publish()  # what this worker counted last stays in the totals
