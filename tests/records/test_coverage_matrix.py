"""tests/records/COVERAGE.md stays honest: every test it names exists (its file, and a test function of that name in
it, read from the file's syntax tree; a ``[param]`` names the case pytest shows), and every operation of its matrix
has its five cases, each naming tests or saying ``n/a:`` and why."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COVERAGE = Path(__file__).with_name("COVERAGE.md")
CASES = ("success", "partial failure", "all failed", "lost response", "bad input")
NODE = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)(?:\[([^\]`]+)\])?`")


@cache
def functions_in(path: str) -> frozenset[str]:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return frozenset(
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
    )


def matrix() -> dict[str, dict[str, str]]:
    """Each operation's cases as written, from the matrix section (``### operation`` then ``- case: text``)."""
    text = COVERAGE.read_text(encoding="utf-8").split("## The matrix", 1)[1].split("\n## ", 1)[0]
    operations: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in text.splitlines():
        if line.startswith("### "):
            current = operations.setdefault(line[4:].strip(), {})
        elif line.startswith("- ") and current is not None:
            case, _, value = line[2:].partition(":")
            assert case not in current, f"{case!r} twice"
            current[case] = value.strip()
    return operations


def test_every_named_test_exists() -> None:
    named = NODE.findall(COVERAGE.read_text(encoding="utf-8"))
    assert len(named) > 100
    missing = [f"{path}::{name}" for path, name, _ in named
               if not (ROOT / path).is_file() or name not in functions_in(path)]  # fmt: skip
    assert not missing, missing


def test_every_operation_has_its_five_cases_each_tested_or_said_to_be_n_a() -> None:
    operations = matrix()
    assert len(operations) >= 35
    for operation, cases in operations.items():
        assert tuple(cases) == CASES, (operation, tuple(cases))
        for case, value in cases.items():
            tested = bool(NODE.search(value))
            said = value.startswith("n/a: ") and len(value) > len("n/a: ") + 10
            assert tested or said, (operation, case, value)


def test_the_checker_sees_a_missing_test() -> None:
    assert "test_no_such_test_anywhere" not in functions_in("tests/records/test_record_writes.py")
    assert "test_insert_all_failed_is_a_value_not_an_exception" in functions_in("tests/records/test_record_writes.py")
