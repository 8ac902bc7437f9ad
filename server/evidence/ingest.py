"""The ingest loop: records in, documents out in batches, a report at the end.

The next batch is validated while the previous one is being written, so the server's
CPU (decoding, sentiment) overlaps the database's, which is the limit. Records often
arrive faster than they are scored (a buffered body never makes the loop wait), so the
loop hands the event loop back every few milliseconds: an upload must not stall every
board's commits.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import msgspec

from schemas.evidence import MAX_LISTED_REJECTIONS, IngestReport, Rejection
from server.evidence.formats import Line, Malformed
from server.evidence.records import Document

TURN = 0.005  # seconds of ingest work before the other tasks on the event loop get a turn


async def ingest(
    lines: AsyncIterator[Line],
    document: Callable[[Any], Document],
    insert: Callable[[list[Document]], Awaitable[int]],
    batch_size: int = 1000,
) -> IngestReport:
    """Store every record `document` accepts; `insert` returns how many were duplicates."""
    report = IngestReport()
    batch: list[Document] = []
    writing: asyncio.Task[int] | None = None

    async def flush() -> None:
        nonlocal batch, writing
        if writing is not None:
            report.duplicates += await writing
        writing = asyncio.ensure_future(insert(batch)) if batch else None
        report.accepted += len(batch)
        batch = []

    broken: Exception | None = None
    turn = time.monotonic()
    try:
        try:
            async for line, value in lines:
                if time.monotonic() - turn > TURN:
                    await asyncio.sleep(0)
                    turn = time.monotonic()
                try:
                    if isinstance(value, Malformed):
                        raise ValueError(value)
                    batch.append(document(value))
                except (msgspec.ValidationError, ValueError) as error:
                    _reject(report, line, error)
                    continue
                if len(batch) >= batch_size:
                    await flush()
        except Exception as error:  # the upload broke off: keep what arrived before the break
            broken = error
        await flush()
        await flush()
    finally:
        if writing is not None and not writing.done():
            writing.cancel()
    if broken is not None:
        raise broken
    report.accepted -= report.duplicates
    return report


def _reject(report: IngestReport, line: int, error: Exception) -> None:
    report.rejected += 1
    if len(report.errors) < MAX_LISTED_REJECTIONS:
        report.errors.append(Rejection(line=line, reason=str(error)))
