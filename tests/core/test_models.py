"""The wire models against every sample JSON of Zoho's pages (Zoho's endpoint pages, copied to ``fixtures/``).

The fixtures are the doc samples verbatim, except where a sample is not JSON at all:

- ``get_emails_list_response.json`` (Get Emails of a Record): the page has ``"subject": "test with attachment""``
  with a stray second quote (twice) and a third list element ``{ ... }`` as a placeholder; the stray quotes are
  removed and the placeholder element dropped. Nothing else is changed.
- ``associate_*.json`` (Associate Email with a Record): the markdown dump ends lines inside the JSON with ``\\``
  line-continuation escapes; they are stripped.
- ``kaizen_*.json`` (Kaizen #229): the post indents with non-breaking spaces (U+00A0), which JSON does not accept
  as whitespace; they are replaced by spaces.
"""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from zcrm_async.models import (
    Address,
    AssociateEmail,
    EmailsPage,
    LinkedRecord,
    LinkItem,
    ModuleRef,
    Owner,
    decode_email_envelope,
    decode_emails_page,
    decode_item_statuses,
    encode_associate_body,
    encode_data_body,
    encode_link_body,
)

FIXTURES = Path(__file__).parent.parent / "fixtures"


def raw(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def parsed(name: str) -> Any:
    return json.loads(raw(name))


# -- Get Emails of a Record ----------------------------------------------------------------------------------


def test_get_emails_sample_decodes_into_emails_page() -> None:
    page = decode_emails_page(raw("get_emails_list_response"))

    assert isinstance(page, EmailsPage)
    assert [email.message_id for email in page.Emails] == [
        "f1605986931c500d26ac22b396077e87736b40ac35a094851466f1918966b2e703ad757140074c63cd7cc78b5140ed45",
        "2e10816e80281e1db9f94dfcd85ed1a46a935fd85d98ce1f7491f85ae8db6edb038a290bff25780610d61f6748b12925",
    ]
    first, second = page.Emails
    assert first.owner == Owner(name="Patricia Boyle", id="2313985000000470001")
    assert first.from_ == Address(email="p.boyle@abc.com", user_name="Patricia Boyle")
    assert first.to is not None
    assert [addr.email for addr in first.to] == ["christopher-maclead@noemail.com", "christopher-maclead@34523.com"]
    assert first.subject == "test with attachment"
    assert first.read is True and first.sent is True and first.has_attachment is False
    assert first.linked_record is None and first.cc is None
    assert first.time == "2023-12-06T11:55:16+05:30"
    assert first.status is not None and first.status[0].type == "sent"
    assert second.status is not None
    bounced = second.status[0]
    assert bounced.type == "bounced"
    assert bounced.bounced_reason == "Retries Exhausted. Host not reachable."
    assert bounced.category == "Temporarily blocked"
    assert bounced.sub_category == "Temporary Domain Failure"
    assert page.info.per_page == 10
    assert page.info.count == 10
    assert page.info.more_records is True
    assert page.info.prev_index == "0"
    assert page.info.next_index == (
        "487a357e145f0949daec41facb432a1e667349598e57461a6f16f38e3ba444231c01809c86faabb8ce0d9236a16fe897"
    )


def test_get_single_email_sample_decodes_through_the_envelope() -> None:
    envelope = decode_email_envelope(raw("get_email_single_response"))

    (email,) = envelope.Emails
    assert email.subject == "test with attachment"
    assert email.mail_format == "html"
    assert email.content is not None and email.content.startswith("<div style=")
    assert "test with attachment<br />" in email.content
    assert email.editable is False
    assert email.thread_id == "12343212343"
    assert email.sent_time == "2022-12-06T04:51:14+05:30"
    assert email.reply_to == Address(email="", user_name=None)
    assert email.attachments is not None
    assert [(a.id, a.name, a.size) for a in email.attachments] == [
        ("72daf06xxx349c51ce66", "email_templates.png", "24792")
    ]
    assert email.status is not None
    opened = email.status[0]
    assert (opened.type, opened.count, opened.first_open) == ("opened", "1", "2022-12-06T06:23:38+05:30")
    assert email.intent == "purchase" and email.sentiment_info == "positive" and email.emotion == "gratitude"


def test_a_decoded_page_puts_only_its_lists_before_the_cycle_collector() -> None:
    # gc=False on the answers' Structs: a page and its emails are never tracked (figure 2's queued calls), while
    # the lists in them still are, as any list is; what they hold is read as before.
    page = decode_emails_page(raw("get_emails_list_response"))
    assert page.Emails
    assert not gc.is_tracked(page)
    assert not any(gc.is_tracked(email) for email in page.Emails)
    assert gc.is_tracked(page.Emails)
    assert page.Emails[0].to is None or all(isinstance(a, Address) for a in page.Emails[0].to)


def test_an_email_without_message_id_does_not_decode_into_the_page() -> None:
    # The list page requires message_id: the doc's "{...}" placeholder is not something the model should accept.
    body = b'{"Emails": [{"subject": "x"}], "info": {"more_records": false}}'
    with pytest.raises(msgspec.ValidationError):
        decode_emails_page(body)


# -- per-item statuses ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("link_multi_response", "email has been linked with the deal successfully"),
        ("kaizen_link_multi_response", "email has been linked with the deal successfully"),
        ("kaizen_unlink_multi_response", "email has been unlinked from the deal successfully"),
    ],
)
def test_link_and_unlink_responses_decode_flat(name: str, message: str) -> None:
    statuses = decode_item_statuses(raw(name))

    assert [(s.code, s.status, s.message) for s in statuses] == [("SUCCESS", "success", message)] * 2
    assert [s.details["message_id"] for s in statuses] == [
        "8937fb892cc6f15b95bc22ecb91b6f85e9f60916ef9314d484543df546f09ad1",
        "6622e532084a2c329b44f4d7c58a93bb2f616d21e1e73cc1e9cc71d24ef6b5f5",
    ]


