"""The database stops answering, then comes back: nothing is acked meanwhile, nothing is lost."""

import signal
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from server.store.embedded import EmbeddedStore
from tests.harness import RunningServer, bearer, running_server, settings_for_tests, user_with_token
from tests.wsclient import joined

NODE = {"op": "create", "element": {"kind": "node", "id": "during-outage"}}


@pytest.fixture
async def private(tmp_path: Path) -> AsyncIterator[tuple[RunningServer, EmbeddedStore]]:
    with EmbeddedStore(tmp_path) as store:
        async with running_server(settings_for_tests(connect_timeout_ms=1500), store.uri) as server:
            yield server, store
            store.kill(signal.SIGCONT)


async def test_a_paused_database_gets_no_acks_then_every_resend_lands_once(
    private: tuple[RunningServer, EmbeddedStore],
) -> None:
    server, store = private
    token = await user_with_token(server.accounts, "outage")
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(token), timeout=10) as http:
        board = (await http.post("/api/boards", json={"title": "Outage"})).json()["id"]
        client, _, _ = await joined(server, board, token, client_id="phone")
        store.kill(signal.SIGSTOP)
        try:
            answer = await client.submit(1, NODE)
            assert (answer["type"], answer["code"]) == ("reject", "unavailable")
            assert (await http.get("/readyz")).status_code == 503
        finally:
            store.kill(signal.SIGCONT)
        again = await client.submit(1, NODE)
        assert again["type"] == "ack"
        assert (await client.submit(2, {"op": "move", "id": "during-outage", "x": 1, "y": 1}))[
            "type"
        ] == "ack"
        assert (await http.get("/readyz")).status_code == 200
        log = await server.services.store.entries_after(board, 0)
        assert [e.client_op_id for e in log if e.client_id == "outage/phone"] == [1, 2]
        assert [e.seq for e in log] == list(range(1, len(log) + 1))
        await client.close()
