"""``builder``: the hot paths' constructor of frozen, slotted dataclasses builds the very object ``cls(...)`` does,
still frozen, and refuses a class whose ``__init__`` does more than set its fields."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from zcrm_async import backfill

# private on purpose: the hot paths' own constructor, which nothing public exposes
from zcrm_async._builders import builder
from zcrm_async.emails import DealLink, DealUnlink

CASES: list[tuple[type[Any], tuple[Any, ...]]] = [
    (DealLink, ("1", "m1", "2", "3", "A deal", None, "Deals", "4")),
    (DealUnlink, ("1", "m1", "3")),
    (backfill.JournalItem, (7, {"contact_id": "1"}, "in_flight", None, None, None, 0, "9")),
    (backfill.Outcome, (7, "SUCCESS", "success", "linked", 2, True)),
    (backfill.Row, (7, {"contact_id": "1"}, "line 7: bad")),
]


@pytest.mark.parametrize(("cls", "values"), CASES, ids=[cls.__name__ for cls, _ in CASES])
def test_a_built_object_is_the_one_the_class_builds_and_stays_frozen(cls: type[Any], values: tuple[Any, ...]) -> None:
    names = [field.name for field in dataclasses.fields(cls)]
    built = builder(cls)(*values)
    assert type(built) is cls
    assert built == cls(**dict(zip(names, values, strict=True)))
    assert [getattr(built, name) for name in names] == list(values)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(built, names[0], values[0])
    with pytest.raises(TypeError):
        builder(cls)(*values[:-1])  # every field is an argument: none is left to a default


@dataclasses.dataclass(frozen=True, slots=True)
class _Checked:
    value: int

    def __post_init__(self) -> None:
        if self.value < 0:
            raise ValueError("negative")


@dataclasses.dataclass(frozen=True, slots=True)
class _Derived:
    value: int
    double: int = dataclasses.field(init=False, default=0)


@dataclasses.dataclass(frozen=True)
class _Unslotted:
    value: int


@pytest.mark.parametrize("cls", [_Checked, _Derived, _Unslotted, dict])
def test_a_class_whose_init_does_more_than_set_its_fields_is_refused(cls: type[Any]) -> None:
    with pytest.raises(TypeError):
        builder(cls)
