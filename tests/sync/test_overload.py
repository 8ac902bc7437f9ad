"""Too fast, too slow, too chatty: bounded, typed, and nobody else suffers."""

import asyncio
import errno
import socket
import time

import httpx

from tests.harness import (
    RunningServer,
    bearer,
    eventually,
    running_server,
    settings_for_tests,
    user_with_token,
)
from tests.sync.conftest import new_board
from tests.wsclient import joined, narrow_connection


async def op_count(server: RunningServer, token: str, board: str) -> int:
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(token)) as http:
        return int((await http.get(f"/api/boards/{board}/snapshot")).json()["seq"])


async def test_a_flood_of_submissions_is_rate_limited_and_what_passed_is_committed_once(
    quick: RunningServer,
) -> None:
    owner = await user_with_token(quick.accounts, "flood")
    board = await new_board(quick, owner)
    client, _, _ = await joined(quick, board, owner)
    for i in range(200):
        await client.send(
            {
                "type": "submit",
                "client_op_id": i,
                "ops": [{"op": "create", "element": {"kind": "node", "id": f"n{i}"}}],
            }
        )
    answers = {}
    while len(answers) < 200:
        message = await client.next("ack", "reject")
        answers[message["client_op_id"]] = message
    acked = [m for m in answers.values() if m["type"] == "ack"]
    limited = [m for m in answers.values() if m["type"] == "reject"]
    assert {m["code"] for m in limited} == {"rate_limited"}
    assert all(m["details"]["retry_after_ms"] > 0 for m in limited)
    assert 20 <= len(acked) < 60  # burst 20, then 20/s while the flood lasts
    assert await op_count(quick, owner, board) == 1 + len(acked)
    assert sorted(m["seq"] for m in acked) == list(range(2, 2 + len(acked)))
    await client.close()


async def test_sustained_flooding_closes_the_connection(quick: RunningServer) -> None:
    owner = await user_with_token(quick.accounts, "flooder")
    board = await new_board(quick, owner)
    client, _, _ = await joined(quick, board, owner)
    began = time.monotonic()
    i = 0
    while client.close_code is None and time.monotonic() - began < 5:
        await client.send(
            {
                "type": "submit",
                "client_op_id": i,
                "ops": [{"op": "move", "id": "x", "x": 0, "y": 0}],
            }
        )
        i += 1
        await asyncio.sleep(0.005)
    assert await client.closed(3) == 4429


async def test_presence_reaches_others_coalesced_and_is_never_stored(quick: RunningServer) -> None:
    owner = await user_with_token(quick.accounts, "pointer")
    board = await new_board(quick, owner)
    mover, hello, _ = await joined(quick, board, owner)
    watcher, _, _ = await joined(quick, board, owner)
    before = await op_count(quick, owner, board)
    for x in range(50):  # 50 updates in about 0.25 s, at 5 Hz allowed
        await mover.send({"type": "presence", "cursor": {"x": x, "y": 1}, "selection": ["a"]})
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.5)
    seen = []
    while not watcher.inbox.empty():
        message = watcher.inbox.get_nowait()
        if message["type"] == "presence":
            seen.append(message)
    assert 1 <= len(seen) <= 4, len(seen)
    assert seen[-1]["cursor"] == {"x": 49, "y": 1}, "the latest position always arrives"
    assert (seen[-1]["client_id"], seen[-1]["user"], seen[-1]["color"][0]) == (
        hello["client_id"],
        "pointer",
        "#",
    )
    assert mover.inbox.empty() or all(m["type"] != "presence" for m in list(mover.inbox._queue))  # type: ignore[attr-defined]
    assert await op_count(quick, owner, board) == before
    late, _, _ = await joined(quick, board, owner)
    assert (await late.next("presence"))["cursor"] == {"x": 49, "y": 1}, "newcomers see who is here"
    for client in (mover, watcher, late):
        await client.close()


async def test_a_client_that_stops_reading_is_dropped_not_buffered(quick: RunningServer) -> None:
    owner = await user_with_token(quick.accounts, "stalled")
    board = await new_board(quick, owner)
    stalled, _, _ = await joined(quick, board, owner)
    stalled.reader.cancel()  # stop reading: the server's queue for it fills up
    writer, _, _ = await joined(quick, board, owner)
    big = "x" * 9_000
    room = quick.services.rooms.get(board)
    assert room is not None
    for i in range(400):
        op = {"op": "create", "element": {"kind": "node", "id": f"n{i}", "text": big}}
        reply = await writer.submit(i, op)
        assert reply["type"] == "ack", reply  # the writer keeps to half the op rate below
        if len(room.sessions) == 1:
            break
        await asyncio.sleep(2 / quick.settings.ws_ops_per_second)
    assert len(room.sessions) == 1, "the stalled client was dropped"
    assert all(s.connection.queued_bytes <= 1024 * 1024 for s in room.sessions)
    resumed, hello, _ = await joined(quick, board, owner, since=1)
    assert hello["seq"] == await op_count(quick, owner, board)
    stalled.abort()
    for client in (writer, resumed):
        await client.close()


