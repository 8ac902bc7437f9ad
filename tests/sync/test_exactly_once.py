"""A resend that arrives while its original is still queued or committing is never applied twice."""

import asyncio
import random
from collections import Counter
from typing import Any

import httpx

from tests.harness import RunningServer, bearer, user_with_token
from tests.wsclient import Client, joined

TRIALS = 50


def move(x: int) -> dict[str, Any]:
    return {"op": "move", "id": "n", "x": x, "y": 0}


async def setup(server: RunningServer, name: str) -> tuple[str, str]:
    token = await user_with_token(server.accounts, name)
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(token)) as http:
        board = (await http.post("/api/boards", json={"title": name})).json()["id"]
        create = {"op": "create", "element": {"kind": "node", "id": "n"}}
        assert (await http.post(f"/api/boards/{board}/ops", json={"ops": [create]})).is_success
    return token, board


async def load(client: Client, stop: asyncio.Event) -> None:
    """Other traffic on the board, so resends meet a busy committer."""
    op_id = 10_000
    while not stop.is_set():
        op_id += 1
        await client.submit(op_id, move(op_id))


async def applications(server: RunningServer, board: str, key: str) -> Counter[int]:
    log = await server.services.store.entries_after(board, 0)
    return Counter(e.client_op_id for e in log if e.client_id == key)


async def test_the_same_submission_twice_back_to_back_on_one_socket_applies_once(
    server: RunningServer,
) -> None:
    token, board = await setup(server, "twice-one-socket")
    client, _, _ = await joined(server, board, token, client_id="tab")
    busy, _, _ = await joined(server, board, token, client_id="busy")
    stop = asyncio.Event()
    background = asyncio.create_task(load(busy, stop))
    for op_id in range(TRIALS):
        frame = {"type": "submit", "client_op_id": op_id, "ops": [move(op_id)]}
        await client.send(frame)
        await client.send(frame)
        answers = [await client.next("ack", "reject"), await client.next("ack", "reject")]
        assert [a["type"] for a in answers] == ["ack", "ack"], answers
        assert answers[0]["seq"] == answers[1]["seq"], "the resend gets the original's seq"
        assert sorted(a["duplicate"] for a in answers) == [False, True]
    stop.set()
    await background
    counts = await applications(server, board, "twice-one-socket/tab")
    assert counts == Counter(range(TRIALS)), "0 double applications"
    await client.close()
    await busy.close()


async def test_a_second_socket_with_the_same_client_id_waits_for_the_first(
    server: RunningServer,
) -> None:
    token, board = await setup(server, "twice-two-sockets")
    first, _, _ = await joined(server, board, token, client_id="tab")
    second, _, _ = await joined(server, board, token, client_id="tab")
    busy, _, _ = await joined(server, board, token, client_id="busy")
    stop = asyncio.Event()
    background = asyncio.create_task(load(busy, stop))
    rng = random.Random(12)

    async def later(op_id: int) -> dict[str, Any]:
        await asyncio.sleep(rng.uniform(0, 0.004))  # lands while the first is queued or committing
        return await second.submit(op_id, move(op_id))

    for op_id in range(TRIALS):
        one, two = await asyncio.gather(first.submit(op_id, move(op_id)), later(op_id))
        assert (one["type"], two["type"]) == ("ack", "ack")
        assert one["seq"] == two["seq"]
    stop.set()
    await background
    counts = await applications(server, board, "twice-two-sockets/tab")
    assert counts == Counter(range(TRIALS)), "0 double applications"
    for client in (first, second, busy):
        await client.close()


async def test_concurrent_rest_calls_with_one_idempotency_key_apply_once(
    server: RunningServer,
) -> None:
    token, board = await setup(server, "twice-rest")
    busy, _, _ = await joined(server, board, token, client_id="busy")
    stop = asyncio.Event()
    background = asyncio.create_task(load(busy, stop))
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(token)) as http:
        for op_id in range(TRIALS):
            body = {
                "ops": [move(op_id)],
                "idempotency": {"client_id": "script", "client_op_id": op_id},
            }
            responses = await asyncio.gather(
                *(http.post(f"/api/boards/{board}/ops", json=body) for _ in range(2))
            )
            results = [r.json() for r in responses]
            assert all(r.status_code == 200 for r in responses), results
            assert results[0]["seq"] == results[1]["seq"]
            assert sorted(r["replay"] for r in results) == [False, True]
            assert results[0]["effects"] == results[1]["effects"], "a replay is the original result"
    stop.set()
    await background
    counts = await applications(server, board, "twice-rest/script")
    assert counts == Counter(range(TRIALS)), "0 double applications"
    await busy.close()


async def test_a_rest_retry_of_a_key_used_over_the_socket_says_so(server: RunningServer) -> None:
    token, board = await setup(server, "key-reuse")
    client, _, _ = await joined(server, board, token, client_id="shared")
    assert (await client.submit(7, move(1)))["type"] == "ack"
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(token)) as http:
        key = {"client_id": "shared", "client_op_id": 7}
        reused = await http.post(
            f"/api/boards/{board}/ops", json={"ops": [move(1)], "idempotency": key}
        )
        assert reused.status_code == 409
        assert reused.json()["error"]["code"] == "idempotency_key_reused"
        assert "websocket" in reused.json()["error"]["message"]
        other = {"client_id": "rest-only", "client_op_id": 1}
        path = f"/api/boards/{board}/ops"
        assert (await http.post(path, json={"ops": [move(2)], "idempotency": other})).is_success
        different = await http.post(path, json={"ops": [move(3)], "idempotency": other})
        assert (different.status_code, different.json()["error"]["code"]) == (
            409,
            "idempotency_key_reused",
        )
    await client.close()
