"""The database stops answering, then comes back: nothing is acked meanwhile, nothing is lost."""

import asyncio
import signal
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.store.embedded import EmbeddedStore
from tests.harness import (
    RunningServer,
    bearer,
    eventually,
    running_server,
    settings_for_tests,
    user_with_token,
)
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


async def test_a_store_stalled_mid_stream_answers_the_truth_and_resends_apply_once(
    private: tuple[RunningServer, EmbeddedStore],
) -> None:
    """Answers while the store hangs are `ack`, `outcome_unknown` (resend: applies once) or
    `unavailable` (changed nothing: never in the log)."""
    server, store = private
    token = await user_with_token(server.accounts, "stall")
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(token), timeout=10) as http:
        board = (await http.post("/api/boards", json={"title": "Stall"})).json()["id"]
    client, _, _ = await joined(server, board, token, client_id="stream")
    answers: dict[int, dict[str, Any]] = {}

    async def collect() -> None:
        while True:
            message = await client.next("ack", "reject", within=30)
            answers[message["client_op_id"]] = message

    collector = asyncio.create_task(collect())
    for op_id in range(60):
        if op_id == 20:
            store.kill(signal.SIGSTOP)
        if op_id == 40:
            await asyncio.sleep(2.5)  # past the store timeout: the stalled commits time out
            store.kill(signal.SIGCONT)
        await client.send({"type": "submit", "client_op_id": op_id, "ops": [node(op_id)]})
        await asyncio.sleep(0.02)
    await eventually(lambda: len(answers) == 60, within=30)
    codes = Counter(a.get("code", a["type"]) for a in answers.values())
    assert codes["outcome_unknown"] > 0, codes
    assert set(codes) <= {"ack", "outcome_unknown", "unavailable"}, codes
    await asyncio.sleep(1)  # anything the store still held has landed by now
    logged = await submitted(server, board, "stall/stream")
    unchanged = [i for i, a in answers.items() if a.get("code") == "unavailable"]
    assert not any(logged[i] for i in unchanged), "'changed nothing' was true"
    unknown = sorted(i for i, a in answers.items() if a.get("code") == "outcome_unknown")
    for op_id in unknown:
        await client.send({"type": "submit", "client_op_id": op_id, "ops": [node(op_id)]})
    await eventually(lambda: all(answers[i]["type"] == "ack" for i in unknown), within=30)
    collector.cancel()
    logged = await submitted(server, board, "stall/stream")
    acked = [i for i, a in answers.items() if a["type"] == "ack"]
    assert all(logged[i] == 1 for i in acked), (logged, answers)
    assert set(logged) == set(acked), "every acked batch is in the log exactly once; no other"
    await client.close()


async def submitted(server: RunningServer, board: str, client_key: str) -> Counter[int]:
    log = await server.services.store.entries_after(board, 0)
    return Counter(e.client_op_id for e in log if e.client_id == client_key)


def node(op_id: int) -> dict[str, Any]:
    return {"op": "create", "element": {"kind": "node", "id": f"stall-{op_id}"}}
