"""The board repository: the only module that speaks to MongoDB.

Client values reach MongoDB only as values inside documents we build here (never as
query operators or field names): the elements and ops of a board are stored as one
msgspec-encoded blob per document, so an operator-shaped or dotted key in a `data` map
is just bytes to the database.
"""

import asyncio
import contextlib
import datetime
import re
import secrets
from collections.abc import AsyncIterator, Sequence
from typing import Any

import msgspec
from pymongo import DESCENDING, AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, PyMongoError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from server.metrics import COMMIT_SECONDS, GROUP_SIZE, INSERT_GROUPS
from server.sync.log import BoardBlob, LogEntry

DURABLE = WriteConcern(w="majority", j=True)
SIGNAL_TTL_SECONDS = 60
WRITES_IN_FLIGHT = 4
MAJORITY = ReadConcern("majority")
StoreError = PyMongoError


class BoardRecord(msgspec.Struct, kw_only=True):
    """The board document: what lists need at top level, the state cached in `snapshot`."""

    id: str
    title: str
    description: str
    tags: list[str]
    owner: str
    template: str | None
    created_at: int
    updated_at: int
    snapshot_seq: int = 0
    snapshot: bytes = b""


_encode_entries = msgspec.json.Encoder().encode
_decode_entries = msgspec.json.Decoder(list[LogEntry]).decode
encode_blob = msgspec.json.Encoder().encode
decode_blob = msgspec.json.Decoder(BoardBlob).decode


def _record(doc: dict[str, Any]) -> BoardRecord:
    doc["id"] = doc.pop("_id")
    doc.pop("members", None)
    return msgspec.convert(doc, BoardRecord)


class Store:
    """Boards and their op logs in one MongoDB database."""

    @classmethod
    def connect(cls, uri: str, database: str, timeout_ms: int) -> "Store":
        """A store on a new client; nothing is sent until the first command.

        A database that stops answering fails each command after `timeout_ms`, so clients
        get `unavailable` (and retry safely) instead of waiting forever.
        """
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            uri, serverSelectionTimeoutMS=timeout_ms, socketTimeoutMS=timeout_ms
        )
        return cls(client, database)

    async def close(self) -> None:
        await self.client.close()

    def __init__(self, client: AsyncMongoClient[dict[str, Any]], database: str) -> None:
        db = client.get_database(database, write_concern=DURABLE, read_concern=MAJORITY)
        self.client = client
        self.db = db
        self._waiting: list[tuple[dict[str, Any], asyncio.Future[bool]]] = []
        self.origin = secrets.token_hex(8)  # marks what we insert, so our streams skip it
        self._writers = set[asyncio.Task[None]]()
        self._snapshot_lane = asyncio.Lock()
        self.boards = db.boards
        self.ops = db.ops
        self.signals = db.get_collection("signals", write_concern=WriteConcern(w=1))

    async def ensure_indexes(self) -> None:
        """Create what the queries and the commit point rely on; safe to run at every start.

        No multikey index on `boards.tags`: nx-27017 0.8.1 stops matching array members
        once one exists (tests/store/test_store.py shows the filter working).
        """
        await self.ops.create_index([("board", 1), ("seq", 1)], unique=True, name="board_seq")
        await self.ops.create_index([("board", 1), ("last", 1)], name="board_last")
        await self.ops.create_index([("board", 1), ("keys", 1)], name="board_keys")
        await self.signals.create_index("at", expireAfterSeconds=SIGNAL_TTL_SECONDS, name="ttl")

    async def ping(self) -> None:
        await self.client.admin.command("ping")

    async def insert_board(self, record: BoardRecord) -> None:
        doc = msgspec.to_builtins(record)
        doc["_id"] = doc.pop("id")
        doc["snapshot"] = record.snapshot
        await self.boards.insert_one(doc)

    async def get_board(self, board_id: str) -> BoardRecord | None:
        doc = await self.boards.find_one({"_id": board_id})
        return _record(doc) if doc else None

    async def list_boards(
        self,
        *,
        tag: str | None,
        search: str | None,
        before: str | None,
        limit: int,
        among: list[str] | None = None,
    ) -> list[BoardRecord]:
        """Newest first, optionally only `among` these ids; `before` (the last id seen) pages."""
        query: dict[str, Any] = {} if among is None else {"_id": {"$in": among}}
        if tag is not None:
            query["tags"] = tag
        if search:
            query["title"] = {"$regex": re.escape(search), "$options": "i"}
        if before is not None:
            query.setdefault("_id", {})["$lt"] = before
        cursor = self.boards.find(query, {"snapshot": 0}).sort("_id", DESCENDING).limit(limit)
        return [_record(doc) async for doc in cursor]

    async def delete_board(self, board_id: str) -> bool:
        """Delete a board and then its log; the board is gone the moment the first write lands."""
        result = await self.boards.delete_one({"_id": board_id})
        await self.ops.delete_many({"board": board_id})
        return result.deleted_count == 1

    async def save_snapshot(self, board_id: str, seq: int, blob: BoardBlob, now_ms: int) -> None:
        """Cache the state at `seq`, unless a newer one is already cached.

        One at a time: boards edited alike reach their snapshot turn together, and a burst
        of them would queue every commit behind it in the database.
        """
        async with self._snapshot_lane:
            await self.boards.update_one(
                {"_id": board_id, "snapshot_seq": {"$lt": seq}},
                {
                    "$set": {
                        "snapshot": encode_blob(blob),
                        "snapshot_seq": seq,
                        "title": blob.title,
                        "description": blob.description,
                        "tags": list(blob.tags),
                        "updated_at": now_ms,
                    }
                },
            )

    async def append(self, board_id: str, entries: Sequence[LogEntry]) -> bool:
        """The commit point: write a group of consecutive entries durably, as one document.

        False if another writer already holds the group's first seq: catch up, then retry.
        Each group starts right after the last one its writer has seen, so the unique
        (board, seq) key makes the log one chain that no two writers can fork.

        Up to WRITES_IN_FLIGHT inserts go out at once (a board's committer has at most one
        group in flight, so these are always other boards'); groups that arrive while all of
        them are out share the next insert. Waiting behind one insert at a time doubled
        every commit's latency (docs/decisions.md, "Inserts in flight").
        """
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append(({**_document(board_id, entries), "origin": self.origin}, future))
        # done(), not membership: a writer that just found nothing left is done at once, and
        # leaves the set only a turn later; counting it then could strand this group.
        if sum(not writer.done() for writer in self._writers) < WRITES_IN_FLIGHT:
            writer = asyncio.create_task(self._write_waiting())
            self._writers.add(writer)  # the loop holds tasks weakly
            writer.add_done_callback(self._writers.discard)
        GROUP_SIZE.observe(len(entries))
        with COMMIT_SECONDS.time():
            return await asyncio.shield(future)

    async def _write_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            INSERT_GROUPS.observe(len(batch))
            try:
                await self.ops.insert_many([doc for doc, _ in batch], ordered=False)
                taken: set[int] = set()
            except BulkWriteError as error:
                taken = {e["index"] for e in error.details["writeErrors"] if e["code"] == 11000}
                broken = {e["index"] for e in error.details["writeErrors"]} - taken
                _fail([future for i, (_, future) in enumerate(batch) if i in broken], error)
            except Exception as error:  # a driver refusal (too large) too: nobody may wait forever
                _fail([future for _, future in batch], error)
                continue
            for i, (_, future) in enumerate(batch):
                if not future.done():
                    future.set_result(i not in taken)

    @contextlib.asynccontextmanager
    async def watch_ops(self) -> AsyncIterator[AsyncIterator[tuple[str, list[LogEntry]]]]:
        """Every entry another instance commits from the moment this opens: the change stream.

        Our own commits never come back: the committer that wrote them already has them.
        """
        async with _inserts(self.ops, self.origin) as docs:
            yield ((doc["board"], entries_of(doc)) async for doc in docs)

    @contextlib.asynccontextmanager
    async def watch_signals(self) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        """Every signal another instance sends from the moment this opens."""
        async with _inserts(self.signals, self.origin) as docs:
            yield docs

    async def send_signal(self, doc: dict[str, Any]) -> None:
        """Tell the other instances something ephemeral; kept a minute, not journaled."""
        at = datetime.datetime.now(datetime.UTC)
        await self.signals.insert_one({**doc, "origin": self.origin, "at": at})

    async def find_submission(
        self, board_id: str, client_key: str, client_op_id: int
    ) -> LogEntry | None:
        """This client's op as committed, if it was."""
        wanted = f"{client_key}:{client_op_id}"
        doc = await self.ops.find_one({"board": board_id, "keys": {"$in": [wanted]}})
        if doc is None:
            return None
        return next(e for e in entries_of(doc) if _key(e) == wanted)

    async def entries_after(
        self, board_id: str, seq: int, upto: int | None = None, documents: int = 0
    ) -> list[LogEntry]:
        """Entries after `seq` (up to `upto`) in seq order, from at most `documents` log
        documents (0: all), so a long range can be read page by page."""
        query: dict[str, Any] = {"board": board_id, "last": {"$gt": seq}}
        if upto is not None:
            query["seq"] = {"$lte": upto}
        cursor = self.ops.find(query).sort("seq", 1).limit(documents)
        return [
            entry
            async for doc in cursor
            for entry in entries_of(doc)
            if entry.seq > seq and (upto is None or entry.seq <= upto)
        ]


