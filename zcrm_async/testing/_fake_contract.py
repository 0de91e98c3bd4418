"""The request schemas FakeZoho enforces, read from Zoho's OpenAPI files and checked in their order.

Sources: Zoho's OpenAPI file for Link Deal to Emails (link, single link, unlink, single unlink), Zoho's two
OpenAPI files for Associate Email (a JSON one and a YAML one), and the doc pages "Link Deal to Emails" and
"Associate Email with a Record". Where the sources disagree, FakeZoho accepts what any of them documents:

- Link: ``owner.name`` is accepted (the doc page's samples send it; the OpenAPI file's owner lists only ``id``).
  Ids may be JSON strings (the OpenAPI file) or numbers (the doc page types them ``long``). ``module.api_name``
  is required (the doc page says mandatory; the OpenAPI file requires only ``module.id``). ``module.id`` is
  required (both) unless ``Leniency.module_id_optional``; a module id that is not the Deals module's answers
  AMBIGUITY_DURING_PROCESSING (the doc page's resolution: look the module's id up with Get Modules). The
  single-email link takes no ``message_id`` in its body (the OpenAPI file lists none; it is in the URL).
- Link errors name the field in the OpenAPI file's form: ``{"api_name": "linked_record.id", "json_path":
  "Emails[1].linked_record.id"}``; unlink errors point into the query, ``message_ids[0]``.
- Associate: the body's array is ``Emails`` (the doc page and the JSON file) or ``data`` (the YAML file).
  ``linked_record`` is optional (the doc page; the JSON file requires it), with an optional ``name``; ``owner``
  (an admin logging another user's email) and an attachment's ``name`` are the doc page's, not the files'.
  ``user_name`` of an address is optional (the YAML file; the JSON one requires it). Email
  addresses are checked for an ``@`` (the JSON file's ``[a-z]{7}@zoho.com`` pattern is a sample, not a rule).
  ``subject`` is 1-250 characters (the JSON file; the YAML one allows 500: the stricter wins). Field errors use
  the examples' ``$.Emails[0].from`` form: a missing field is a per-item MANDATORY_NOT_FOUND, a bad value is a
  request-level INVALID_DATA, as the examples show them.
- Size limits answer as the Associate Email example shows one: a request-level INVALID_DATA with
  ``{"maximum_length": N, "api_name": "Emails", "json_path": ...}``.
- Unknown keys are INVALID_DATA (every object in these schemas is ``additionalProperties: false``) unless
  ``Leniency.unknown_keys``.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from typing import Any

#: The Deals module's id, as in Zoho's samples; link items naming another module id are ambiguous.
DEALS_MODULE_ID = "5843104000000003735"

LINK_MAX_ITEMS = 20
UNLINK_MAX_CHARS = 2000
_MESSAGE_ID = re.compile(r"[A-Za-z0-9]{1,500}")
_NUMERIC_ID = re.compile(r"[0-9]{1,100}")
_MESSAGE_IDS = re.compile(r"[A-Za-z0-9]+(,[A-Za-z0-9]+)*")

_LINK_KEYS = frozenset({"message_id", "owner", "linked_record"})
_OWNER_KEYS = frozenset({"id", "name"})
_LINKED_RECORD_KEYS = frozenset({"module", "name", "id"})
_MODULE_KEYS = frozenset({"api_name", "id"})
_ASSOCIATE_REQUIRED = ("from", "to", "subject", "content", "original_message_id", "sent", "date_time")
_ASSOCIATE_KEYS = frozenset(
    {*_ASSOCIATE_REQUIRED, "cc", "bcc", "mail_format", "attachments", "linked_record", "owner"}
)
_ADDRESS_KEYS = frozenset({"user_name", "email"})


@dataclasses.dataclass(frozen=True, kw_only=True)
class Leniency:
    """Rules of Zoho's published contract FakeZoho can be told to waive. All off: Zoho enforces them."""

    #: Accept link items whose ``linked_record.module`` has no ``id`` (Zoho's OpenAPI file requires it).
    module_id_optional: bool = False
    #: Accept keys the schemas do not list, in link and associate bodies.
    unknown_keys: bool = False


