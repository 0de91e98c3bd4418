"""FakeZoho's parser for the COQL subset it serves: text in, a ``Select`` (or the error Zoho would answer) out.

The grammar (Zoho's "Query API - An Overview" and "Query API - Limitations" pages; keywords case-insensitive)::

    select  := SELECT field (',' field)* FROM module WHERE cond [ORDER BY order (',' order)*] [limit]
    limit   := LIMIT n [OFFSET m] | LIMIT m ',' n
    cond    := term [(AND | OR) term]          -- one operator per level: Zoho asks for every pair bracketed
    term    := '(' cond ')' | field op value | field [NOT] IN '(' value (',' value)* ')'
             | field [NOT] LIKE 'text' | field IS [NOT] NULL | field [NOT] BETWEEN value AND value
    op      := '=' | '!=' | '<>' | '<' | '>' | '<=' | '>='
    value   := 'text' (a quote or backslash inside escaped with a backslash) | number | true | false

WHERE is required (the v7 Query API page: a query without it is a SYNTAX_ERROR). What the grammar does not
take is SYNTAX_ERROR with ``{line, column, near}``; what Zoho supports but this fake does not (GROUP BY,
aggregates, lookups by dot notation, aliases) is INVALID_QUERY naming it, so a test learns it left the subset.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

__all__ = ["Comparison", "CoqlError", "Group", "Select", "parse"]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*')
      | (?P<number>-?\d+(?:\.\d+)?(?![\w.]))
      | (?P<name>[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)
      | (?P<op><=|>=|!=|<>|=|<|>)
      | (?P<punct>[(),*])
    )""",
    re.VERBOSE,
)
_UNSUPPORTED = {"group", "having", "join", "as", "count", "sum", "avg", "min", "max", "distinct", "union"}


