"""``records import`` as a journaled backfill (``zcrm_async.backfill``): a row is one record to insert, update or
upsert, its fields the CSV header's field API names.

What makes a rerun send nothing twice is the journal (a row is marked in flight and committed before its request
can go out) and ``settle``, which reads back the rows a killed run left in flight before anything is sent again:

- **upsert** and **insert**: the records holding the rows' key values (the first duplicate-check field: an upsert's
  ``--duplicate-check-fields``, else the module's system field) are looked up by COQL, 50 values a query. An
  insert whose key value is found was applied (SUCCESS); an upsert was applied when the record found holds every
  value of the row. The others are sent again: an upsert is idempotent by its key (Zoho finds the record a lost
  try made and updates it), and an insert not found was not applied.
- **update**: the rows' records are read by id (Get Records); those already holding every value are done, the
  rest are sent again (writing the same values twice leaves the record as once).

A row that cannot be read back now (no answer, 429, 5xx) stays in flight for the next run. Values are compared
as text (the CSV's); an empty cell is not sent (it would clear the field). A row of more fields than one read
returns (50) cannot be compared: an upsert or update found is sent again, which leaves the record as once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from .. import ItemProblem, ZohoCRM, ZohoError, backfill
from ..coql import Query, field

__all__ = ["Columns", "RecordsImport"]

Kind = Literal["insert", "update", "upsert"]
#: Values a COQL ``in`` takes at once (Zoho's limit).
_IN_VALUES = 50
_MAIN_CALL = {"insert": "records.insert.bulk", "update": "records.update.bulk", "upsert": "records.upsert.bulk"}
_RESUMED = "(read back after an interrupted run)"
#: Fields one COQL query or Get Records call returns at most (Zoho's limit), ``id`` among them.
_MAX_FIELDS = 50


@dataclasses.dataclass(frozen=True, slots=True)
class Columns:
    """The CSV header's field API names and the journal column each is kept in (``f_`` and the name in lower
    case: a journal column is a lower-case identifier, and none may take the journal's own names)."""

    names: tuple[str, ...]

    @classmethod
    def of(cls, header: Sequence[str]) -> Columns:
        """The header's columns, or ``ValueError`` saying which name cannot be one."""
        columns = cls(tuple(header))
        seen: dict[str, str] = {}
        for name in columns.names:
            if not name or not (name[0].isalpha() and name.replace("_", "").isalnum() and name.isascii()):
                raise ValueError(f"the CSV header's {name!r} is not a field API name (letters, digits, _)")
            if len(name) > 61:
                raise ValueError(f"the CSV header's {name!r} is longer than 61 characters")
            other = seen.setdefault(name.lower(), name)
            if other != name or list(columns.names).count(name) > 1:
                raise ValueError(f"the CSV header names {name!r} twice (API names are compared in any case)")
        return columns

    def column(self, name: str) -> str:
        return f"f_{name.lower()}"

    @property
    def journal(self) -> tuple[str, ...]:
        return tuple(self.column(name) for name in self.names)

    def record(self, fields: Mapping[str, str]) -> dict[str, str]:
        """A row's journal fields as the record to send: API names, empty cells left out."""
        return {name: value for name in self.names if (value := fields.get(self.column(name), ""))}


