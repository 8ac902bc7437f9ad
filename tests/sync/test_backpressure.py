"""Frames go straight to the socket while it takes them and through the session's queue
once it pushes back; readers that pause at random get every op once, in order, either way."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection

from tests.harness import (
    RunningServer,
    against_a_live_server,
    bearer,
    running_server,
    settings_for_tests,
    user_with_token,
)
from tests.sync.conftest import new_board
from tests.wsclient import joined, narrow_connection

READERS = 4
TEXT = "x" * 9_000  # a few of these fill a paused reader's socket


@pytest.fixture(scope="module")
async def narrow(mongodb_uri: str) -> AsyncIterator[RunningServer]:
    """Small kernel buffers on both ends, so pausing a reader pushes back at once; the
    heartbeat is a minute away and the queue's cap above what a script sends, so nobody
    is closed: this is about order, test_overload about the cap."""
    config = settings_for_tests(
        heartbeat_interval=60, heartbeat_timeout=60, ws_max_queued_bytes=64 * 2**20
    )
    async with running_server(config, mongodb_uri, send_buffer=4096) as server:
        yield server


class Reader:
    """A websocket that reads only while `reading` is set, recording each op's seq after
    the seq it joined at (its welcome's)."""

    def __init__(self, connection: ClientConnection, joined_at: int) -> None:
        self.connection = connection
        self.joined_at = joined_at
        self.reading = asyncio.Event()
        self.reading.set()
        self.seqs: list[int] = []
        self.task = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, server: RunningServer, board: str, token: str) -> "Reader":
        connection = await narrow_connection(server.url, board, token)
        welcome = json.loads(await connection.recv())
        assert welcome["type"] == "welcome", welcome
        return cls(connection, welcome["seq"])

    async def _read(self) -> None:
        async for text in self.connection:
            await self.reading.wait()
            message: dict[str, Any] = json.loads(text)
            if message["type"] == "op":
                self.seqs.append(message["seq"])

    def pause(self, seconds: float) -> None:
        self.reading.clear()
        asyncio.get_running_loop().call_later(seconds, self.reading.set)

    async def reach(self, seq: int) -> None:
        self.reading.set()
        while max(self.seqs, default=0) < seq:  # out of order is for the caller to see
            assert not self.task.done(), f"closed: {self.connection.close_code}"
            await asyncio.sleep(0.01)


def updates(count: int, step: int, post: int) -> list[dict[str, Any]]:
    text = {"text": f"{step}.{post}{TEXT}"}
    return [{"op": "update", "id": "n", "set": text} for _ in range(count)]


# Each step: a reader stops reading for a while, then some posts of a few big ops each.
steps = st.lists(
    st.tuples(
        st.integers(0, READERS - 1),
        st.sampled_from([0.0, 0.05, 0.2, 0.5]),
        st.sampled_from([1, 5, 20]),
        st.integers(1, 8),  # posted at once
    ),
    min_size=1,
    max_size=8,
)


@against_a_live_server(examples=15)
@given(script=steps)
async def test_readers_that_pause_at_random_get_every_op_once_and_in_order(
    narrow: RunningServer, script: list[tuple[int, float, int, int]]
) -> None:
    token = await user_with_token(narrow.accounts, "pausing")
    board = await new_board(narrow, token)
    readers = [await Reader.open(narrow, board, token) for _ in range(READERS)]
    async with httpx.AsyncClient(base_url=narrow.url, headers=bearer(token)) as http:
        create = {"op": "create", "element": {"kind": "node", "id": "n"}}
        await http.post(f"/api/boards/{board}/ops", json={"ops": [create]})
        for step, (reader, seconds, count, posts) in enumerate(script):
            readers[reader].pause(seconds)
            answers = await asyncio.gather(
                *(
                    http.post(f"/api/boards/{board}/ops", json={"ops": updates(count, step, post)})
                    for post in range(posts)
                )
            )
            assert all(answer.status_code == 200 for answer in answers)
            last = max(answer.json()["seq"] for answer in answers)
    await asyncio.wait_for(asyncio.gather(*(r.reach(last) for r in readers)), 30)
    for reader in readers:
        expected = list(range(reader.joined_at + 1, last + 1))
        assert reader.seqs == expected, "each op once, in order"
        await reader.connection.close()


@contextlib.contextmanager
def writers_started() -> Iterator[list[str]]:
    """Record each session writer task the loop starts (the server runs in this loop)."""
    loop = asyncio.get_running_loop()
    started: list[str] = []

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> "asyncio.Task[Any]":
        if coro.__qualname__ == "Session._write":
            started.append(coro.__qualname__)
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(factory)
    try:
        yield started
    finally:
        loop.set_task_factory(None)


async def test_live_frames_to_sockets_that_keep_up_need_no_writer_task(
    narrow: RunningServer,
) -> None:
    """A writer task runs only while a socket has output it cannot take at once: after the
    catch-up, frames to sockets that keep up go straight out."""
    token = await user_with_token(narrow.accounts, "idle")
    board = await new_board(narrow, token)
    clients = [(await joined(narrow, board, token))[0] for _ in range(3)]
    await asyncio.sleep(0.1)  # the presence of later joiners has reached the earlier ones
    with writers_started() as started:
        for i in range(20):
            op = {"op": "create", "element": {"kind": "node", "id": f"n{i}"}}
            await clients[0].submit(i, op)
        for client in clients[1:]:
            ops = [await client.next("op") for _ in range(20)]
            assert [op["client_op_id"] for op in ops] == list(range(20))
    assert started == []
    for client in clients:
        await client.close()