@contextlib.asynccontextmanager
async def _inserts(
    collection: AsyncCollection[dict[str, Any]],
    origin: str,
    idle_poll: float = 0.05,
    idle_poll_max: float = 0.5,
) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
    """The documents other instances insert into `collection` from now on, by a change stream.

    The database drops our own (marked with `origin`), so they never travel back. MongoDB
    holds an empty getMore open up to max_await_time; nx-27017 answers it at once, so an empty
    poll waits before the next, twice as long each time up to `idle_poll_max` while nothing
    comes: an idle store is asked twice a second, a busy one as soon as it has something.
    """
    pipeline = [{"$match": {"operationType": "insert", "fullDocument.origin": {"$ne": origin}}}]
    async with await collection.watch(pipeline, max_await_time_ms=1000) as stream:

        async def documents() -> AsyncIterator[dict[str, Any]]:
            wait = idle_poll
            while True:
                change = await stream.try_next()
                if change is None:
                    await asyncio.sleep(wait)
                    wait = min(idle_poll_max, wait * 2)
                    continue
                wait = idle_poll
                yield change["fullDocument"]

        yield documents()


def _fail(futures: list[asyncio.Future[bool]], error: Exception) -> None:
    for future in futures:
        if not future.done():
            future.set_exception(error)


def _key(entry: LogEntry) -> str:
    return f"{entry.client_id}:{entry.client_op_id}"


def _document(board_id: str, entries: Sequence[LogEntry]) -> dict[str, Any]:
    """One group of entries; only board, seq range and submission keys are visible to queries."""
    return {
        "board": board_id,
        "seq": entries[0].seq,
        "last": entries[-1].seq,
        "keys": [_key(entry) for entry in entries],
        "entries": _encode_entries(
            entries
        ).decode(),  # text: nx-27017's change stream mangles binary
    }


def entries_of(doc: dict[str, Any]) -> list[LogEntry]:
    return _decode_entries(doc["entries"])
