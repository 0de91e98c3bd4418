"""The checks the library runs on input before any request: a bad item is refused by position and field, and
nothing is sent; and which servers a URL the user gives may point at (``checked_pinned_url``). Public for callers
who check input earlier, such as a tool reading ids from a file or a command line.
"""

from __future__ import annotations

import dataclasses
import re

from ._origins import checked_pinned_url

__all__ = [
    "InvalidItemError", "ItemProblem", "check_message_id", "check_name", "check_numeric_id", "checked_pinned_url",
    "is_message_id", "is_numeric_id",
]  # fmt: skip

_NUMERIC = re.compile(r"[0-9]{1,30}")
_MAX_ID_DIGITS = 30
# Zoho's OpenAPI for Link Deal to Emails and Unlink Deal from Emails: message_id matches ^[a-zA-Z0-9]+$, at
# most 500 characters.
_MESSAGE_ID = re.compile(r"[A-Za-z0-9]+")
MAX_MESSAGE_ID = 500
#: The same pages: a linked record's name is at most 255 characters.
MAX_NAME = 255
#: How much of a refused value a message quotes: enough to find it, never a whole huge one.
_QUOTED = 40


class InvalidItemError(ValueError):
    """An input item is unusable; ``index`` is its position in the input and ``field`` the bad field."""

    def __init__(self, index: int | None, field: str, problem: str) -> None:
        where = f"item {index}: " if index is not None else ""
        super().__init__(f"{where}{field} {problem}")
        self.index = index
        self.field = field
        self.problem = problem


@dataclasses.dataclass(frozen=True, slots=True)
class ItemProblem:
    """Why one input item cannot be sent: its position in the input, the field at fault, and what is wrong.

    ``repeats`` is set when the item repeats an earlier one (the same email of the same contact): that item's
    index.
    """

    index: int
    field: str
    message: str
    repeats: int | None = None

    def __str__(self) -> str:
        return f"item {self.index}: {self.field} {self.message}"


def is_numeric_id(text: str) -> bool:
    """Whether ``text`` is a Zoho record/user id as ``check_numeric_id`` accepts it (no copy, no exception)."""
    # [0-9]{1,30} without the regex engine: an ASCII string of digits is exactly that (isdigit alone would take
    # other scripts' digits); a third of the cost, and every item of a bulk write passes here three times.
    return 0 < len(text) <= _MAX_ID_DIGITS and text.isascii() and text.isdigit()


def is_message_id(text: str) -> bool:
    """Whether ``text`` is a message id as ``check_message_id`` accepts it (no exception)."""
    # [A-Za-z0-9]+ without the regex engine. An ASCII str's bytes are tested against bytes' own ASCII table:
    # str.isalnum asks the Unicode database of every character, three times the cost for a 64-character id
    # (Zoho's are hex digests), and each link item is tested twice (the CLI's input check, the library's).
    return 0 < len(text) <= MAX_MESSAGE_ID and text.isascii() and text.encode("ascii").isalnum()


def check_numeric_id(value: object, field: str, index: int | None = None) -> str:
    """``value`` as a Zoho record/user id string; refuses anything but digits."""
    if isinstance(value, str) and is_numeric_id(value):
        return value  # the common case without the regex engine: every page() and get() checks its record id
    if value is None or value == "":
        raise InvalidItemError(index, field, "is missing")
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not _NUMERIC.fullmatch(text):
        raise InvalidItemError(index, field, f"must be a numeric Zoho id, got {_quoted(value)}")
    return text


def check_message_id(value: object, field: str = "message_id", index: int | None = None) -> str:
    """A message id as Zoho accepts it: 1 to 500 characters of [A-Za-z0-9]."""
    if value is None or value == "":
        raise InvalidItemError(index, field, "is missing")
    if not isinstance(value, str):
        raise InvalidItemError(index, field, f"must be a string, got {type(value).__name__}")
    if len(value) > MAX_MESSAGE_ID:
        raise InvalidItemError(index, field, f"is {len(value)} characters long; Zoho allows {MAX_MESSAGE_ID}")
    if not _MESSAGE_ID.fullmatch(value):
        raise InvalidItemError(index, field, f"has characters outside [A-Za-z0-9]: {_quoted(value)}")
    return value


def check_name(value: str | None, field: str, index: int | None = None) -> None:
    """A record's name, when one is given, as Zoho accepts it: at most 255 characters."""
    if value is not None and len(value) > MAX_NAME:
        raise InvalidItemError(index, field, f"is {len(value)} characters long; Zoho allows {MAX_NAME}")


def _quoted(value: object) -> str:
    if isinstance(value, str) and len(value) > _QUOTED:
        return f"{value[:_QUOTED]!r}... ({len(value)} characters)"
    return repr(value)


def check_not_empty(items: object, what: str) -> None:
    if not items:
        raise ValueError(f"{what} is empty: nothing to send")
