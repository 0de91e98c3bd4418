"""One worker process of tests/test_redis_end_to_end.py: reads emails of contacts through a shared budget.

Usage: python tests/redis_e2e_worker.py REDIS_PORT ORG API_URL CAP CONTACT_ID...
"""

from __future__ import annotations

import sys

import anyio

from zcrm_async import Budget, RetryPolicy, ZohoCRM
from zcrm_async.redis import RedisLimiter, RedisTokenStore
from zcrm_async.testing import FakeConfig


async def main(redis_port: int, org: str, api_url: str, cap: int, contacts: list[str]) -> None:
    config = FakeConfig()
    budget = Budget(concurrency=cap)
    url = f"redis://127.0.0.1:{redis_port}/0"
    async with RedisLimiter.from_url(url, budget, org=org, client_id=config.client_id, poll_interval=0.02) as limiter:
        store = RedisTokenStore(limiter.redis, org=org, client_id=config.client_id, refresh_token=config.refresh_token)
        async with (
            ZohoCRM(
                client_id=config.client_id,
                client_secret=config.client_secret,
                refresh_token=config.refresh_token,
                api_domain=api_url,
                accounts_url=api_url,
                budget=budget,
                limiter=limiter,
                token_store=store,
                retry=RetryPolicy(initial=0.01, maximum=0.1),
            ) as crm,
            anyio.create_task_group() as tg,
        ):
            for contact in contacts:
                tg.start_soon(crm.emails.page, "Contacts", contact)
    print(f"done {len(contacts)} requests={crm.counters.requests} refreshes={crm.token_refreshes}")


if __name__ == "__main__":
    port, org, api_url, cap, *ids = sys.argv[1:]
    anyio.run(main, int(port), org, api_url, int(cap), ids)