class Problem(Exception):
    """One violation: Zoho's code and the field at fault, as a path within the item (``linked_record.id``)."""

    def __init__(self, code: str, field: str, message: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.field = field
        self.message = message or _MESSAGES.get(code, "invalid data")


_MESSAGES = {
    "MANDATORY_NOT_FOUND": "required field not found",
    "INVALID_DATA": "invalid data",
    "INVALID_MODULE": "the module name given seems to be invalid",
    "AMBIGUITY_DURING_PROCESSING": "ambiguity during processing",
}


# -- the error bodies, in the OpenAPI files' forms ----------------------------------------------------------


def link_item_error(problem: Problem, i: int) -> dict[str, Any]:
    """A per-item error of Link Deal to Emails: ``json_path`` is ``Emails[i].field`` (no ``$.``)."""
    path = f"Emails[{i}].{problem.field}" if problem.field else f"Emails[{i}]"
    return _error(problem.code, problem.message, {"api_name": problem.field or "Emails", "json_path": path})


def unlink_item_error(code: str, i: int, message: str = "invalid data") -> dict[str, Any]:
    """A per-item error of Unlink Deal from Emails: the id's place in the ``message_ids`` query parameter."""
    return _error(code, message, {"api_name": "message_id", "json_path": f"message_ids[{i}]"})


def associate_item_error(problem: Problem, i: int) -> dict[str, Any]:
    """A per-item error of Associate Email: ``json_path`` is ``$.Emails[i].field``, as its examples show."""
    path = f"$.Emails[{i}].{problem.field}" if problem.field else f"$.Emails[{i}]"
    return _error(problem.code, problem.message, {"api_name": problem.field or "Emails", "json_path": path})


def too_many(limit: int, api_name: str, json_path: str) -> dict[str, Any]:
    """A size limit, the way the Associate Email example shows one (``maximum_length``)."""
    return _error(
        "INVALID_DATA", "invalid data", {"maximum_length": limit, "api_name": api_name, "json_path": json_path}
    )


def _error(code: str, message: str, details: dict[str, Any]) -> dict[str, Any]:
    return {"code": code, "details": details, "message": message, "status": "error"}


# -- Link Deal to Emails ----------------------------------------------------------------------------------


def check_link_item(item: Any, *, single: bool, leniency: Leniency) -> None:
    """Raise the first ``Problem`` of one link item, in the order the OpenAPI file lists its keys."""
    if not isinstance(item, dict):
        raise Problem("INVALID_DATA", "")
    allowed = _LINK_KEYS - {"message_id"} if single else _LINK_KEYS
    _check_keys(item, allowed, "", leniency)
    if not single:
        _check_string(item, "message_id", _MESSAGE_ID, "")
    owner = _required_object(item, "owner", "")
    _check_keys(owner, _OWNER_KEYS, "owner.", leniency)
    _check_id(owner, "id", "owner.")
    if owner.get("name") is not None and not isinstance(owner["name"], str):
        raise Problem("INVALID_DATA", "owner.name")
    _check_linked_record(_required_object(item, "linked_record", ""), leniency)


def _check_linked_record(link: dict[str, Any], leniency: Leniency) -> None:
    _check_keys(link, _LINKED_RECORD_KEYS, "linked_record.", leniency)
    module = _required_object(link, "module", "linked_record.")
    _check_keys(module, _MODULE_KEYS, "linked_record.module.", leniency)
    if module.get("api_name") in (None, ""):
        raise Problem("MANDATORY_NOT_FOUND", "linked_record.module.api_name")
    if module["api_name"] != "Deals":
        raise Problem("INVALID_MODULE", "linked_record.module.api_name")
    if module.get("id") is not None or not leniency.module_id_optional:
        _check_id(module, "id", "linked_record.module.")
        if str(module["id"]) != DEALS_MODULE_ID:
            raise Problem("AMBIGUITY_DURING_PROCESSING", "linked_record.module.id")
    name = link.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > 255):
        raise Problem("INVALID_DATA", "linked_record.name")
    _check_id(link, "id", "linked_record.")


