"""Durability is explicit: every op-log write asks for majority + journal, every read majority."""

from typing import Any

from pymongo import monitoring

from schemas.board import Node
from schemas.ops import Create
from server.settings import Settings
from server.sync.room import Room
from tests.harness import plain_record, store_of_its_own


class Commands(monitoring.CommandListener):
    """Records every command pymongo sends."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.seen.append(dict(event.command))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def test_op_log_writes_and_reads_carry_explicit_concerns(mongodb_uri: str) -> None:
    commands = Commands()
    async with store_of_its_own(mongodb_uri, commands) as store:
        record = plain_record("b")
        await store.insert_board(record)
        room = await Room.load(record, store, Settings())
        for i in range(20):
            await room.committer.submit([Create(element=Node(id=f"n{i}"))], "u", "c", i)
        await Room.load(record, store, Settings())
    inserts = [c for c in commands.seen if c.get("insert") == "ops"]
    finds = [c for c in commands.seen if c.get("find") == "ops"]
    assert len(inserts) == 20 and finds
    assert all(c["writeConcern"] == {"w": "majority", "j": True} for c in inserts)
    assert all(c["readConcern"] == {"level": "majority"} for c in finds)
    assert not any("startTransaction" in c for c in commands.seen)
