"""A bound on cursor chains: a server that repeats a cursor, or hands out fresh ones forever, must end the read
with a clear error instead of a loop that never ends (and never says the data is incomplete)."""

from __future__ import annotations

from ._errors import PaginationError

__all__ = ["CursorChain"]


class CursorChain:
    """The cursors one read has followed; ``follow(cursor)`` raises ``PaginationError`` on a repeat, or once
    more than ``max_pages`` pages were asked for."""

    __slots__ = ("_max_pages", "_seen", "_what")

    def __init__(self, what: str, max_pages: int) -> None:
        if max_pages < 1:
            raise ValueError("max_pages must be at least 1")
        self._what = what
        self._max_pages = max_pages
        self._seen: set[str] = set()

    def follow(self, cursor: str) -> str:
        if cursor in self._seen:
            raise PaginationError(
                f"{self._what}: the server gave a cursor it gave before; following it would loop forever "
                f"(read stopped after {len(self._seen) + 1} pages)"
            )
        if len(self._seen) + 1 >= self._max_pages:
            raise PaginationError(
                f"{self._what}: still more pages after {self._max_pages:,}, more than any answer should hold; "
                "read stopped"
            )
        self._seen.add(cursor)
        return cursor
