"""The fields of FakeZoho's records as the write endpoints see them, and the index duplicate checks look up.

Zoho's rules followed here ("Insert Records", "Update Records" and "Upsert Records" pages):

- Mandatory fields: Contacts and Leads ``Last_Name``, Accounts ``Account_Name``, Deals ``Deal_Name`` and ``Stage``.
- Duplicate checks: each module's system duplicate-check field (Contacts and Leads ``Email``, Accounts
  ``Account_Name``, Deals ``Deal_Name``), then its unique fields (this fake's external-id fields,
  ``External_Contact_ID`` and ``External_Deal_ID``: Zoho's external fields are unique). Insert and update refuse a
  value a unique field already holds (DUPLICATE_DATA); upsert matches records by the duplicate-check fields.

Choices where the pages are silent: an ``Email`` compares case-insensitively (addresses are); when several
records share a system field's value (Zoho does not keep it unique), upsert updates the oldest; field names other
than the ones below are kept as they are given (a custom field is the org's own).
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._fake_world import Record

#: The field that holds a record's name, by module.
NAME_FIELD = {"Contacts": "Last_Name", "Leads": "Last_Name", "Accounts": "Account_Name", "Deals": "Deal_Name"}
MANDATORY = {
    "Contacts": ("Last_Name",), "Leads": ("Last_Name",), "Accounts": ("Account_Name",), "Deals": ("Deal_Name", "Stage"),
}  # fmt: skip
SYSTEM_DUPLICATE_CHECK = {"Contacts": ("Email",), "Leads": ("Email",), "Accounts": ("Account_Name",),
                          "Deals": ("Deal_Name",)}  # fmt: skip
UNIQUE = {"Contacts": ("External_Contact_ID",), "Deals": ("External_Deal_ID",)}
#: Text fields' longest values (Zoho's field lengths: names 80/120/200, email 100); longer is INVALID_DATA.
MAX_LENGTH = {"Last_Name": 80, "First_Name": 40, "Deal_Name": 120, "Account_Name": 200, "Email": 100}


def duplicate_check_fields(module: str) -> tuple[str, ...]:
    """Upsert's default order: the system field(s), then the unique fields."""
    return (*SYSTEM_DUPLICATE_CHECK.get(module, ()), *UNIQUE.get(module, ()))


def value_of(record: Record, field: str) -> Any:
    """A field's value on a record: the few the fake models as attributes, else what a write stored."""
    if field == NAME_FIELD.get(record.module) or (field == "Full_Name" and record.module in ("Contacts", "Leads")):
        return record.name
    if field == "Email":
        return record.email
    if field in UNIQUE.get(record.module, ()):
        return record.external_id
    if field == "Stage" and record.module == "Deals":
        return record.stage
    return record.fields.get(field)


def _age(record: Record) -> int:
    return int(record.id)


def folded(field: str, value: Any) -> Any:
    return value.lower() if field == "Email" and isinstance(value, str) else value


class RecordIndex:
    """Records by each duplicate-check field's value: (module, field, value) -> records, oldest first."""

    __slots__ = ("_by_value",)

    def __init__(self) -> None:
        self._by_value: dict[tuple[str, str, Any], list[Record]] = {}

    def add(self, record: Record) -> None:
        for field in duplicate_check_fields(record.module):
            value = value_of(record, field)
            if value not in (None, ""):
                holders = self._by_value.setdefault((record.module, field, folded(field, value)), [])
                bisect.insort(holders, record, key=_age)

    def remove(self, record: Record) -> None:
        for field in duplicate_check_fields(record.module):
            key = (record.module, field, folded(field, value_of(record, field)))
            holders = self._by_value.get(key)
            if holders and record in holders:
                holders.remove(record)
                if not holders:
                    del self._by_value[key]

    def find(self, module: str, field: str, value: Any) -> Record | None:
        """The oldest record whose ``field`` holds ``value``, or None."""
        holders = self._by_value.get((module, field, folded(field, value)))
        return holders[0] if holders else None
