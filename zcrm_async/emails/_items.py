"""What the bulk link and unlink methods take, and the checks every item passes before any request is sent."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

import msgspec

from .._bulk import Chunk
from .._runner import ProgressCallback
from .._window import Window
from ..models import LinkedRecord, LinkItem, ModuleRef, Owner
from ..validation import (
    MAX_NAME,
    InvalidItemError,
    ItemProblem,
    check_message_id,
    check_name,
    check_not_empty,
    check_numeric_id,
    is_message_id,
    is_numeric_id,
)

__all__ = [
    "ASSOCIATE_CHUNK",
    "MAX_ASSOCIATE_ITEMS",
    "MAX_LINK_ITEMS",
    "MAX_UNLINK_CHARS",
    "MAX_UNLINK_IDS",
    "BeforeUnlink",
    "DealLink",
    "DealUnlink",
    "ProgressCallback",
    "find_problems",
]

#: Zoho's OpenAPI for Link Deal to Emails and Unlink Deal from Emails: at most 20 emails per request, and the
#: unlink's ``message_ids`` at most 2,000 characters.
MAX_LINK_ITEMS = 20
MAX_UNLINK_IDS = 20
MAX_UNLINK_CHARS = 2000
#: Associate Email: Zoho's YAML schema allows 50 a request, but its own example refuses a second one
#: (``maximum_length: 1`` on ``$.Emails``), and the doc page names no limit. 1 is the value every source accepts,
#: so it is the default chunk size; ``chunk_size`` up to 50 is for a server known to take more.
ASSOCIATE_CHUNK = 1
MAX_ASSOCIATE_ITEMS = 50

#: Awaited by relink before each unlink request, with the links about to be unlinked, each carrying the deal it is
#: on now as ``previous_deal_id``: a caller that keeps them durably can give them back to a relink that resumes.
BeforeUnlink = Callable[[Sequence["DealLink"]], Awaitable[object]]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DealLink:
    """Link the contact's email ``message_id`` to the deal ``deal_id``, as the user ``owner_id``.

    ``module`` is the linked record's module: Zoho links emails to Deals only, so anything else is refused.
    """

    contact_id: str
    message_id: str
    deal_id: str
    owner_id: str
    deal_name: str | None = None
    #: Kept for your own records and not sent: Zoho's OpenAPI file for the link lists only ``owner.id``.
    owner_name: str | None = None
    module: str = "Deals"
    #: relink only, not sent: the deal the email was on before an earlier relink of it was stopped after its
    #: unlink (what ``before_unlink`` was given). A relink that finds the email on no deal and cannot link it to
    #: ``deal_id`` puts it back on this deal, so a stop between the unlink and the link loses nothing.
    previous_deal_id: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DealUnlink:
    """Unlink the contact's email ``message_id`` from whatever deal it is linked to, as ``owner_id``."""

    contact_id: str
    message_id: str
    owner_id: str


#: The id fields each kind of item carries, checked as numeric Zoho ids.
_ID_FIELDS: dict[type[Any], tuple[str, ...]] = {
    DealLink: ("contact_id", "deal_id", "owner_id"),
    DealUnlink: ("contact_id", "owner_id"),
}

Item = TypeVar("Item", DealLink, DealUnlink)
T = TypeVar("T")


def validated(items: Iterable[Item], kind: type[Item]) -> list[Item]:
    """The items with normalised ids; the first bad one raises, naming its index and field, before any request."""
    checked = list(items)
    check_not_empty(checked, "items")
    checked, problems = _checked(checked, kind)
    if problems:
        first = problems[0]
        raise InvalidItemError(first.index, first.field, first.message)
    return checked


def find_problems(items: Iterable[DealLink | DealUnlink]) -> list[ItemProblem]:
    """Every bad item's first problem, in input order: what ``link_deal``, ``unlink_deal`` and ``relink`` would
    refuse the input for (they refuse it whole, for its first problem). An empty list: all can be sent.

    Checks each item's ids, message id, deal name and module, and that no email of a contact comes twice.
    """
    return _checked(list(items), None)[1]


def _checked(items: list[Any], kind: type[Any] | None) -> tuple[list[Any], list[ItemProblem]]:
    checked = list(items)
    problems: list[ItemProblem] = []
    seen: dict[tuple[str, str], int] = {}
    for index, item in enumerate(checked):
        if not isinstance(item, kind or (DealLink, DealUnlink)):
            if problems:
                break  # an earlier item's problem is the one to report
            expected = kind.__name__ if kind is not None else "DealLink or DealUnlink"
            raise TypeError(f"item {index}: expected {expected}, got {type(item).__name__}")
        try:
            item = _normalised(index, item)
        except InvalidItemError as exc:
            problems.append(ItemProblem(index, exc.field, exc.problem))
            continue
        first = seen.setdefault(email_key(item), index)
        if first != index:  # two answers for one email: whichever Zoho applied last, one of them would be wrong
            repeat = f"repeats item {first} (the same email of the same contact)"
            problems.append(ItemProblem(index, "message_id", repeat, repeats=first))
            continue
        checked[index] = item
    return checked, problems


def _normalised(index: int, item: Any) -> Any:
    """A DealLink or DealUnlink with its ids as strings of digits, or ``InvalidItemError``.

    The item itself when its ids are already strings (the usual case): every item passes here once or twice on
    its way out, so a copy of each would cost more than the checks.
    """
    if type(item) is DealLink and _is_plain_good_link(item):
        return item
    return _normalised_slowly(index, item)


