"""The live replica: optimistic edits, convergence, batches, reconnects, offline edits, presence."""

import asyncio
import contextlib
import os
import random
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from client_sdk import (
    AsyncJourneyboardClient,
    Change,
    Conflict,
    JourneyboardClient,
    NotFound,
    OfflineQueueFull,
    PermissionDenied,
    TooLarge,
    ValidationFailed,
)
from client_sdk.live import LiveBoard
from schemas.board import Edge, Node
from schemas.ops import BoardOp, Create, Delete, Move, Update
from server.board import Limits
from tests.harness import (
    RunningServer,
    eventually,
    running_server,
    settings_for_tests,
    user_with_token,
)

SEED = int(os.environ.get("JB_SEED", random.randrange(2**32)))


@contextlib.asynccontextmanager
async def live(client: AsyncJourneyboardClient, board: str, name: str) -> AsyncIterator[LiveBoard]:
    async with client.live(board, client_id=name) as replica:
        yield replica


async def settle(*replicas: LiveBoard, seq: int, within: float = 15) -> None:
    await eventually(lambda: all(r.seq >= seq for r in replicas), within)


async def test_edits_show_at_once_and_reach_every_replica_in_the_servers_order(
    jb: AsyncJourneyboardClient,
) -> None:
    board = await jb.create_board("Live")
    async with live(jb, board.id, "left") as left, live(jb, board.id, "right") as right:
        heard: list[Change] = []
        right.on_change(heard.append)
        answer = left.create(Node(id="n1", label="Optimistic"))
        assert left.get("n1") is not None and not answer.done(), "visible before the ack"
        seq = await answer
        await jb.apply_ops(board.id, [Update(id="n1", set={"label": "From REST"})])
        await settle(left, right, seq=seq + 1)
        assert left.elements == right.elements
        assert right.elements["n1"].label == "From REST"
        assert [c.seq for c in heard if not c.local] == [seq, seq + 1]
        snapshot = await jb.snapshot(board.id)
        assert {e.id: e for e in snapshot.elements} == left.elements


async def test_a_batch_is_one_submission_and_a_bad_local_edit_fails_at_once(
    jb: AsyncJourneyboardClient,
) -> None:
    board = await jb.create_board("Batch")
    async with live(jb, board.id, "batcher") as replica:
        before = replica.seq
        async with replica.batch() as answer:
            for i in range(20):
                replica.create(Node(id=f"n{i}"))
            replica.create(Edge(id="e", source="n0", target="n1"))
            assert len(replica.elements) == 21
        assert await answer == before + 1
        with pytest.raises(Conflict):
            replica.create(Node(id="n0"))
        assert replica.seq == before + 1 and len(replica.elements) == 21


async def test_an_edit_the_server_rejects_is_rolled_back_and_its_future_fails(
    mongodb_uri: str,
) -> None:
    """The server's limits are its own: here it holds 3 elements, the replica's core 25,000."""
    settings = settings_for_tests(limits=Limits(max_elements=3))
    async with running_server(settings, mongodb_uri) as small:
        token = await user_with_token(small.accounts, "limited")
        async with AsyncJourneyboardClient(small.url, token) as client:
            board = await client.create_board("Small")
            async with live(client, board.id, "a") as replica:
                changes: list[Change] = []
                replica.on_change(changes.append)
                kept = [replica.create(Node(id=f"n{i}")) for i in range(3)]
                refused = replica.create(Node(id="n3"))
                assert "n3" in replica.elements
                await asyncio.gather(*kept)
                with pytest.raises(ValidationFailed, match="board_limit"):
                    await refused
                assert sorted(replica.elements) == ["n0", "n1", "n2"]
                assert any(c.local and c.ops == [] for c in changes), "listeners hear the rollback"


