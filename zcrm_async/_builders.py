"""Building frozen, slotted dataclasses on a hot path without their generated ``__init__``.

A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__`` (a global lookup, an attribute
lookup and a call a field), which made the objects a backfill builds for every row (its journal item, its outcome,
its link) cost twice what setting their fields does. ``builder(cls)`` is a function of every field, in order and
positionally, that sets the slots through their own descriptors: the same object, equal to ``cls(...)`` of the same
values, in about half the time. Only for classes whose ``__init__`` does nothing else (no ``__post_init__``, every
field an argument), which ``builder`` checks once, when it is made.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["builder"]

T = TypeVar("T")


def builder(cls: type[T]) -> Callable[..., T]:
    """A positional constructor of ``cls`` (every field, in field order) that skips its ``__init__``.

    Raises:
        TypeError: ``cls`` is not a slotted dataclass, or its ``__init__`` does more than set the fields.
    """
    if not dataclasses.is_dataclass(cls) or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a slotted dataclass")
    fields = dataclasses.fields(cls)
    if hasattr(cls, "__post_init__") or any(not field.init for field in fields):
        raise TypeError(f"{cls.__name__}.__init__ does more than set its fields")
    names = [field.name for field in fields]
    # Generated, as dataclasses generates __init__: a loop over the fields would cost what is saved.
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls}
    namespace |= {f"set_{name}": cls.__dict__[name].__set__ for name in names}
    body = "".join(f"    set_{name}(item, {name})\n" for name in names)
    exec(f"def build({', '.join(names)}):\n    item = new(cls)\n{body}    return item\n", namespace)
    build: Callable[..., T] = namespace["build"]
    build.__qualname__ = build.__name__ = f"build_{cls.__name__}"
    return build
