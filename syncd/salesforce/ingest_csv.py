"""The CSV of Bulk API 2.0 ingest jobs: records in, per-record result rows out.

Bulk 2.0 CSV has no types and two kinds of "nothing", so values are encoded exactly:

- an **empty cell leaves the field as it is** (update) or at its default (insert), like a
  key missing from a Collections record; ``None`` and ``""`` (which Salesforce stores as
  null anyway) become ``#N/A``, the Bulk 2.0 way to **set a field to null**. A record
  that lacks a column other records have gets an empty cell there;
- booleans ``true``/``false``; integers as digits; floats in plain notation, never
  ``1e+16``; ``date`` as ``2026-12-01``; ``datetime`` in UTC as
  ``2026-12-01T09:30:00.000Z`` (a naive datetime is refused: its zone is unknown);
  strings as they are, commas, quotes and line breaks included (Task.Description is
  multi-line): the ``csv`` module quotes them, and Salesforce reads them back verbatim.
  The literal text ``#N/A`` therefore cannot be written as a value.

Results (``successfulResults`` and ``failedResults``) repeat the uploaded columns after
``sf__Id`` and ``sf__Created`` / ``sf__Error``, in no guaranteed order; a result row
finds its record through the uploaded key cells: ``Id`` for update, the external id for
upsert, the whole row for insert (identical rows are interchangeable).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from syncd.salesforce.csv_lines import csv_lines
from syncd.salesforce.results import RecordFailure

NULL = "#N/A"
ID_COLUMN, CREATED_COLUMN, ERROR_COLUMN = "sf__Id", "sf__Created", "sf__Error"
Key = str | tuple[str, ...]  # one column: the cell itself (smaller)
_ERROR = re.compile(r"^([A-Z][A-Z0-9_]*):(.*)$", re.DOTALL)
_FIELDS = re.compile(r"^[A-Za-z0-9_.]+(?:,[A-Za-z0-9_.]+)*$")


def cell(value: Any) -> str:
    """One value as a Bulk 2.0 CSV cell (see the module docstring)."""
    if value is None or value == "":
        return NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{value!r} is not a number Salesforce can store")
        return f"{Decimal(repr(value)):f}"
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"datetime {value.isoformat()} has no time zone")
        utc = value.astimezone(UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        if value == NULL:
            raise ValueError(f"the text {NULL!r} means null in Bulk API 2.0 and cannot be written")
        return str.__str__(value)  # a str enum's value, as JSON would send it
    raise ValueError(f"a {type(value).__name__} cannot be written to a Salesforce field")


def columns(records: Sequence[Mapping[str, Any]], first: str | None) -> list[str]:
    """Every key any record has, in first-seen order; ``first`` (the key column) leads."""
    seen: dict[str, None] = {first: None} if first else {}
    for record in records:
        for name in record:
            if name != "attributes":
                seen.setdefault(name, None)
    return list(seen)


def row(record: Mapping[str, Any], header: Sequence[str], index: int) -> list[str]:
    """The record's cells under ``header``; an absent key is an empty (untouched) cell."""
    cells = []
    for name in header:
        if name not in record:
            cells.append("")
            continue
        try:
            cells.append(cell(record[name]))
        except ValueError as exc:
            raise ValueError(f"record #{index}, field {name}: {exc}") from None
    return cells


@dataclass(frozen=True)
class Chunk:
    """The records ``start`` to ``end`` (exclusive) as one upload: header line + rows,
    UTF-8 encoded (sent as they are: a 100 MB upload is held once, not as text too)."""

    start: int
    end: int
    data: bytes

    @property
    def text(self) -> str:
        return self.data.decode("utf-8")


class _LastLine:
    """A file for ``csv.writer`` that keeps the one line just written (no big buffer)."""

    line = ""

    def write(self, text: str) -> int:
        self.line = text
        return len(text)


def chunks(
    records: Sequence[Mapping[str, Any]], header: Sequence[str], max_bytes: int
) -> Iterator[Chunk]:
    """Consecutive uploads of at most ``max_bytes`` UTF-8 bytes each, lazily encoded."""
    sink = _LastLine()
    writer = csv.writer(sink, lineterminator="\n")
    writer.writerow(header)
    head = sink.line.encode()
    size, start, lines = len(head), 0, [head]
    for index, record in enumerate(records):
        writer.writerow(row(record, header, index))
        line = sink.line.encode()
        if len(head) + len(line) > max_bytes:
            raise ValueError(f"record #{index} alone is larger than an upload ({max_bytes} bytes)")
        if size + len(line) > max_bytes:
            chunk = Chunk(start, index, b"".join(lines))
            size, start, lines = len(head), index, [head]  # the lines go before the upload
            yield chunk
            del chunk  # and the upload before the next is built (the caller drops it too)
        lines.append(line)
        size += len(line)
    if len(lines) > 1:
        yield Chunk(start, len(records), b"".join(lines))


def key_columns(operation: str, header: Sequence[str], external_id: str | None) -> list[str]:
    """The columns whose cells identify a record in the results."""
    if operation == "update":
        return ["Id"]
    if operation == "upsert" and external_id:
        return [external_id]
    return list(header)


def record_key(record: Mapping[str, Any], names: Sequence[str]) -> Key:
    """The key cells of a record as uploaded (one string when one column is the key)."""
    cells = tuple(cell(record[name]) if name in record else "" for name in names)
    return cells[0] if len(cells) == 1 else cells


def row_key(cells: Sequence[str], positions: Sequence[int]) -> Key:
    """The key cells of a results row (``positions`` in its uploaded cells)."""
    key = tuple(cells[p] for p in positions)
    return key[0] if len(key) == 1 else key


@dataclass(frozen=True)
class ResultRow:
    """One row of a results file: its ``sf__`` cells and the uploaded cells, in order."""

    sf: Mapping[str, str]
    cells: list[str]


def result_rows(data: str | bytes, header: Sequence[str], what: str) -> Iterator[ResultRow]:
    """Parse a results file; its uploaded columns must be ours (an empty body has none)."""
    reader = csv.reader(csv_lines(data))
    names = next(reader, None)
    if not names:
        return
    own = [i for i, name in enumerate(names) if not name.startswith("sf__")]
    if [names[i] for i in own] != list(header):
        raise ValueError(f"{what} has the columns {names}, not the uploaded {list(header)}")
    for line, cells in enumerate(reader, start=2):
        if len(cells) != len(names):
            raise ValueError(f"{what} row {line} has {len(cells)} cells for {len(names)} columns")
        sf = {names[i]: cells[i] for i in range(len(names)) if names[i].startswith("sf__")}
        yield ResultRow(sf, [cells[i] for i in own])


def parse_error(text: str) -> RecordFailure:
    """``sf__Error`` (``CODE:message:Field1,Field2 --``) as a RecordFailure."""
    text = text.strip().removesuffix("--").rstrip()
    match = _ERROR.match(text)
    if match is None:
        return RecordFailure(code="UNKNOWN", message=text or "no error text")
    code, rest = match[1], match[2]
    message, _, tail = rest.rpartition(":")
    if message and (tail == "" or _FIELDS.match(tail)):
        fields = tuple(f for f in tail.split(",") if f)
        return RecordFailure(code=code, message=message.strip(), fields=fields)
    return RecordFailure(code=code, message=rest.strip())


__all__ = [
    "NULL",
    "Chunk",
    "ResultRow",
    "cell",
    "chunks",
    "columns",
    "key_columns",
    "parse_error",
    "record_key",
    "result_rows",
    "row",
    "row_key",
]
