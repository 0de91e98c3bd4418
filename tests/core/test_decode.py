"""A 2xx answer every resource cannot read is one ``ResponseDecodeError`` (status, start of the body), from one helper.

Driven through each resource's public method with MockTransport answering an HTML page (what a proxy in front of
Zoho sends) or a shape Zoho does not document; and the source is read so that no second copy of "decode or raise
ResponseDecodeError" is written by hand beside ``_decode.py``.
"""

from __future__ import annotations

import ast
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

import zcrm_async
from zcrm_async import ResponseDecodeError, RetryPolicy, ZohoCRM
from zcrm_async.audit import read_stage_outcomes
from zcrm_async.coql import Query
from zcrm_async.plumbing import Request, Response
from zcrm_async.testing import MockTransport, json_response

pytestmark = pytest.mark.anyio

TOKEN = {"access_token": "1000.tok", "expires_in": 3600, "api_domain": "https://www.zohoapis.com"}
HTML = b"<html><body>502 Bad Gateway</body></html>"

Call = Callable[[ZohoCRM], Awaitable[Any]]
CALLS: dict[str, Call] = {
    "records.get": lambda crm: crm.records.get("Leads", "1"),
    "records.page": lambda crm: crm.records.page("Leads", fields=["id"]),
    "records.count": lambda crm: crm.records.count("Leads"),
    "records.coql_page": lambda crm: crm.records.coql_page(Query("Leads", ["id"])),
    "emails.page": lambda crm: crm.emails.page("Contacts", "1"),
    "emails.get": lambda crm: crm.emails.get("Contacts", "1", "m1"),
    "modules.api_names": lambda crm: crm.modules.api_names(),
    "audit.read_stage_outcomes": lambda crm: read_stage_outcomes(crm),
    "bulk.read.status": lambda crm: crm.bulk.read.status("1"),
}


def client(body: bytes) -> ZohoCRM:
    def answer(request: Request) -> Response:
        if "oauth/v2/token" in request.url:
            return json_response(200, TOKEN)
        return Response(200, {"Content-Type": "application/json"}, body)

    return ZohoCRM(client_id="1000.id", client_secret="secret", refresh_token="1000.refresh",
                   transport=MockTransport(answer), retry=RetryPolicy.no_wait())  # fmt: skip


@pytest.mark.parametrize("name", sorted(CALLS))
async def test_an_unreadable_answer_is_a_response_decode_error_with_its_status_and_body(name: str) -> None:
    async with client(HTML) as crm:
        with pytest.raises(ResponseDecodeError, match="could not be read") as caught:
            await CALLS[name](crm)
    assert caught.value.status == 200
    assert caught.value.body_prefix.startswith(b"<html>")


async def test_a_count_that_is_no_number_is_a_response_decode_error() -> None:
    async with client(b'{"count": "about twelve"}') as crm:
        with pytest.raises(ResponseDecodeError, match="record count could not be read"):
            await crm.records.count("Leads")


def handlers_raising_decode_errors(path: Path) -> list[int]:
    """Lines of ``except`` clauses that raise ``ResponseDecodeError`` themselves: a hand-written decode-or-raise."""
    lines = []
    for handler in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(handler, ast.ExceptHandler):
            continue
        for node in ast.walk(handler):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                called = node.exc.func
                if getattr(called, "id", getattr(called, "attr", None)) == "ResponseDecodeError":
                    lines.append(handler.lineno)
    return lines


def test_decode_or_raise_is_written_once() -> None:
    package = Path(zcrm_async.__file__).parent
    found = {
        str(path.relative_to(package)): lines
        for path in sorted(package.rglob("*.py"))
        if (lines := handlers_raising_decode_errors(path))
    }
    assert list(found) == ["_decode.py"]