class CoqlError(Exception):
    """The answer Zoho gives a query it refuses: ``code``, ``message`` and ``details``."""

    def __init__(self, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


@dataclasses.dataclass(frozen=True, slots=True)
class Comparison:
    """``field op value``; ``op`` is one of = != < > <= >= in, not in, like, not like, is null, is not null,
    between, not between (``value`` a tuple for in and between, None for the null tests)."""

    field: str
    op: str
    value: Any


@dataclasses.dataclass(frozen=True, slots=True)
class Group:
    """``left and right`` or ``left or right``."""

    op: str
    left: Comparison | Group
    right: Comparison | Group


@dataclasses.dataclass(frozen=True, slots=True)
class Select:
    fields: tuple[str, ...]
    module: str
    where: Comparison | Group
    order_by: tuple[tuple[str, bool], ...]  # (field, descending)
    limit: int
    offset: int


@dataclasses.dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    column: int

    @property
    def word(self) -> str:
        return self.text.lower() if self.kind == "name" else ""


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            if not text[position:].strip():
                break
            column = position + len(text[position:]) - len(text[position:].lstrip())
            raise _syntax(text, column)
        kind = match.lastgroup or ""
        out.append(_Token(kind, match.group(kind), match.start(kind)))
        position = match.end()
    return out


def _syntax(text: str, column: int) -> CoqlError:
    line = text.count("\n", 0, column) + 1
    near = text[column : column + 20].split()[0] if text[column:].strip() else text[-20:].strip()
    return CoqlError("SYNTAX_ERROR", "invalid query formed", {"line": line, "column": column + 1, "near": near})


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.at = 0

    # -- the token stream --------------------------------------------------------------------------------

    def peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise _syntax(self.text, len(self.text.rstrip()))
        self.at += 1
        return token

    def fail(self, token: _Token | None = None) -> CoqlError:
        token = token or self.peek()
        if token is not None and token.word in _UNSUPPORTED:
            return CoqlError("INVALID_QUERY", "invalid query formed", {"reason": f"{token.text} is not served"})
        return _syntax(self.text, token.column if token else len(self.text.rstrip()))

    def keyword(self, *words: str) -> None:
        for word in words:
            token = self.take()
            if token.word != word:
                raise self.fail(token)

    def at_word(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token.word == word

    def name(self) -> str:
        token = self.take()
        if token.kind != "name":
            raise self.fail(token)
        if "." in token.text:
            reason = {"reason": "lookups by dot notation are not served"}
            raise CoqlError("INVALID_QUERY", "invalid query formed", reason)
        if token.word in _UNSUPPORTED:
            raise self.fail(token)
        return token.text

    def punct(self, char: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "punct" and token.text == char:
            self.at += 1
            return True
        return False

    # -- the grammar -------------------------------------------------------------------------------------

    def select(self) -> Select:
        self.keyword("select")
        fields = [self.name()]
        while self.punct(","):
            fields.append(self.name())
        if not self.at_word("from"):
            raise _missing("from") if self.peek() is None else self.fail()
        self.keyword("from")
        module = self.name()
        if not self.at_word("where"):
            raise _missing("where") if self.peek() is None or self.peek_word_in("order", "limit") else self.fail()
        self.keyword("where")
        where = self.condition()
        order = self.order_by() if self.at_word("order") else ()
        limit, offset = self.limit() if self.at_word("limit") else (200, 0)
        if self.peek() is not None:
            raise self.fail()
        return Select(tuple(fields), module, where, order, limit, offset)

    def peek_word_in(self, *words: str) -> bool:
        return any(self.at_word(word) for word in words)

    def condition(self) -> Comparison | Group:
        left = self.term()
        if self.peek_word_in("and", "or"):
            op = self.take().word
            return Group(op, left, self.term())
        return left

    def term(self) -> Comparison | Group:
        if self.punct("("):
            inner = self.condition()
            if not self.punct(")"):
                raise self.fail()
            return inner
        field = self.name()
        token = self.take()
        if token.kind == "op":
            return Comparison(field, "!=" if token.text == "<>" else token.text, self.value())
        negated = token.word == "not"
        if negated:
            token = self.take()
        if token.word == "in":
            return Comparison(field, "not in" if negated else "in", self.values())
        if token.word == "like":
            pattern = self.value()
            if not isinstance(pattern, str):
                message = "value given seems to be invalid for the column"
                raise CoqlError("INVALID_QUERY", message, {"column_name": field})
            return Comparison(field, "not like" if negated else "like", pattern)
        if token.word == "between":
            low = self.value()
            self.keyword("and")
            return Comparison(field, "not between" if negated else "between", (low, self.value()))
        if token.word == "is" and not negated:
            is_not = self.at_word("not")
            if is_not:
                self.at += 1
            self.keyword("null")
            return Comparison(field, "is not null" if is_not else "is null", None)
        raise self.fail(token)

    def values(self) -> tuple[Any, ...]:
        if not self.punct("("):
            raise self.fail()
        out = [self.value()]
        while self.punct(","):
            out.append(self.value())
        if not self.punct(")"):
            raise self.fail()
        return tuple(out)

    def value(self) -> Any:
        token = self.take()
        if token.kind == "string":
            return re.sub(r"\\(.)", r"\1", token.text[1:-1])
        if token.kind == "number":
            return float(token.text) if "." in token.text else int(token.text)
        if token.word in ("true", "false"):
            return token.word == "true"
        raise self.fail(token)

    def order_by(self) -> tuple[tuple[str, bool], ...]:
        self.keyword("order", "by")
        order = [self.one_order()]
        while self.punct(","):
            order.append(self.one_order())
        return tuple(order)

    def one_order(self) -> tuple[str, bool]:
        field = self.name()
        if self.peek_word_in("asc", "desc"):
            return field, self.take().word == "desc"
        return field, False

    def limit(self) -> tuple[int, int]:
        self.keyword("limit")
        first = self.integer("limit")
        if self.punct(","):
            return self.integer("limit"), first  # LIMIT offset, count
        if self.at_word("offset"):
            self.at += 1
            return first, self.integer("offset")
        return first, 0

    def integer(self, clause: str) -> int:
        token = self.take()
        if token.kind != "number" or "." in token.text or token.text.startswith("-"):
            raise CoqlError("INVALID_QUERY", "invalid query formed", {clause: token.text})
        return int(token.text)


def _missing(clause: str) -> CoqlError:
    return CoqlError("SYNTAX_ERROR", "missing clause", {"clause": clause})


def parse(text: str) -> Select:
    """The query, or ``CoqlError`` with the code, message and details Zoho answers."""
    parser = _Parser(text)
    if not parser.tokens:
        raise _missing("select")
    if parser.tokens[0].word != "select":
        raise CoqlError("SYNTAX_ERROR", "invalid query formed", {"clause": "select"})
    return parser.select()
