"""One room per open board: the single place where a board's ops get a seq and are committed.

The op log is the commit point. A room keeps the board's state in memory as a cache of
that log. Submissions queue up and one committer drains them in groups (group commit):
each is checked by the pure core, the group is written in one insert with consecutive
seqs, and only then are they acknowledged and broadcast, in seq order, to every session.
A duplicate seq means another instance was first: catch up from the log and retry.
"""

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import msgspec

from schemas.api import BoardInfo
from schemas.auth import Role
from schemas.errors import CloseCode
from schemas.messages import Left, Welcome
from schemas.ops import BoardOp
from server.board import (
    BoardState,
    Rejected,
)
from server.clock import now_ms
from server.settings import Settings
from server.store.accounts import Accounts
from server.store.mongo import BoardRecord, LogEntry, Store, StoreError, decode_blob
from server.sync.catchup import Position, catch_up, op_message
from server.sync.pipeline import blob_of, follow, outcome_of, stage, state_of
from server.sync.results import BoardBusy, Committed, OutcomeUnknown, RetryCheck
from server.sync.session import Session

log = logging.getLogger("journeyboard.sync")
encode = msgspec.json.Encoder().encode

MAX_ATTEMPTS = 50
MAX_GROUP = 500
RECENT = 256  # entries a room keeps to answer resends from memory


@dataclass
class Pending:
    """A submission waiting for the committer.

    `check` says how to tell a retry: "none" for a one-off (a REST call without an
    idempotency key), "session" for a live client whose client_op_ids only increase, and
    "lookup" (REST keys, which may come in any order) to ask the log every time.
    """

    ops: Sequence[BoardOp]
    user: str
    role: Role
    client_key: str
    client_op_id: int
    check: RetryCheck
    via: str
    future: asyncio.Future[Committed] = field(repr=False)


def _nowhere(board_id: str, text: str) -> None:
    """A single instance has no one to relay to."""


def _echo(original: asyncio.Future[Committed], copy: asyncio.Future[Committed]) -> None:
    """Give a resend that came while its original was in flight the original's outcome."""
    if copy.done():
        return
    if original.cancelled():
        copy.cancel()
    elif (error := original.exception()) is not None:
        copy.set_exception(error)
    else:
        copy.set_result(msgspec.structs.replace(original.result(), duplicate=True))


def _settle(future: asyncio.Future[Committed], outcome: Committed | Exception) -> None:
    """Answer a submitter, unless it stopped waiting (its connection closed)."""
    if future.done():
        return
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


