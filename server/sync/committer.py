"""A board's commit pipeline on this instance: the single place where its ops get a seq.

The op log is the commit point; the committer keeps the board's state in memory as a cache
of that log. Submissions queue up and one task drains them in groups (group commit): retries
are answered from memory or the log, the new ones are staged by the pure pipeline
(server/sync/pipeline.py), the group is written in one insert with consecutive seqs, and only
then is each entry published (encoded once, in seq order) and each submitter answered. A
duplicate seq means another instance was first: catch up from the log and retry.

Who hears about the entries (the room's fan-out, server/sync/room.py) is not its concern.
"""

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

import msgspec

from schemas.auth import Role
from schemas.ops import BoardOp
from server.board import BoardState, Rejected
from server.clock import now_ms
from server.settings import Settings
from server.store.mongo import Store, StoreError
from server.sync.log import LogEntry, encoded_op
from server.sync.pipeline import blob_of, follow, outcome_of, stage
from server.sync.results import BoardBusy, Committed, OutcomeUnknown, RetryCheck

log = logging.getLogger("journeyboard.sync")
encode = msgspec.json.Encoder().encode
decode_entry = msgspec.json.Decoder(LogEntry).decode

MAX_ATTEMPTS = 50
MAX_GROUP = 500
RECENT = 256  # entries kept to answer resends from memory


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


def _unheard(text: str) -> None:
    """Until a room listens, committed entries are only in the log and the state."""


