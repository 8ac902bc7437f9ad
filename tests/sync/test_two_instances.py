"""Two `journeyboard serve` processes on one database serve one board, and one gets SIGKILLed.

Clients on either instance see every op of both in one order; after the kill, clients move
to the survivor and resend what was unanswered: nothing acked is lost, nothing is doubled.
"""

import asyncio
import random
from pathlib import Path

import httpx

from server.store.mongo import Store
from tests.harness import TOKEN, bearer, fresh_database
from tests.processes import Served
from tests.sync.replica import Replica, random_ops
from tests.sync.test_convergence import SEED, check

UNLIMITED = {
    "JOURNEYBOARD_RATE_PER_IP": "1000000",
    "JOURNEYBOARD_RATE_PER_TOKEN": "1000000",
    "JOURNEYBOARD_WS_OPS_PER_SECOND": "1000000",
    "JOURNEYBOARD_WS_OPS_BURST": "1000000",
    "JOURNEYBOARD_WS_CONNECTIONS_PER_USER": "1000",
}


async def test_two_instances_converge_and_a_killed_one_loses_no_acked_op(
    tmp_path: Path, mongodb_uri: str
) -> None:
    rng = random.Random(SEED)
    print(f"JB_SEED={SEED}")
    env = {"MONGODB_URI": mongodb_uri, "JOURNEYBOARD_DB": fresh_database(), **UNLIMITED}
    first = Served(tmp_path / "a", **env)
    match = TOKEN.search(first.welcome())
    assert match, "the first instance creates the admin"
    token = match.group(0)
    second = Served(tmp_path / "b", **env)
    instances = [first, second]
    store = Store.connect(mongodb_uri, env["JOURNEYBOARD_DB"], 5000)
    try:
        first.wait_ready()
        second.wait_ready()
        async with httpx.AsyncClient(base_url=first.url, headers=bearer(token)) as http:
            board = (await http.post("/api/boards", json={"title": "Twins"})).json()["id"]

        def alive_url(preferred: int) -> str:
            alive = [s for s in instances if s.process.poll() is None]
            return (
                instances[preferred] if instances[preferred] in alive else rng.choice(alive)
            ).url

        replicas = [
            Replica(
                lambda i=i: alive_url(i % 2), board, token, f"c{i}", random.Random(rng.random())
            )
            for i in range(10)
        ]
        await asyncio.gather(*(r.connect() for r in replicas))
        progress = asyncio.Event()

        async def edit(replica: Replica, count: int) -> None:
            for n in range(count):
                await replica.submit(random_ops(replica.rng, replica, replica.client_id))
                if n == count // 2:
                    progress.set()

        async def kill_first_midway() -> None:
            await progress.wait()
            first.process.kill()

        await asyncio.gather(kill_first_midway(), *(edit(r, 100) for r in replicas))
        assert first.process.poll() is not None, "the first instance was killed mid-stream"
        assert sum(r.history.reconnects for r in replicas) >= 5, "its clients moved to the survivor"
        await check(store, second.url, token, board, replicas, user="admin")
    finally:
        for instance in instances:
            instance.kill()
        await store.close()
