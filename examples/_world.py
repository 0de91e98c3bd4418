"""Where the examples get a client: real Zoho from the environment, else FakeZoho started in-process.

Set ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REFRESH_TOKEN (and ZOHO_DC) to run them against your org; set
ZOHO_API_DOMAIN and ZOHO_ACCOUNTS_URL (both) to run them against another server, e.g. `zcrm-async fake-server`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

from zcrm_async import Budget, ZohoCRM
from zcrm_async.testing import FakeConfig, FakeZoho, SeedSummary


@contextlib.asynccontextmanager
async def client(*, seed_contacts: int = 20) -> AsyncIterator[tuple[ZohoCRM, SeedSummary | None]]:
    """A ZohoCRM for the environment's org, or for a FakeZoho seeded with `seed_contacts` contacts.

    With the fake, the second value says what was seeded: 2 deals per contact (the newer one gets the received
    emails by Deal Prediction) and 12 emails per contact, all owned by one user.
    """
    if os.environ.get("ZOHO_REFRESH_TOKEN"):
        async with ZohoCRM(
            client_id=os.environ["ZOHO_CLIENT_ID"],
            client_secret=os.environ["ZOHO_CLIENT_SECRET"],
            refresh_token=os.environ["ZOHO_REFRESH_TOKEN"],
            data_centre=os.environ.get("ZOHO_DC", "us"),
            api_domain=os.environ.get("ZOHO_API_DOMAIN") or None,
            accounts_url=os.environ.get("ZOHO_ACCOUNTS_URL") or None,
        ) as crm:
            yield crm, None
        return
    config = FakeConfig(latency=0.02, concurrency_cap=10)
    async with FakeZoho(config) as fake:
        seeded = fake.seed_world(contacts=seed_contacts, deals_per_contact=2, emails_per_contact=12)
        async with ZohoCRM(
            client_id=config.client_id,
            client_secret=config.client_secret,
            refresh_token=config.refresh_token,
            api_domain=fake.url,
            accounts_url=fake.accounts_url,
            budget=Budget(concurrency=config.concurrency_cap),
        ) as crm:
            yield crm, seeded
