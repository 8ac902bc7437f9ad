"""Feedback and events from files, rows or DataFrames, streamed to the server in chunks.

A file is read a row at a time and sent a chunk at a time (two requests in flight, so the
server is never idle while the next chunk is read), so memory stays flat whatever the
file's size. Columns are matched to record fields by the names common exports use, or by
an explicit mapping; rejected rows are reported with their line in the source.
"""

import asyncio
import csv
import io
import math
import os
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypedDict

import ijson
import msgspec

from schemas.evidence import (
    MAX_LISTED_REJECTIONS,
    RECORD_FIELDS,
    EvidenceKind,
    IngestReport,
    Rejection,
)

Source = str | os.PathLike[str] | Iterable[Mapping[str, Any]] | Any  # Any: a pandas DataFrame
# Column names common exports use for each field (compared without case, spaces or _).
COMMON_COLUMNS: dict[str, tuple[str, ...]] = {
    "external_id": ("id", "response id", "responseid", "review id", "ticket id", "event id"),
    "score": ("rating", "nps", "csat", "ces", "stars", "score value"),
    "text": ("comment", "comments", "feedback", "review", "body", "message", "verbatim"),
    "at": ("created at", "date", "timestamp", "time", "submitted at", "created"),
    "customer": ("customer id", "customerid", "user id", "userid", "email", "client id"),
    "touchpoint": ("touch point", "node", "step", "page", "event", "event name"),
    "stage": ("journey stage", "phase"),
    "value": ("amount", "revenue", "order value", "total", "price"),
    "channel": ("medium",),
}


@dataclass(frozen=True)
class ImportProgress:
    """Where an import is: rows sent so far, and bytes read of the file (when known)."""

    rows: int
    accepted: int
    duplicates: int
    rejected: int
    bytes_read: int
    bytes_total: int | None


Progress = Callable[[ImportProgress], None]


class ImportOptions(TypedDict, total=False):
    """How to read a source: `mapping` {field: column}, `defaults` {field: value}, and more."""

    mapping: dict[str, str]
    defaults: dict[str, Any]
    chunk_rows: int
    progress: Progress


def _key(name: str) -> str:
    return name.casefold().replace("_", " ").replace("-", " ").strip()


def columns_for(
    kind: EvidenceKind, header: Iterable[str], mapping: Mapping[str, str], strict: bool = True
) -> dict[str, str]:
    """{field: column} for this header: explicit mapping first, then exact and common names.

    `strict`: a mapped column the header lacks is an error (else that field is left out).
    """
    fields = RECORD_FIELDS[kind]
    unknown = set(mapping) - set(fields)
    if unknown:
        raise ValueError(
            f"--map names unknown fields {sorted(unknown)}; fields are {', '.join(fields)}"
        )
    # Not str: the None key csv.DictReader gives the cells of a row longer than the header.
    by_key = {_key(column): column for column in header if isinstance(column, str)}
    missing = [c for c in mapping.values() if _key(c) not in by_key]
    if missing and strict:
        raise ValueError(f"no column {missing[0]!r} in the source; columns are {list(header)}")
    found = {f: by_key[_key(c)] for f, c in mapping.items() if _key(c) in by_key}
    for field in fields:
        if field in found:
            continue
        for name in (field, *COMMON_COLUMNS.get(field, ())):
            if _key(name) in by_key:
                found[field] = by_key[_key(name)]
                break
    return found


def _cell(value: Any) -> Any:
    """A cell as JSON wants it; None for empty cells and NaN (pandas' missing value)."""
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "item"):  # a numpy scalar
        return value.item()
    return value


class Unreadable(str):
    """Why a row of the source could not be read; it is reported, and the rest goes on."""


Row = Mapping[str, Any] | Unreadable


class Rows:
    """The (line, row) pairs of a source, and how many of its bytes have been read."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.path = Path(source) if isinstance(source, str | os.PathLike) else None
        self.total = self.path.stat().st_size if self.path else None
        self.bytes_read = 0
        if self.path and self.path.suffix.lower() not in (".csv", ".ndjson", ".jsonl", ".json"):
            raise ValueError(f"{self.path.name}: read .csv, .ndjson, .jsonl or .json files")

    @property
    def has_header(self) -> bool:
        """CSV files and DataFrames name every column up front; JSON rows may omit keys."""
        if self.path is None:
            return hasattr(self.source, "columns")
        return self.path.suffix.lower() == ".csv"

    def __iter__(self) -> Iterator[tuple[int, Row]]:
        if self.path is None:
            if hasattr(self.source, "iloc") and hasattr(self.source, "columns"):
                yield from _frame_rows(self.source)
            else:
                rows: Iterable[Row] = self.source  # type: ignore[assignment]
                yield from enumerate(rows, start=1)
            return
        with self.path.open("rb") as handle:
            for number, row in self._file_rows(handle):
                self.bytes_read = handle.tell()
                yield number, row

    def _file_rows(self, handle: io.BufferedReader) -> Iterator[tuple[int, Row]]:
        assert self.path is not None
        suffix = self.path.suffix.lower()
        if suffix == ".csv":
            return _csv_rows(handle)
        if suffix == ".json":
            return _json_rows(handle)
        return _ndjson_rows(handle)


def _csv_rows(handle: io.BufferedReader) -> Iterator[tuple[int, Row]]:
    """A CSV file's rows; the wrapper is closed here, or its finalizer warns (ResourceWarning)."""
    with io.TextIOWrapper(handle, encoding="utf-8-sig", errors="replace", newline="") as text:
        reader = csv.DictReader(text)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                yield reader.line_num, Unreadable(f"not CSV: {error}")
                continue
            if None in row:  # more cells than the header has columns
                yield reader.line_num, Unreadable("more cells than columns")
            else:
                yield reader.line_num, row


