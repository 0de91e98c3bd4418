"""``--dry-run``: the requests a backfill would send, as the library builds them to send, with nothing sent."""

from __future__ import annotations

import collections
from collections.abc import Sequence

from ._input import Row
from ._operations import Operation
from ._output import Output, counted

__all__ = ["show_plan"]

SHOWN_REQUESTS = 3
SHOWN_CONTACTS = 10


def show_plan(output: Output, operation: Operation, rows: Sequence[Row], deals_module_id: str | None) -> None:
    """Print the requests per contact and the first few requests (method, path, body) for the good rows."""
    requests = operation.plan([operation.item(row.fields) for row in rows], deals_module_id) if rows else []
    per_contact = collections.Counter(request.items[0].contact_id for request in requests)
    output.result(
        f"dry run: {counted(len(rows), 'item')} would go in {counted(len(requests), operation.name + ' request')} "
        f"to {counted(len(per_contact), 'contact')}; nothing was sent"
    )
    if operation.note:
        output.result(f"  {operation.note}")
    spread = collections.Counter(per_contact.values())
    output.table(
        "requests per contact", ["requests", "contacts"], [(n, spread[n]) for n in sorted(spread)]
    )
    output.table(
        f"first {min(SHOWN_CONTACTS, len(per_contact))} contacts",
        ["contact_id", "requests"],
        list(per_contact.items())[:SHOWN_CONTACTS],
    )
    shown = requests[:SHOWN_REQUESTS]
    if shown:
        output.result("the request:" if len(requests) == 1 else f"the first {len(shown)} of {len(requests)} requests:")
    for request in shown:
        body = request.body.decode() if request.body is not None else ""
        output.result(f"{request.method} {request.target}\n  {body}".rstrip())