async def test_random_concurrent_editors_converge_and_every_ack_lands_once(
    jb: AsyncJourneyboardClient,
) -> None:
    rng = random.Random(SEED)
    board = await jb.create_board("Many editors")
    replicas = [await jb.live(board.id, client_id=f"editor-{i}").__aenter__() for i in range(6)]
    acked: list[asyncio.Future[int]] = []
    try:
        for round_ in range(25):
            for i, replica in enumerate(replicas):
                ops = _random_ops(rng, replica, f"r{i}x{round_}")
                with contextlib.suppress(Exception):  # a stale local view may refuse it
                    acked.append(replica.submit(ops))
            await asyncio.sleep(rng.uniform(0, 0.02))
        for replica in replicas:
            await replica.synced(within=30)
        head = (await jb.snapshot(board.id)).seq
        await settle(*replicas, seq=head)
        snapshot = {e.id: e for e in (await jb.snapshot(board.id)).elements}
        for replica in replicas:
            assert replica.elements == snapshot, f"seed {SEED}"
        results = await asyncio.gather(*acked, return_exceptions=True)
        seqs = [r for r in results if isinstance(r, int)]
        assert len(seqs) == len(set(seqs)), f"an ack reused a seq (seed {SEED})"
        assert len(seqs) >= len(acked) // 2, f"most edits land (seed {SEED})"
    finally:
        for replica in replicas:
            await replica.close()


def _random_ops(rng: random.Random, replica: LiveBoard, new_id: str) -> list[BoardOp]:
    nodes = sorted(k for k, e in replica.elements.items() if isinstance(e, Node))
    choice = rng.random()
    if choice < 0.4 or not nodes:
        return [_create(Node(id=new_id, label=new_id))]
    target = rng.choice(nodes)
    if choice < 0.6:
        return [Update(id=target, set={"label": new_id})]
    if choice < 0.8:
        return [Move(id=target, x=rng.uniform(0, 100), y=rng.uniform(0, 100))]
    return [Delete(id=target)]


def _create(element: Any) -> BoardOp:
    return Create(element=element)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_ten_replicas_resume_after_a_restart_and_send_offline_edits_once_in_order(
    mongodb_uri: str,
) -> None:
    """RELIABILITY R5/R6: the server is down while 10 clients queue 20 edits each."""
    settings, port = settings_for_tests(), _free_port()
    async with running_server(settings, mongodb_uri, port) as first:
        token = await user_with_token(first.accounts, "traveller")
        client = AsyncJourneyboardClient(first.url, token)
        board = await client.create_board("Restart")
        replicas = [
            await client.live(board.id, f"laptop{i}", max_pending=21).__aenter__()
            for i in range(10)
        ]
        await replicas[0].create(Node(id="before"))
        await settle(*replicas, seq=replicas[0].seq)
    try:
        await eventually(lambda: not any(r.connected.is_set() for r in replicas))
        offline = [
            [r.create(Node(id=f"offline-{i}-{k}")) for k in range(20)]
            for i, r in enumerate(replicas)
        ]
        replicas[0].update("before", label="edited offline")
        assert replicas[3].get("offline-3-19") is not None, "offline edits show at once"
        assert [r.pending_count for r in replicas] == [21] + [20] * 9
        with pytest.raises(OfflineQueueFull):
            replicas[0].create(Node(id="one-too-many"))
        assert replicas[0].pending_count == 21 and "one-too-many" not in replicas[0].elements
        await asyncio.sleep(3)  # down for a while: reconnect attempts back off meanwhile
        async with running_server(settings, mongodb_uri, port) as second:
            await client.apply_ops(board.id, [_create(Node(id="while-away"))])
            for answers in offline:
                seqs = await asyncio.wait_for(asyncio.gather(*answers), 30)
                assert seqs == sorted(seqs), "each client's edits land in its own order"
            for replica in replicas:
                await replica.synced(within=20)
            assert [r.pending_count for r in replicas] == [0] * 10
            snapshot = await client.snapshot(board.id)
            await settle(*replicas, seq=snapshot.seq)
            expected = {e.id: e for e in snapshot.elements}
            assert all(r.elements == expected for r in replicas)
            assert len(expected) == 1 + 200 + 1, "no edit lost, none applied twice"
            assert expected["before"].label == "edited offline"
            log = await second.services.store.entries_after(board.id, 0)
            keys = [(e.client_id, e.client_op_id) for e in log if "/laptop" in e.client_id]
            assert len(keys) == len(set(keys)) == 1 + 200 + 1
    finally:
        for replica in replicas:
            await replica.close(flush=0)
        await client.close()


