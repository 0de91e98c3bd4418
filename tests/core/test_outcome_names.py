"""zcrm_async.outcomes is the one home of the codes the library puts on an item: no module spells one as a literal.

Read from the source (the AST), so a new ``"TRANSPORT_ERROR"`` written in a library module fails here. Two parts
of the package are left out on purpose: ``testing/`` (FakeZoho writes Zoho's wire answers, as Zoho spells them)
and ``cli/`` (a program using the library, whose messages quote codes to people).
"""

from __future__ import annotations

import ast
from pathlib import Path

import zcrm_async
from zcrm_async import outcomes

PACKAGE = Path(zcrm_async.__file__).parent
CODES = {
    value for name in outcomes.__all__ if isinstance(value := getattr(outcomes, name), str)
} - {"RedisUnavailable"}  # also the name of an exception class, which ``__all__`` lists
LEFT_OUT = {"testing", "cli"}
#: The same word in another vocabulary: a Bulk Write job's state (Zoho's ``status``), not an item's code.
OTHER_WORDS = {"bulk_jobs/_models.py": {"SKIPPED"}}


def library_modules() -> list[Path]:
    return [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] not in LEFT_OUT and path.name != "outcomes.py"
    ]


def not_codes(tree: ast.AST) -> set[int]:
    """The ids of the string constants that are not codes: docstrings and the names an ``__all__`` lists."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            found.update(id(name) for name in ast.walk(node.value))
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def code_literals(source: str, label: str) -> list[str]:
    tree = ast.parse(source)
    skip = not_codes(tree)
    allowed = OTHER_WORDS.get(label, set())
    return [
        f"{label}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and id(node) not in skip and node.value in CODES - allowed
    ]


def test_the_codes_are_what_this_test_looks_for() -> None:
    # guards the test itself: an empty set or a package without modules would pass anything
    assert {"TRANSPORT_ERROR", "NO_CONTENT", "NOT_SENT", "LINK_UNVERIFIED", "NOT_ALLOWED", "restore_failed"} <= CODES
    assert len(library_modules()) > 40


def test_no_library_module_spells_an_outcome_code_as_a_literal() -> None:
    found = [
        line
        for path in library_modules()
        for line in code_literals(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE)))
    ]
    assert found == []


def test_the_check_finds_a_literal_where_there_is_one() -> None:
    source = "\n".join(['"""Docstring: SUCCESS."""', '__all__ = ["NOT_LINKED"]', "", "", "def f():",
                        '    """NOT_SENT."""', '    return "NOT_SENT"', ""])  # fmt: skip
    assert code_literals(source, "sample.py") == ["sample.py:7: 'NOT_SENT'"]
