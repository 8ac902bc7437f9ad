"""A client that keeps a live replica of a board (by the effects of each op) and records a
Jepsen-style history.

Every submission ends as ok (acked), fail (rejected) or stays info (the connection dropped
before an answer). The checker then demands: nothing acked is missing from the log,
nothing is in the log that nobody attempted, and every client saw seqs 1..N exactly once.
"""

import asyncio
import contextlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from schemas.board import AnyElement
from schemas.effects import Effects
from server.board import BoardState, apply_effects
from tests.wsclient import ws_url

decode_effects = msgspec.json.Decoder(Effects).decode
decode_elements = msgspec.json.Decoder(list[AnyElement]).decode


@dataclass
class History:
    ok: dict[int, int] = field(default_factory=dict)  # client_op_id -> seq
    fail: set[int] = field(default_factory=set)
    attempted: set[int] = field(default_factory=set)
    applied_seqs: list[int] = field(default_factory=list)
    start: int = 0  # the seq of the snapshot the client joined with
    reconnects: int = 0


class Replica:
    """One client: its connection, its board replica, its history."""

    def __init__(
        self, urls: Callable[[], str], board: str, token: str, client_id: str, rng: random.Random
    ) -> None:
        self.urls = urls
        self.board = board
        self.token = token
        self.client_id = client_id
        self.rng = rng
        self.state = BoardState(title="")
        self.seq = 0
        self.history = History()
        self.connection: ClientConnection | None = None
        self.answers: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.reader: asyncio.Task[None] | None = None
        self.next_op_id = 0
        self.progress = asyncio.Event()
        self.drop_in_flight = 0.03

    async def connect(self) -> None:
        """(Re)connect, resuming from our seq; any unanswered submission is resent."""
        since = self.seq if self.connection is not None else None
        self.history.applied_seqs.append(-1000 - (since or 0))
        for attempt in range(100):
            url = ws_url(self.urls(), self.board, client_id=self.client_id, since=since)
            try:
                self.connection = await connect(
                    url,
                    additional_headers={"Authorization": f"Bearer {self.token}"},
                    proxy=None,
                    ping_interval=None,
                    max_size=None,
                )
                welcome = json.loads(await self.connection.recv())
                assert welcome["type"] == "welcome", welcome
                if since is None:
                    snapshot = json.loads(await self.connection.recv())
                    assert snapshot["type"] == "snapshot"
                    elements = decode_elements(json.dumps(snapshot["elements"]))
                    self.state = BoardState(title="", elements={e.id: e for e in elements})
                    self.seq = self.history.start = snapshot["seq"]
                break
            except (OSError, InvalidHandshake, ConnectionClosed):  # the server died meanwhile
                await asyncio.sleep(0.1 + attempt * 0.05)
        assert self.connection is not None
        self.reader = asyncio.create_task(self._read(self.connection))

    async def _read(self, connection: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for text in connection:
                message = json.loads(text)
                if message["type"] == "op":
                    self.history.applied_seqs.append(-(id(connection) % 1000) - 10000)
                    self._apply(message)
                elif message["type"] in ("ack", "reject"):
                    future = self.answers.pop(message["client_op_id"], None)
                    if future is not None and not future.done():
                        future.set_result(message)
                elif message["type"] == "snapshot":
                    raise AssertionError(f"unexpected resync: {message['reason']}")
        for future in self.answers.values():
            if not future.done():
                future.set_exception(ConnectionError("dropped"))

    def _apply(self, message: dict[str, Any]) -> None:
        self.history.applied_seqs.append(message["seq"])
        if message["seq"] != self.seq + 1:
            return  # recorded; the checker fails on any gap or repeat
        self.state = apply_effects(self.state, decode_effects(json.dumps(message["effects"])))
        self.seq = message["seq"]
        self.progress.set()

    async def submit(self, ops: list[dict[str, Any]]) -> None:
        """Submit until answered, reconnecting (and resending the same op id) as needed."""
        op_id = self.next_op_id
        self.next_op_id += 1
        self.history.attempted.add(op_id)
        frame = json.dumps({"type": "submit", "client_op_id": op_id, "ops": ops})
        while True:
            future = self.answers[op_id] = asyncio.get_running_loop().create_future()
            try:
                assert self.connection is not None
                await self.connection.send(frame)
                if self.rng.random() < self.drop_in_flight:
                    await asyncio.sleep(self.rng.uniform(0, 0.005))
                    self.connection.transport.abort()  # gone before (or after) the commit
                answer = await asyncio.wait_for(future, 20)
            except (ConnectionClosed, ConnectionError):
                await self.reconnect(delay=self.rng.uniform(0, 0.2))
                continue
            if answer["type"] == "ack":
                self.history.ok[op_id] = answer["seq"]
            elif answer["code"] in ("busy", "unavailable", "outcome_unknown"):  # resend: safe
                await asyncio.sleep(0.1)
                continue
            else:
                self.history.fail.add(op_id)
            return

    async def reconnect(self, delay: float = 0.0) -> None:
        await self.drop()
        await asyncio.sleep(delay)
        self.history.reconnects += 1
        await self.connect()

    async def drop(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):
                await self.connection.close()
        if self.reader is not None:
            with contextlib.suppress(BaseException):
                await self.reader

    async def settle(self, head: int, within: float = 10) -> None:
        """Wait until this replica has applied everything up to `head`."""
        async with asyncio.timeout(within):
            while self.seq < head:
                self.progress.clear()
                await self.progress.wait()


def random_ops(rng: random.Random, replica: Replica, prefix: str) -> list[dict[str, Any]]:
    """A random edit against what this replica currently sees (it may be stale: that's the point)."""
    nodes = sorted(
        k for k, e in replica.state.elements.items() if e.__struct_config__.tag == "node"
    )
    stages = sorted(
        k for k, e in replica.state.elements.items() if e.__struct_config__.tag == "stage"
    )
    new_id = f"{prefix}-{replica.next_op_id}"
    choice = rng.random()
    if choice < 0.3 or not nodes:
        return [
            {
                "op": "create",
                "element": {
                    "kind": "node",
                    "id": new_id,
                    "label": new_id,
                    "x": rng.uniform(0, 1000),
                    "y": rng.uniform(0, 1000),
                },
            }
        ]
    target = rng.choice(nodes)
    if choice < 0.5:
        return [
            {
                "op": "update",
                "id": target,
                "set": {"label": f"{prefix} was here", "emotion": rng.randint(-5, 5)},
            }
        ]
    if choice < 0.65:
        return [{"op": "move", "id": target, "x": rng.uniform(0, 1000), "y": rng.uniform(0, 1000)}]
    if choice < 0.8:
        return [
            {
                "op": "create",
                "element": {
                    "kind": "edge",
                    "id": new_id,
                    "source": target,
                    "target": rng.choice(nodes),
                },
            }
        ]
    if choice < 0.9 and stages:
        after = rng.choice([None, *stages])
        return [{"op": "reorder", "id": rng.choice(stages), "after": after}]
    return [{"op": "delete", "id": target}]