async def test_presence_of_others_and_no_access_for_strangers(
    jb: AsyncJourneyboardClient, server: RunningServer
) -> None:
    board = await jb.create_board("Presence")
    async with live(jb, board.id, "pointer") as a, live(jb, board.id, "watcher") as b:
        a.set_presence(cursor=(10, 20), selection=["x"])
        await eventually(lambda: "pointer" in b.others)
        seen = next(p for p in b.others.values() if p.client_id == "pointer")
        assert seen.cursor is not None and (seen.cursor.x, seen.cursor.y) == (10, 20)
    stranger = await user_with_token(server.accounts, "not-invited")
    async with AsyncJourneyboardClient(server.url, stranger) as other:
        with pytest.raises(NotFound):
            await other.live(board.id).open(within=5)


async def test_the_blocking_live_board_for_scripts(
    server: RunningServer, tester_token: str, jb: AsyncJourneyboardClient
) -> None:
    board = await jb.create_board("Blocking live")

    def script() -> tuple[int, list[str]]:
        with JourneyboardClient(server.url, tester_token) as client:
            with client.live(board.id) as replica:
                with replica.batch():
                    replica.create(Node(id="a"))
                    replica.create(Node(id="b"))
                replica.synced(within=10)
                return replica.seq, sorted(replica.elements)

    seq, ids = await asyncio.to_thread(script)
    assert ids == ["a", "b"]
    assert (await jb.snapshot(board.id)).seq == seq


async def test_too_large_edits_fail_at_once_and_roll_back(jb: AsyncJourneyboardClient) -> None:
    board = await jb.create_board("Too large")
    async with live(jb, board.id, "big") as replica:
        with pytest.raises(TooLarge):
            replica.submit([_create(Node(id=f"n{i}")) for i in range(1001)])
        with pytest.raises(TooLarge):
            async with replica.batch():
                for i in range(500):
                    replica.create(Node(id=f"b{i}", text="x" * 200))
        assert replica.elements == {} and replica.pending_count == 0


async def test_edits_over_the_servers_rate_are_retried_not_lost(mongodb_uri: str) -> None:
    settings = settings_for_tests(ws_ops_per_second=10, ws_ops_burst=10)
    async with running_server(settings, mongodb_uri) as slow:
        token = await user_with_token(slow.accounts, "hasty")
        async with AsyncJourneyboardClient(slow.url, token) as client:
            board = await client.create_board("Rate")
            async with live(client, board.id, "burst") as replica:
                answers = [replica.create(Node(id=f"n{i}")) for i in range(40)]
                seqs = await asyncio.wait_for(asyncio.gather(*answers), 30)
                assert len(set(seqs)) == 40
                assert len((await client.snapshot(board.id)).elements) == 40


async def test_removal_from_the_board_fails_the_replica_for_good(
    jb: AsyncJourneyboardClient, server: RunningServer
) -> None:
    board = await jb.create_board("Removed")
    guest = await user_with_token(server.accounts, "short-stay")
    await jb.set_member(board.id, "short-stay", "editor")
    async with AsyncJourneyboardClient(server.url, guest) as theirs:
        replica = await theirs.live(board.id).__aenter__()
        await replica.create(Node(id="mine"))
        await jb.remove_member(board.id, "short-stay")
        await eventually(lambda: replica.failure is not None)
        assert not replica.connected.is_set()
        with pytest.raises(PermissionDenied):
            replica.create(Node(id="after"))
        await replica.close()


async def test_blocking_callbacks_may_read_the_board_without_deadlock(
    server: RunningServer, tester_token: str, jb: AsyncJourneyboardClient
) -> None:
    board = await jb.create_board("Callbacks")

    def script() -> list[int]:
        sizes: list[int] = []
        with JourneyboardClient(server.url, tester_token) as client:
            with client.live(board.id) as replica:
                replica.on_change(lambda change: sizes.append(len(replica.elements)))
                replica.create(Node(id="a")).result(10)
                replica.synced(within=10)
        return sizes

    sizes = await asyncio.wait_for(asyncio.to_thread(script), 30)
    assert sizes and sizes[-1] == 1