def _ndjson_rows(handle: io.BufferedReader) -> Iterator[tuple[int, Row]]:
    for number, line in enumerate(handle, start=1):
        if line.strip():
            try:
                yield number, msgspec.json.decode(line)
            except (msgspec.DecodeError, RecursionError) as error:
                yield number, Unreadable(f"not JSON: {error}")


def _json_rows(handle: io.BufferedReader) -> Iterator[tuple[int, Row]]:
    """A JSON array's items; a syntax error ends the file (nothing after it can be trusted)."""
    number = 0
    try:
        for number, item in enumerate(ijson.items(handle, "item", use_float=True), start=1):
            yield number, item
    except ijson.JSONError as error:
        yield number + 1, Unreadable(f"the JSON array breaks after item {number}: {error}")


def _frame_rows(frame: Any, step: int = 10_000) -> Iterator[tuple[int, Row]]:
    """A DataFrame's rows, converted a slice at a time; line 2 is the first row, as in CSV."""
    for start in range(0, len(frame), step):
        for offset, row in enumerate(frame.iloc[start : start + step].to_dict("records")):
            yield start + offset + 2, row


def records(
    kind: EvidenceKind,
    rows: Iterable[tuple[int, Row]],
    mapping: Mapping[str, str],
    defaults: Mapping[str, Any],
    strict: bool,
) -> Iterator[tuple[int, dict[str, Any] | Unreadable]]:
    """(line, record) for every row, with fields taken from the matched columns.

    JSON rows may leave keys out, so columns are matched per set of keys, not once; with
    `strict` (a header names every column), a mapped column that is missing is an error.
    """
    shapes: dict[frozenset[str], dict[str, str]] = {}
    for line, row in rows:
        if isinstance(row, Unreadable):
            yield line, row
            continue
        if not isinstance(row, Mapping):
            yield line, Unreadable(f"a row is an object of fields, not {type(row).__name__}")
            continue
        shape = frozenset(row.keys())
        columns = shapes.get(shape)
        if columns is None:
            columns = columns_for(kind, row.keys(), mapping, strict=strict)
            if len(shapes) < 1024:  # a file of ever-new shapes costs time, never memory
                shapes[shape] = columns
        record = dict(defaults)
        for field, column in columns.items():
            value = _cell(row.get(column))
            if value is not None:
                record[field] = value
        yield line, record


async def upload_chunks(
    send: Callable[[bytes], Awaitable[IngestReport]],
    kind: EvidenceKind,
    source: Source,
    mapping: Mapping[str, str] | None = None,
    defaults: Mapping[str, Any] | None = None,
    chunk_rows: int = 5000,
    progress: Progress | None = None,
) -> IngestReport:
    """Send the source as NDJSON chunks; one report for all, lines as in the source.

    Rows the source itself garbles are rejected here, with their line, and never sent.
    """
    rows = Rows(source)
    mapped = records(kind, rows, mapping or {}, defaults or {}, rows.has_header)
    report = IngestReport()
    in_flight: list[tuple[asyncio.Task[IngestReport], list[int]]] = []

    async def settle(task: asyncio.Task[IngestReport], lines: list[int]) -> None:
        _merge(report, await task, lines)
        if progress is not None:
            done = report.accepted + report.duplicates + report.rejected
            progress(
                ImportProgress(
                    done,
                    report.accepted,
                    report.duplicates,
                    report.rejected,
                    rows.bytes_read,
                    rows.total,
                )
            )

    try:
        while True:
            chunk = _chunk(mapped, chunk_rows, report)
            if chunk is None:
                break
            body, lines = chunk
            in_flight.append((asyncio.ensure_future(send(body)), lines))
            if len(in_flight) == 2:
                await settle(*in_flight.pop(0))
        for task, lines in in_flight:
            await settle(task, lines)
    finally:
        for task, _ in in_flight:
            task.cancel()
    return report


def _chunk(
    mapped: Iterator[tuple[int, dict[str, Any] | Unreadable]], size: int, report: IngestReport
) -> tuple[bytes, list[int]] | None:
    """The next `size` records as NDJSON and their source lines; unreadable rows go
    straight into the report."""
    lines: list[int] = []
    parts: list[bytes] = []
    for line, record in mapped:
        if isinstance(record, Unreadable):
            _merge(
                report, IngestReport(rejected=1, errors=[Rejection(line=1, reason=record)]), [line]
            )
            continue
        lines.append(line)
        parts.append(msgspec.json.encode(record))
        if len(lines) == size:
            break
    return (b"\n".join(parts) + b"\n", lines) if lines else None


def _merge(report: IngestReport, part: IngestReport, lines: list[int]) -> None:
    """Add a chunk's report, turning its line numbers (within the chunk) into source lines."""
    report.accepted += part.accepted
    report.duplicates += part.duplicates
    report.rejected += part.rejected
    room = MAX_LISTED_REJECTIONS - len(report.errors)
    report.errors += [Rejection(line=lines[e.line - 1], reason=e.reason) for e in part.errors][
        :room
    ]
