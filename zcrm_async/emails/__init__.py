"""The Emails resource: read a record's emails, and link, unlink, relink and associate them in bulk.

Zoho's pages: Get Emails of a Record, Get an Email, Link Deal to Emails / Unlink Deal from Emails (v8), Associate
Email with a Record. Methods here build requests and read responses; the client does the HTTP.

One module a job: ``_reading`` (reading and where emails are linked), ``_items`` (what bulk writes take and the
checks on it), ``_linking`` (link and unlink) with ``_read_back`` (settling answers in doubt), ``_relink``, and
``_associate``.
"""

from __future__ import annotations

from ..models import AssociateEmail
from ._associate import Associating
from ._items import (
    MAX_ASSOCIATE_ITEMS,
    MAX_LINK_ITEMS,
    MAX_UNLINK_CHARS,
    MAX_UNLINK_IDS,
    DealLink,
    DealUnlink,
    ProgressCallback,
)
from ._read_back import LINK_UNVERIFIED
from ._reading import EMAIL_TYPES
from ._relink import Relinking

__all__ = [
    "EMAIL_TYPES",
    "LINK_UNVERIFIED",
    "MAX_ASSOCIATE_ITEMS",
    "MAX_LINK_ITEMS",
    "MAX_UNLINK_CHARS",
    "MAX_UNLINK_IDS",
    "AssociateEmail",
    "DealLink",
    "DealUnlink",
    "Emails",
    "ProgressCallback",
]


class Emails(Relinking, Associating):
    """``crm.emails``: every Emails endpoint. Bulk methods chunk for you and never raise for partial failure."""
