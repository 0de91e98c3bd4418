"""Rows a service holds in memory, as a ``Source`` a journal can be bound to."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping

from ._layout import Row
from ._op import BackfillOp

__all__ = ["RowsSource", "rows_source"]


@dataclasses.dataclass(frozen=True, slots=True)
class RowsSource:
    """Rows numbered from 1, each checked by its op; identified by a sha256 of their content, so a resume with
    other rows (or the same in another order) is refused as a changed input."""

    name: str
    size: int
    sha256: str
    all_rows: tuple[Row, ...]

    def rows(self, after_line: int = 0) -> Iterator[Row]:
        return (row for row in self.all_rows if row.line > after_line)


def rows_source(op: BackfillOp, rows: Iterable[Mapping[str, str]], *, name: str) -> RowsSource:
    """``rows`` (each a mapping of the op's fields to text) as a source named ``name``.

    A row the op refuses (``op.problems``) is recorded as refused, with its line and why; fields outside the op's
    layout are dropped.
    """
    fields = op.layout.fields
    kept = [{key: str(value) for key, value in row.items() if key in fields} for row in rows]
    digest = hashlib.sha256()
    for row in kept:
        digest.update(json.dumps(row, sort_keys=True, separators=(",", ":")).encode())
        digest.update(b"\n")
    problems = {problem.index: problem for problem in op.problems(kept)}
    checked = []
    for index, row in enumerate(kept):
        problem = problems.get(index)
        error = None
        if problem is not None and problem.repeats is not None:
            error = f"line {index + 1}: duplicates line {problem.repeats + 1}"
        elif problem is not None:
            error = f"line {index + 1}: {problem.field} {problem.message}"
        checked.append(Row(index + 1, row, error))
    return RowsSource(name=name, size=len(kept), sha256=digest.hexdigest(), all_rows=tuple(checked))
