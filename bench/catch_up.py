"""Catch-up of large boards and long absences: open a 20,000-node board live through the SDK,
and resume after many missed ops. Run: `python -m bench.catch_up [--nodes N] [--ops N]`.

Prints one JSON object per scenario. The server runs in its own process (bench/harness.py);
the clients run here.
"""

import argparse
import asyncio
import json
import time
from typing import Any

import httpx
from websockets.asyncio.client import connect

from bench.harness import machine, served
from client_sdk.aio import AsyncJourneyboardClient

BATCH = 1000  # the protocol's most ops per batch


def make_board(url: str, token: str, nodes: int) -> str:
    """A board of `nodes` nodes with some text each (several MiB in all)."""
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=auth, timeout=120) as http:
        board = str(http.post("/api/boards", json={"title": f"{nodes} nodes"}).json()["id"])
        for start in range(0, nodes, BATCH):
            ops = [
                {"op": "create", "element": {"kind": "node", "id": f"n{i}", "text": "x" * 150}}
                for i in range(start, min(start + BATCH, nodes))
            ]
            http.post(f"/api/boards/{board}/ops", json={"ops": ops}).raise_for_status()
        return board


async def open_live(url: str, token: str, board: str) -> dict[str, Any]:
    async with AsyncJourneyboardClient(url, token) as client:
        started = time.perf_counter()
        async with client.live(board) as live:
            seconds = time.perf_counter() - started
            return {"scenario": "open_live", "elements": len(live.elements), "seconds": seconds}


async def missed_ops(url: str, token: str, board: str, count: int) -> int:
    """Commit `count` one-op submissions, pipelined over one socket; the board's seq after."""
    headers = {"Authorization": f"Bearer {token}"}
    ws = f"{url.replace('http', 'ws', 1)}/ws/boards/{board}?client_id=writer"
    async with connect(ws, additional_headers=headers, max_size=None, proxy=None) as socket:
        answered = 0

        async def read() -> int:
            nonlocal answered
            seq = 0
            async for frame in socket:
                message = json.loads(frame)
                if message["type"] in ("ack", "reject"):
                    answered += 1
                    seq = max(seq, message.get("seq", 0))
                    if answered == count:
                        return seq
            return seq

        reader = asyncio.create_task(read())
        for op_id in range(count):
            move = {"op": "move", "id": "n0", "x": op_id, "y": 0}
            await socket.send(json.dumps({"type": "submit", "client_op_id": op_id, "ops": [move]}))
            if op_id - answered > 800:  # stay under the board's queue of 1,000
                await asyncio.sleep(0.005)
        return await reader


async def resume(url: str, token: str, board: str, since: int, head: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    ws = f"{url.replace('http', 'ws', 1)}/ws/boards/{board}?since={since}"
    started = time.perf_counter()
    frames = 0
    async with connect(ws, additional_headers=headers, max_size=None, proxy=None) as socket:
        async for frame in socket:
            frames += 1
            message = json.loads(frame)
            done = message["type"] == "op" and message["seq"] == head
            if done or (message["type"] in ("snapshot", "snapshot_chunk") and not message["more"]):
                break
    kind = "snapshot" if message["type"].startswith("snapshot") else "ops"
    seconds = time.perf_counter() - started
    return {"scenario": "resume", "missed": head - since, "answer": kind, "frames": frames,
            "seconds": seconds}  # fmt: skip


async def main(nodes: int, ops: int) -> None:
    with served() as server:
        board = make_board(server.url, server.token, nodes)
        opened = await open_live(server.url, server.token, board)
        print(json.dumps({**opened, "nodes": nodes, "machine": machine()}))
        head = await missed_ops(server.url, server.token, board, ops)
        for missed in sorted({1, 999, 1_000, 10_000, ops}):
            if missed < head:
                result = await resume(server.url, server.token, board, head - missed, head)
                print(json.dumps({**result, "machine": machine()}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=20_000)
    parser.add_argument("--ops", type=int, default=100_000)
    args = parser.parse_args()
    asyncio.run(main(args.nodes, args.ops))
