"""Everything the CLI shows goes through ``Output``: one place that knows the secrets and blanks them out."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import TextIO

from rich.console import Console
from rich.table import Table

__all__ = ["Output"]

_MASK = "***"


class Output:
    """Lines to stdout, problems to stderr, tables via rich; every string is redacted first."""

    __slots__ = ("_secrets", "console", "err", "quiet")

    def __init__(self, *, quiet: bool = False, stdout: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self.quiet = quiet
        self.console = Console(file=stdout or sys.stdout, highlight=False, soft_wrap=True)
        self.err = Console(file=stderr or sys.stderr, highlight=False, soft_wrap=True)
        self._secrets: list[str] = []

    def add_secrets(self, *values: str | None) -> None:
        """Values never to show (client secret, refresh token, ...), however they got into a message."""
        for value in values:
            if value and len(value) >= 4 and value not in self._secrets:
                self._secrets.append(value)
        self._secrets.sort(key=len, reverse=True)  # longest first, so a secret inside another goes too

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, _MASK)
        return text

    @property
    def is_terminal(self) -> bool:
        return self.console.is_terminal

    def line(self, text: str) -> None:
        """A normal line on stdout (suppressed by --quiet)."""
        if not self.quiet:
            self.console.print(self.redact(text), markup=False)

    def result(self, text: str) -> None:
        """A line that is the command's answer: printed even with --quiet."""
        self.console.print(self.redact(text), markup=False)

    def error(self, text: str) -> None:
        self.err.print(self.redact(text), markup=False)

    def table(self, title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        table = Table(title=self.redact(title), title_justify="left")
        for index, column in enumerate(columns):
            table.add_column(column, justify="left" if index == 0 else "right")
        for row in rows:
            table.add_row(*(self.redact(str(cell)) for cell in row))
        self.console.print(table)
