"""The house's rule, read from the classes: composition, not inheritance, between the library's own classes.

No resource, op, runner or policy inherits from another class of the library (the old ``Emails`` was a six-level
mixin tower). Exceptions form their tree on purpose (``ZohoError``), and one stream specialises ``Stream``.
FakeZoho (``testing/``) and the CLI are left out: they are users of the library, with rules of their own.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import zcrm_async

LEFT_OUT = ("zcrm_async.testing", "zcrm_async.cli")
#: A class of the library that may inherit from another: a stream of pairs is a ``Stream`` that flattens.
ALLOWED = {"zcrm_async._fanout._Flattened"}


def library_classes() -> list[type]:
    classes = []
    for info in pkgutil.walk_packages(zcrm_async.__path__, prefix="zcrm_async."):
        if info.name.startswith(LEFT_OUT):
            continue
        module = importlib.import_module(info.name)
        classes += [c for c in vars(module).values() if inspect.isclass(c) and c.__module__ == info.name]
    return classes


def test_the_library_has_classes_to_check() -> None:
    names = {c.__name__ for c in library_classes()}
    assert {"Emails", "Records", "Modules", "BulkRunner", "RequestOp", "RelinkOp", "ZohoCRM"} <= names


def test_no_class_of_the_library_inherits_from_another_but_exceptions() -> None:
    inheriting = {
        f"{c.__module__}.{c.__qualname__}": [b.__qualname__ for b in own_bases]
        for c in library_classes()
        if (own_bases := [b for b in c.__mro__[1:] if b.__module__.startswith("zcrm_async.")])
        and not issubclass(c, BaseException)
    }
    assert set(inheriting) == ALLOWED, inheriting
