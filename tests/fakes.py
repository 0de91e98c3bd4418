"""Helpers to run a ZohoCRM client against FakeZoho on 127.0.0.1 through the real aiohttp transport."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from zcrm_async import Budget, RetryPolicy, ZohoCRM
from zcrm_async.emails import DealLink
from zcrm_async.testing import FakeConfig, FakeZoho

#: A token's scopes that link, unlink and read emails but may not read Deals records: relink cannot check a
#: target deal's contacts before unlinking, and goes on without the check.
NO_DEALS_READ = "ZohoCRM.modules.emails.ALL ZohoCRM.modules.contacts.ALL ZohoCRM.settings.modules.READ"


@contextlib.asynccontextmanager
async def fake_and_client(
    config: FakeConfig | None = None, **client_options: Any
) -> AsyncIterator[tuple[FakeZoho, ZohoCRM]]:
    """A started FakeZoho and a client pointed at it by api_domain/accounts_url; both closed afterwards."""
    config = config or FakeConfig()
    client_options.setdefault("budget", Budget(concurrency=config.concurrency_cap))
    client_options.setdefault("retry", RetryPolicy(initial=0.005, maximum=0.05, attempts=10))
    async with FakeZoho(config) as fake:
        crm = ZohoCRM(
            client_id=config.client_id,
            client_secret=config.client_secret,
            refresh_token=config.refresh_token,
            api_domain=fake.url,
            accounts_url=fake.accounts_url,
            **client_options,
        )
        async with crm:
            yield fake, crm


def links_for(fake: FakeZoho, contacts: int, emails_each: int) -> list[DealLink]:
    """Seed `contacts` contacts with one open deal each and `emails_each` sent (unlinked) emails; the links to make."""
    owner = fake.add_user("Patricia Boyle")
    items: list[DealLink] = []
    for c in range(contacts):
        contact = fake.add_contact(name=f"Contact {c}", email=f"c{c}@example.net")
        deal = fake.add_deal(f"Deal {c}", contact_ids=[contact])
        for _ in range(emails_each):
            message_id = fake.add_email(contact, owner, subject="hello", received=False)
            items.append(
                DealLink(
                    contact_id=contact,
                    message_id=message_id,
                    deal_id=deal,
                    deal_name=f"Deal {c}",
                    owner_id=owner,
                    owner_name="Patricia Boyle",
                )
            )
    return items
