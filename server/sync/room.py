"""One room per open board: the single place where a board's ops get a seq and are committed.

The op log is the commit point. A room keeps the board's state in memory as a cache of
that log, catches up from it before every commit (another server instance may have
written), and treats a duplicate seq as "someone else was first": catch up, re-apply, retry.
"""

import asyncio
import time
from collections import OrderedDict
from collections.abc import Sequence

import msgspec

from schemas.auth import Role
from schemas.ops import BoardOp, UpdateBoard
from server.board import BoardState, Context, Limits, apply_batch
from server.board.apply import element_size
from server.settings import Settings
from server.store.mongo import (
    BoardBlob,
    BoardRecord,
    DuplicateSubmission,
    LogEntry,
    SeqTaken,
    Store,
    decode_blob,
)

# Replaying the log must never refuse an op it once committed, even if limits were lowered.
REPLAY_LIMITS = Limits(
    max_elements=2**62,
    max_board_bytes=2**62,
    max_data_bytes=2**62,
    max_data_depth=10**6,
    max_data_keys=2**62,
)
MAX_ATTEMPTS = 50


class Committed(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of a submission: its seq, and whether it had been applied before."""

    seq: int
    duplicate: bool = False
    entry: LogEntry | None = None


class BoardBusy(Exception):
    """Other writers kept taking the next seq; the caller may retry."""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def replay(state: BoardState, entries: Sequence[LogEntry]) -> BoardState:
    for entry in entries:
        state = apply_batch(
            state, entry.ops, Context(user=entry.user, now_ms=entry.at, limits=REPLAY_LIMITS)
        )
    return state


def state_of(blob: BoardBlob | None, title: str) -> BoardState:
    if blob is None:
        return BoardState(title=title)
    return BoardState(
        title=blob.title,
        description=blob.description,
        tags=blob.tags,
        elements={e.id: e for e in blob.elements},
        size=sum(map(element_size, blob.elements)),
    )


def blob_of(state: BoardState) -> BoardBlob:
    return BoardBlob(
        title=state.title,
        description=state.description,
        tags=state.tags,
        elements=list(state.elements.values()),
    )


class Room:
    """A board's state and seq, and the lock that gives its ops one order on this instance."""

    def __init__(
        self, board_id: str, store: Store, settings: Settings, state: BoardState, seq: int
    ) -> None:
        self.board_id = board_id
        self.store = store
        self.settings = settings
        self.state = state
        self.seq = seq
        self.snapshot_seq = seq
        self.lock = asyncio.Lock()

    @classmethod
    async def load(cls, record: BoardRecord, store: Store, settings: Settings) -> "Room":
        blob = decode_blob(record.snapshot) if record.snapshot else None
        room = cls(record.id, store, settings, state_of(blob, record.title), record.snapshot_seq)
        await room.catch_up()
        return room

    async def catch_up(self) -> list[LogEntry]:
        """Apply what the log holds beyond our seq (written by another instance)."""
        entries = await self.store.entries_after(self.board_id, self.seq)
        if entries:
            self.state = replay(self.state, entries)
            self.seq = entries[-1].seq
        return entries

    async def commit(
        self,
        ops: Sequence[BoardOp],
        user: str,
        client_id: str,
        client_op_id: int,
        role: Role = "owner",
    ) -> Committed:
        """Validate, sequence and durably log one batch; raises Rejected if the core refuses it.

        Client ids are scoped by user, so nobody can claim (or block) another user's op ids.
        """
        client_id = f"{user}/{client_id}"
        async with self.lock:
            seen = await self.store.find_submission(self.board_id, client_id, client_op_id)
            if seen is not None:
                return Committed(seq=seen, duplicate=True)
            for _ in range(MAX_ATTEMPTS):
                await self.catch_up()
                at = now_ms()
                context = Context(user=user, now_ms=at, role=role, limits=self.settings.limits)
                state = apply_batch(self.state, ops, context)
                entry = LogEntry(
                    seq=self.seq + 1,
                    ops=list(ops),
                    user=user,
                    at=at,
                    client_id=client_id,
                    client_op_id=client_op_id,
                )
                try:
                    await self.store.append(self.board_id, entry)
                except SeqTaken:
                    continue
                except DuplicateSubmission as duplicate:
                    return Committed(seq=duplicate.seq, duplicate=True)
                self.state, self.seq = state, entry.seq
                await self._maybe_snapshot(ops, at)
                return Committed(seq=entry.seq, entry=entry)
        raise BoardBusy(self.board_id)

    async def _maybe_snapshot(self, ops: Sequence[BoardOp], at: int) -> None:
        """Refresh the cached snapshot now and then, and at once when the title or tags change."""
        meta_changed = any(isinstance(op, UpdateBoard) for op in ops)
        if meta_changed or self.seq - self.snapshot_seq >= self.settings.snapshot_every:
            await self.store.save_snapshot(self.board_id, self.seq, blob_of(self.state), at)
            self.snapshot_seq = self.seq


class Rooms:
    """The rooms this instance has open, least recently used evicted first."""

    def __init__(self, store: Store, settings: Settings, capacity: int = 256) -> None:
        self.store = store
        self.settings = settings
        self.capacity = capacity
        self._rooms: OrderedDict[str, Room] = OrderedDict()
        self._loading = asyncio.Lock()

    async def open(self, record: BoardRecord) -> Room:
        async with self._loading:
            room = self._rooms.get(record.id)
            if room is None:
                room = self._rooms[record.id] = await Room.load(record, self.store, self.settings)
                while len(self._rooms) > self.capacity:
                    self._rooms.popitem(last=False)
            self._rooms.move_to_end(record.id)
            return room

    def forget(self, board_id: str) -> None:
        self._rooms.pop(board_id, None)
