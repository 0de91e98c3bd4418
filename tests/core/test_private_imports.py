"""Tests reach the library by its public names, unless they test a private unit on purpose and say so.

A private import is one of a module or a name whose dotted path has a part starting with ``_``
(``zcrm_async._auth``, ``zcrm_async.cli._exit``, ``from zcrm_async import _transport``). Each must say which unit
and why in a ``# private on purpose: ...`` comment on its line or above it: on the line just above, or heading
the run of import lines it stands in (isort keeps a comment above the first import of its group, so one comment
serves a group of private imports from the same test, as in ``tests/core/test_bulk.py``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
MARK = "# private on purpose:"


@dataclass(frozen=True)
class PrivateImport:
    path: str
    line: int
    what: str


def is_private(dotted: str) -> bool:
    parts = dotted.split(".")
    return parts[0] == "zcrm_async" and any(part.startswith("_") and not part.startswith("__") for part in parts)


def private_imports(source: str) -> list[tuple[int, int, str]]:
    """(first line, last line, what) of every import of a private module or name of the library."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        private = [name for name in names if is_private(name)]
        if private:
            found.append((node.lineno, node.end_lineno or node.lineno, ", ".join(private)))
    return found


def is_explained(lines: list[str], line: int) -> bool:
    """The mark on the import's line, or on a comment above it with only import lines between."""
    if MARK in lines[line - 1]:
        return True
    for above in reversed(lines[: line - 1]):
        text = above.strip()
        if text.startswith(MARK):
            return True
        if not is_import_line(text):
            return False
    return False


def is_import_line(text: str) -> bool:
    """A line of an import statement (its start, a continued name, its closing parenthesis) or a comment."""
    return text.startswith(("from ", "import ", "#", ")")) or (text.endswith(",") and " " not in text.rstrip(","))


def unexplained(path: Path) -> list[PrivateImport]:
    source = path.read_text()
    lines = source.splitlines()
    return [
        PrivateImport(path.relative_to(TESTS.parent).as_posix(), first, what)
        for first, _last, what in private_imports(source)
        if not is_explained(lines, first)
    ]


def test_every_private_import_in_the_tests_says_why() -> None:
    found = [problem for path in sorted(TESTS.rglob("*.py")) for problem in unexplained(path)]
    assert found == []


def test_the_check_sees_private_imports_and_their_comments() -> None:
    source = "\n".join([
        "import os",
        "from zcrm_async import ZohoCRM, __version__",
        "from zcrm_async.cli import _exit",
        "import zcrm_async._transport as transport_module",
        "",
        "# private on purpose: a unit",
        "from zcrm_async._auth import TokenManager",
        "from zcrm_async.testing import FakeZoho",
        "from zcrm_async.cli._scopes import (",
        "    RECOMMENDED_SCOPES,",
        ")",
        "",
        "from zcrm_async._window import Window  # private on purpose: another unit",
        "",
        "def f() -> None:",
        "    from zcrm_async.backfill._reach import ReachWatch",
    ])
    lines = source.splitlines()
    found = {what: is_explained(lines, first) for first, _last, what in private_imports(source)}
    assert found == {
        "zcrm_async.cli._exit": False,
        "zcrm_async._transport": False,
        "zcrm_async._auth.TokenManager": True,
        "zcrm_async.cli._scopes.RECOMMENDED_SCOPES": True,  # in the run of imports the comment heads
        "zcrm_async._window.Window": True,
        "zcrm_async.backfill._reach.ReachWatch": False,
    }


def test_the_check_reads_the_marked_files_of_the_suite() -> None:
    """The tests that test a private unit on purpose are seen, and found explained (the check is not blind)."""
    seen = {
        path.relative_to(TESTS).as_posix()
        for path in TESTS.rglob("*.py")
        if private_imports(path.read_text())
    }
    assert {"core/test_auth_edges.py", "core/test_bulk.py", "cli/test_cli_exit_codes.py"} <= seen
