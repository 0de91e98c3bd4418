"""msgspec Structs for what the Emails endpoints send and receive.

Response Structs ignore keys they do not know (Zoho adds keys over time) and default what Zoho may omit; ids stay
strings, as Zoho sends them. Every field Zoho's OpenAPI file for Get Emails of a Record marks nullable is
Optional here (``message_id``, ``subject``, ``status[].type``, ``from.user_name``, ``linked_record.id``,
``module.api_name``, every ``info`` field, ...), so one null never costs a caller the page it is on. Request
Structs use ``UNSET`` for "don't send" (distinct from ``None``) and omit it.
Records of CRM modules stay ``dict[str, Any]``: their fields are the org's own.

The answers' Structs that hold lists or dicts are ``gc=False`` (msgspec: never tracked by the cycle collector).
They are frozen and decoded from JSON, so they are in no reference cycle unless a caller puts one inside its
own lists (such a cycle would then never be collected); tracked, a page read would put 11 more objects (a page,
its 10 emails) before every collection: 3,000 calls queued at the cap took the full collection that the same
calls without them did not (figure 2 of ``benchmarks/``).
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType, field

__all__ = [
    "Address",
    "AssociateEmail",
    "Attachment",
    "Email",
    "EmailSummary",
    "EmailsPage",
    "ItemStatus",
    "LinkItem",
    "LinkedRecord",
    "ModuleRef",
    "Owner",
    "PageInfo",
    "RecordsInfo",
    "RecordsPage",
    "StatusEntry",
]


class Owner(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True):
    """A CRM user, as ``owner`` of an email (Zoho answers ``name`` null for a user it cannot name)."""

    name: str | UnsetType | None = UNSET
    id: str | None = None


class Address(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True):
    """One sender or recipient (Zoho sends ``email`` null for a record without an address; a None is not sent)."""

    email: str | None = None
    user_name: str | None = None


class ModuleRef(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True):
    """A module by API name and id, e.g. ``Deals``."""

    api_name: str | None = None
    id: str | UnsetType | None = UNSET


class LinkedRecord(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True):
    """The record (a deal, for link) an email is linked to."""

    module: ModuleRef | None = None
    name: str | UnsetType | None = UNSET
    id: str | None = None


class StatusEntry(msgspec.Struct, kw_only=True, frozen=True):
    """One delivery event of an email: sent, opened, bounced, ... (keys vary with ``type``)."""

    type: str | None = None
    bounced_time: str | None = None
    bounced_reason: str | None = None
    category: str | None = None
    sub_category: str | None = None
    first_open: str | None = None
    last_open: str | None = None
    count: str | None = None


class Attachment(msgspec.Struct, kw_only=True, frozen=True):
    """An attachment of a full email."""

    id: str
    name: str | None = None
    size: str | None = None


class EmailSummary(msgspec.Struct, kw_only=True, frozen=True, gc=False):
    """An email as Get Emails of a Record lists it (no body). ``message_id`` is required but may be null, as in
    Zoho's schema."""

    message_id: str | None
    subject: str | None = None
    owner: Owner | None = None
    from_: Address | None = field(default=None, name="from")
    to: list[Address] | None = None
    cc: list[Address] | None = None
    time: str | None = None
    sent: bool | None = None
    read: bool | None = None
    source: str | None = None
    summary: str | None = None
    has_attachment: bool | None = None
    has_thread_attachment: bool | None = None
    #: Zoho's OAS lists it for list items too, but the doc page's list sample omits it: often None.
    thread_id: str | None = None
    #: The deal the email is linked to; None when Zoho says null (not linked), UNSET when it said nothing.
    linked_record: LinkedRecord | UnsetType | None = UNSET
    related_to_record: dict[str, Any] | None = None
    intent: str | None = None
    sentiment_info: str | None = None
    emotion: str | None = None
    status: list[StatusEntry] | None = None
    activity_info: dict[str, Any] | None = None


class Email(msgspec.Struct, kw_only=True, frozen=True, gc=False):
    """One email with its body (``content``), as ``GET /{module}/{id}/Emails/{message_id}`` returns it."""

    message_id: str | None = None
    subject: str | None = None
    content: str | None = None
    mail_format: str | None = None
    owner: Owner | None = None
    from_: Address | None = field(default=None, name="from")
    to: list[Address] | None = None
    cc: list[Address] | None = None
    bcc: list[Address] | None = None
    reply_to: Address | None = None
    sent_time: str | None = None
    thread_id: str | None = None
    editable: bool | None = None
    attachments: list[Attachment] | None = None
    #: Not in Zoho's documented single-email answer (UNSET), but read when a server sends it.
    linked_record: LinkedRecord | UnsetType | None = UNSET
    intent: str | None = None
    sentiment_info: str | None = None
    emotion: str | None = None
    status: list[StatusEntry] | None = None


