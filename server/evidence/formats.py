"""Upload formats read as streams: records come out as the bytes come in.

Each reader yields (line, value): the record as decoded JSON or a CSV row, or a `Malformed`
saying why that line could not be read. A malformed line never stops the lines after it,
except in a JSON array, where nothing after a syntax error can be trusted.
"""

import codecs
import csv
import io
from collections.abc import AsyncIterator, Collection, Iterator
from typing import Any

import ijson
import msgspec

MEDIA_TYPES = ("application/json", "application/x-ndjson", "text/csv")
_decode_json = msgspec.json.Decoder().decode


class Malformed(str):
    """Why a line could not be read as a record."""


class UnsupportedUpload(ValueError):
    """The upload's media type or outer shape is not one we read."""


Line = tuple[int, Any]


def reader_for(media_type: str, max_line: int, fields: Collection[str]) -> Any:
    """The reader for a Content-Type, or UnsupportedUpload naming the ones we take.

    `fields` are the record's: a CSV header naming anything else is refused at once.
    """
    kind = media_type.split(";")[0].strip().lower()
    readers = {
        "application/json": json_array,
        "application/x-ndjson": ndjson,
        "application/jsonl": ndjson,
        "text/csv": csv_rows,
    }
    if kind not in readers:
        raise UnsupportedUpload(
            f"Content-Type {kind or 'missing'!r}: send {', '.join(MEDIA_TYPES)}"
        )
    if kind == "text/csv":
        return lambda chunks: csv_rows(chunks, max_line, fields)
    reader = readers[kind]
    return lambda chunks: reader(chunks, max_line)


async def ndjson(chunks: AsyncIterator[bytes], max_line: int) -> AsyncIterator[Line]:
    """One JSON object per line; blank lines are skipped, long lines rejected."""
    number, pending, skipping = 0, b"", False
    async for chunk in chunks:
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        for raw in lines:
            number += 1
            if skipping:
                skipping = False
                yield number, Malformed(f"line is longer than {max_line} bytes")
            elif raw.strip():
                yield number, _json_line(raw)
        if len(pending) > max_line:
            pending, skipping = b"", True
    if skipping or pending.strip():
        number += 1
        yield (
            number,
            Malformed(f"line is longer than {max_line} bytes")
            if skipping
            else (_json_line(pending)),
        )


def _json_line(raw: bytes) -> Any:
    try:
        return _decode_json(raw)
    except (msgspec.DecodeError, RecursionError) as error:
        return Malformed(f"not JSON: {error}")


async def csv_rows(
    chunks: AsyncIterator[bytes], max_line: int, fields: Collection[str] = ()
) -> AsyncIterator[Line]:
    """A header row, then one record per row; empty cells are absent fields.

    Rows are cut where a newline falls outside quotes (an even number of `"` before it),
    so quoted cells may hold newlines and a row is never split across two chunks. A row
    longer than `max_line` is rejected and skipped without being held in memory.
    """
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
    rows = _CsvRows(fields, max_line)
    text, skipping, quotes = "", False, 0
    async for chunk in chunks:
        text += decoder.decode(chunk)
        if skipping:
            end = _row_end(text, quotes)
            rows.line += text.count("\n", 0, end + 1 if end >= 0 else len(text))
            if end < 0:
                text, quotes = "", (quotes + text.count('"')) % 2
                continue
            text, skipping = text[end + 1 :], False
        cut = _row_boundary(text)
        if cut < 0 and len(text) > max_line:
            yield rows.line + 1, Malformed(f"row is longer than {max_line} bytes")
            rows.line += text.count("\n")
            text, skipping, quotes = "", True, text.count('"') % 2
            continue
        for found in rows.read(text[: cut + 1]):
            yield found
        text = text[cut + 1 :]
    text += decoder.decode(b"", final=True)
    for found in rows.read(text + "\n" if text.strip() else ""):
        yield found


class _CsvRows:
    """Rows after the header, numbered by the line they start on."""

    def __init__(self, fields: Collection[str], max_line: int) -> None:
        self.fields = fields
        self.max_line = max_line
        self.header: list[str] | None = None
        self.line = 0

    def read(self, complete: str) -> Iterator[Line]:
        reader = csv.reader(io.StringIO(complete))
        for row in reader:
            # The line the row starts on: quoted cells may hold newlines of their own.
            number = self.line + reader.line_num - sum(cell.count("\n") for cell in row)
            if self.header is None:
                self.header = self._checked([name.strip() for name in row])
            elif not any(row):
                continue
            elif sum(map(len, row)) > self.max_line:
                yield number, Malformed(f"row is longer than {self.max_line} bytes")
            elif len(row) != len(self.header):
                yield number, Malformed(f"{len(row)} cells for {len(self.header)} columns")
            else:
                yield number, {k: v for k, v in zip(self.header, row, strict=True) if v != ""}
        self.line += complete.count("\n")

    def _checked(self, header: list[str]) -> list[str]:
        unknown = [name for name in header if name not in self.fields]
        if self.fields and (unknown or not any(header)):
            raise UnsupportedUpload(
                f"CSV columns {unknown} are not fields ({', '.join(self.fields)}); rename "
                "them, or map them with the SDK or `journeyboard import-… --map FIELD=COLUMN`"
            )
        return header


def _row_end(text: str, quotes: int) -> int:
    """The first newline outside quotes, given the parity of quotes before `text`; or -1."""
    end, start = text.find("\n"), 0
    while end >= 0:
        quotes = (quotes + text.count('"', start, end)) % 2
        if not quotes:
            return end
        start, end = end, text.find("\n", end + 1)
    return -1


def _row_boundary(text: str) -> int:
    """The last newline that ends a row, or -1."""
    cut = text.rfind("\n")
    while cut >= 0 and text.count('"', 0, cut) % 2:
        cut = text.rfind("\n", 0, cut)
    return cut


async def json_array(chunks: AsyncIterator[bytes], max_line: int) -> AsyncIterator[Line]:
    """A JSON array of records, parsed incrementally; `line` is the item's number."""
    stream = _Readable(chunks)
    first = await stream.peek()
    if first and first[:1] != b"[":
        raise UnsupportedUpload("a JSON upload is an array of records; send NDJSON to stream")
    number = 0
    try:
        async for item in ijson.items_async(stream, "item", use_float=True):
            number += 1
            yield number, item
    except ijson.JSONError as error:
        yield number + 1, Malformed(f"the JSON array breaks after item {number}: {error}")


class _Readable:
    """An async byte stream with the `read` ijson wants, over an iterator of chunks."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self._head = b""

    async def peek(self) -> bytes:
        while not self._head.strip():
            chunk = await anext(self._chunks, None)
            if chunk is None:
                break
            self._head += chunk
        self._head = self._head.lstrip()
        return self._head

    async def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson's probe for bytes or str
            return b""
        if self._head:
            head, self._head = self._head, b""
            return head
        async for chunk in self._chunks:
            if chunk:  # an empty read means the end to ijson
                return chunk
        return b""
