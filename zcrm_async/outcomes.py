"""Every code the library can put on an ``ItemResult``, named once, and which of them are worth retrying.

``ItemResult.code`` is Zoho's code for the item (``SUCCESS``, ``ALREADY_LINKED``, ``INVALID_DATA``, ...), a
request-level cause that failed every item of its request (``TOO_MANY_REQUESTS``, ``INTERNAL_ERROR``, or the
library's ``TRANSPORT_ERROR`` when no answer came), or an outcome the library decided itself (``NO_RESULT``,
``LINK_UNVERIFIED``, ``NOT_LINKED``, ...). Compare against these names rather than string literals.

``ItemResult.transient`` (``is_transient``) says whether a failure is final or worth trying again later: the
write may not have happened (no answer, a 429, a 5xx, an answer that could not be read) or its state could not
be checked, so a rerun reads it back and tries again. A refusal (INVALID_DATA, NOT_ALLOWED, ...) is final.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "ALREADY_LINKED",
    "BULK_JOB_FAILED",
    "DUPLICATE_DATA",
    "INTERNAL_ERROR",
    "INVALID_DATA",
    "INVALID_ITEM",
    "LIMIT_EXCEEDED",
    "LINK_UNVERIFIED",
    "NOT_ALLOWED",
    "NOT_LINKED",
    "NOT_SENT",
    "NO_CONTENT",
    "NO_RESULT",
    "REDIS_UNAVAILABLE",
    "RESTORE_FAILED",
    "SKIPPED",
    "SUCCESS",
    "TOO_MANY_REQUESTS",
    "TRANSIENT",
    "TRANSPORT_ERROR",
    "UNKNOWN",
    "UNPROCESSED",
    "UNREADABLE_RESULT",
    "is_transient",
]

# -- Zoho's codes ------------------------------------------------------------------------------------------
#: The item was written.
SUCCESS = "SUCCESS"
#: Link Deal to Emails: the email is linked to a deal already (which one, only a read-back tells).
ALREADY_LINKED = "ALREADY_LINKED"
#: A refused value; also Zoho's answer to unlinking an email that is not linked (see ``NOT_LINKED``).
INVALID_DATA = "INVALID_DATA"
#: Associate Email: the ``original_message_id`` is on the record already.
DUPLICATE_DATA = "DUPLICATE_DATA"
#: Link Deal to Emails: the deal is not associated with the email's contact (relink gives it unsent too).
NOT_ALLOWED = "NOT_ALLOWED"
#: A 429 that failed every item of its request after the retries.
TOO_MANY_REQUESTS = "TOO_MANY_REQUESTS"
#: A 5xx that failed every item of its request after the retries.
INTERNAL_ERROR = "INTERNAL_ERROR"
#: Insert, Update or Upsert Records: the request held more records than Zoho takes (every record gets it).
LIMIT_EXCEEDED = "LIMIT_EXCEEDED"

# -- The library's own -------------------------------------------------------------------------------------
#: No answer came after every retry (or Redis kept the request from being sent: ``details["cause"]``).
TRANSPORT_ERROR = "TRANSPORT_ERROR"
#: The answer did not account for the item (and a read-back could not settle it).
NO_RESULT = "NO_RESULT"
#: A 2xx whose per-item results could not be read (and a read-back could not settle it).
UNREADABLE_RESULT = "UNREADABLE_RESULT"
#: A 204 to a write: no per-item results at all.
NO_CONTENT = "NO_CONTENT"
#: ALREADY_LINKED, but the deal it is linked to could not be read: neither done nor safe to unlink.
LINK_UNVERIFIED = "LINK_UNVERIFIED"
#: An unlink of an email that was not linked: the state asked for, so a success (Zoho answers INVALID_DATA).
NOT_LINKED = "NOT_LINKED"
#: An input item refused before any request (bad id, wrong type, an email already pending in the stream).
INVALID_ITEM = "INVALID_ITEM"
#: A step that was never sent because an earlier one failed (relink's put-back, in ``details``).
NOT_SENT = "NOT_SENT"
#: A per-item status with no code at all.
UNKNOWN = "UNKNOWN"
#: A Bulk Write job's row that the job skipped (its result file's STATUS says so, with no error of its own).
SKIPPED = "SKIPPED"
#: A Bulk Write job's row that the job did not get to (STATUS ``unprocessed``).
UNPROCESSED = "UNPROCESSED"
#: A Bulk Write job that ended FAILED: every row it was given gets this (``details["job_id"]``).
BULK_JOB_FAILED = "BULK_JOB_FAILED"

# -- Keys and values in ``details`` ------------------------------------------------------------------------
#: ``details["cause"]`` of an item that Redis (a shared budget or token store) kept from being sent.
REDIS_UNAVAILABLE = "RedisUnavailable"
#: ``details`` key of a relink that took an email off a deal and could not put it back: it is on no deal, and
#: a rerun given its ``previous_deal_id`` puts it back, so it is worth retrying.
RESTORE_FAILED = "restore_failed"

#: Failures a later run may cure: the item's request may or may not have taken effect, so it is read back first.
TRANSIENT = frozenset(
    {TRANSPORT_ERROR, TOO_MANY_REQUESTS, INTERNAL_ERROR, NO_RESULT, UNREADABLE_RESULT, NO_CONTENT, LINK_UNVERIFIED}
)


def is_transient(code: str, details: Mapping[str, Any]) -> bool:
    """Whether a failure with ``code`` and ``details`` is worth retrying (see the module docstring).

    The HTTP status in ``details["http_status"]`` decides for a request-level failure whatever its body's code
    (an HTML 429 has no Zoho code; a 503 has its own): 429 and 5xx are transient.
    """
    if code in TRANSIENT or RESTORE_FAILED in details:
        return True
    status = details.get("http_status")
    return isinstance(status, int) and (status == 429 or status >= 500)