class Committer:
    """Orders and commits one board's submissions; publishes each committed entry once."""

    def __init__(
        self, board_id: str, store: Store, settings: Settings, state: BoardState, seq: int
    ) -> None:
        self.board_id = board_id
        self.store = store
        self.settings = settings
        self.state = state
        self.seq = seq
        self.snapshot_seq = seq
        self.publish: Callable[[str], None] = _unheard  # each entry as clients read it
        self.failed: Callable[[], None] = lambda: None  # the cache is no longer trustworthy
        self.broken = False
        self._lock = asyncio.Lock()
        self._queue: asyncio.Queue[Pending] = asyncio.Queue(settings.max_pending_per_board)
        self._high_water: dict[str, int] = {}
        # Encoded: bytes are nothing for the garbage collector to walk, and a hit is rare.
        self._recent: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._in_flight: dict[tuple[str, int], asyncio.Future[Committed]] = {}
        self._drainer: asyncio.Task[None] | None = None
        self._snapshotter: asyncio.Task[None] | None = None
        self._logged_bytes = 0  # published since the last snapshot was begun

    @property
    def waiting(self) -> int:
        """Submissions queued, not yet taken into a group."""
        return self._queue.qsize()

    @property
    def idle(self) -> bool:
        return self._queue.empty() and not self._lock.locked()

    @contextlib.asynccontextmanager
    async def current(self) -> AsyncIterator[tuple[BoardState, int]]:
        """The latest state and seq, held still: nothing commits or is published until the
        block ends, so a joiner can be added to the audience without missing an entry."""
        async with self._lock:
            await self._catch_up()
            yield self.state, self.seq

    async def catch_up(self) -> None:
        async with self._lock:
            await self._catch_up()

    async def _catch_up(self) -> None:
        """Apply and publish what the log holds beyond our seq (another instance wrote it)."""
        for entry in await self.store.entries_after(self.board_id, self.seq):
            self._committed(entry, follow(self.state, entry))

    async def remote(self, entries: Sequence[LogEntry]) -> None:
        """Entries from the change stream: apply the ones that are next, fetch any we missed."""
        if entries[-1].seq <= self.seq:
            return
        async with self._lock:
            for entry in entries:
                if entry.seq == self.seq + 1:
                    self._committed(entry, follow(self.state, entry))
                elif entry.seq > self.seq:
                    await self._catch_up()
                    return

    def known_new(self, client_key: str) -> None:
        """This client id was minted just now: nothing of it is in the log, so its
        submissions are new without asking the log."""
        self._high_water.setdefault(client_key, -1)

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
        original = self._in_flight.get(key) if check != "none" else None
        if original is not None:
            original.add_done_callback(lambda done: _echo(done, future))
            return future
        try:
            self._queue.put_nowait(Pending(ops, user, role, *key, check, via, future))
        except asyncio.QueueFull:
            future.set_exception(BoardBusy("too many submissions are waiting on this board"))
            return future
        if check != "none":
            self._in_flight[key] = future
            future.add_done_callback(lambda done: self._landed(key, done))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain(), name=f"commit {self.board_id}")
        return future

    def _landed(self, key: tuple[str, int], future: asyncio.Future[Committed]) -> None:
        if self._in_flight.get(key) is future:
            del self._in_flight[key]
        if not future.cancelled():
            future.exception()  # read here: a submitter that went away never reads its outcome

    async def _drain(self) -> None:
        while not self._queue.empty():
            group = [self._queue.get_nowait() for _ in range(min(MAX_GROUP, self._queue.qsize()))]
            try:
                async with self._lock:
                    await self._commit_group(group)
            except Exception as error:
                for pending in group:
                    _settle(pending.future, error)
                # Anything else is a bug: drop this board's cache, not the process.
                if not isinstance(error, StoreError | OutcomeUnknown):
                    log.exception(
                        "board %s failed; its clients reconnect to a fresh copy", self.board_id
                    )
                    self.broken = True
                    self.failed()

    async def _commit_group(self, group: list[Pending]) -> None:
        """Commit a group in as few log documents as the database's size limit allows."""
        while group:
            group = await self._commit_document(group)

    async def _commit_document(self, group: list[Pending]) -> list[Pending]:
        """Apply what the core accepts of the group's first `log_document_bytes`, write it as
        one log document, then publish and answer; the submissions left for the next one."""
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
            settings = self.settings
            state, entries, messages, outcomes = stage(
                self.state,
                self.seq,
                new,
                at,
                settings.limits,
                max_message=settings.ws_max_queued_bytes,
                budget=settings.log_document_bytes,
            )
            taken, later = new[: len(outcomes)], new[len(outcomes) :]
            staged = list[tuple[Pending, LogEntry]]()
            for pending, outcome in zip(taken, outcomes, strict=True):
                if isinstance(outcome, Rejected):
                    _settle(pending.future, outcome)  # it takes no seq: answer it now
                else:
                    staged.append((pending, outcome))
            if not staged:
                return later
            if await self._append(entries):
                self.state = state
                for entry, message in zip(entries, messages, strict=True):
                    self._published(entry, message)
                for pending, entry in staged:
                    _settle(pending.future, outcome_of(entry, duplicate=False))
                await self._maybe_snapshot(entries, at)
                return later
            remaining = [pending for pending, _ in staged] + later
            await self._catch_up()  # another writer was first
        for pending in remaining:
            _settle(pending.future, BoardBusy("other writers kept taking the next seq"))
        return []

    async def _append(self, entries: list[LogEntry]) -> bool:
        """Write a group to the log; a database that does not answer leaves the outcome open."""
        try:
            return await self.store.append(self.board_id, entries)
        except StoreError as error:
            raise OutcomeUnknown(
                "the database did not answer in time; the batch may or may not be committed: "
                "resend it with the same client_op_id"
            ) from error

    async def _seen(self, pending: Pending) -> LogEntry | None:
        """This submission as committed before, if it is a retry."""
        if pending.check == "none":
            return None
        high = self._high_water.get(pending.client_key)
        if pending.check == "session" and high is not None and pending.client_op_id > high:
            return None
        recent = self._recent.get((pending.client_key, pending.client_op_id))
        if recent is not None:
            return decode_entry(recent)
        return await self.store.find_submission(
            self.board_id, pending.client_key, pending.client_op_id
        )

    def _committed(self, entry: LogEntry, state: BoardState) -> None:
        """Make an entry committed elsewhere current."""
        self.state = state
        self._published(entry)

    def _published(self, entry: LogEntry, text: str | None = None) -> None:
        """Advance to a committed entry and hand it on as `text` (clients' form, encoded here
        if not given); remember the highest op id per client (larger ones from a session are
        new) and the latest entries, so a resend of one of them is answered without a lookup."""
        self.seq = entry.seq
        key = (entry.client_id, entry.client_op_id)
        self._high_water[entry.client_id] = max(self._high_water.get(entry.client_id, -1), key[1])
        self._recent[key] = encode(entry)
        if len(self._recent) > RECENT:
            self._recent.popitem(last=False)
        if text is None:
            text = encoded_op(entry).decode()
        self._logged_bytes += len(text)
        self.publish(text)

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