# -- Unlink Deal from Emails ------------------------------------------------------------------------------


def message_ids_problem(raw: str | None) -> dict[str, Any] | None:
    """The request-level error of an unlink's ``message_ids`` (pattern, 2,000 characters, 20 ids), or None."""
    if not raw:
        return _error(
            "MANDATORY_NOT_FOUND", "required field not found", {"api_name": "message_ids", "json_path": "message_ids"}
        )
    if len(raw) > UNLINK_MAX_CHARS:
        return too_many(UNLINK_MAX_CHARS, "message_ids", "message_ids")
    if raw.count(",") >= LINK_MAX_ITEMS:
        return too_many(LINK_MAX_ITEMS, "message_ids", "message_ids")
    if _MESSAGE_IDS.fullmatch(raw) is None:
        return _error("INVALID_DATA", "invalid data", {"api_name": "message_ids", "json_path": "message_ids"})
    return None


# -- Associate Email with a Record ------------------------------------------------------------------------


def associate_items(body: Any) -> tuple[str, list[Any]] | dict[str, Any]:
    """The body's array and its key (``Emails`` or ``data``), or the request-level error of a bad body."""
    if not isinstance(body, dict):
        return _error("INVALID_DATA", "invalid data", {"api_name": "Emails", "json_path": "$.Emails"})
    keys = [key for key in ("Emails", "data") if key in body]
    if len(keys) != 1 or len(body) != 1:
        missing = not keys
        code = "MANDATORY_NOT_FOUND" if missing else "INVALID_DATA"
        return {"Emails": [_error(code, _MESSAGES[code], {"api_name": "Emails", "json_path": "$.Emails"})]}
    items = body[keys[0]]
    if not isinstance(items, list) or not items:
        return _error("INVALID_DATA", "invalid data", {"api_name": keys[0], "json_path": f"$.{keys[0]}"})
    return keys[0], items


def check_associate_item(item: Any, leniency: Leniency) -> None:
    """Raise the first ``Problem`` of one Associate Email item."""
    if not isinstance(item, dict):
        raise Problem("INVALID_DATA", "")
    for key in _ASSOCIATE_REQUIRED:
        if item.get(key) is None or (key != "subject" and item.get(key) == ""):
            raise Problem("MANDATORY_NOT_FOUND", key)
    _check_keys(item, _ASSOCIATE_KEYS, "", leniency)
    _check_address(item["from"], "from", leniency)
    for key in ("to", "cc", "bcc"):
        if key in item:
            _check_addresses(item[key], key, leniency)
    _check_text(item, "subject", 1, 250)
    _check_text(item, "content", 0, 32_000)
    _check_text(item, "original_message_id", 1, 255)
    if not isinstance(item["sent"], bool):
        raise Problem("INVALID_DATA", "sent")
    if parse_date_time(item["date_time"]) is None or len(item["date_time"]) > 50:
        raise Problem("INVALID_DATA", "date_time")
    if "mail_format" in item and item["mail_format"] not in ("text", "html"):
        raise Problem("INVALID_DATA", "mail_format")
    _check_attachments(item.get("attachments", []), leniency)
    if "linked_record" in item:
        _check_associate_link(item["linked_record"], leniency)
    if "owner" in item:
        owner = _required_object(item, "owner", "")
        _check_keys(owner, frozenset({"id"}), "owner.", leniency)
        _check_id(owner, "id", "owner.")


