"""What choosing a model-server replica costs the ``local`` adapter per call.

    python bench/replicas.py [--calls 200000]

``ReplicaSet.pick()`` (the ready replica with the fewest calls in flight, ties round-robin)
for 1, 3, 10 and 30 replicas, all ready, and with a third of them marked down; best of 5.
The rest of a call's bookkeeping (the in-flight count, the URL string) is a few hundred
nanoseconds more; one HTTP exchange with aiohttp is ~200 µs (``bench/adapters.py``).
"""

from __future__ import annotations

import argparse
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.local.replicas import ReplicaSet, Target


def per_pick_us(replicas: int, down: int, calls: int) -> float:
    pool = ReplicaSet.of([Target(f"http://10.0.0.{i}:3000") for i in range(replicas)])
    for r in pool.replicas[:down]:
        r.ready = False
    return min(timeit.repeat(pool.pick, number=calls, repeat=5)) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200_000)
    args = parser.parse_args()
    print("| replicas | marked down | pick() µs |")
    print("|---------:|------------:|----------:|")
    for n in (1, 3, 10, 30):
        for down in sorted({0, n // 3}):
            print(f"| {n:8} | {down:11} | {per_pick_us(n, down, args.calls):9.2f} |")


if __name__ == "__main__":
    main()
