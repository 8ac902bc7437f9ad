"""The SDK reads server frames leniently: a newer server's extra fields, message types and
element kinds never freeze the replica. A scripted server speaks the protocol here."""

import asyncio
import json
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

from client_sdk.live import LiveBoard

BOARD = {"id": "b", "title": "T", "description": "", "tags": [], "owner": "o", "template": None,
         "created_at": 0, "updated_at": 0, "colour": "teal"}  # fmt: skip


def frames() -> list[dict[str, Any]]:
    welcome = {"type": "welcome", "protocol": 3, "board_id": "b", "seq": 5, "user": "ana",
               "role": "editor", "client_id": "me", "region": "eu"}  # fmt: skip
    node = {"kind": "node", "id": "n1", "label": "A", "glow": True}
    return [
        welcome,
        {
            "type": "snapshot",
            "seq": 5,
            "board": BOARD,
            "elements": [node],
            "reason": "join",
            "more": True,
        },
        {"type": "hologram", "seq": 5},
        {
            "type": "snapshot_chunk",
            "seq": 5,
            "elements": [{"kind": "sticker", "id": "s1"}, {"kind": "stage", "id": "s"}],
            "more": False,
        },
        {
            "type": "op",
            "seq": 6,
            "user": "bo",
            "client_id": "x",
            "client_op_id": 1,
            "at": 9,
            "ops": [{"op": "teleport", "id": "n1"}],
            "origin": "mobile",
            "effects": {
                "put": [{"kind": "node", "id": "n2", "label": "B", "halo": 1}],
                "removed": ["n1"],
                "board": {"title": "Renamed", "description": "", "tags": ["x"], "emoji": "*"},
                "moved": [],
            },
        },
    ]


async def test_unknown_fields_types_and_kinds_are_ignored_and_the_replica_keeps_up() -> None:
    async def script(connection: ServerConnection) -> None:
        for frame in frames():
            await connection.send(json.dumps(frame))
        await connection.wait_closed()

    async with serve(script, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        board = LiveBoard(f"http://127.0.0.1:{port}", "jb_x", "b", "me")
        await board.open(within=5)
        try:
            async with asyncio.timeout(5):
                while board.seq != 6:  # noqa: ASYNC110 - the replica has no event per seq
                    await asyncio.sleep(0.01)
            assert sorted(board.elements) == ["n2", "s"], "unknown kinds are left out"
            assert board.elements["n2"].label == "B"
            assert board.title == "Renamed"
        finally:
            await board.close(flush=0)
