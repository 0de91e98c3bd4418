"""FakeZoho's Get Emails of a Record and Get an Email: pages of ten, newest first, behind an opaque cursor.

A list item carries every key Zoho's OpenAPI file for Get Emails of a Record requires, in the doc sample's key
order; where the two disagree the doc sample wins (``cc`` and ``linked_record`` null, not objects) and the
file's extra keys come null (``activity_info``, a status entry's ``bounced_time``/``bounced_reason``). A sparse
email (``seed_world``'s ``sparse_share``) comes with every field the file marks nullable null, and a page that
holds one has ``info.count``, ``per_page`` and ``prev_index`` null (``more_records`` too on the last page: a null
``more_records`` with a ``next_index`` means more). One email answers the doc sample's keys only. Errors take
the file's shapes: ``{"resource_path_index": n}`` for the URL, ``{"param_name": ...}`` for a parameter.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from ._fake_endpoint import on_record
from ._fake_wire import DEALS_MODULE_ID, ENCODE, error, json_response
from ._fake_world import Email, Record, World

if TYPE_CHECKING:
    from ._fake_app import FakeApp

_PAGE = 10
_TYPES = frozenset({"sent_from_crm", "scheduled_in_crm", "drafts", "user_emails"})
_ACCOUNT_TYPES = _TYPES | {
    "all_contacts_sent_crm_emails",
    "all_contacts_scheduled_crm_emails",
    "all_contacts_draft_crm_emails",
}


@on_record()
async def get_emails(fake: FakeApp, request: web.Request, record: Record) -> web.StreamResponse:
    """GET /crm/{v}/{module}/{record_id}/Emails: ten a page, newest first, opaque `index` cursor."""
    emails = _filtered(fake.world, record, request.query.get("type"), request.query.get("owner_id"))
    if isinstance(emails, web.Response):
        return emails
    offset = _decode_index(fake.index_key, record.id, request.query.get("index", "0"))
    if offset is None:
        return error(400, "INVALID_DATA", "the given index is invalid", {"param_name": "index"})
    page = emails[offset : offset + _PAGE]
    if not page:
        return web.Response(status=204)
    more = offset + _PAGE < len(emails)
    info: dict[str, Any] = {
        "per_page": _PAGE,
        "next_index": _encode_index(fake.index_key, record.id, offset + _PAGE) if more else None,
        "count": len(page),
        "prev_index": _encode_index(fake.index_key, record.id, offset - _PAGE) if offset else "0",
        "more_records": more,
    }
    if any(e.sparse for e in page):
        info.update(per_page=None, count=None, prev_index=None, more_records=more or None)
    return json_response({"Emails": [_list_item_wire(fake.world, e) for e in page], "info": info})


@on_record()
async def get_email(fake: FakeApp, request: web.Request, record: Record) -> web.StreamResponse:
    """GET /crm/{v}/{module}/{record_id}/Emails/{message_id}: one email with its content."""
    world = fake.world
    e = world.email(request.match_info["message_id"])
    on_this_record = e is not None and (
        world.link_of(e.message_id) == record.id if record.module == "Deals" else e.record_id == record.id
    )
    if e is None or not on_this_record:
        message = "the message id given seems to be invalid"
        return error(400, "INVALID_DATA", message, {"resource_path_index": 3})
    # Exactly the keys of the doc's sample: no linked_record, owner or message_id. Only Get Emails of a
    # Record shows where an email is linked, so clients must read link state from the list, not from here.
    return json_response({"Emails": [_full_email(e)]})


def _filtered(world: World, record: Record, kind: str | None, owner_id: str | None) -> list[Email] | web.Response:
    valid = _ACCOUNT_TYPES if record.module == "Accounts" else _TYPES
    if kind is not None and kind not in valid:
        return error(400, "INVALID_DATA", "the value for the type parameter is invalid", {"param_name": "type"})
    if owner_id is not None and kind != "user_emails":
        message = "owner_id can be given only with type=user_emails"
        return error(400, "INVALID_DATA", message, {"param_name": "owner_id"})
    emails = world.emails_of(record)
    if kind is None:
        return emails
    if kind in ("sent_from_crm", "all_contacts_sent_crm_emails"):
        return [e for e in emails if e.sent and e.source == "crm_email"]
    if kind == "user_emails":
        return [e for e in emails if e.source == "individual" and owner_id in (None, e.owner_id)]
    return []


def _encode_index(key: bytes, record_id: str, offset: int) -> str:
    """96 hex characters: a keyed digest of record and offset, then the offset; "0" is the first page."""
    if offset <= 0:
        return "0"
    tail = f"{offset:016x}"
    return hashlib.blake2b(f"{record_id}:{tail}".encode(), key=key, digest_size=40).hexdigest() + tail


def _decode_index(key: bytes, record_id: str, index: str) -> int | None:
    if index == "0":
        return 0
    try:
        offset = int(index[-16:], 16)
    except ValueError:
        return None
    return offset if len(index) == 96 and _encode_index(key, record_id, offset) == index else None


def _list_item_wire(world: World, e: Email) -> msgspec.Raw:
    # Pages are re-read far more often than links change: encode each list item once.
    if e.wire is None:
        e.wire = ENCODE(_list_item(world, e))
    return msgspec.Raw(e.wire)


def _list_item(world: World, e: Email) -> dict[str, Any]:
    if e.sparse:
        return _sparse_item(e)
    # Key order is the doc sample's; activity_info is the OpenAPI file's.
    return {
        "cc": e.cc,
        "has_thread_attachment": False,
        "summary": None,
        "owner": _owner(world, e.owner_id),
        "read": True,
        "subject": e.subject,
        "message_id": e.message_id,
        "has_attachment": False,
        "source": e.source,
        "sent": e.sent,
        "intent": None,
        "sentiment_info": None,
        "activity_info": None,
        "linked_record": _linked_record(world, e.message_id),
        "related_to_record": None,
        "emotion": None,
        "from": e.from_,
        "to": e.to,
        "time": e.time_iso,
        "status": [_status(e)],
    }


def _sparse_item(e: Email) -> dict[str, Any]:
    """Every field Zoho's schema marks nullable, null."""
    nobody = {"user_name": None, "email": None}
    return {
        "cc": None,
        "has_thread_attachment": None,
        "summary": None,
        "owner": {"name": None, "id": e.owner_id},
        "read": None,
        "subject": None,
        "message_id": None,
        "has_attachment": None,
        "source": None,
        "sent": None,
        "intent": None,
        "sentiment_info": None,
        "activity_info": None,
        "linked_record": {"id": None, "name": None, "module": {"api_name": None, "id": None}},
        "related_to_record": None,
        "emotion": None,
        "from": nobody,
        "to": [nobody],
        "time": None,
        "status": [{"type": None, "bounced_time": None, "bounced_reason": None}],
    }


def _status(e: Email) -> dict[str, Any]:
    return {"type": "sent" if e.sent else "received", "bounced_time": None, "bounced_reason": None}


def _full_email(e: Email) -> dict[str, Any]:
    return {
        "attachments": [],
        "subject": e.subject,
        "editable": False,
        "mail_format": "html",
        "intent": None,
        "content": e.content,
        "sentiment_info": None,
        "sent_time": e.time_iso,
        "thread_id": e.thread_id,
        "emotion": None,
        "reply_to": {"user_name": None, "email": ""},
        "from": e.from_,
        "to": e.to,
        "status": [_status(e)],
    }


def _owner(world: World, user_id: str) -> dict[str, Any]:
    user = world.user(user_id)
    return {"name": user.name if user else None, "id": user_id}


def _linked_record(world: World, message_id: str) -> dict[str, Any] | None:
    deal_id = world.link_of(message_id)
    deal = world.record(deal_id, "Deals") if deal_id else None
    if deal is None:
        return None
    return {"module": {"api_name": "Deals", "id": DEALS_MODULE_ID}, "name": deal.name, "id": deal.id}
