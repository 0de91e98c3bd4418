"""Lost responses on every write method, through the real aiohttp transport.

aiohttp resends a GET, PUT or DELETE by itself when a reused connection drops after the request went out, and
says nothing: the client would never learn its DELETE was sent twice. The transport turns that off, so the
client's own retry (which marks the answer as a replay's, and reads writes back) is the only resend.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web

# private on purpose: the transport's switch for aiohttp's hidden resends, patched to act as an aiohttp without it
import zcrm_async._transport as transport_module
from tests.fakes import fake_and_client, links_for
from tests.hostile import HostileServer
from zcrm_async import RetryPolicy, TransportError
from zcrm_async.emails import DealUnlink
from zcrm_async.plumbing import AiohttpTransport, Request
from zcrm_async.testing import FakeConfig

pytestmark = pytest.mark.anyio

FAULTY = RetryPolicy(initial=0.001, maximum=0.01, attempts=12)


@asynccontextmanager
async def dropping_writes() -> AsyncIterator[HostileServer]:
    """A server that answers GETs and drops the connection of every write once it has read it."""
    async with HostileServer().running() as server:

        async def handle(request: web.Request) -> web.StreamResponse:
            if request.method == "GET":
                return web.json_response({"ok": True})
            assert request.transport is not None
            request.transport.close()  # the write was received (and applied): its answer is lost
            return web.Response()

        server.handler = handle
        yield server


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
async def test_a_write_whose_reused_connection_drops_is_sent_once(method: str) -> None:
    transport = AiohttpTransport()
    try:
        async with dropping_writes() as server:
            await transport.send(Request("GET", f"{server.url}/warm"))  # the next request reuses this connection
            with pytest.raises(TransportError):
                await transport.send(Request(method, f"{server.url}/write", content=b"{}"))
            writes = [r for r in server.received if r.method == method]
    finally:
        await transport.aclose()
    assert len(writes) == 1  # aiohttp would have sent PUT and DELETE twice, silently


async def test_a_session_passed_in_has_the_hidden_resend_turned_off_too() -> None:
    async with aiohttp.ClientSession() as session, dropping_writes() as server:
        transport = AiohttpTransport(session=session)
        await transport.send(Request("GET", f"{server.url}/warm"))
        with pytest.raises(TransportError):
            await transport.send(Request("DELETE", f"{server.url}/write"))
        assert [r.method for r in server.received].count("DELETE") == 1


async def test_this_aiohttp_has_the_switch_the_transport_relies_on() -> None:
    # The switch is private to aiohttp: if an upgrade removes it, this fails instead of the guarantee silently.
    async with aiohttp.ClientSession() as session:
        assert session._retry_connection is True
        AiohttpTransport(session=session)
        assert session._retry_connection is False


async def test_without_the_switch_put_and_delete_answers_count_as_replays(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transport_module, "_turn_off_hidden_resends", lambda session: False)  # an aiohttp without it
    async with aiohttp.ClientSession() as session, HostileServer().running() as server:
        transport = AiohttpTransport(session=session)
        replayed = {}
        for method in ("GET", "POST", "PUT", "DELETE"):
            replayed[method] = (await transport.send(Request(method, f"{server.url}/x"))).replayed
    assert replayed == {"GET": False, "POST": False, "PUT": True, "DELETE": True}


async def test_unlink_with_lost_responses_unlinks_every_email_and_reports_none_failed() -> None:
    async with fake_and_client(FakeConfig(seed=11), retry=FAULTY) as (fake, crm):
        links = links_for(fake, contacts=60, emails_each=10)
        assert (await crm.emails.link_deal(links)).ok
        fake.set_faults(lost_response_rate=0.2)

        result = await crm.emails.unlink_deal(
            [DealUnlink(contact_id=x.contact_id, message_id=x.message_id, owner_id=x.owner_id) for x in links]
        )

        assert fake.stats.lost_responses > 0
        assert result.counts == {"SUCCESS": 600}, result.counts
        assert all(fake.link_of(x.message_id) is None for x in links)


async def test_related_update_with_lost_responses_relates_every_row() -> None:
    async with fake_and_client(FakeConfig(seed=12, lost_response_rate=0.3), retry=FAULTY) as (fake, crm):
        contact = fake.add_contact("Contact", external_id="extc1")
        deals = [fake.add_deal(f"Deal {i}", external_id=f"extd{i}") for i in range(300)]
        result = await crm.records.update_related_by_external_id(
            "Contacts", "extc1", "Deals", [{"External_Deal_ID": f"extd{i}"} for i in range(300)],
            external=["Contacts.External_Contact_ID", "Deals.External_Deal_ID"],
        )  # fmt: skip
        assert fake.stats.lost_responses > 0
        assert result.ok, result.counts
        assert all(contact in fake.world.record(deal, "Deals").contact_ids for deal in deals)  # type: ignore[union-attr]


async def test_relink_with_lost_responses_and_drops_puts_every_email_on_its_new_deal() -> None:
    async with fake_and_client(FakeConfig(seed=13), retry=FAULTY) as (fake, crm):
        links = links_for(fake, contacts=40, emails_each=10)
        assert (await crm.emails.link_deal(links)).ok
        other_deal = {x.contact_id: fake.add_deal("Other deal", [x.contact_id]) for x in links}
        moves = [dataclasses.replace(x, deal_id=other_deal[x.contact_id], deal_name="Other deal") for x in links]
        fake.set_faults(lost_response_rate=0.1, drop_rate=0.05)

        result = await crm.emails.relink(moves)

        assert fake.stats.lost_responses > 0 and fake.stats.dropped > 0
        assert result.counts == {"SUCCESS": 400}, result.counts
        assert all(fake.link_of(move.message_id) == move.deal_id for move in moves)
