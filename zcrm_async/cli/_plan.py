"""``--dry-run``: what a backfill would send, computed the way the library chunks it, with nothing sent."""

from __future__ import annotations

import collections
import math
import urllib.parse
from collections.abc import Mapping, Sequence

from .._bulk import chunk_joined
from ..emails import MAX_LINK_ITEMS, MAX_UNLINK_CHARS, MAX_UNLINK_IDS
from ..models import LinkedRecord, LinkItem, ModuleRef, Owner, encode_link_body
from ._input import Row
from ._output import Output

__all__ = ["show_plan"]

SHOWN_BODIES = 3
SHOWN_CONTACTS = 10


def show_plan(output: Output, operation: str, rows: Sequence[Row]) -> None:
    """Print the requests per contact and the first few requests for the good rows."""
    requests = _requests(operation, rows)
    per_contact = collections.Counter(contact for contact, _, _ in requests)
    output.result(
        f"dry run: {len(rows)} items would go in {len(requests)} {operation} requests "
        f"to {len(per_contact)} contacts; nothing was sent"
    )
    if operation == "relink":
        output.result(
            "  (relink: emails Zoho answers ALREADY_LINKED then take one unlink and one more link request each "
            "per contact and chunk)"
        )
    spread = collections.Counter(per_contact.values())
    output.table(
        "requests per contact", ["requests", "contacts"], [(n, spread[n]) for n in sorted(spread)]
    )
    output.table(
        f"first {min(SHOWN_CONTACTS, len(per_contact))} contacts",
        ["contact_id", "requests"],
        list(per_contact.items())[:SHOWN_CONTACTS],
    )
    for _, method_path, body in requests[:SHOWN_BODIES]:
        output.result(f"{method_path}\n  {body}")


def _requests(operation: str, rows: Sequence[Row]) -> list[tuple[str, str, str]]:
    """(contact, "METHOD path", body or query) for each request, in the library's grouping."""
    if operation == "unlink":
        return _unlink_requests(rows)
    by_contact: dict[str, list[Mapping[str, str]]] = {}
    for row in rows:
        by_contact.setdefault(row.fields["contact_id"], []).append(row.fields)
    out: list[tuple[str, str, str]] = []
    for contact, fields in by_contact.items():
        for n in range(math.ceil(len(fields) / MAX_LINK_ITEMS)):
            part = fields[n * MAX_LINK_ITEMS : (n + 1) * MAX_LINK_ITEMS]
            body = encode_link_body([_link_item(f) for f in part]).decode()
            out.append((contact, f"POST /crm/v8/Contacts/{contact}/Emails/actions/link_record", body))
    return out


def _unlink_requests(rows: Sequence[Row]) -> list[tuple[str, str, str]]:
    groups: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        groups.setdefault((row.fields["contact_id"], row.fields["owner_id"]), []).append(row.fields["message_id"])
    out: list[tuple[str, str, str]] = []
    for (contact, owner), ids in groups.items():
        for part in chunk_joined(ids, max_count=MAX_UNLINK_IDS, max_chars=MAX_UNLINK_CHARS):
            query = urllib.parse.urlencode({"owner_id": owner, "message_ids": ",".join(part)})
            out.append((contact, f"DELETE /crm/v8/Contacts/{contact}/Emails/actions/link_record", f"?{query}"))
    return out


def _link_item(fields: Mapping[str, str]) -> LinkItem:
    owner_name = fields.get("owner_name")
    deal_name = fields.get("deal_name")
    return LinkItem(
        owner=Owner(id=fields["owner_id"], name=owner_name) if owner_name else Owner(id=fields["owner_id"]),
        message_id=fields["message_id"],
        linked_record=(
            LinkedRecord(module=ModuleRef(api_name="Deals"), id=fields["deal_id"], name=deal_name)
            if deal_name
            else LinkedRecord(module=ModuleRef(api_name="Deals"), id=fields["deal_id"])
        ),
    )