def board_info(record: BoardRecord, state: BoardState | None = None) -> BoardInfo:
    """The board's summary; the live state, when given, is newer than the cached record."""
    meta = state or record
    return BoardInfo(
        id=record.id,
        title=meta.title,
        description=meta.description,
        tags=list(meta.tags),
        owner=record.owner,
        template=record.template,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


class Room:
    """A board's state, seq and sessions on this instance, and the committer that orders its ops."""

    def __init__(
        self, record: BoardRecord, store: Store, settings: Settings, state: BoardState
    ) -> None:
        self.record = record
        self.board_id = record.id
        self.store = store
        self.settings = settings
        self.state = state
        self.seq = record.snapshot_seq
        self.snapshot_seq = record.snapshot_seq
        self.lock = asyncio.Lock()
        self.sessions: set[Session] = set()
        self.queue: asyncio.Queue[Pending] = asyncio.Queue(settings.max_pending_per_board)
        self.high_water: dict[str, int] = {}
        self.recent: OrderedDict[tuple[str, int], LogEntry] = OrderedDict()
        self.in_flight: dict[tuple[str, int], asyncio.Future[Committed]] = {}
        self._committer: asyncio.Task[None] | None = None
        self._snapshotter: asyncio.Task[None] | None = None
        self._logged_bytes = 0  # committed here since the last snapshot was begun
        self.broken = False  # a committer bug left the cache unreliable: reload from the log
        self.relay: Callable[[str, str], None] = _nowhere  # to other instances (server/sync/bus.py)

    @classmethod
    async def load(cls, record: BoardRecord, store: Store, settings: Settings) -> "Room":
        """The board from its cached snapshot plus the log after it; never an empty stand-in."""
        blob = decode_blob(record.snapshot) if record.snapshot else None
        room = cls(record, store, settings, state_of(blob))
        await room.catch_up()
        return room

    @property
    def idle(self) -> bool:
        return not self.sessions and self.queue.empty() and not self.lock.locked()

    async def catch_up(self) -> None:
        async with self.lock:
            await self._catch_up()

    async def _catch_up(self) -> None:
        """Apply and broadcast what the log holds beyond our seq (another instance wrote it)."""
        for entry in await self.store.entries_after(self.board_id, self.seq):
            self._committed(entry, follow(self.state, entry))

    async def remote(self, entries: Sequence[LogEntry]) -> None:
        """Entries from the change stream: apply the ones that are next, fetch any we missed."""
        if entries[-1].seq <= self.seq:
            return
        async with self.lock:
            for entry in entries:
                if entry.seq == self.seq + 1:
                    self._committed(entry, follow(self.state, entry))
                elif entry.seq > self.seq:
                    await self._catch_up()
                    return

    def submit(
        self,
        ops: Sequence[BoardOp],
        user: str,
        client_id: str,
        client_op_id: int,
        role: Role = "owner",
        check: RetryCheck = "lookup",
        via: str = "rest",
    ) -> asyncio.Future[Committed]:
        """Queue a submission now (so one client's submissions keep their order); await the result.

        Client ids are scoped by user, so nobody can claim (or block) another user's op ids.
        A resend of a submission still queued or committing waits for the original's outcome
        instead of being queued again: the log only dedupes what it already holds.
        """
        future: asyncio.Future[Committed] = asyncio.get_running_loop().create_future()
        key = (f"{user}/{client_id}", client_op_id)
        original = self.in_flight.get(key) if check != "none" else None
        if original is not None:
            original.add_done_callback(lambda done: _echo(done, future))
            return future
        try:
            self.queue.put_nowait(Pending(ops, user, role, *key, check, via, future))
        except asyncio.QueueFull:
            future.set_exception(BoardBusy("too many submissions are waiting on this board"))
            return future
        if check != "none":
            self.in_flight[key] = future
            future.add_done_callback(lambda done: self._landed(key, done))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._drain(), name=f"commit {self.board_id}")
        return future

    def _landed(self, key: tuple[str, int], future: asyncio.Future[Committed]) -> None:
        if self.in_flight.get(key) is future:
            del self.in_flight[key]
        if not future.cancelled():
            future.exception()  # read here: a submitter that went away never reads its outcome

    async def _drain(self) -> None:
        while not self.queue.empty():
            group = [self.queue.get_nowait() for _ in range(min(MAX_GROUP, self.queue.qsize()))]
            try:
                async with self.lock:
                    await self._commit_group(group)
            except Exception as error:
                for pending in group:
                    _settle(pending.future, error)
                # Anything else is a bug: drop this room, not the process.
                if not isinstance(error, StoreError | OutcomeUnknown):
                    log.exception(
                        "board %s failed; its clients reconnect to a fresh copy", self.board_id
                    )
                    self.broken = True
                    self.close_sessions(
                        CloseCode.INTERNAL, "the board failed on the server; reconnect"
                    )

    async def _commit_group(self, group: list[Pending]) -> None:
        """Apply what the core accepts, write it as one log document, then ack and broadcast."""
        remaining = group
        for _ in range(MAX_ATTEMPTS):
            at = now_ms()
            new = []
            for pending in remaining:
                seen = await self._seen(pending)
                if seen is None:
                    new.append(pending)
                else:
                    _settle(pending.future, outcome_of(seen, duplicate=True))
            state, _, outcomes = stage(self.state, self.seq, new, at, self.settings.limits)
            staged = list[tuple[Pending, LogEntry]]()
            for pending, outcome in zip(new, outcomes, strict=True):
                if isinstance(outcome, Rejected):
                    _settle(pending.future, outcome)
                else:
                    staged.append((pending, outcome))
            if not staged:
                return
            if await self._append([entry for _, entry in staged]):
                self._committed_group(staged, state, at)
                await self._maybe_snapshot([entry for _, entry in staged], at)
                return
            remaining = [pending for pending, _ in staged]  # another writer was first
            await self._catch_up()
        for pending in remaining:
            _settle(pending.future, BoardBusy("other writers kept taking the next seq"))

    async def _append(self, entries: list[LogEntry]) -> bool:
        """Write a group to the log; a database that does not answer leaves the outcome open."""
        try:
            return await self.store.append(self.board_id, entries)
        except StoreError as error:
            raise OutcomeUnknown(
                "the database did not answer in time; the batch may or may not be committed: "
                "resend it with the same client_op_id"
            ) from error

    def _committed_group(
        self, staged: list[tuple[Pending, LogEntry]], state: BoardState, at: int
    ) -> None:
        """Make the group current, broadcast each entry in seq order, then answer the senders."""
        self.state, self.seq = state, staged[-1][1].seq
        for _, entry in staged:
            self._note(entry)
            text = encode(op_message(entry)).decode()
            self._logged_bytes += len(text)
            self.broadcast(text)
        for pending, entry in staged:
            _settle(pending.future, outcome_of(entry, duplicate=False))

    async def _seen(self, pending: Pending) -> LogEntry | None:
        """This submission as committed before, if it is a retry."""
        if pending.check == "none":
            return None
        high = self.high_water.get(pending.client_key)
        if pending.check == "session" and high is not None and pending.client_op_id > high:
            return None
        recent = self.recent.get((pending.client_key, pending.client_op_id))
        if recent is not None:
            return recent
        return await self.store.find_submission(
            self.board_id, pending.client_key, pending.client_op_id
        )

    def _note(self, entry: LogEntry) -> None:
        """Remember the highest op id seen per client (larger ones from a session are new),
        and the latest entries, so a resend of one of them is answered without a lookup."""
        self.high_water[entry.client_id] = max(
            self.high_water.get(entry.client_id, -1), entry.client_op_id
        )
        self.recent[entry.client_id, entry.client_op_id] = entry
        if len(self.recent) > RECENT:
            self.recent.popitem(last=False)

    def _committed(self, entry: LogEntry, state: BoardState) -> None:
        """Make an entry committed elsewhere current and send it to every session."""
        self.state, self.seq = state, entry.seq
        self._note(entry)
        self.broadcast(encode(op_message(entry)).decode())

    def share(self, text: str, skip: Session | None = None) -> None:
        """Broadcast here and on every other instance (presence, insight; ops go by the log)."""
        self.broadcast(text, skip)
        self.relay(self.board_id, text)

    def broadcast(self, text: str, skip: Session | None = None) -> None:
        """Hand one encoded message to every session (each encodes nothing itself)."""
        for session in list(self.sessions):
            if session is not skip:
                session.send(text)

    async def _maybe_snapshot(self, entries: list[LogEntry], at: int) -> None:
        """Refresh the cached snapshot now and then, off the commit path; at once (before the
        ack) when the title or tags change, since board lists read them from the board document.
        """
        if any(e.effects is not None and e.effects.board for e in entries):
            await self._save_snapshot(self.seq, self.state, at)
        elif self._snapshot_due() and (self._snapshotter is None or self._snapshotter.done()):
            self._logged_bytes = 0
            self._snapshotter = asyncio.create_task(
                self._save_snapshot(self.seq, self.state, at), name=f"snapshot {self.board_id}"
            )

    def _snapshot_due(self) -> bool:
        """Every `snapshot_every` ops, and not before the log since the last snapshot holds a
        quarter of the board's bytes: writing a big board's snapshot costs what its size does,
        so this keeps that cost per op, and the replay a load does, bounded by the op sizes."""
        behind = self.seq - self.snapshot_seq >= self.settings.snapshot_every
        return behind and self._logged_bytes >= self.state.size // 4

    async def _save_snapshot(self, seq: int, state: BoardState, at: int) -> None:
        """Write the state (a value: later commits never change it) as the cached snapshot."""
        try:
            await self.store.save_snapshot(self.board_id, seq, blob_of(state), at)
        except StoreError as error:  # a cache: the next one, or a replay of the log, makes up
            log.warning("snapshot of %s not saved (%s)", self.board_id, type(error).__name__)
            return
        self.snapshot_seq = max(self.snapshot_seq, seq)

    async def join(self, session: Session, since: int | None, fresh: bool = False) -> None:
        """Greet a session and go live; it sends what it missed (ops or a snapshot) first,
        at the pace its socket takes them. A `fresh` client id (minted for this connection)
        has nothing in the log, so its submissions are known new without asking the log."""
        if fresh:
            self.high_water.setdefault(f"{session.user}/{session.client_id}", -1)
        async with self.lock:
            await self._catch_up()
            welcome = Welcome(
                board_id=self.board_id,
                seq=self.seq,
                user=session.user,
                role=session.role,
                client_id=session.client_id,
            )
            position = Position(
                board_id=self.board_id,
                seq=self.seq,
                info=board_info(self.record, self.state),
                elements=self.state.elements.values(),
            )
            presences = [o.presence for o in self.sessions if o.presence is not None]
            session.start(catch_up(self.store, position, welcome, since, presences))
            self.sessions.add(session)

    def leave(self, session: Session) -> None:
        if session in self.sessions:
            self.sessions.discard(session)
            self.share(encode(Left(client_id=session.client_id, user=session.user)).decode())

    def apply_roles(self, roles: dict[str, Role | None]) -> None:
        """New roles for some users: removed ones are disconnected, others act with the new role."""
        for session in list(self.sessions):
            if session.user not in roles:
                continue
            role = roles[session.user]
            if role is None:
                session.close_soon(CloseCode.FORBIDDEN, "you were removed from this board")
            else:
                session.role = role

    def close_sessions(self, code: int, reason: str, user: str | None = None) -> None:
        for session in list(self.sessions):
            if user is None or session.user == user:
                session.close_soon(code, reason)


