"""CPU per record of the SQLite request log, by kind of request id and size of the log. Prints a table.

    python bench/log_sink_cpu.py [--records 50000] [--sizes 0,200000] [--rounds 3]

The sink's own work (``SqliteSink._write_sync``: the record's columns and JSON, the multi-row
INSERT into ``request_log`` and its two indexes, the commit), in batches of 256 as the writer
hands them over, timed as the CPU (user + system) of the thread doing it, per record. No event
loop, no HTTP: what the gateway's SQLite thread adds to each request, whatever else runs on the
machine (CPU time, unlike seconds, hardly moves when the machine is busy; the rounds show the
spread).

Two kinds of request id, written into logs that already hold ``--sizes`` rows:

- ``uuid7``: the ids the gateway makes (``gateway.server.tasks.new_request_id``: time first), so
  the ``request_id`` index grows at its end;
- ``random``: 128 random bits (what the gateway made before, and what a caller's own
  ``X-Request-Id`` may be): every record lands on another page of that index, and each page
  dirtied is written to the WAL.
"""

from __future__ import annotations

import argparse
import resource
import sqlite3
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from random import getrandbits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/logging_sinks.py: a realistic record

from logging_sinks import sample_record

from gateway.logs.record import RequestLog
from gateway.logs.sqlite import SqliteSink, migrate
from gateway.server.tasks import new_request_id

BATCH = 256
IDS: dict[str, Callable[[], str]] = {"uuid7": new_request_id, "random": lambda: f"{getrandbits(128):032x}"}


def records(n: int, make_id: Callable[[], str]) -> list[RequestLog]:
    out = []
    for i in range(n):
        r = sample_record(i)
        r.request_id = make_id()
        out.append(r)
    return out


def cpu_us_per_record(path: Path, kind: str, size: int, n: int) -> float:
    """Fill a new log with ``size`` rows, then time ``n`` more; returns µs of CPU per record."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")  # as gateway.storage.SqliteFile opens it
    conn.execute("PRAGMA synchronous=NORMAL")
    migrate(conn)
    sink = SqliteSink.__new__(SqliteSink)  # the sink's write step alone, on this thread
    sink._migrated, sink._closed = True, False

    def write(batch: list[RequestLog]) -> None:
        for at in range(0, len(batch), BATCH):
            sink._write_sync(conn, batch[at : at + BATCH])

    write(records(size, IDS[kind]))
    batch = records(n, IDS[kind])
    before = resource.getrusage(resource.RUSAGE_THREAD)
    write(batch)
    after = resource.getrusage(resource.RUSAGE_THREAD)
    conn.close()
    return (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=50_000, help="records timed per run")
    parser.add_argument("--sizes", default="0,200000", help="rows already in the log, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    runs: dict[tuple[str, int], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):  # interleaved: a busy moment hits every cell alike
            for size in sizes:
                for kind in IDS:
                    path = Path(tmp) / f"{kind}-{size}-{r}.db"
                    runs.setdefault((kind, size), []).append(cpu_us_per_record(path, kind, size, args.records))
                    for suffix in ("", "-wal", "-shm"):
                        Path(f"{path}{suffix}").unlink(missing_ok=True)
    print(f"\nCPU (user + system) per record of the SQLite sink, {args.records:,} records in batches of {BATCH};")
    print(f"median of {args.rounds} interleaved rounds (lowest-highest)\n")
    print("| rows already in the log | " + " | ".join(f"{k} ids" for k in IDS) + " |")
    print("|---|" + "---|" * len(IDS))
    for size in sizes:
        cells = []
        for kind in IDS:
            v = runs[(kind, size)]
            cells.append(f"{statistics.median(v):.1f} µs ({min(v):.1f}-{max(v):.1f})")
        print(f"| {size:,} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
