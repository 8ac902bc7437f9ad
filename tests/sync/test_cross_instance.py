"""What the op log does not carry still crosses instances: presence, insight, roles.

Two `journeyboard serve` processes on one database; a client on each. The heartbeat
(10 s) would re-read roles anyway, so every wait here is bounded well below it.
"""

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from server.store.accounts import Accounts
from server.store.mongo import Store
from tests.harness import TOKEN, bearer, fresh_database, user_with_token
from tests.processes import Served
from tests.sync.test_two_instances import UNLIMITED
from tests.wsclient import Client

BELOW_HEARTBEAT = 5.0


@pytest.fixture
async def twins(
    tmp_path: Path, mongodb_uri: str
) -> AsyncIterator[tuple[Served, Served, str, Store]]:
    env = {"MONGODB_URI": mongodb_uri, "JOURNEYBOARD_DB": fresh_database(), **UNLIMITED}
    first = Served(tmp_path / "a", **env)
    match = TOKEN.search(first.welcome())
    second = Served(tmp_path / "b", **env)
    store = Store.connect(mongodb_uri, env["JOURNEYBOARD_DB"], 5000)
    try:
        assert match, first.output()[-2000:]
        first.wait_ready()
        second.wait_ready()
        yield first, second, match.group(0), store
    finally:
        first.kill()
        second.kill()
        await store.close()


async def test_presence_insight_and_removal_reach_clients_on_the_other_instance(
    twins: tuple[Served, Served, str, Store],
) -> None:
    first, second, admin, store = twins
    ana = await user_with_token(Accounts(store.db), "ana")
    async with httpx.AsyncClient(base_url=first.url, headers=bearer(admin)) as http:
        board = (await http.post("/api/boards", json={"title": "Twins"})).json()["id"]
        await http.put(f"/api/boards/{board}/members/ana", json={"role": "editor"})
        on_first = await Client.open(first.url, board, admin, client_id="admin-a")
        on_second = await Client.open(second.url, board, ana, client_id="ana-b")
        await on_first.next("snapshot")
        await on_second.next("snapshot")

        await on_second.send({"type": "presence", "cursor": {"x": 1, "y": 2}})
        presence = await on_first.next("presence", within=BELOW_HEARTBEAT)
        assert (presence["user"], presence["client_id"]) == ("ana", "ana-b")

        record = {"source": "survey", "external_id": "1", "scale": "nps", "score": 9}
        uploaded = await http.post(
            f"/api/boards/{board}/feedback",
            content=json.dumps(record) + "\n",
            headers={"Content-Type": "application/x-ndjson"},
        )
        assert uploaded.json()["accepted"] == 1
        assert (await on_second.next("insight", within=BELOW_HEARTBEAT))["type"] == "insight"

        began = time.monotonic()
        assert (await http.delete(f"/api/boards/{board}/members/ana")).status_code == 204
        assert await on_second.closed(within=BELOW_HEARTBEAT) == 4403
        print(
            f"removal closed the socket on the other instance in {time.monotonic() - began:.3f} s"
        )
        await on_first.close()
