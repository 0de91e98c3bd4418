"""Shared by the Bulk job tests: a clock the client's sleeps move (so jobs progress with no real wait), ZIP makers."""

from __future__ import annotations

import contextlib
import io
import zipfile
from collections.abc import AsyncIterator
from typing import Any

import anyio.lowlevel

from tests.fakes import fake_and_client
from zcrm_async import RetryPolicy, ZohoCRM
from zcrm_async.testing import FakeConfig, FakeZoho


class Clock:
    """FakeZoho's clock, moved forward by the client's sleeps: a job of 30 s takes no real time at all."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await anyio.lowlevel.checkpoint()


@contextlib.asynccontextmanager
async def bulk_world(
    *, seconds: float = 30.0, clock: Clock | None = None, **config: Any
) -> AsyncIterator[tuple[FakeZoho, ZohoCRM, Clock]]:
    """A FakeZoho whose jobs take ``seconds`` on a clock the client's sleeps move, and a client on it."""
    clock = clock or Clock()
    retry = config.pop("retry", RetryPolicy(initial=0.5, maximum=2.0, attempts=10))
    options = FakeConfig(clock=clock, bulk_job_seconds=seconds, **config)
    async with fake_and_client(options, sleep=clock.sleep, retry=retry) as (fake, crm):
        yield fake, crm, clock


def zip_bytes(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def seed_contacts(fake: FakeZoho, count: int) -> list[str]:
    return [fake.add_contact(name=f"Last {i}", email=f"p{i}@example.net") for i in range(count)]
