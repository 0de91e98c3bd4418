"""Zoho's callbacks: FakeZoho posts to the job's callback URL (on 127.0.0.1) when the job is done; the caller's
handler reports it to ``JobNotices`` and the wait reads the status then, not on its growing pauses.

These jobs run on the real clock (0.3 s): the callback is posted from FakeZoho's own task, as Zoho's servers
would. The polls are set far apart (an hour) so only the callback can end the wait within the test's bound.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import anyio
import pytest
from aiohttp import web

from tests.bulk_jobs.helpers import seed_contacts
from tests.fakes import fake_and_client
from zcrm_async.bulk_jobs import BulkJobs, JobNotices, Poll
from zcrm_async.testing import FakeConfig

pytestmark = pytest.mark.anyio

RARELY = Poll(initial=3600.0, maximum=3600.0, fallback=3600.0)


class Receiver:
    """The caller's own HTTP endpoint for Zoho's callbacks, on 127.0.0.1."""

    def __init__(self, notices: JobNotices) -> None:
        self.notices = notices
        self.bodies: list[dict[str, object]] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.bodies.append(body)
        self.notices.notify(str(body.get("job_id") or body.get("id")))
        return web.Response(status=200)


@contextlib.asynccontextmanager
async def receiver(notices: JobNotices) -> AsyncIterator[tuple[Receiver, str]]:
    handler = Receiver(notices)
    app = web.Application()
    app.router.add_post("/zoho/callback", handler.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield handler, f"http://127.0.0.1:{port}/zoho/callback"
    finally:
        await runner.cleanup()


async def test_an_export_waits_for_each_jobs_callback_and_reads_its_status_once() -> None:
    notices = JobNotices()
    async with fake_and_client(FakeConfig(bulk_job_seconds=0.3, bulk_read_page_size=10)) as (fake, crm):
        ids = seed_contacts(fake, 25)
        bulk = BulkJobs(crm, poll=RARELY)
        async with receiver(notices) as (handler, url):
            with anyio.fail_after(20):
                rows = [row["id"] async for row in bulk.read.export("Contacts", fields=["Email"], callback_url=url,
                                                                     notices=notices)]  # fmt: skip
            assert rows == ids
            assert [body["state"] for body in handler.bodies] == ["COMPLETED"] * 3
            assert fake.bulk.status_reads == 3  # one per job: when its callback came


async def test_a_bulk_write_waits_for_its_callback() -> None:
    notices = JobNotices()
    async with fake_and_client(FakeConfig(bulk_job_seconds=0.3)) as (fake, crm):
        bulk = BulkJobs(crm, poll=RARELY)
        async with receiver(notices) as (handler, url):
            with anyio.fail_after(20):
                result = await bulk.write.run("Contacts", [{"Last_Name": "Called"}], columns=["Last_Name"],
                                              callback_url=url, notices=notices)  # fmt: skip
            assert result.ok and handler.bodies[0]["status"] == "COMPLETED"
            assert fake.bulk.status_reads == 1


async def test_a_callback_that_comes_before_the_wait_starts_is_not_missed() -> None:
    notices = JobNotices()
    notices.notify("123")
    with anyio.fail_after(5):
        await notices.event("123").wait()