def test_kaizen_single_link_response_decodes() -> None:
    (status,) = decode_item_statuses(raw("kaizen_link_single_response"))
    assert status.code == "SUCCESS"
    assert status.details == {"message_id": "b9c24f3b403f8c3b197f2b8ab967c104d597ab1b968e3b8a59437278f4f26f77"}


def test_single_link_response_echoes_the_input_without_codes() -> None:
    (status,) = decode_item_statuses(raw("link_single_response"))
    assert not status.code and not status.status and not status.details


def test_associate_response_decodes() -> None:
    (status,) = decode_item_statuses(raw("associate_response"))
    assert (status.code, status.status) == ("SUCCESS", "success")
    assert status.message == "Your mail has been added successfully"
    assert status.details == {"message_id": "39c17f1033cd120e62f8104c545af0ef3bf9a4d702dd9c006bc737afa46d6975"}


@pytest.mark.parametrize("name", ["external_id_by_external_ids_response", "external_id_by_record_id_response"])
def test_external_id_responses_decode_from_data(name: str) -> None:
    (status,) = decode_item_statuses(raw(name))
    assert (status.code, status.message) == ("SUCCESS", "relation added")
    assert status.details == {"External_Deal_ID": "extdeal3", "id": "111111000000094028"}


def test_nested_emails_array_is_flattened() -> None:
    # The OAS 400 example of link/unlink nests the per-item array one level: {"Emails": [[...]]}.
    body = json.dumps(
        {
            "Emails": [
                [
                    {"code": "ALREADY_LINKED", "status": "error", "message": "already linked",
                     "details": {"message_id": "a1"}},
                    {"code": "INVALID_DATA", "status": "error", "message": "invalid", "details": {"message_id": "b2"}},
                ],
                [{"code": "SUCCESS", "status": "success", "message": "ok", "details": {"message_id": "c3"}}],
            ]
        },
        indent=2,
    ).encode()

    statuses = decode_item_statuses(body)

    assert [(s.code, s.details["message_id"]) for s in statuses] == [
        ("ALREADY_LINKED", "a1"),
        ("INVALID_DATA", "b2"),
        ("SUCCESS", "c3"),
    ]


def test_empty_emails_array_is_no_statuses() -> None:
    assert decode_item_statuses(b'{"Emails": []}') == []


@pytest.mark.parametrize(
    "body",
    [b'{"code": "INVALID_DATA", "details": {}, "message": "x", "status": "error"}', b"<html>", b""],
)
def test_a_body_without_an_items_array_is_a_msgspec_error(body: bytes) -> None:
    # Documented contract: callers (the bulk layer) catch these and fail the chunk with the cause.
    with pytest.raises((msgspec.DecodeError, msgspec.ValidationError)):
        decode_item_statuses(body)


# -- request bodies ------------------------------------------------------------------------------------------

DEALS = ModuleRef(api_name="Deals", id="5843104000000003735")
PATRICIA = Owner(name="Patricia Boyle", id="5843104000000424672")
TRAVEL = LinkedRecord(module=DEALS, name="Travel Insurance", id="5843104000004382122")