@dataclasses.dataclass(frozen=True, slots=True)
class RecordsImport:
    """One import: ``kind`` of ``module``'s records from rows of ``columns``, keyed by ``key`` (``id`` for an
    update, else the first duplicate-check field), upserts matched by ``check_fields`` (None: Zoho's default)."""

    kind: Kind
    module: str
    columns: Columns
    key: str
    check_fields: tuple[str, ...] | None = None

    @property
    def name(self) -> str:
        """What binds the journal: a resume must be the same import of the same module by the same fields."""
        checks = ",".join(self.check_fields or ())
        return f"records.{self.kind}:{self.module}:{self.key}:{checks}"

    @property
    def layout(self) -> backfill.Layout:
        return backfill.Layout(fields=self.columns.journal, key=(self.columns.column(self.key),))

    @property
    def main_call(self) -> str:
        return _MAIN_CALL[self.kind]

    def problems(self, rows: Sequence[Mapping[str, str]]) -> list[ItemProblem]:
        """A row without its key (an update's ``id`` of digits; the key field's value) cannot be sent safely."""
        found = []
        for index, fields in enumerate(rows):
            value = fields.get(self.columns.column(self.key), "")
            if self.kind == "update" and not (value.isascii() and value.isdigit()):
                found.append(ItemProblem(index, "id", "must be the record's id (digits)"))
            elif not value:
                found.append(ItemProblem(index, self.key, "is empty: it is what finds the record again after a kill"))
        return found

    async def prepare(self, crm: ZohoCRM) -> None:
        return None

    async def send(
        self, crm: ZohoCRM, batch: Sequence[backfill.JournalItem], answered: backfill.Answered,
        remember: backfill.Remember,
    ) -> None:  # fmt: skip
        lines = {row.fields[self.columns.column(self.key)]: row.line for row in batch}
        records = [self.columns.record(row.fields) for row in batch]

        def progress(results: Sequence[Any]) -> None:
            answered([(lines[str(result.item[self.key])], result) for result in results])

        if self.kind == "upsert":
            fields = list(self.check_fields) if self.check_fields else None
            result = await crm.records.upsert(self.module, records, duplicate_check_fields=fields,
                                              on_progress=progress)  # fmt: skip
        elif self.kind == "insert":
            result = await crm.records.insert(self.module, records, lookup_field=self.key, on_progress=progress)
        else:
            result = await crm.records.update(self.module, records, on_progress=progress)
        progress(result.results)  # anything a progress callback did not see

    async def settle(self, crm: ZohoCRM, batch: Sequence[backfill.JournalItem]) -> backfill.Settlement:
        found = backfill.Settlement()
        for start in range(0, len(batch), _IN_VALUES):
            window = batch[start : start + _IN_VALUES]
            try:
                records = await self._read_back(crm, [self.columns.record(row.fields) for row in window])
            except ZohoError:
                found.unknown += [row.line for row in window]
                continue
            for row in window:
                record = self.columns.record(row.fields)
                held = records.get(record[self.key])
                if held is not None and (self.kind == "insert" or (self._comparable and _holds(held, record))):
                    message = f"record {'added' if self.kind == 'insert' else 'written'} {_RESUMED}"
                    found.outcomes.append(backfill.Outcome(row.line, "SUCCESS", "success", message, row.attempts))
                else:
                    found.resend.append(row.line)
        return found

    @property
    def _comparable(self) -> bool:
        """Whether a record read back can show every field of a row: COQL and Get Records take 50 fields."""
        return len(self.columns.names) < _MAX_FIELDS

    async def _read_back(self, crm: ZohoCRM, records: list[dict[str, str]]) -> dict[str, dict[str, Any]]:
        """The module's records holding the rows' key values, by that value (as text); with every field of the
        rows when they fit in one read (else the key alone: an update or upsert found is then sent again)."""
        names = sorted({name for record in records for name in record if name != "id"} | {self.key} - {"id"})
        if not self._comparable:
            names = [name for name in (self.key,) if name != "id"]
        values = [record[self.key] for record in records]
        if self.kind == "update":
            held = crm.records.get_many(self.module, values, fields=names or ["id"])
        else:
            held = crm.records.coql(Query(self.module, ["id", *names], where=field(self.key).in_(values)))
        by_key: dict[str, dict[str, Any]] = {}
        async for record in held:
            by_key.setdefault(str(record.get(self.key)), record)
        return by_key


def _holds(record: Mapping[str, Any], row: Mapping[str, str]) -> bool:
    """Whether the record holds every value of the row (compared as text)."""
    return all(name == "id" or str(record.get(name)) == value for name, value in row.items())
