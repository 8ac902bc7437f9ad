"""What a joining client gets before live traffic, produced lazily as its socket drains.

Nothing here is queued ahead: the session's writer pulls one frame at a time, so a client
that missed 100,000 ops or opens a board of several MiB is paced by its own socket, and the
slow-consumer limit only ever counts live traffic queued behind the catch-up.
"""

from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Iterator
from typing import Literal, cast

import msgspec

from schemas.api import BoardInfo
from schemas.board import AnyElement
from schemas.messages import Presence, SnapshotChunk, SnapshotMessage, Welcome
from server.store.mongo import Store
from server.sync.log import encoded_op

encode = msgspec.json.Encoder().encode
CHUNK_BYTES = 256 * 1024  # elements per snapshot frame: well under any client's frame limit
PAGE_DOCUMENTS = 64  # log documents read per page of an op replay
RESUME_LIMIT = 10_000  # further behind than this, a fresh snapshot is cheaper than the ops


class Position(msgspec.Struct, frozen=True, kw_only=True):
    """The board as a client joins it: its seq, summary and elements at that seq."""

    board_id: str
    seq: int
    info: BoardInfo
    elements: Iterable[AnyElement]  # never mutated: the room replaces states, never edits one


async def catch_up(
    store: Store,
    at: Position,
    welcome: Welcome,
    since: int | None,
    presences: list[Presence],
) -> AsyncGenerator[str, None]:
    """Welcome, then the missed ops (or a snapshot), then who else is here."""
    yield encode(welcome).decode()
    if since is None or since > at.seq or at.seq - since > RESUME_LIMIT:
        for frame in snapshot_frames(at, "join" if since is None else "resync"):
            yield frame
    else:
        async for frame in _replay(store, at, since):
            yield frame
    for presence in presences:
        yield encode(presence).decode()


async def _replay(store: Store, at: Position, since: int) -> AsyncIterator[str]:
    """The ops after `since` page by page; a snapshot if the range holds pre-protocol-2 entries
    (which have no effects) or has a hole."""
    after = since
    while after < at.seq:
        entries = await store.entries_after(at.board_id, after, at.seq, PAGE_DOCUMENTS)
        if not entries or entries[0].seq != after + 1 or any(e.effects is None for e in entries):
            for frame in snapshot_frames(at, "resync"):
                yield frame
            return
        for entry in entries:
            yield encoded_op(entry).decode()
        after = entries[-1].seq


def snapshot_frames(at: Position, reason: Literal["join", "resync"]) -> Iterator[str]:
    """`snapshot` with the first chunk of elements, then `snapshot_chunk`s; `more` is false
    on the last frame."""
    chunks = _chunks(at.elements)
    current, first = next(chunks, []), True
    while True:
        following = next(chunks, None)
        more = following is not None
        elements = cast(list[AnyElement], current)  # pre-encoded elements, embedded as they are
        if first:
            message: SnapshotMessage | SnapshotChunk = SnapshotMessage(
                seq=at.seq, board=at.info, elements=elements, reason=reason, more=more
            )
        else:
            message = SnapshotChunk(seq=at.seq, elements=elements, more=more)
        yield encode(message).decode()
        if following is None:
            return
        current, first = following, False


def _chunks(elements: Iterable[AnyElement]) -> Iterator[list[msgspec.Raw]]:
    """Encoded elements in groups of about CHUNK_BYTES (each element encoded once)."""
    chunk: list[msgspec.Raw] = []
    size = 0
    for element in elements:
        raw = msgspec.Raw(encode(element))
        if chunk and size + len(raw) > CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
        chunk.append(raw)
        size += len(raw)
    if chunk:
        yield chunk
