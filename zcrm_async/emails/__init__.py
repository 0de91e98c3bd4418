"""The Emails resource: read a record's emails, and link, unlink, relink and associate them in bulk.

Zoho's pages: Get Emails of a Record, Get an Email, Link Deal to Emails / Unlink Deal from Emails (v8), Associate
Email with a Record. Methods here build requests and read responses; the client does the HTTP.

One module a job: ``_facade`` (``Emails``, short methods), ``_reading`` (reading and where emails are linked),
``_items`` (what bulk writes take and the checks on it), ``_requests`` (the requests link and unlink send, and
``plan_*`` to get them without sending), and one module per bulk op: ``_link_ops`` (link and unlink, with
``_read_back`` settling answers in doubt), ``_relink``, ``_associate``; ``zcrm_async._runner`` runs them all.

To see what a bulk call would send without sending it, and to check input first::

    problems = find_problems(items)          # [ItemProblem(index, field, message), ...]
    for request in plan_link_deal(items):    # or crm.emails.plan_link_deal(items)
        print(request.method, request.target, request.body)
"""

from __future__ import annotations

from ..models import AssociateEmail
from ..outcomes import LINK_UNVERIFIED, NOT_LINKED
from ..validation import InvalidItemError, ItemProblem
from ._facade import Emails
from ._items import (
    ASSOCIATE_CHUNK,
    MAX_ASSOCIATE_ITEMS,
    MAX_LINK_ITEMS,
    MAX_UNLINK_CHARS,
    MAX_UNLINK_IDS,
    BeforeUnlink,
    DealLink,
    DealUnlink,
    ProgressCallback,
    find_problems,
)
from ._reading import EMAIL_TYPES
from ._requests import API_VERSION, PlannedRequest, plan_link_deal, plan_relink, plan_unlink_deal

__all__ = [
    "API_VERSION",
    "ASSOCIATE_CHUNK",
    "EMAIL_TYPES",
    "LINK_UNVERIFIED",
    "MAX_ASSOCIATE_ITEMS",
    "MAX_LINK_ITEMS",
    "MAX_UNLINK_CHARS",
    "MAX_UNLINK_IDS",
    "NOT_LINKED",
    "AssociateEmail",
    "BeforeUnlink",
    "DealLink",
    "DealUnlink",
    "Emails",
    "InvalidItemError",
    "ItemProblem",
    "PlannedRequest",
    "ProgressCallback",
    "find_problems",
    "plan_link_deal",
    "plan_relink",
    "plan_unlink_deal",
]

