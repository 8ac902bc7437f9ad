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


async def test_batches_that_piled_up_meanwhile_commit_in_log_documents_of_bounded_size(
    tmp_path: Path,
) -> None:
    """A commit group is one log document, and MongoDB refuses a document over 16 MiB (the
    insert would fail on every resend): batches that pile up on one board while the database
    is paused commit, in order, in documents of at most `log_document_bytes` (8 MiB; 100 KB
    here, so the test moves little data) once it is back. nx-27017 takes larger documents,
    so this counts them."""
    config = settings_for_tests(connect_timeout_ms=10_000, log_document_bytes=100_000)
    with EmbeddedStore(tmp_path) as store:
        async with running_server(config, store.uri) as server:
            token = await user_with_token(server.accounts, "heavy")
            async with httpx.AsyncClient(base_url=server.url, headers=bearer(token)) as http:
                board = (await http.post("/api/boards", json={"title": "Heavy"})).json()["id"]
                rich = {"blob": "x" * 1_500}  # each relabel below carries 20 of these back
                nodes = [
                    {"op": "create", "element": {"kind": "node", "id": f"n{i}", "data": rich}}
                    for i in range(20)
                ]
                assert (await http.post(f"/api/boards/{board}/ops", json={"ops": nodes})).is_success
            client, welcome, _ = await joined(server, board, token)

            def relabel(version: int) -> dict[str, object]:
                ops = [
                    {"op": "update", "id": f"n{i}", "set": {"label": f"v{version}"}}
                    for i in range(20)
                ]
                return {"type": "submit", "client_op_id": version, "ops": ops}

            committer = server.services.rooms.get(board).committer  # type: ignore[union-attr]
            store.kill(signal.SIGSTOP)
            try:
                await client.send(relabel(0))
                await eventually(lambda: not committer.idle and committer.waiting == 0)
                for version in range(1, 11):  # 350 KB behind the first, held by the database
                    await client.send(relabel(version))
                await eventually(lambda: committer.waiting == 10)
            finally:
                store.kill(signal.SIGCONT)
            answers = [await client.next("ack", "reject", within=30) for _ in range(11)]
            assert [a["type"] for a in answers] == ["ack"] * 11, answers[-1]
            first = welcome["seq"] + 1
            assert [a["seq"] for a in answers] == list(range(first, first + 11)), "in order"
            documents = await server.services.store.ops.count_documents({"board": board})
            assert documents >= 1 + 1 + 1 + 3, "seed, nodes, the first, then 350 KB in 3 or more"
            await client.close()
