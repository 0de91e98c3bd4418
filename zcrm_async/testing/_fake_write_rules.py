"""One record of a write, checked and applied: Insert, Update and Upsert Records item by item.

Each function takes one ``data[]`` item and its index and returns Zoho's per-item entry (``_fake_wire``'s shapes):
an error naming the field by ``api_name`` and ``json_path`` (``$.data[1].Last_Name``, as the Insert Records
examples show), or a success with the record's id, times and users. What is mandatory, unique and checked for
duplicates is ``_fake_record_fields``'. Errors are found before anything is changed, so a refused item leaves
the record as it was.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

from ._fake_modules import module_id
from ._fake_record_fields import MANDATORY, MAX_LENGTH, NAME_FIELD, UNIQUE
from ._fake_wire import success
from ._fake_world import Record, World, iso

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_ID = re.compile(r"[0-9]{1,30}")
#: Fields Zoho sets itself: a write's value for them is ignored.
_SYSTEM = frozenset({"id", "Created_Time", "Modified_Time", "Created_By", "Modified_By", "Full_Name"})


def item_problem(code: str, message: str, i: int, field: str = "", **extra: Any) -> dict[str, Any]:
    """A per-item error pointing at ``$.data[i].field``."""
    path = f"$.data[{i}]" + (f".{field}" if field else "")
    details: dict[str, Any] = {"api_name": field or "data", "json_path": path, **extra}
    return {"code": code, "details": details, "message": message, "status": "error"}


def check_values(module: str, item: dict[str, Any], i: int, *, creating: bool) -> dict[str, Any] | None:
    """The item's first field problem: a mandatory field missing (on create) or emptied, a bad text or email."""
    for field in MANDATORY.get(module, ()):
        value = item.get(field)
        if (creating or field in item) and (not isinstance(value, str) or not value.strip()):
            return item_problem("MANDATORY_NOT_FOUND", "required field not found", i, field)
    for field, longest in MAX_LENGTH.items():
        value = item.get(field)
        if value is None:
            continue
        if not isinstance(value, str):
            return item_problem("INVALID_DATA", "invalid data", i, field, expected_data_type="text")
        if len(value) > longest:
            return item_problem("INVALID_DATA", "invalid data", i, field, maximum_length=longest)
    email = item.get("Email")
    if isinstance(email, str) and email and _EMAIL.fullmatch(email) is None:
        return item_problem("INVALID_DATA", "invalid data", i, "Email", expected_data_type="email")
    return None


def duplicate_of(
    world: World, module: str, item: dict[str, Any], i: int, record: Record | None
) -> dict[str, Any] | None:
    """DUPLICATE_DATA when a unique field's value is another record's (``record``: the one being updated)."""
    for field in UNIQUE.get(module, ()):
        value = item.get(field)
        if value in (None, ""):
            continue
        holder = world.index.find(module, field, value)
        if holder is not None and holder is not record:
            return duplicate_problem(world, holder, i, field)
    return None


def duplicate_problem(world: World, holder: Record, i: int, field: str) -> dict[str, Any]:
    """Zoho's DUPLICATE_DATA, naming the record that holds the value (``duplicate_record``)."""
    owner = world.current_user()
    duplicate = {
        "id": holder.id,
        "Owner": {"name": owner.name, "id": owner.id, "zuid": owner.id},
        "module": {"api_name": holder.module, "id": module_id(holder.module)},
    }
    return item_problem("DUPLICATE_DATA", "duplicate data", i, field, duplicate_record=duplicate, more_records=False)


def create(world: World, module: str, item: dict[str, Any]) -> Record:
    """A new record holding the item's fields."""
    record = world.add_record(module, str(item.get(NAME_FIELD.get(module, ""), "")), email=item.get("Email"))
    now = iso(time.time())
    record.fields["Created_Time"] = now
    assign(world, record, item, now)
    return record


def assign(world: World, record: Record, item: dict[str, Any], now: str | None = None) -> None:
    """Write the item's fields on the record, keeping the duplicate-check index right."""
    world.index.remove(record)
    for field, value in item.items():
        if field in _SYSTEM:
            continue
        if field == NAME_FIELD.get(record.module):
            record.name = value
        elif field == "Email":
            record.email = value
        elif field in UNIQUE.get(record.module, ()):
            world.set_external_id(record, value)
        elif field == "Stage" and record.module == "Deals":
            world.set_stage(record.id, value)
        else:
            record.fields[field] = value
    record.fields["Modified_Time"] = now or iso(time.time())
    world.index.add(record)


def written(world: World, record: Record, message: str, **extra: Any) -> dict[str, Any]:
    """The success entry of a write: the record's id, times and users (``Success_Response``'s details)."""
    user = world.current_user()
    by = {"name": user.name, "id": user.id}
    modified = str(record.fields.get("Modified_Time") or iso(time.time()))
    details = {
        "Modified_Time": modified, "Modified_By": by, "Created_Time": str(record.fields.get("Created_Time", modified)),
        "id": record.id, "Created_By": by, "$approval_state": "approved",
    }  # fmt: skip
    return {**success(details, message), **extra}


def record_for_update(world: World, module: str, item: dict[str, Any], i: int) -> Record | dict[str, Any]:
    """The record an Update Records item names by ``id``, or the error for a missing or unknown one."""
    raw = item.get("id")
    if raw in (None, ""):
        return item_problem("MANDATORY_NOT_FOUND", "required field not found", i, "id")
    if not isinstance(raw, str | int) or isinstance(raw, bool) or _ID.fullmatch(str(raw)) is None:
        return item_problem("INVALID_DATA", "invalid data", i, "id", expected_data_type="bigint")
    record = world.record(str(raw), module)
    if record is None:
        return item_problem("INVALID_DATA", "the id given seems to be invalid", i, "id")
    return record


def upsert_match(world: World, module: str, item: dict[str, Any], fields: Sequence[str]) -> tuple[Record, str] | None:
    """The record an upsert updates, and the field that matched: the first of ``fields`` whose value the item
    gives and an existing record holds."""
    for field in fields:
        value = item.get(field)
        if value in (None, ""):
            continue
        holder = world.index.find(module, field, value)
        if holder is not None:
            return holder, field
    return None
