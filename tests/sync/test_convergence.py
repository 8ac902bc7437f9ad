"""Many clients, random edits, random disconnects: everyone ends with the board MongoDB holds.

Seeded: a failure prints its seed; rerun with JB_SEED=<seed> to reproduce it.
"""

import asyncio
import os
import random

import httpx
import msgspec
import pytest

from schemas.board import AnyElement
from server.store.mongo import Store
from tests.harness import RunningServer, bearer, user_with_token
from tests.sync.replica import Replica, random_ops

SEED = int(os.environ.get("JB_SEED", random.randrange(2**32)))


@pytest.mark.long
async def test_twenty_clients_with_random_disconnects_converge_and_lose_nothing(
    server: RunningServer,
) -> None:
    rng = random.Random(SEED)
    print(f"JB_SEED={SEED}")
    token = await user_with_token(server.accounts, "converge")
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(token)) as http:
        board = (
            await http.post("/api/boards", json={"title": "Chaos", "template": "customer-journey"})
        ).json()["id"]
    replicas = [
        Replica(lambda: server.url, board, token, f"c{i}", random.Random(rng.random()))
        for i in range(20)
    ]
    await asyncio.gather(*(r.connect() for r in replicas))

    async def edit(replica: Replica, count: int) -> None:
        for _ in range(count):
            await replica.submit(random_ops(replica.rng, replica, replica.client_id))
            if replica.rng.random() < 0.03:
                await replica.reconnect(delay=replica.rng.uniform(0, 0.3))

    await asyncio.gather(*(edit(r, 150) for r in replicas))
    await check(server.services.store, server.url, token, board, replicas)


async def check(
    store: Store, url: str, token: str, board: str, replicas: list[Replica], user: str = "converge"
) -> None:
    """The history check, convergence with MongoDB and exactly-once, in-order delivery."""
    log = await store.entries_after(board, 0)
    head = log[-1].seq
    assert [e.seq for e in log] == list(range(1, head + 1)), "the log has no gaps or repeats"
    await asyncio.gather(*(r.settle(head) for r in replicas))
    async with httpx.AsyncClient(base_url=url, headers=bearer(token)) as http:
        snapshot = (await http.get(f"/api/boards/{board}/snapshot")).json()
    fresh = msgspec.json.decode(msgspec.json.encode(snapshot["elements"]), type=list[AnyElement])
    expected = {e.id: e for e in fresh}
    for replica in replicas:
        key = f"{user}/{replica.client_id}"
        committed = {e.client_op_id: e.seq for e in log if e.client_id == key}
        lost = set(replica.history.ok) - set(committed)
        unexpected = set(committed) - replica.history.attempted
        assert not lost and not unexpected, (replica.client_id, lost, unexpected)
        assert all(committed[op] == seq for op, seq in replica.history.ok.items()), (
            "acks name the real seq"
        )
        assert not replica.history.fail & set(committed), "nothing rejected was committed"
        assert len([e for e in log if e.client_id == key]) == len(committed), (
            "no op committed twice"
        )
        dbg = replica.history.applied_seqs
        reps = [x for x in set(dbg) if x > 0 and dbg.count(x) > 1]
        if reps:
            i = dbg.index(min(reps))
            print("DBG", replica.client_id, dbg[max(0, i - 8) : i + 12])
        seqs, wanted = (
            [x for x in replica.history.applied_seqs if x > 0],
            list(range(replica.history.start + 1, head + 1)),
        )
        assert seqs == wanted, (
            replica.client_id,
            sorted(set(wanted) - set(seqs))[:5],
            [s for s in set(seqs) if seqs.count(s) > 1][:5],
        )
        assert replica.seq == head and replica.state.elements == expected, replica.client_id
    assert sum(r.history.reconnects for r in replicas) > 0, "the run did exercise reconnects"
    for replica in replicas:
        await replica.drop()
