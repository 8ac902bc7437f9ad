"""Catch-up of any size is paced by the socket: no slow-consumer close for what a client missed."""

import asyncio
from typing import Any

import httpx

from schemas.board import Node
from schemas.ops import Create, Move
from server.sync.log import LogEntry
from tests.harness import RunningServer, bearer, user_with_token
from tests.wsclient import Client, joined, whole_snapshot


async def new_board(server: RunningServer, token: str, title: str) -> str:
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(token)) as http:
        return str((await http.post("/api/boards", json={"title": title})).json()["id"])


async def commit_many(server: RunningServer, board: str, user: str, count: int) -> None:
    """`count` separate submissions (one log entry each), straight into the board's room."""
    record = await server.services.store.get_board(board)
    assert record is not None
    room = await server.services.rooms.open(record)
    await room.committer.submit([Create(element=Node(id="n"))], user, "seed", 0)
    for start in range(1, count, 500):  # under the board's queue limit of 1,000
        end = min(start + 500, count)
        moves = (
            room.committer.submit([Move(id="n", x=i, y=0)], user, "seed", i, check="none")
            for i in range(start, end)
        )
        await asyncio.gather(*moves)


async def rest_snapshot(server: RunningServer, token: str, board: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(token)) as http:
        return dict((await http.get(f"/api/boards/{board}/snapshot")).json())


async def test_resume_after_one_to_two_thousand_missed_ops_is_never_closed(
    server: RunningServer,
) -> None:
    token = await user_with_token(server.accounts, "resumer")
    board = await new_board(server, token, "Resume")
    start = (await rest_snapshot(server, token, board))["seq"]
    await commit_many(server, board, "resumer", 2_000)
    head = (await rest_snapshot(server, token, board))["seq"]
    for missed in (1, 999, 1_000, 2_000):
        client, _, _ = await joined(server, board, token, since=head - missed)
        seqs = [(await client.next("op"))["seq"] for _ in range(missed)]
        assert seqs == list(range(head - missed + 1, head + 1)), missed
        await client.submit(1, {"op": "move", "id": "n", "x": -1, "y": 0})
        assert client.close_code is None, f"closed after {missed} missed ops"
        await client.close()
    assert head - start >= 2_000


async def test_a_snapshot_over_a_mib_arrives_in_chunks_and_is_never_closed(
    server: RunningServer,
) -> None:
    token = await user_with_token(server.accounts, "big-joiner")
    board = await new_board(server, token, "Big")
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(token)) as http:
        for start in range(0, 3_000, 500):
            ops = [
                {"op": "create", "element": {"kind": "node", "id": f"n{i}", "text": "x" * 400}}
                for i in range(start, start + 500)
            ]
            response = await http.post(f"/api/boards/{board}/ops", json={"ops": ops})
            assert response.is_success, response.text
    client = await Client.open(server.url, board, token)
    assert (await client.next())["type"] == "welcome"
    first = await client.next()
    assert first["type"] == "snapshot" and first["more"] is True, "a large board comes in parts"
    client.deferred.appendleft(first)
    snapshot = await whole_snapshot(client)
    expected = await rest_snapshot(server, token, board)
    assert snapshot["elements"] == expected["elements"]
    assert len(str(expected["elements"])) > 1024 * 1024
    await client.submit(1, {"op": "delete", "id": "n0"})
    assert client.close_code is None
    await client.close()


async def test_a_range_with_entries_from_before_protocol_2_is_answered_with_a_snapshot(
    server: RunningServer,
) -> None:
    token = await user_with_token(server.accounts, "old-log")
    board = await new_board(server, token, "Old")
    head = (await rest_snapshot(server, token, board))["seq"]
    old = LogEntry(
        seq=head + 1,
        ops=[Create(element=Node(id="old"))],
        user="old-log",
        at=1,
        client_id="old-log/v1",
        client_op_id=0,
    )
    assert await server.services.store.append(board, [old])
    client, _, _ = await joined(server, board, token, since=head)
    message = await client.next("snapshot", "op")
    assert (message["type"], message["reason"]) == ("snapshot", "resync")
    assert "old" in {e["id"] for e in message["elements"]}
    await client.close()


async def test_a_client_gone_in_the_middle_of_its_catch_up_harms_nobody(
    server: RunningServer,
) -> None:
    token = await user_with_token(server.accounts, "quitter")
    board = await new_board(server, token, "Quit")
    await commit_many(server, board, "quitter", 1_500)
    client, _, _ = await joined(server, board, token, since=1)
    for _ in range(10):
        await client.next("op")
    client.abort()
    other, _, snapshot = await joined(server, board, token)
    assert (await other.submit(1, {"op": "delete", "id": "n"}))["type"] == "ack"
    assert snapshot["seq"] >= 1_500
    await other.close()
