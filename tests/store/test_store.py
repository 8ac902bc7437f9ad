"""The repository against a real MongoDB-wire server: the commit point and hostile values."""

import asyncio
from typing import Any

import pytest
from pymongo.monitoring import (
    CommandFailedEvent,
    CommandListener,
    CommandStartedEvent,
    CommandSucceededEvent,
)

from schemas.board import Node
from schemas.ops import Create, Update
from server.board import BoardState, canonical
from server.settings import Settings
from server.store.accounts import Accounts
from server.store.mongo import WRITES_IN_FLIGHT, Store
from server.sync.log import LogEntry
from server.sync.pipeline import blob_of, replay
from server.sync.room import Room
from tests.harness import plain_record, store_of_its_own

HOSTILE: list[Any] = [
    {"$gt": ""},
    {"$where": "sleep(2000)||true"},
    {"$ne": None},
    {"a.b": 1, "$set": 2},
]


def entry(
    seq: int, client: str = "c", client_op_id: int | None = None, label: str = ""
) -> LogEntry:
    op = Create(element=Node(id=f"n{seq}-{client}", label=label))
    return LogEntry(
        seq=seq, ops=[op], user="u", at=0, client_id=client, client_op_id=client_op_id or seq
    )


async def test_ensure_indexes_is_idempotent(store: Store) -> None:
    await store.ensure_indexes()
    await store.ensure_indexes()
    unique = {tuple(i["key"]) async for i in await store.ops.list_indexes() if i.get("unique")}
    assert unique == {("board", "seq")}


@pytest.mark.parametrize("writers", [2, 5, 20])
async def test_exactly_one_writer_wins_each_seq(store: Store, writers: int) -> None:
    for seq in range(1, 51):
        won = await asyncio.gather(
            *(
                store.append("b", [entry(seq, client=f"w{w}", label=f"w{w}")])
                for w in range(writers)
            )
        )
        assert sorted(won) == [False] * (writers - 1) + [True]
        (stored,) = await store.entries_after("b", seq - 1)
        assert stored.client_id == f"w{won.index(True)}"


async def test_a_group_is_one_write_that_cannot_fork_the_chain(store: Store) -> None:
    assert await store.append("b", [entry(1), entry(2), entry(3)])
    assert not await store.append("b", [entry(1, client="late"), entry(2, client="late")])
    assert await store.append("b", [entry(4)])
    assert [(e.seq, e.client_id) for e in await store.entries_after("b", 0)] == [
        (1, "c"),
        (2, "c"),
        (3, "c"),
        (4, "c"),
    ]
    assert [e.seq for e in await store.entries_after("b", 2)] == [3, 4], "resuming mid-group"


class LogInserts(CommandListener):
    """Counts the inserts into the op log, and the most that were out at once."""

    def __init__(self) -> None:
        self.out: set[int] = set()
        self.sent = 0
        self.most = 0

    def started(self, event: CommandStartedEvent) -> None:
        if event.command_name == "insert" and event.command["insert"] == "ops":
            self.out.add(event.request_id)
            self.sent += 1
            self.most = max(self.most, len(self.out))

    def succeeded(self, event: CommandSucceededEvent) -> None:
        self.out.discard(event.request_id)

    def failed(self, event: CommandFailedEvent) -> None:
        self.out.discard(event.request_id)


async def test_other_boards_groups_do_not_wait_behind_one_insert(mongodb_uri: str) -> None:
    """Up to WRITES_IN_FLIGHT inserts are out at once; what comes while all are out shares
    the next insert, so a burst across many boards costs few round trips."""
    inserts = LogInserts()
    async with store_of_its_own(mongodb_uri, inserts) as store:
        await asyncio.gather(*(store.ping() for _ in range(WRITES_IN_FLIGHT)))  # open sockets
        boards = [f"b{i}" for i in range(40)]
        appends = []
        for board in boards:  # one a loop turn: a writer that is free takes it at once
            appends.append(asyncio.ensure_future(store.append(board, [entry(1)])))
            await asyncio.sleep(0)
        assert all(await asyncio.gather(*appends))
        assert 1 < inserts.most <= WRITES_IN_FLIGHT
        assert inserts.sent < len(boards), "groups that came while all inserts were out shared one"
        for board in boards:
            assert [e.seq for e in await store.entries_after(board, 0)] == [1]


async def test_a_committed_submission_can_be_found_by_its_client_and_op_id(store: Store) -> None:
    assert await store.append(
        "b", [entry(1, client="c", client_op_id=7), entry(2, client="d", client_op_id=7)]
    )
    found = await store.find_submission("b", "d", 7)
    assert found is not None and (found.seq, found.client_id) == (2, "d")
    assert await store.find_submission("b", "c", 8) is None
    assert await store.find_submission("other", "c", 7) is None


