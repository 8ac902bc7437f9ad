"""Upload formats read as streams: records come out as the bytes come in.

Each reader yields (line, value): the record as decoded JSON or a CSV row, or a `Malformed`
saying why that line could not be read. A malformed line never stops the lines after it,
except in a JSON array, where nothing after a syntax error, or after an item too long to
hold, can be read without parsing it.
"""

import codecs
import csv
import functools
import io
import re
from collections.abc import AsyncIterator, Callable, Collection, Iterator
from typing import Any

import ijson
import msgspec

MEDIA_TYPES = ("application/json", "application/x-ndjson", "text/csv")
_decode_json = msgspec.json.Decoder().decode
_encode_json = msgspec.json.Encoder().encode


class Malformed(str):
    """Why a line could not be read as a record."""


class UnsupportedUpload(ValueError):
    """The upload's media type or outer shape is not one we read."""


Line = tuple[int, Any]
Reader = Callable[[AsyncIterator[bytes]], AsyncIterator[Line]]


def reader_for(media_type: str, max_line: int, fields: Collection[str]) -> Reader:
    """The reader for a Content-Type, or UnsupportedUpload naming the ones we take.

    `fields` are the record's: a CSV header naming anything else is refused at once.
    """
    kind = media_type.split(";")[0].strip().lower()
    if kind == "text/csv":
        return functools.partial(csv_rows, max_line=max_line, fields=fields)
    if kind in ("application/x-ndjson", "application/jsonl"):
        return functools.partial(ndjson, max_line=max_line)
    if kind == "application/json":
        return functools.partial(json_array, max_line=max_line)
    raise UnsupportedUpload(f"Content-Type {kind or 'missing'!r}: send {', '.join(MEDIA_TYPES)}")


async def ndjson(chunks: AsyncIterator[bytes], max_line: int) -> AsyncIterator[Line]:
    """One JSON object per line; blank lines are skipped, long lines rejected unread."""
    too_long = Malformed(f"line is longer than {max_line} bytes")
    number, pending, skipping = 0, b"", False
    async for chunk in chunks:
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        for raw in lines:
            number += 1
            if skipping or len(raw) > max_line:
                skipping = False
                yield number, too_long
            elif raw.strip():
                yield number, _json_line(raw)
        if len(pending) > max_line:
            pending, skipping = b"", True
    if skipping:
        yield number + 1, too_long
    elif pending.strip():
        yield number + 1, _json_line(pending)


def _json_line(raw: bytes) -> Any:
    try:
        return _decode_json(raw)
    except (msgspec.DecodeError, RecursionError) as error:
        return Malformed(f"not JSON: {error}")


async def csv_rows(
    chunks: AsyncIterator[bytes], max_line: int, fields: Collection[str]
) -> AsyncIterator[Line]:
    """A header row, then one record per row; empty cells are absent fields.

    Rows are cut where a newline falls outside quotes, so quoted cells may hold newlines
    and a row is never split across two chunks. A row longer than `max_line` is rejected
    and skipped without being held in memory.
    """
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
    rows, cutter = _CsvRows(fields, max_line), _RowCutter()
    async for chunk in chunks:
        cutter.add(decoder.decode(chunk))
        for found in rows.read(cutter.take(), cutter.skipped_lines()):
            yield found
        if len(cutter.text) > max_line:
            if not cutter.skipping:
                yield rows.line + 1, Malformed(f"row is longer than {max_line} bytes")
            cutter.skip()
    cutter.add(decoder.decode(b"", final=True))
    complete, skipped = cutter.take(), cutter.skipped_lines()
    rest = "" if cutter.skipping else cutter.text
    for found in rows.read(complete + (rest + "\n" if rest.strip() else ""), skipped):
        yield found