class PageInfo(msgspec.Struct, kw_only=True, frozen=True):
    """The ``info`` block of Get Emails of a Record: ``next_index`` is the cursor of the next page.

    Every field may be null (Zoho's schema): a null ``more_records`` with a ``next_index`` still has a next page.
    """

    per_page: int | None = 10
    count: int | None = 0
    more_records: bool | None = False
    next_index: str | None = None
    prev_index: str | None = None


class EmailsPage(msgspec.Struct, kw_only=True, frozen=True, gc=False):
    """One page of Get Emails of a Record."""

    Emails: list[EmailSummary] = []
    info: PageInfo = PageInfo()


class _EmailEnvelope(msgspec.Struct, frozen=True, gc=False):
    Emails: list[Email] = []


class ItemStatus(msgspec.Struct, kw_only=True, frozen=True, gc=False):
    """The per-item outcome of a write: ``{code, details, message, status}``; any of them may be null."""

    code: str | None = None
    status: str | None = None
    message: str | None = None
    details: dict[str, Any] | None = None


class LinkItem(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True):
    """One item of Link Deal to Emails. ``message_id`` is UNSET in the single-message form."""

    owner: Owner
    message_id: str | UnsetType = UNSET
    linked_record: LinkedRecord


class AssociateEmail(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True):
    """One email to log onto a record with Associate Email with a Record."""

    from_: Address = field(name="from")
    to: list[Address]
    subject: str
    content: str
    date_time: str
    sent: bool
    original_message_id: str
    cc: list[Address] | UnsetType = UNSET
    bcc: list[Address] | UnsetType = UNSET
    mail_format: str | UnsetType = UNSET
    attachments: list[dict[str, str]] | UnsetType = UNSET
    linked_record: LinkedRecord | UnsetType = UNSET
    owner: Owner | UnsetType = UNSET


class _EmailsBody(msgspec.Struct, frozen=True):
    Emails: list[LinkItem] | list[AssociateEmail]


class _DataBody(msgspec.Struct, frozen=True):
    data: list[dict[str, Any]]


class RecordsInfo(msgspec.Struct, kw_only=True, frozen=True):
    """The ``info`` block of Get Records.

    Zoho's OpenAPI file makes ``more_records`` a boolean; a server that answers null is not refused for it (one
    null would fail a whole read): ``crm.records.iterate`` then takes a full page to mean there may be more.
    """

    per_page: int = 200
    count: int = 0
    page: int = 1
    more_records: bool | None = False
    next_page_token: str | None = None
    previous_page_token: str | None = None
    page_token_expiry: str | None = None


class RecordsPage(msgspec.Struct, kw_only=True, frozen=True, gc=False):
    """One page of Get Records; records stay dicts (their fields are the org's)."""

    data: list[dict[str, Any]] = []
    info: RecordsInfo = RecordsInfo()


# Built once: msgspec encoders and decoders are cheap to call and dear to build (msgspec perf tips).
encoder = msgspec.json.Encoder()
decode_emails_page = msgspec.json.Decoder(EmailsPage).decode
decode_email_envelope = msgspec.json.Decoder(_EmailEnvelope).decode
decode_records_page = msgspec.json.Decoder(RecordsPage).decode
decode_items = msgspec.json.Decoder(list[ItemStatus]).decode
decode_nested_items = msgspec.json.Decoder(list[list[ItemStatus]]).decode


def encode_link_body(items: list[LinkItem]) -> bytes:
    """``{"Emails": [...]}`` for Link Deal to Emails."""
    return encoder.encode(_EmailsBody(items))


def encode_associate_body(items: list[AssociateEmail]) -> bytes:
    """``{"Emails": [...]}`` for Associate Email with a Record."""
    return encoder.encode(_EmailsBody(items))


def encode_data_body(rows: list[dict[str, Any]]) -> bytes:
    """``{"data": [...]}`` for the records APIs."""
    return encoder.encode(_DataBody(rows))


class _ItemsEnvelope(msgspec.Struct, frozen=True):
    Emails: msgspec.Raw = msgspec.Raw()
    data: msgspec.Raw = msgspec.Raw()


_decode_items_envelope = msgspec.json.Decoder(_ItemsEnvelope).decode


def decode_item_statuses(body: bytes) -> list[ItemStatus]:
    """The per-item array of a write response, under ``Emails`` or ``data``, flat or nested one level.

    Zoho's link/unlink 400 example nests the array (``{"Emails": [[...]]}``); everything else is flat.
    Raises ``msgspec.DecodeError``/``ValidationError`` when the body has neither key or is not JSON.
    """
    envelope = _decode_items_envelope(body)
    raw = bytes(envelope.Emails) or bytes(envelope.data)
    if not raw:
        raise msgspec.ValidationError("the response has neither an 'Emails' nor a 'data' array")
    if raw.lstrip()[1:].lstrip()[:1] == b"[":
        return [item for group in decode_nested_items(raw) for item in group]
    return decode_items(raw)