async def test_entries_come_back_in_seq_order(store: Store) -> None:
    for seq in (3, 1, 2):
        await store.append("b", [entry(seq)])
    assert [e.seq for e in await store.entries_after("b", 1)] == [2, 3]


@pytest.mark.parametrize("value", HOSTILE)
async def test_operator_shaped_values_are_stored_as_data(store: Store, value: Any) -> None:
    op = Create(element=Node(id="n", data={"v": value, "$where": value, "a.b": value}))
    await store.append(
        "b", [LogEntry(seq=1, ops=[op], user="u", at=0, client_id="c", client_op_id=1)]
    )
    (stored,) = await store.entries_after("b", 0)
    assert stored.ops == [op]


async def test_search_and_tag_filters_treat_operators_and_regex_as_text(store: Store) -> None:
    await store.insert_board(plain_record("b1", "Plain"))
    await store.insert_board(plain_record("b2", "a.*b (draft)"))
    assert [
        r.id for r in await store.list_boards(tag=None, search=".*", before=None, limit=10)
    ] == ["b2"]
    assert await store.list_boards(tag='{"$ne": ""}', search=None, before=None, limit=10) == []


async def test_an_older_snapshot_never_overwrites_a_newer_one(store: Store) -> None:
    await store.insert_board(plain_record())
    newer = blob_of(BoardState(title="newer"))
    await store.save_snapshot("b1", 5, newer, now_ms=5)
    await store.save_snapshot("b1", 3, blob_of(BoardState(title="older")), now_ms=6)
    saved = await store.get_board("b1")
    assert saved is not None and (saved.snapshot_seq, saved.title) == (5, "newer")


async def test_the_snapshot_is_a_cache_the_log_rebuilds(store: Store) -> None:
    """Whatever the cached snapshot says, a loaded board equals the full log replayed from empty."""
    await store.insert_board(plain_record())
    room = await Room.load(plain_record(), store, Settings())
    for i in range(30):
        ops = [Create(element=Node(id=f"n{i}")), Update(id=f"n{i // 2}", set={"label": f"v{i}"})]
        assert (await room.committer.submit(ops, "u", "c", i)).seq == i + 1
    full = replay(BoardState(title="t"), await store.entries_after("b1", 0))
    for cached_seq in (0, 10, 30):
        log = await store.entries_after("b1", 0)
        stale = replay(BoardState(title="t"), [e for e in log if e.seq <= cached_seq])
        await store.boards.update_one({"_id": "b1"}, {"$set": {"snapshot_seq": -1}})
        await store.save_snapshot("b1", cached_seq, blob_of(stale), now_ms=0)
        loaded = await Room.load(await store.get_board("b1") or plain_record(), store, Settings())
        assert (loaded.committer.seq, canonical(loaded.state)) == (30, canonical(full))


async def test_a_range_of_the_log_can_be_read_page_by_page(store: Store) -> None:
    for first in (1, 4, 7):  # three log documents of three entries each
        assert await store.append("paged", [entry(s) for s in range(first, first + 3)])
    page = await store.entries_after("paged", 2, upto=8, documents=2)
    assert [e.seq for e in page] == [3, 4, 5, 6], "two documents, minus what is before 2"
    rest = await store.entries_after("paged", 6, upto=8, documents=2)
    assert [e.seq for e in rest] == [7, 8], "nothing past `upto`"


async def test_the_change_stream_skips_our_own_commits_and_hands_on_others(store: Store) -> None:
    other = Store(store.client, store.db.name)  # another instance on the same database
    async with store.watch_ops() as changes:
        assert await store.append("b1", [entry(1)])
        assert await other.append("b1", [entry(2)])
        board, entries = await asyncio.wait_for(anext(changes), 10)
    assert (board, [e.seq for e in entries]) == ("b1", [2])


async def test_a_room_answers_a_resend_of_a_recent_entry_from_memory(store: Store) -> None:
    await store.insert_board(plain_record())
    room = await Room.load(plain_record(), store, Settings())
    ops = [Create(element=Node(id="n"))]
    first = await room.committer.submit(ops, "u", "c", 7)

    async def no_lookups(*args: Any) -> None:
        raise AssertionError("the room asked the log")

    store.find_submission = no_lookups  # type: ignore[method-assign]
    again = await room.committer.submit(ops, "u", "c", 7)
    assert (again.seq, again.duplicate, first.duplicate) == (first.seq, True, False)


async def test_the_members_of_several_boards_come_in_one_read(store: Store) -> None:
    accounts = Accounts(store.db)
    await accounts.set_role("b1", "ana", "editor")
    await accounts.set_role("b1", "bo", "viewer")
    await accounts.set_role("b2", "ana", "owner")
    await accounts.set_role("b3", "cy", "owner")
    found = await accounts.members_in(["b1", "b2", "empty"])
    assert found == {"b1": {"ana": "editor", "bo": "viewer"}, "b2": {"ana": "owner"}, "empty": {}}
