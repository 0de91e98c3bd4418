"""relink: an email linked elsewhere is moved, one on the intended deal is left alone, and nothing is unlinked
whose deal could not be read."""

from __future__ import annotations

import pytest

from tests.emails.mailbox import DEAL, DEALS_MODULE_ID, OTHER_DEAL, FakeMailbox, link, make, mid
from zcrm_async import Request, Response, RetryPolicy, ZohoCRM
from zcrm_async.testing import MockTransport, json_response

pytestmark = pytest.mark.anyio


# -- relink ------------------------------------------------------------------------------------------------


async def test_relink_moves_an_email_linked_elsewhere() -> None:
    mailbox = FakeMailbox()
    mailbox.linked[mid(1)] = OTHER_DEAL
    crm, _ = make(mailbox)

    result = await crm.emails.relink([link(0), link(1), link(2)])

    assert [r.code for r in result] == ["SUCCESS"] * 3
    assert mailbox.linked == {mid(0): DEAL, mid(1): DEAL, mid(2): DEAL}
    # read back, then the deal's contact read, before unlinking
    assert [r.method for r in mailbox.api] == ["POST", "GET", "GET", "DELETE", "POST"]
    assert result[1].attempts == 4 and result[0].attempts == 1


async def test_relink_leaves_an_email_already_on_the_intended_deal_alone() -> None:
    mailbox = FakeMailbox()
    mailbox.linked[mid(1)] = DEAL
    crm, _ = make(mailbox)

    result = await crm.emails.relink([link(0), link(1)])

    assert [(r.code, r.message) for r in result] == [("SUCCESS", "success"), ("SUCCESS", "already linked to this deal")]
    assert [r.method for r in mailbox.api] == ["POST", "GET"]  # never unlinked: a correct link is not undone


async def test_relink_never_unlinks_an_email_whose_deal_could_not_be_read() -> None:
    mailbox = FakeMailbox()
    mailbox.linked[mid(1)] = DEAL  # already right, but the list cannot be read now
    real = mailbox.__call__

    def list_refused(request: Request) -> Response:
        if request.method == "GET":
            mailbox.api.append(request)
            refusal = {"code": "CANNOT_PROCESS", "details": {}, "message": "syncing", "status": "error"}
            return json_response(400, refusal)
        return real(request)

    crm = ZohoCRM(client_id="1000.id", client_secret="s", refresh_token="1000.r",
                  transport=MockTransport(list_refused), api_domain="https://www.zohoapis.com",
                  retry=RetryPolicy.no_wait(attempts=3))
    result = await crm.emails.relink([link(0), link(1)], deals_module_id=DEALS_MODULE_ID)
    assert [r.code for r in result] == ["SUCCESS", "LINK_UNVERIFIED"]
    assert "DELETE" not in [r.method for r in mailbox.api] and mailbox.linked[mid(1)] == DEAL
