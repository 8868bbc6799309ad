"""What a budget reservation costs per request: reserve + settle (the request's path) against
the old check-then-charge (left + charge), in process and on the real Redis.

    python -m bench.budgets [--n 2000] [--redis redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

from policies.budgets import BudgetBook, MemorySpendStore, RedisSpendStore, SpendStore
from policies.model import Budget


async def per_request_us(store: SpendStore, n: int, *, reserve: bool) -> float:
    book = BudgetBook([Budget(key="k", usd_per_day=1e9, usd_per_month=1e9)], store)
    start = time.perf_counter()
    for _ in range(n):
        await book.left("k")  # the planner's read: the same in both
        if reserve:
            hold = await book.reserve("k", 0.001)
            await book.settle(hold, 0.0009)
        else:
            await book.charge("k", 0.0009)
    return (time.perf_counter() - start) / n * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    memory = MemorySpendStore()
    print(f"memory  check-then-charge {await per_request_us(memory, args.n, reserve=False):8.1f} us/request")
    print(f"memory  reserve+settle    {await per_request_us(memory, args.n, reserve=True):8.1f} us/request")
    redis_store = RedisSpendStore(args.redis, prefix=f"omnisense-bench:{uuid.uuid4().hex}:")
    try:
        old = await per_request_us(redis_store, args.n, reserve=False)
        new = await per_request_us(redis_store, args.n, reserve=True)
        print(f"redis   check-then-charge {old:8.1f} us/request")
        print(f"redis   reserve+settle    {new:8.1f} us/request")
    finally:
        names = await redis_store.redis.keys(f"{redis_store.prefix}*")
        if names:
            await redis_store.redis.delete(*names)
        await redis_store.aclose()


if __name__ == "__main__":
    asyncio.run(main())
