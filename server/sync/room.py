"""One room per open board: who is on it here, and what they hear.

The room is the board's fan-out: sessions join with a welcome and what they missed, then
get every committed entry (from this instance's committer, server/sync/committer.py, or
another instance's, by the log) and the presence and insight others share. Ordering and
durability are the committer's; a room never decides what is committed.
"""

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence

import msgspec

from schemas.api import BoardInfo
from schemas.auth import Role
from schemas.errors import CloseCode
from schemas.messages import Left, Welcome
from server.board import BoardState
from server.settings import Settings
from server.store.accounts import Accounts
from server.store.mongo import BoardRecord, Store, StoreError, decode_blob
from server.sync.catchup import Position, catch_up
from server.sync.committer import Committer
from server.sync.log import LogEntry
from server.sync.pipeline import state_of
from server.sync.session import Session

encode = msgspec.json.Encoder().encode


def _nowhere(board_id: str, text: str) -> None:
    """A single instance has no one to relay to."""


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
    """A board's sessions on this instance, and the committer whose entries they hear."""

    def __init__(self, record: BoardRecord, store: Store, committer: Committer) -> None:
        self.record = record
        self.board_id = record.id
        self.store = store
        self.committer = committer
        self.sessions: set[Session] = set()
        self.relay: Callable[[str, str], None] = _nowhere  # to other instances (server/sync/bus.py)
        self.submit = committer.submit  # what sessions send goes straight to the committer
        committer.publish = self.broadcast
        committer.failed = lambda: self.close_sessions(
            CloseCode.INTERNAL, "the board failed on the server; reconnect"
        )

    @classmethod
    async def load(cls, record: BoardRecord, store: Store, settings: Settings) -> "Room":
        """The board from its cached snapshot plus the log after it; never an empty stand-in."""
        blob = decode_blob(record.snapshot) if record.snapshot else None
        committer = Committer(record.id, store, settings, state_of(blob), record.snapshot_seq)
        await committer.catch_up()
        return cls(record, store, committer)

    @property
    def state(self) -> BoardState:
        return self.committer.state

    @property
    def idle(self) -> bool:
        return not self.sessions and self.committer.idle

    def share(self, text: str, skip: Session | None = None) -> None:
        """Broadcast here and on every other instance (presence, insight; ops go by the log)."""
        self.broadcast(text, skip)
        self.relay(self.board_id, text)

    def broadcast(self, text: str, skip: Session | None = None) -> None:
        """Hand one encoded message to every session (each encodes nothing itself)."""
        for session in list(self.sessions):
            if session is not skip:
                session.send(text)

    async def join(self, session: Session, since: int | None, fresh: bool = False) -> None:
        """Greet a session and go live; it sends what it missed (ops or a snapshot) first,
        at the pace its socket takes them. A `fresh` client id was minted for this connection."""
        if fresh:
            self.committer.known_new(f"{session.user}/{session.client_id}")
        async with self.committer.current() as (state, seq):
            welcome = Welcome(
                board_id=self.board_id,
                seq=seq,
                user=session.user,
                role=session.role,
                client_id=session.client_id,
            )
            position = Position(
                board_id=self.board_id,
                seq=seq,
                info=board_info(self.record, state),
                elements=state.elements.values(),
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
            if room is None or room.committer.broken:
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

    async def _members(self, rooms: list[Room]) -> dict[str, dict[str, Role]]:
        """Board id -> user -> role for these rooms, in one read (none while the store is away)."""
        with contextlib.suppress(StoreError):
            return await self.accounts.members_in([room.board_id for room in rooms])
        return {}

    async def remote(self, board_id: str, entries: Sequence[LogEntry]) -> None:
        room = self._rooms.get(board_id)
        if room is not None:
            await room.committer.remote(entries)

    async def catch_up_all(self) -> None:
        """After the change stream was interrupted: fetch whatever it may have missed."""
        for room in list(self._rooms.values()):
            with contextlib.suppress(Exception):
                await room.committer.catch_up()

    async def heartbeat(self) -> None:
        """Every heartbeat interval: ping each session, close silent ones, re-check roles
        (which catches changes made through other instances). The rooms are spread over the
        interval, so no moment pays for all of them, and their members are read at once."""
        interval = self.settings.heartbeat_interval
        while True:
            live = [room for room in self._rooms.values() if room.sessions]
            if not live:
                await asyncio.sleep(interval)
                continue
            members = await self._members(live)
            for room in live:
                await asyncio.sleep(interval / len(live))
                if room.board_id in members:
                    roles = members[room.board_id]
                    room.apply_roles(
                        {s.user: roles.get(s.user) for s in room.sessions if not s.admin}
                    )
                now = time.monotonic()
                for session in list(room.sessions):
                    session.beat(now)

    def close_all(self) -> None:
        for room in self._rooms.values():
            room.close_sessions(CloseCode.GOING_AWAY, "the server is shutting down")
