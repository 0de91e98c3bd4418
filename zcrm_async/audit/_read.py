"""Reading what the rules need: where each Stage stands (Get Fields metadata) and every deal (Get Records).

Requests: one for the Stage field's picklist (none when both overrides are given), then the Deals pages through
``crm.records.iterate`` (page by page for the first 2,000, ``page_token`` past them). Zoho places a stage by its
picklist value's ``forecast_type`` ("Open", "Closed Won", "Closed Lost"), not by its name, which orgs rename.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Collection, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from .._client import raise_for_status
from .._decode import decode_or_raise
from .._errors import ResponseDecodeError
from ..validation import is_numeric_id
from ._model import ContactDeals, Deal, Outcome

if TYPE_CHECKING:
    from .._client import ZohoCRM

__all__ = ["DEAL_FIELDS", "DealIndex", "StageOutcomes", "deal_from_record", "read_deals", "read_stage_outcomes"]

#: What a rule needs of a deal, asked of Get Records (``id`` always comes along).
DEAL_FIELDS = ("Deal_Name", "Stage", "Contact_Name", "Modified_Time", "Closing_Date", "Owner")
_FORECAST: Mapping[str, Outcome] = {"open": "open", "closed won": "won", "closed lost": "lost"}


class _PicklistValue(msgspec.Struct, kw_only=True, frozen=True):
    display_value: str | None = None
    actual_value: str | None = None
    forecast_type: str | None = None


class _Field(msgspec.Struct, kw_only=True, frozen=True):
    api_name: str | None = None
    pick_list_values: list[_PicklistValue] | None = None


class _Fields(msgspec.Struct, kw_only=True, frozen=True):
    fields: list[_Field] = []


_decode_fields = msgspec.json.Decoder(_Fields).decode


@dataclasses.dataclass(frozen=True, slots=True)
class StageOutcomes:
    """Stage name -> open, won or lost. A stage it does not name is ``default`` ("unknown" when read from Zoho:
    a deal whose stage cannot be placed is neither open nor closed, and no built-in rule moves mail onto it)."""

    by_stage: Mapping[str, Outcome]
    default: Outcome = "unknown"

    def outcome(self, stage: str | None) -> Outcome:
        if stage is None:
            return "unknown"
        return self.by_stage.get(stage, self.default)

    @classmethod
    def from_overrides(cls, closed_won: Collection[str], closed_lost: Collection[str]) -> StageOutcomes:
        """The named stages are closed; every other stage is open."""
        table: dict[str, Outcome] = {stage: "won" for stage in closed_won}
        table.update({stage: "lost" for stage in closed_lost})
        return cls(table, default="open")

    def overridden(self, closed_won: Collection[str] | None, closed_lost: Collection[str] | None) -> StageOutcomes:
        """This table with the closed-won (or closed-lost) stages replaced by the named ones; the stages it
        called won (or lost) that are not named become open."""
        table = dict(self.by_stage)
        named: tuple[tuple[Collection[str] | None, Outcome], ...] = ((closed_won, "won"), (closed_lost, "lost"))
        for names, outcome in named:
            if names is None:
                continue
            for stage, was in list(table.items()):
                if was == outcome and stage not in names:
                    table[stage] = "open"
            table.update(dict.fromkeys(names, outcome))
        return StageOutcomes(table, self.default)

    def stages(self, outcome: Outcome) -> list[str]:
        return sorted(stage for stage, placed in self.by_stage.items() if placed == outcome)


async def read_stage_outcomes(
    crm: ZohoCRM, *, closed_won: Collection[str] | None = None, closed_lost: Collection[str] | None = None
) -> StageOutcomes:
    """Where each Deals stage stands, from the Stage field's picklist (Get Fields, ``/settings/fields``).

    With both ``closed_won`` and ``closed_lost`` given nothing is read: those stages are closed, the rest open.

    Raises:
        ResponseDecodeError: the answer is not Zoho's fields list, or the Deals module has no Stage picklist.
        APIError: Zoho refused.
    """
    if closed_won is not None and closed_lost is not None:
        return StageOutcomes.from_overrides(closed_won, closed_lost)
    response = await crm.request("GET", "/settings/fields", operation="settings.fields", params={"module": "Deals"})
    if response.status == 204:
        raise ResponseDecodeError("Zoho listed no fields for Deals (204)", status=204)
    fields = decode_or_raise(_decode_fields, raise_for_status(response), "Zoho's fields metadata")
    stage = next((field for field in fields.fields if field.api_name == "Stage"), None)
    if stage is None or not stage.pick_list_values:
        raise ResponseDecodeError(
            "the Deals module's fields have no Stage picklist; name the closed stages with closed_won and closed_lost",
            status=response.status,
        )
    return StageOutcomes(_placed(stage.pick_list_values)).overridden(closed_won, closed_lost)


def _placed(values: list[_PicklistValue]) -> dict[str, Outcome]:
    table: dict[str, Outcome] = {}
    for value in values:
        outcome = _FORECAST.get((value.forecast_type or "").strip().lower(), "unknown")
        # Records show a picklist's display value; the actual value is what the API writes: accept both.
        for name in (value.display_value, value.actual_value):
            if name:
                table[name] = outcome
    return table


class DealIndex:
    """Every deal read, by id, and each contact's deals (by ``Contact_Name``), in the order contacts were met."""

    __slots__ = ("_by_contact", "_by_id", "_grouped", "skipped")

    def __init__(self) -> None:
        self._by_id: dict[str, Deal] = {}
        self._by_contact: dict[str, list[str]] = {}
        self._grouped: dict[str, ContactDeals] = {}
        #: Records Get Records gave without a usable id (none, null, not a Zoho id): left out, never planned.
        self.skipped = 0

    def add(self, deal: Deal) -> None:
        self._by_id[deal.id] = deal
        if deal.contact_id is not None:
            self._by_contact.setdefault(deal.contact_id, []).append(deal.id)
            self._grouped.pop(deal.contact_id, None)

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, deal_id: str) -> Deal | None:
        return self._by_id.get(deal_id)

    def contact_ids(self) -> Iterator[str]:
        """The contacts that have deals, in the order their first deal was read."""
        return iter(self._by_contact)

    def of_contact(self, contact_id: str) -> ContactDeals:
        grouped = self._grouped.get(contact_id)
        if grouped is None:
            deals = (self._by_id[deal_id] for deal_id in self._by_contact.get(contact_id, ()))
            grouped = self._grouped[contact_id] = ContactDeals.of(contact_id, deals)
        return grouped