@pytest.mark.parametrize("name", ["link_multi_request", "kaizen_link_multi_request"])
def test_link_body_encodes_to_the_doc_sample(name: str) -> None:
    items = [
        LinkItem(owner=PATRICIA, message_id=message_id, linked_record=TRAVEL)
        for message_id in (
            "8937fb892cc6f15b95bc22ecb91b6f85e9f60916ef9314d484543df546f09ad1",
            "6622e532084a2c329b44f4d7c58a93bb2f616d21e1e73cc1e9cc71d24ef6b5f5",
        )
    ]
    assert json.loads(encode_link_body(items)) == parsed(name)


@pytest.mark.parametrize("name", ["link_single_request", "kaizen_link_single_path_request"])
def test_single_message_link_body_has_no_message_id(name: str) -> None:
    body = json.loads(encode_link_body([LinkItem(owner=PATRICIA, linked_record=TRAVEL)]))
    assert body == parsed(name)
    assert "message_id" not in body["Emails"][0]


def test_single_link_with_message_id_in_the_body_matches_kaizen() -> None:
    item = LinkItem(
        owner=PATRICIA,
        message_id="b9c24f3b403f8c3b197f2b8ab967c104d597ab1b968e3b8a59437278f4f26f77",
        linked_record=TRAVEL,
    )
    assert json.loads(encode_link_body([item])) == parsed("kaizen_link_single_body_request")


def test_unset_optional_fields_are_not_sent_but_none_name_is() -> None:
    item = LinkItem(owner=Owner(id="1"), linked_record=LinkedRecord(module=ModuleRef(api_name="Deals"), id="2"))
    assert json.loads(encode_link_body([item])) == {
        "Emails": [{"owner": {"id": "1"}, "linked_record": {"module": {"api_name": "Deals"}, "id": "2"}}]
    }
    explicit_null = LinkedRecord(module=ModuleRef(api_name="Deals"), id="2", name=None)
    assert msgspec.json.decode(msgspec.json.encode(explicit_null))["name"] is None


def _sample_email(**extra: Any) -> AssociateEmail:
    return AssociateEmail(
        from_=Address(user_name="user1", email="test@zoho.com"),
        to=[Address(user_name="user2", email="test1@zoho.com")],
        cc=[Address(user_name="user3", email="test2@zoho.com")],
        bcc=[Address(user_name="user4", email="test3@zoho.com")],
        **extra,
    )


def test_associate_body_encodes_to_the_doc_sample() -> None:
    sample = parsed("associate_request")["Emails"][0]
    email = _sample_email(
        subject=sample["subject"],
        content=sample["content"],
        mail_format="html",
        date_time="2018-06-12T12:12:12+05:30",
        sent=True,
        attachments=[{"id": "39c17f1033cd120e62f8104c545af0ef95a1bd5438fe9159ee8ff6d1bee480cd", "name": "Test File"}],
        linked_record=LinkedRecord(
            module=ModuleRef(api_name="Contacts", id="4876876000000002179"),
            name="Simmons Truhlar",
            id="4876876000001355087",
        ),
        original_message_id="1234534dead-asds3322w243",
    )
    assert json.loads(encode_associate_body([email])) == parsed("associate_request")


def test_associate_inline_image_body_encodes_to_the_doc_sample() -> None:
    sample = parsed("associate_inline_image_request")["Emails"][0]
    email = _sample_email(
        subject="Inline Image Content",
        content=sample["content"],
        mail_format="html",
        date_time="2018-06-12T12:12:12+05:30",
        sent=True,
        original_message_id="1234523asad-asds23324374",
    )
    assert json.loads(encode_associate_body([email])) == parsed("associate_inline_image_request")


def test_associate_admin_body_with_owner_encodes_to_the_doc_sample() -> None:
    sample = parsed("associate_admin_owner_request")["Emails"][0]
    email = _sample_email(
        owner=Owner(id="4876876000001360001"),
        subject="Other User email",
        content=sample["content"],
        mail_format="html",
        date_time="2018-06-12T12:12:12+05:30",
        sent=False,
        attachments=[{"id": "39c17f1033cd120e62f8104c545af0ef95a1bd5438fe9159ee8ff6d1bee480cd", "name": "Test File"}],
        original_message_id="1234534frad-aers2332w243",
    )
    assert json.loads(encode_associate_body([email])) == parsed("associate_admin_owner_request")


def test_every_fixture_is_json() -> None:
    names = sorted(path.stem for path in FIXTURES.glob("*.json"))
    assert len(names) == 20
    for name in names:
        parsed(name)


@pytest.mark.parametrize("name", ["external_id_by_external_ids_request", "external_id_by_record_id_request"])
def test_related_records_body_encodes_to_the_doc_sample(name: str) -> None:
    row = {"External_Deal_ID": "extdeal3", "Contact_Role": "111111000000026002"}
    assert json.loads(encode_data_body([row])) == parsed(name)
