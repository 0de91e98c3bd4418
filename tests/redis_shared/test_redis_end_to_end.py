"""Four client processes share one org's budget and token through a real redis-server, against FakeZoho."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import anyio
import pytest

from zcrm_async.testing import FakeConfig, FakeZoho

pytestmark = pytest.mark.anyio

WORKER = Path(__file__).parent.parent / "redis_e2e_worker.py"
ROOT = WORKER.parent.parent


async def test_four_processes_stay_under_the_org_cap_and_refresh_once(redis_port: int) -> None:
    cap = 6
    async with FakeZoho(FakeConfig(concurrency_cap=cap, latency=0.02)) as fake:
        owner = fake.add_user("Owner")
        contacts = [fake.add_contact(name=f"C{i}") for i in range(240)]
        for contact in contacts:
            fake.add_email(contact, owner, received=False)
        org = f"org-{uuid.uuid4().hex[:8]}"
        outputs: list[str] = []

        async def worker(ids: list[str]) -> None:
            command = [sys.executable, str(WORKER), str(redis_port), org, fake.url, str(cap), *ids]
            with anyio.fail_after(60):
                done = await anyio.run_process(command, cwd=ROOT, check=False)
            assert done.returncode == 0, done.stderr.decode()
            outputs.append(done.stdout.decode())

        async with anyio.create_task_group() as tg:
            for part in range(4):
                tg.start_soon(worker, contacts[part::4])

        assert fake.stats.requests["get_emails"] == 240
        assert fake.stats.max_in_flight <= cap  # each process alone would have allowed `cap`: together, too
        assert fake.stats.throttled_429 == 0
        assert fake.stats.token_refreshes == 1  # four processes, one token
        assert sum("refreshes=1" in out for out in outputs) == 1
