"""Unlinking an email that is not linked ends in the state asked for: NOT_LINKED, a success, for unlink_deal and
for relink's unlink step; an unknown email stays Zoho's INVALID_DATA. Real transport against FakeZoho."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.fakes import fake_and_client, links_for
from zcrm_async import DealUnlink, ZohoCRM
from zcrm_async.plumbing import AiohttpTransport, Request, Response
from zcrm_async.testing import FakeZoho

pytestmark = pytest.mark.anyio


class BeforeDelete:
    """The client's transport, running ``act`` just before each DELETE leaves (another user, racing it)."""

    def __init__(self, act: Callable[[], None]) -> None:
        self.inner = AiohttpTransport()
        self.act = act

    async def send(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.act()
        return await self.inner.send(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_unlink_reports_not_linked_as_done_and_an_unknown_email_as_zoho_refused_it() -> None:
    async with fake_and_client() as (fake, crm):
        links = links_for(fake, contacts=1, emails_each=3)
        await crm.emails.link_deal(links[:1])
        items = [DealUnlink(contact_id=x.contact_id, message_id=x.message_id, owner_id=x.owner_id) for x in links]
        unknown = DealUnlink(contact_id=links[0].contact_id, message_id="f" * 64, owner_id=links[0].owner_id)

        result = await crm.emails.unlink_deal([*items, unknown])

        assert [(r.code, r.status) for r in result] == [
            ("SUCCESS", "success"),
            ("NOT_LINKED", "success"),
            ("NOT_LINKED", "success"),
            ("INVALID_DATA", "error"),
        ]
        assert [r.attempts for r in result] == [1, 2, 2, 2]  # the refused ones were read back once


async def test_relink_treats_an_email_unlinked_under_it_as_done_and_links_it() -> None:
    async with FakeZoho() as fake:
        (link,) = links_for(fake, contacts=1, emails_each=1)
        elsewhere = fake.add_deal("Elsewhere", [link.contact_id])
        fake.world.link_directly(link.message_id, elsewhere)  # relink reads this back, then unlinks it...
        # ...but someone unlinks it first: Zoho answers the unlink INVALID_DATA.
        transport = BeforeDelete(lambda: fake.world.unlink_code(link.contact_id, link.message_id))
        async with ZohoCRM(
            client_id=fake.config.client_id, client_secret=fake.config.client_secret,
            refresh_token=fake.config.refresh_token, api_domain=fake.url, accounts_url=fake.accounts_url,
            transport=transport,
        ) as crm:  # fmt: skip
            result = await crm.emails.relink([link])
        await transport.aclose()

    assert (result[0].code, result[0].status) == ("SUCCESS", "success")
    assert fake.link_of(link.message_id) == link.deal_id
    assert fake.stats.requests["unlink_emails"] == 1
