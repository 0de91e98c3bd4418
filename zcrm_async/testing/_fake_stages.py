"""The fake org's Deals Stage picklist: Zoho's standard stages, each with its forecast type, renamable.

What makes a deal closed-won or closed-lost in Zoho is its stage's ``forecast_type`` ("Open", "Closed Won",
"Closed Lost"), not the stage's name: orgs rename stages and add their own. The fake keeps that table here and
derives each deal's closed flags from it; renaming a stage renames it on every deal, as Zoho does.
"""

from __future__ import annotations

import dataclasses

__all__ = ["CLOSED_LOST", "CLOSED_WON", "OPEN", "StagePicklist", "StageValue"]

OPEN, CLOSED_WON, CLOSED_LOST = "Open", "Closed Won", "Closed Lost"
_STANDARD = (
    ("Qualification", OPEN, 10),
    ("Needs Analysis", OPEN, 20),
    ("Value Proposition", OPEN, 40),
    ("Identify Decision Makers", OPEN, 60),
    ("Proposal/Price Quote", OPEN, 75),
    ("Negotiation/Review", OPEN, 90),
    ("Closed Won", CLOSED_WON, 100),
    ("Closed Lost", CLOSED_LOST, 0),
    ("Closed Lost to Competition", CLOSED_LOST, 0),
)
#: Picklist value ids, in the style of Zoho's ids, distinct from record ids.
_ID_BASE = 5_843_104_000_000_090_000


@dataclasses.dataclass(slots=True)
class StageValue:
    """One picklist value: its id, name (display and actual value alike), forecast type and probability."""

    id: str
    name: str
    forecast_type: str
    probability: int
    sequence_number: int


class StagePicklist:
    """The Stage field's values in picklist order."""

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values: list[StageValue] = []
        for name, forecast_type, probability in _STANDARD:
            self.add(name, forecast_type, probability)

    @property
    def values(self) -> list[StageValue]:
        return list(self._values)

    def add(self, name: str, forecast_type: str, probability: int = 50) -> StageValue:
        if forecast_type not in (OPEN, CLOSED_WON, CLOSED_LOST):
            raise ValueError(f"forecast_type must be {OPEN!r}, {CLOSED_WON!r} or {CLOSED_LOST!r}")
        if self.get(name) is not None:
            raise ValueError(f"the Stage picklist already has {name!r}")
        number = len(self._values) + 1
        value = StageValue(str(_ID_BASE + number), name, forecast_type, probability, number)
        self._values.append(value)
        return value

    def get(self, name: str) -> StageValue | None:
        return next((value for value in self._values if value.name == name), None)

    def forecast_type(self, name: str) -> str:
        """A stage's forecast type; a stage the picklist does not know counts as open."""
        value = self.get(name)
        return value.forecast_type if value is not None else OPEN

    def first(self, forecast_type: str) -> str:
        """The first stage of a forecast type (what "closed lost" means when a test asks for one)."""
        return next(value.name for value in self._values if value.forecast_type == forecast_type)

    def rename(self, old: str, new: str) -> None:
        value = self.get(old)
        if value is None:
            raise KeyError(old)
        if self.get(new) is not None:
            raise ValueError(f"the Stage picklist already has {new!r}")
        value.name = new