class _RowCutter:
    """Finds where CSV rows end as text arrives: newlines outside quotes.

    Each character is scanned once and the quote state carries over from piece to
    piece, so a hostile row full of quoted newlines costs linear time, not quadratic.
    """

    def __init__(self) -> None:
        self.text = ""
        self.skipping = False  # inside a row too long to keep, until it ends
        self._scanned = 0
        self._quoted = False
        self._start = 0  # text before this is the end of a skipped row
        self._cut = -1  # the last newline that ends a row
        self._skipped = 0  # newlines dropped with skipped rows, not yet reported

    def add(self, piece: str) -> None:
        self.text += piece
        for found in _QUOTE_OR_NEWLINE.finditer(self.text, self._scanned):
            if found.group() == '"':
                self._quoted = not self._quoted
            elif self._quoted:
                continue
            elif self.skipping:
                self.skipping, self._start = False, found.start() + 1
            else:
                self._cut = found.start()
        self._scanned = len(self.text)

    def take(self) -> str:
        """The complete rows so far, or ""; the unfinished row stays in `text`."""
        end = max(self._cut + 1, self._start)
        complete = self.text[self._start : end]
        self._skipped += self.text.count("\n", 0, self._start)
        self.text, self._scanned = self.text[end:], self._scanned - end
        self._start, self._cut = 0, -1
        return complete

    def skip(self) -> None:
        """Drop the unfinished row (too long) and the rest of it as it arrives."""
        self._skipped += self.text.count("\n")
        self.text, self._scanned, self.skipping = "", 0, True

    def skipped_lines(self) -> int:
        """Newlines dropped since the last call: the line count must include them."""
        skipped, self._skipped = self._skipped, 0
        return skipped


_QUOTE_OR_NEWLINE = re.compile(r'["\n]')


class _CsvRows:
    """Rows after the header, numbered by the line they start on."""

    def __init__(self, fields: Collection[str], max_line: int) -> None:
        self.fields = fields
        self.max_line = max_line
        self.header: list[str] | None = None
        self.line = 0

    def read(self, complete: str, skipped_lines: int = 0) -> Iterator[Line]:
        """Rows of `complete`, which comes after `skipped_lines` lines of a dropped row."""
        self.line += skipped_lines
        reader = csv.reader(io.StringIO(complete, newline=""))
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as error:  # e.g. a cell over the csv module's own size limit
                yield self.line + reader.line_num, Malformed(f"not CSV: {error}")
                continue
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
        if unknown or not any(header):
            raise UnsupportedUpload(
                f"CSV columns {unknown} are not fields ({', '.join(self.fields)}); rename "
                "them, or map them with the SDK or `journeyboard import-… --map FIELD=COLUMN`"
            )
        return header


async def json_array(chunks: AsyncIterator[bytes], max_line: int) -> AsyncIterator[Line]:
    """A JSON array of records, parsed incrementally; `line` is the item's number.

    An item longer than `max_line` is refused while it streams: the parser never holds more
    than about `max_line` plus one chunk of it.
    """
    stream = _Readable(chunks, max_line)
    first = await stream.peek()
    if first and first[:1] != b"[":
        raise UnsupportedUpload("a JSON upload is an array of records; send NDJSON to stream")
    number = 0
    try:
        async for item in ijson.items_async(stream, "item", use_float=True):
            number += 1
            stream.since_item = 0
            yield number, _checked(item, max_line)
    except ijson.JSONError as error:
        yield number + 1, Malformed(f"the JSON array breaks after item {number}: {error}")
    except _ItemTooLong:
        yield (
            number + 1,
            Malformed(
                f"record is longer than {max_line} bytes; the items after it were not read "
                "(send NDJSON to skip it and go on)"
            ),
        )


def _checked(item: Any, max_line: int) -> Any:
    """The item, or why it cannot be a record: too long, or nested too deeply to encode."""
    try:
        size = len(_encode_json(item))
    except RecursionError:
        return Malformed("record is nested too deeply")
    return item if size <= max_line else Malformed(f"record is longer than {max_line} bytes")


class _ItemTooLong(Exception):
    """The array item being parsed has grown past the record limit."""


class _Readable:
    """An async byte stream with the `read` ijson wants, over an iterator of chunks.

    It counts the bytes handed out since the parser last finished an item, and refuses to
    hand out more once they exceed the record limit.
    """

    def __init__(self, chunks: AsyncIterator[bytes], max_item: int) -> None:
        self._chunks = chunks
        self._head = b""
        self._max_item = max_item
        self.since_item = 0

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
        if self.since_item > self._max_item:
            raise _ItemTooLong
        if self._head:
            head, self._head = self._head, b""
            self.since_item += len(head)
            return head
        async for chunk in self._chunks:
            if chunk:  # an empty read means the end to ijson
                self.since_item += len(chunk)
                return chunk
        return b""