def _is_plain_good_link(item: DealLink) -> bool:
    """Whether a link passes every check of ``_normalised_slowly`` as it is: the usual case, tested field by
    field without a loop, a lookup or an exception (half the cost per item)."""
    contact, deal, owner, name = item.contact_id, item.deal_id, item.owner_id, item.deal_name
    return (
        type(contact) is str
        and type(deal) is str
        and type(owner) is str
        and type(item.message_id) is str
        and is_numeric_id(contact)
        and is_numeric_id(deal)
        and is_numeric_id(owner)
        and is_message_id(item.message_id)
        and item.module == "Deals"
        and (name is None or (type(name) is str and len(name) <= MAX_NAME))
        and item.previous_deal_id is None
    )


def _normalised_slowly(index: int, item: Any) -> Any:
    """``_normalised`` for any item: refuses the bad, turns int ids into their digits."""
    ints: dict[str, str] = {}
    for field in _ID_FIELDS[type(item)]:
        value = getattr(item, field)
        if type(value) is not str or not is_numeric_id(value):
            ints[field] = check_numeric_id(value, field, index)  # raises, or an int's digits
    if isinstance(item, DealLink):
        if item.module != "Deals":
            raise InvalidItemError(index, "module", f"must be 'Deals' (emails link to deals only), got {item.module!r}")
        check_name(item.deal_name, "deal_name", index)
        previous = item.previous_deal_id
        if previous is not None and (type(previous) is not str or not is_numeric_id(previous)):
            ints["previous_deal_id"] = check_numeric_id(previous, "previous_deal_id", index)
    check_message_id(item.message_id, "message_id", index)
    return dataclasses.replace(item, **ints) if ints else item


def check_link(index: int, item: DealLink) -> DealLink:
    """One link as the streaming forms check it when read: ``validated``'s checks but the repeat (that one is
    ``email_key``'s, while the first is pending). Raises ``TypeError`` or ``InvalidItemError``."""
    if not isinstance(item, DealLink):
        raise TypeError(f"item {index}: expected DealLink, got {type(item).__name__}")
    link: DealLink = _normalised(index, item)
    return link


def check_unlink(index: int, item: DealUnlink) -> DealUnlink:
    """One unlink as the streaming forms check it when read (see ``check_link``)."""
    if not isinstance(item, DealUnlink):
        raise TypeError(f"item {index}: expected DealUnlink, got {type(item).__name__}")
    unlink: DealUnlink = _normalised(index, item)
    return unlink


def email_key(item: DealLink | DealUnlink) -> tuple[str, str]:
    """What names one email: two items with the same key must not be in flight together."""
    return (item.contact_id, item.message_id)


def link_window(chunk_size: int, capacity: int | None) -> Window[DealLink]:
    """Link requests: one contact's emails each, ``chunk_size`` at most."""
    return Window(_contact, chunk_size, capacity)


def unlink_window(max_ids: int, max_chars: int, capacity: int | None) -> Window[DealUnlink]:
    """Unlink requests: one contact and owner each, ``message_ids`` (ids and commas) within both limits."""
    return Window(_contact_and_owner, max_ids, capacity, cost=_id_and_comma, max_cost=max_chars + 1)


def _contact(item: DealLink) -> str:
    return item.contact_id


def _contact_and_owner(item: DealUnlink) -> tuple[str, str]:
    return (item.contact_id, item.owner_id)


def _id_and_comma(item: DealUnlink) -> int:
    return len(item.message_id) + 1


def message_id_of(item: DealLink | DealUnlink) -> str:
    return item.message_id


def link_item(item: DealLink, module_id: str | None, *, with_message_id: bool = True) -> LinkItem:
    """One entry of a link request's ``Emails`` array, as Zoho's OpenAPI file has it: ``owner`` is its ``id`` only
    (the doc page's samples also send a name), ``linked_record.module`` names the Deals module by API name and id.
    ``module_id`` is None only in a plan made before the client learned the id; what is sent always has it."""
    module = ModuleRef(api_name="Deals", id=module_id) if module_id else ModuleRef(api_name="Deals")
    return LinkItem(
        owner=Owner(id=item.owner_id),
        message_id=item.message_id if with_message_id else msgspec.UNSET,
        linked_record=LinkedRecord(module=module, id=item.deal_id, name=item.deal_name or msgspec.UNSET),
    )


def unlink_chunks(items: list[DealUnlink], max_ids: int, max_chars: int) -> list[Chunk[DealUnlink]]:
    """Unlink requests for a whole list, in the order the list forms send them (the same window, holding all)."""
    return _all_chunks(unlink_window(max_ids, max_chars, None), items)


def link_chunks(links: list[DealLink], chunk_size: int) -> list[Chunk[DealLink]]:
    """Link requests for a whole list, in the order the list forms send them: each holds one contact's emails."""
    return _all_chunks(link_window(chunk_size, None), links)


def _all_chunks(window: Window[T], items: list[T]) -> list[Chunk[T]]:
    for index, item in enumerate(items):
        window.add(index, item)
    window.flush()
    return list(window.ready)


def check_chunk_size(size: int, maximum: int) -> None:
    if not 1 <= size <= maximum:
        raise ValueError(f"chunk size must be between 1 and {maximum} (Zoho's limit), got {size}")