def parse_date_time(value: Any) -> float | None:
    """An ISO-8601 date-time with its zone as epoch seconds, or None."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.timestamp() if parsed.tzinfo is not None else None


def _check_addresses(value: Any, key: str, leniency: Leniency) -> None:
    if not isinstance(value, list) or len(value) > 50 or (key == "to" and not value):
        raise Problem("INVALID_DATA", key)
    for address in value:
        _check_address(address, key, leniency)


def _check_address(value: Any, key: str, leniency: Leniency) -> None:
    if not isinstance(value, dict):
        raise Problem("INVALID_DATA", key)
    _check_keys(value, _ADDRESS_KEYS, f"{key}.", leniency)
    email = value.get("email")
    if not isinstance(email, str) or "@" not in email or len(email) > 255:
        raise Problem("INVALID_DATA", key)
    name = value.get("user_name")
    if name is not None and (not isinstance(name, str) or len(name) > 255):
        raise Problem("INVALID_DATA", key)


def _check_attachments(value: Any, leniency: Leniency) -> None:
    if not isinstance(value, list) or len(value) > 20:
        raise Problem("INVALID_DATA", "attachments")
    for attachment in value:
        if not isinstance(attachment, dict):
            raise Problem("INVALID_DATA", "attachments")
        _check_keys(attachment, frozenset({"id", "name"}), "attachments.", leniency)
        if not isinstance(attachment.get("id"), str) or not 0 < len(attachment["id"]) <= 100:
            raise Problem("INVALID_DATA", "attachments")


def _check_associate_link(link: Any, leniency: Leniency) -> None:
    if not isinstance(link, dict):
        raise Problem("INVALID_DATA", "linked_record")
    _check_keys(link, _LINKED_RECORD_KEYS, "linked_record.", leniency)
    module = _required_object(link, "module", "linked_record.")
    _check_keys(module, _MODULE_KEYS, "linked_record.module.", leniency)
    if not isinstance(module.get("api_name"), str):
        raise Problem("MANDATORY_NOT_FOUND", "linked_record.module.api_name")
    if link.get("id") in (None, ""):
        raise Problem("MANDATORY_NOT_FOUND", "linked_record.id")


# -- shared checks ----------------------------------------------------------------------------------------


def _check_keys(obj: dict[str, Any], allowed: frozenset[str], prefix: str, leniency: Leniency) -> None:
    if leniency.unknown_keys:
        return
    for key in obj:
        if key not in allowed:
            raise Problem("INVALID_DATA", f"{prefix}{key}")


def _required_object(obj: dict[str, Any], key: str, prefix: str) -> dict[str, Any]:
    value = obj.get(key)
    if value is None:
        raise Problem("MANDATORY_NOT_FOUND", f"{prefix}{key}")
    if not isinstance(value, dict):
        raise Problem("INVALID_DATA", f"{prefix}{key}")
    return value


def _check_id(obj: dict[str, Any], key: str, prefix: str) -> None:
    """A numeric id, as a string (the OpenAPI file) or a JSON integer (the doc page's ``long``)."""
    value = obj.get(key)
    if value is None or value == "":
        raise Problem("MANDATORY_NOT_FOUND", f"{prefix}{key}")
    as_text = str(value) if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else value
    if not isinstance(as_text, str) or _NUMERIC_ID.fullmatch(as_text) is None:
        raise Problem("INVALID_DATA", f"{prefix}{key}")


def _check_string(obj: dict[str, Any], key: str, pattern: re.Pattern[str], prefix: str) -> None:
    value = obj.get(key)
    if value is None or value == "":
        raise Problem("MANDATORY_NOT_FOUND", f"{prefix}{key}")
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise Problem("INVALID_DATA", f"{prefix}{key}")


def _check_text(obj: dict[str, Any], key: str, shortest: int, longest: int) -> None:
    value = obj[key]
    if not isinstance(value, str) or not shortest <= len(value) <= longest:
        raise Problem("INVALID_DATA", key)