async def read_deals(crm: ZohoCRM, outcomes: StageOutcomes) -> DealIndex:
    """Every deal of the org with what the rules need, through Get Records of Deals."""
    index = DealIndex()
    async for record in crm.records.iterate("Deals", fields=DEAL_FIELDS):
        try:
            deal = deal_from_record(record, outcomes)
        except ValueError:  # a record no request could name: a plan with it would move mail onto nothing
            index.skipped += 1
            continue
        index.add(deal)
    return index


def deal_from_record(record: Mapping[str, Any], outcomes: StageOutcomes) -> Deal:
    """A Deal from a Get Records row; a field Zoho leaves out or sends null is None, as is a lookup whose id is not
    a Zoho id.

    Raises:
        ValueError: the record has no usable id (missing, null, or not a Zoho id).
    """
    deal_id = _record_id(record.get("id"))
    if deal_id is None:
        raise ValueError(f"a deal record without a usable id (id: {record.get('id')!r:.40})")
    stage = _text(record.get("Stage"))
    contact_id, _ = _lookup(record.get("Contact_Name"))
    owner_id, owner_name = _lookup(record.get("Owner"))
    return Deal(
        id=deal_id,
        name=_text(record.get("Deal_Name")),
        stage=stage,
        outcome=outcomes.outcome(stage),
        contact_id=contact_id,
        modified_time=_datetime(record.get("Modified_Time")),
        closing_date=_date(record.get("Closing_Date")),
        owner_id=owner_id,
        owner_name=owner_name,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _record_id(value: Any) -> str | None:
    """A Zoho record id as an answer gives it (a string of digits, or a number): its digits; None otherwise."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    return value if isinstance(value, str) and is_numeric_id(value) else None


def _lookup(value: Any) -> tuple[str | None, str | None]:
    """A lookup field (``{"name": ..., "id": ...}``) as (id, name); (None, None) without a usable id."""
    record_id = _record_id(value.get("id")) if isinstance(value, Mapping) else None
    if record_id is None:
        return None, None
    return record_id, _text(value.get("name"))


def _datetime(value: Any) -> datetime.datetime | None:
    try:
        parsed = datetime.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed


def _date(value: Any) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
