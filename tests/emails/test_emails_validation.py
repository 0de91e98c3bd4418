"""Emails' validation: a bad item, an empty input, a repeated email or a chunk size beyond Zoho's is refused
by index and field before anything is sent."""

from __future__ import annotations

import pytest

from tests.emails.mailbox import CONTACT_A, DEAL, OTHER_DEAL, OWNER, FakeMailbox, link, make, unlink
from zcrm_async.emails import DealLink, DealUnlink

pytestmark = pytest.mark.anyio


# -- validation: nothing is sent -------------------------------------------------------------------------------

BAD_LINKS = [
    (link(3, contact="12x"), "contact_id", "must be a numeric Zoho id"),
    (link(3, contact=""), "contact_id", "is missing"),
    (link(3, deal_id="deal-1"), "deal_id", "must be a numeric Zoho id"),
    (link(3, deal_id=None), "deal_id", "is missing"),
    (link(3, owner_id=""), "owner_id", "is missing"),
    (link(3, owner_id=None), "owner_id", "is missing"),
    (link(3, owner_id="-5"), "owner_id", "must be a numeric Zoho id"),
    (link(3, owner_id=True), "owner_id", "must be a numeric Zoho id"),
    (link(3, message_id="abc-def"), "message_id", "has characters outside"),
    (link(3, message_id="abc def"), "message_id", "has characters outside"),
    (link(3, message_id="abc\n"), "message_id", "has characters outside"),
    (link(3, message_id="é" * 3), "message_id", "has characters outside"),
    (link(3, message_id="a" * 501), "message_id", "is 501 characters long"),
    (link(3, message_id=""), "message_id", "is missing"),
    (link(3, message_id=12345), "message_id", "must be a string"),
    (link(3, deal_name="D" * 256), "deal_name", "is 256 characters long; Zoho allows 255"),
    # a huge value is quoted in part, never whole
    (link(3, contact="9" * 100_000 + "x"), "contact_id", r"must be a numeric Zoho id, got '9{40}'\.\.\. \(100001 "),
]


@pytest.mark.parametrize(("bad", "field", "problem"), BAD_LINKS)
async def test_a_bad_link_item_is_refused_by_index_and_field_and_nothing_is_sent(
    bad: DealLink, field: str, problem: str
) -> None:
    crm, transport = make(FakeMailbox())
    items = [link(0), link(1), link(2), bad, link(4)]

    with pytest.raises(ValueError, match=f"^item 3: {field} {problem}"):
        await crm.emails.link_deal(items)

    assert transport.requests == []  # not even a token call


async def test_a_500_character_message_id_is_accepted() -> None:
    mailbox = FakeMailbox()
    crm, _ = make(mailbox)
    result = await crm.emails.link_deal([link(0, message_id="a" * 500)])
    assert result.ok


async def test_empty_input_is_refused_and_nothing_is_sent() -> None:
    crm, transport = make(FakeMailbox())
    with pytest.raises(ValueError, match="empty"):
        await crm.emails.link_deal([])
    with pytest.raises(ValueError, match="empty"):
        await crm.emails.unlink_deal(iter([]))
    assert transport.requests == []


@pytest.mark.parametrize(
    ("bad", "field"),
    [(unlink(2, contact="x"), "contact_id"), (unlink(2, owner_id=""), "owner_id"),
     (unlink(2, message_id="a,b"), "message_id"), (unlink(2, message_id="a" * 501), "message_id")],
)
async def test_a_bad_unlink_item_is_refused_and_nothing_is_sent(bad: DealUnlink, field: str) -> None:
    crm, transport = make(FakeMailbox())
    with pytest.raises(ValueError, match=f"^item 2: {field} "):
        await crm.emails.unlink_deal([unlink(0), unlink(1), bad])
    assert transport.requests == []


async def test_single_link_validates_before_sending() -> None:
    crm, transport = make(FakeMailbox())
    with pytest.raises(ValueError, match="message_id has characters outside"):
        await crm.emails.link(CONTACT_A, "not/ok", deal_id=DEAL, owner_id=OWNER)
    assert transport.requests == []


@pytest.mark.parametrize("chunk_size", [0, 21])
async def test_chunk_size_beyond_zohos_limit_is_refused(chunk_size: int) -> None:
    crm, transport = make(FakeMailbox())
    with pytest.raises(ValueError, match="between 1 and 20"):
        await crm.emails.link_deal([link(0)], chunk_size=chunk_size)
    assert transport.requests == []


async def test_the_same_email_twice_is_refused_before_sending() -> None:
    mailbox = FakeMailbox()
    crm, transport = make(mailbox)
    with pytest.raises(ValueError, match=r"item 2: message_id repeats item 0"):
        await crm.emails.relink([link(0), link(1), link(0, deal_id=OTHER_DEAL)])
    assert transport.requests == []
