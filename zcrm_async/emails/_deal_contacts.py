"""Whether a deal is associated with a contact: what relink reads before it unlinks anything.

Zoho's "Link Deal to Emails" page answers NOT_ALLOWED when "the contact is not associated with the deal" and
tells you to "add contact details to the deal". Zoho associates a contact with a deal in two ways: the deal's
``Contact_Name`` lookup, and a contact role (the "Update Related Records Using External ID" page calls giving a
contact a ``Contact_Role`` on a deal "associating a contact and a deal"). Both count here, so a contact that is
only on a deal's contact roles is never refused.

Requests, each at most once per deal per relink call or stream: Get Record (``GET /Deals/{id}?fields=
Contact_Name``); and, only when some contact asked about is not that ``Contact_Name``, the first page of the
deal's contact roles ("Get Contact Roles of a Specific Deal", ``GET /Deals/{id}/Contact_Roles``). What cannot be
read (no Deals read scope, a failed or unreadable answer, a contact beyond a first page of roles that has more)
is answered None, "cannot tell", never False: the caller then sends as it would without the check.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import anyio
import msgspec

from .._client import raise_for_status
from .._decode import decode_or_raise
from .._errors import AuthenticationError, ZohoError

if TYPE_CHECKING:
    from .._client import ZohoCRM

__all__ = ["DEALS_REMEMBERED", "DealContacts"]

T = TypeVar("T")

#: Deals one relink call or stream remembers; past it the least recently asked is forgotten (and read again if
#: asked again), so a stream over any number of deals holds bounded memory.
DEALS_REMEMBERED = 1_024
#: Get Contact Roles of a Specific Deal makes ``fields`` mandatory; any Contacts field will do (the contact's id
#: comes with every row). Its page names no ``per_page``, so none is sent: Zoho's first page is read.
_ROLE_FIELDS = {"fields": "Last_Name"}


class _Lookup(msgspec.Struct, kw_only=True, frozen=True):
    id: str | int | None = None


class _DealRecord(msgspec.Struct, kw_only=True, frozen=True):
    Contact_Name: _Lookup | None = None


class _DealRecords(msgspec.Struct, kw_only=True, frozen=True):
    data: list[_DealRecord] = []


class _Info(msgspec.Struct, kw_only=True, frozen=True):
    more_records: bool | None = None


class _RolesPage(msgspec.Struct, kw_only=True, frozen=True):
    data: list[_Lookup] = []
    info: _Info | None = None


_decode_deal = msgspec.json.Decoder(_DealRecords).decode
_decode_roles = msgspec.json.Decoder(_RolesPage).decode


class _Deal:
    """What one deal says about its contacts, filled in as it is read."""

    __slots__ = ("contact", "contact_read", "lock", "roles", "roles_complete", "roles_read")

    def __init__(self) -> None:
        self.lock = anyio.Lock()  # one read of each kind at a time: the others wait for its answer
        self.contact_read = False
        #: Its Contact_Name's id ("" when it has none); None: it could not be read.
        self.contact: str | None = None
        self.roles_read = False
        #: The contacts on its contact roles; None: they could not be read.
        self.roles: frozenset[str] | None = None
        #: Whether ``roles`` is all of them (a first page with no more after it).
        self.roles_complete = False


class DealContacts:
    """Answers "is this contact associated with this deal?" for one relink call or stream, reading each deal
    once (at most ``DEALS_REMEMBERED`` deals kept)."""

    def __init__(self, crm: ZohoCRM, *, remembered: int = DEALS_REMEMBERED) -> None:
        self._crm = crm
        self._remembered = remembered
        self._deals: collections.OrderedDict[str, _Deal] = collections.OrderedDict()

    async def associated(self, deal_id: str, contact_id: str) -> bool | None:
        """True or False as the deal's ``Contact_Name`` and contact roles say; None when they cannot be read
        (the contact roles are read only for a contact that is not the ``Contact_Name``)."""
        deal = self._deal(deal_id)
        async with deal.lock:
            if not deal.contact_read:
                deal.contact = await self._read_contact(deal_id)
                deal.contact_read = True
            if deal.contact is None:
                return None  # the deal could not be read: its roles would not be either
            if deal.contact == contact_id:
                return True
            if not deal.roles_read:
                deal.roles, deal.roles_complete = await self._read_roles(deal_id)
                deal.roles_read = True
        if deal.roles is not None and contact_id in deal.roles:
            return True
        if deal.roles is None or not deal.roles_complete:
            return None  # roles unread, or more of them than one page: the contact may be among them
        return False

    def _deal(self, deal_id: str) -> _Deal:
        deal = self._deals.get(deal_id)
        if deal is None:
            deal = self._deals[deal_id] = _Deal()
            while len(self._deals) > self._remembered:
                self._deals.popitem(last=False)
        else:
            self._deals.move_to_end(deal_id)
        return deal

    async def _read_contact(self, deal_id: str) -> str | None:
        """The id of the deal's ``Contact_Name`` ("" when it has none); None when the deal could not be read."""
        records = await self._get(f"/Deals/{deal_id}", {"fields": "Contact_Name"}, _decode_deal, "records.get")
        if records is None or not records.data:
            return None
        lookup = records.data[0].Contact_Name
        return "" if lookup is None or lookup.id is None else str(lookup.id)

    async def _read_roles(self, deal_id: str) -> tuple[frozenset[str] | None, bool]:
        """The contacts on the deal's contact roles (first page) and whether that is all of them; (None, False)
        when they could not be read. No content (204) is no contact role."""
        page = await self._get(f"/Deals/{deal_id}/Contact_Roles", _ROLE_FIELDS, _decode_roles, "records.related.list")
        if page is None:
            return None, False
        contacts = frozenset(str(row.id) for row in page.data if row.id is not None)
        return contacts, not (page.info is not None and page.info.more_records)

    async def _get(self, path: str, params: dict[str, str], decode: Callable[[bytes], T], operation: str) -> T | None:
        """A read's decoded answer (no content, 204, decoded as an empty body); None when it cannot be had."""
        try:
            response = await self._crm.request("GET", path, operation=operation, params=params)
            if response.status == 401 and b"OAUTH_SCOPE_MISMATCH" in response.content:
                return None  # no Deals read scope: relink goes on without the check
            if response.status == 204:
                return decode(b"{}")
            return decode_or_raise(decode, raise_for_status(response))
        except AuthenticationError:
            raise  # the credentials are refused: the writes that follow would be too
        except ZohoError:
            return None  # no answer, a refusal, or one that cannot be read: cannot tell
