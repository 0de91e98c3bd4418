"""Worker processes for tests/test_redis.py: run as ``python redis_helpers.py <command> <args...>``.

They are separate programs (not forked) so that each one is what a real deployment runs: its own interpreter,
event loop and Redis connections, sharing nothing with the test but the Redis server.
"""

from __future__ import annotations

import contextlib
import sys

import anyio

from zcrm_async import Budget
from zcrm_async.redis import RedisLimiter

#: Count one call in flight and keep the highest count seen, in one atomic step.
PEAK_INCR = """
local n = redis.call('INCR', KEYS[1])
if n > tonumber(redis.call('GET', KEYS[2]) or '0') then redis.call('SET', KEYS[2], n) end
return n
"""


def limiter(port: int, org: str, cap: int, *, lease: float = 30.0) -> RedisLimiter:
    return RedisLimiter.from_url(
        f"redis://127.0.0.1:{port}/0",
        Budget(concurrency=cap, heavy_concurrency=cap),
        org=org,
        client_id="1000.TEST",
        lease_seconds=lease,
        poll_interval=0.05,
    )


async def hammer(port: int, org: str, cap: int, tasks: int, rounds: int) -> None:
    """Many short requests: each holds a slot, counts itself in Redis for a few ms, then leaves."""
    async with limiter(port, org, cap) as shared:
        peak_incr = shared.redis.register_script(PEAK_INCR)
        keys = [f"test:{org}:now", f"test:{org}:peak"]

        async def worker() -> None:
            for _ in range(rounds):
                async with shared.slot(heavy=False):
                    await peak_incr(keys=keys)
                    await anyio.sleep(0.003)
                    await shared.redis.decr(keys[0])

        async with anyio.create_task_group() as tg:
            for _ in range(tasks):
                tg.start_soon(worker)
    print("done", flush=True)


async def hold(port: int, org: str, cap: int, lease: float) -> None:
    """Take every slot, say so, and keep them (renewing the leases) until killed."""
    async with limiter(port, org, cap, lease=lease) as shared, contextlib.AsyncExitStack() as stack:
        for _ in range(cap):
            await stack.enter_async_context(shared.slot(heavy=False))
        print("held", flush=True)
        await anyio.sleep_forever()


def main(argv: list[str]) -> None:
    command, port, org, cap, *rest = argv
    if command == "hammer":
        anyio.run(hammer, int(port), org, int(cap), int(rest[0]), int(rest[1]))
    elif command == "hold":
        anyio.run(hold, int(port), org, int(cap), float(rest[0]))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