class Rooms:
    """The rooms this instance has open; idle ones are evicted, least recently used first."""

    def __init__(
        self, store: Store, accounts: Accounts, settings: Settings, capacity: int = 256
    ) -> None:
        self.store = store
        self.accounts = accounts
        self.settings = settings
        self.capacity = capacity
        self._rooms: OrderedDict[str, Room] = OrderedDict()
        self._loading = asyncio.Lock()
        self.relay: Callable[[str, str], None] = _nowhere

    async def open(self, record: BoardRecord) -> Room:
        async with self._loading:
            room = self._rooms.get(record.id)
            if room is None or room.broken:
                room = self._rooms[record.id] = await Room.load(record, self.store, self.settings)
                room.relay = self.relay
                self._evict()
            self._rooms.move_to_end(record.id)
            return room

    def get(self, board_id: str) -> Room | None:
        return self._rooms.get(board_id)

    def __iter__(self) -> Iterator[Room]:
        return iter(list(self._rooms.values()))

    def _evict(self) -> None:
        for board_id in [b for b, room in self._rooms.items() if room.idle]:
            if len(self._rooms) <= self.capacity:
                return
            del self._rooms[board_id]

    def forget(self, board_id: str) -> None:
        room = self._rooms.pop(board_id, None)
        if room is not None:
            room.close_sessions(CloseCode.GONE, "the board was deleted")

    def role_changed(self, board_id: str, user: str, role: Role | None) -> None:
        """Apply a membership change made on this instance to that user's sessions at once."""
        room = self._rooms.get(board_id)
        if room is not None:
            room.apply_roles({user: role})

    async def _refresh_roles(self, room: Room) -> None:
        """Re-read a room's members: catches changes made through other instances."""
        with contextlib.suppress(StoreError):
            members: dict[str, Role | None] = dict(await self.accounts.members_of(room.board_id))
            room.apply_roles({s.user: members.get(s.user) for s in room.sessions if not s.admin})

    async def remote(self, board_id: str, entries: Sequence[LogEntry]) -> None:
        room = self._rooms.get(board_id)
        if room is not None:
            await room.remote(entries)

    async def catch_up_all(self) -> None:
        """After the change stream was interrupted: fetch whatever it may have missed."""
        for room in list(self._rooms.values()):
            with contextlib.suppress(Exception):
                await room.catch_up()

    async def heartbeat(self) -> None:
        """Every heartbeat interval: ping each session, close silent ones, re-check roles."""
        while True:
            await asyncio.sleep(self.settings.heartbeat_interval)
            for room in [r for r in self._rooms.values() if r.sessions]:
                await self._refresh_roles(room)
                now = time.monotonic()
                for session in list(room.sessions):
                    session.beat(now)

    def close_all(self) -> None:
        for room in self._rooms.values():
            room.close_sessions(CloseCode.GOING_AWAY, "the server is shutting down")
