"""FakeZoho's Get Emails of a Record and Get an Email: pages of ten, newest first, behind an opaque cursor."""

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
        return error(400, "INVALID_DATA", "the given index is invalid", {"param": "index"})
    page = emails[offset : offset + _PAGE]
    if not page:
        return web.Response(status=204)
    more = offset + _PAGE < len(emails)
    info = {
        "per_page": _PAGE,
        "next_index": _encode_index(fake.index_key, record.id, offset + _PAGE) if more else None,
        "count": len(page),
        "prev_index": _encode_index(fake.index_key, record.id, offset - _PAGE) if offset else "0",
        "more_records": more,
    }
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
        return error(400, "INVALID_DATA", "the message id given seems to be invalid", {"api_name": "message_id"})
    # Exactly the keys of the doc's sample: no linked_record, owner or message_id. Only Get Emails of a
    # Record shows where an email is linked, so clients must read link state from the list, not from here.
    return json_response({"Emails": [_full_email(e)]})


def _filtered(world: World, record: Record, kind: str | None, owner_id: str | None) -> list[Email] | web.Response:
    valid = _ACCOUNT_TYPES if record.module == "Accounts" else _TYPES
    if kind is not None and kind not in valid:
        return error(400, "INVALID_DATA", "the value for the type parameter is invalid", {"param": "type"})
    if owner_id is not None and kind != "user_emails":
        return error(400, "INVALID_DATA", "owner_id can be given only with type=user_emails", {"param": "owner_id"})
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
    # Key order is the doc sample's.
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
        "linked_record": _linked_record(world, e.message_id),
        "related_to_record": None,
        "emotion": None,
        "from": e.from_,
        "to": e.to,
        "time": e.time_iso,
        "status": [{"type": "sent" if e.sent else "received"}],
    }


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
        "status": [{"type": "sent" if e.sent else "received"}],
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