async def test_a_client_whose_socket_is_full_is_dropped_before_its_queue_passes_the_cap(
    mongodb_uri: str,
) -> None:
    """Frames go straight to the socket while it takes them; once it stops, they queue and
    count against the cap. Past it the session ends, and the connection is reset: the
    client takes no close frame, and closing would wait for it to read. No heartbeat can
    step in first: it is a minute away."""
    cap = 256 * 1024
    settings = settings_for_tests(
        heartbeat_interval=60, heartbeat_timeout=60, ws_max_queued_bytes=cap
    )
    async with running_server(settings, mongodb_uri) as server:
        owner = await user_with_token(server.accounts, "full")
        board = await new_board(server, owner)
        stalled = await narrow_connection(server.url, board, owner)  # and it never reads

        def has_joined() -> bool:  # the session joins just after the handshake
            room = server.services.rooms.get(board)
            return room is not None and bool(room.sessions)

        await eventually(has_joined, within=5)
        room = server.services.rooms.get(board)
        assert room is not None and len(room.sessions) == 1
        text = "x" * 9_000
        async with httpx.AsyncClient(base_url=server.url, headers=bearer(owner)) as http:
            create = {"op": "create", "element": {"kind": "node", "id": "n"}}
            await http.post(f"/api/boards/{board}/ops", json={"ops": [create]})
            queued = 0
            for i in range(400):
                ops = [
                    {"op": "update", "id": "n", "set": {"text": f"{i}{n}{text}"}} for n in range(10)
                ]
                answer = await http.post(f"/api/boards/{board}/ops", json={"ops": ops})
                assert answer.status_code == 200, answer.text
                queued = max([queued, *(s.connection.queued_bytes for s in room.sessions)])
                if not room.sessions:
                    break
        assert not room.sessions, "the client that reads nothing was dropped"
        assert queued > 0, "once its socket was full, frames queued (and counted) first"
        raw = stalled.transport.get_extra_info("socket")
        # Not only the session: the server drops the connection too (a reset, not left open).
        await eventually(
            lambda: raw.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == errno.ECONNRESET,
            within=3,
        )
        stalled.transport.abort()


async def test_a_batch_too_large_for_clients_is_refused_and_nobody_is_dropped(
    server: RunningServer,
) -> None:
    """Effects carry every changed element whole, so a small batch can make a big message.
    One over what a live client may fall behind (`ws_max_queued_bytes`) is refused with
    `too_large`, on either path, before it takes a seq; before the limit, a 1.2 MB REST batch
    committed and then closed every live client on the board as too far behind (4008)."""
    owner = await user_with_token(server.accounts, "bulky")
    board = await new_board(server, owner)
    watcher, welcome, _ = await joined(server, board, owner)
    editor, _, _ = await joined(server, board, owner)
    rich = {"blob": "x" * 15_000}
    limit = server.settings.ws_max_queued_bytes
    nodes = 80  # 1.2 MB together: past the limit, 1 MiB, what a live client may fall behind
    async with httpx.AsyncClient(base_url=server.url, headers=bearer(owner)) as http:
        path = f"/api/boards/{board}/ops"
        creates = [
            {"op": "create", "element": {"kind": "node", "id": f"n{i}", "data": rich}}
            for i in range(nodes)
        ]
        refused = await http.post(path, json={"ops": creates})
        assert refused.status_code == 413, refused.text[:300]
        assert refused.json()["error"]["code"] == "too_large"
        assert refused.json()["error"]["details"]["limit"] == limit
        for i in range(0, nodes, 10):  # the same nodes in batches under the limit land
            assert (await http.post(path, json={"ops": creates[i : i + 10]})).is_success
    relabel = [{"op": "update", "id": f"n{i}", "set": {"label": "x"}} for i in range(nodes)]
    answer = await editor.submit(0, *relabel)  # a few KB of ops, each element 15 KB in effects
    assert (answer["type"], answer["code"]) == ("reject", "too_large"), answer
    assert (await editor.submit(1, *relabel[:10]))["type"] == "ack"
    batches = [await watcher.next("op") for _ in range(len(range(0, nodes, 10)) + 1)]
    assert [op["seq"] for op in batches] == list(
        range(welcome["seq"] + 1, welcome["seq"] + len(batches) + 1)
    ), "only what was accepted took a seq"
    assert watcher.close_code is None and editor.close_code is None
    await watcher.close()
    await editor.close()
