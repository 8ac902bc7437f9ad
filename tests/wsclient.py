"""A websocket client for tests: connects like any frontend and records what it receives."""

import asyncio
import contextlib
import json
import socket
from collections import deque
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.harness import RunningServer, bearer


def ws_url(server_url: str, board_id: str, **params: Any) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items() if v is not None)
    return f"{server_url.replace('http', 'ws', 1)}/ws/boards/{board_id}" + (
        f"?{query}" if query else ""
    )


async def narrow_connection(server_url: str, board_id: str, token: str) -> ClientConnection:
    """A connection that takes little: a 4 KB receive buffer, and it stops reading from its
    socket as soon as one message waits to be taken, so a client that takes nothing makes
    the server push back within kilobytes."""
    tiny = socket.socket()
    tiny.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    tiny.connect(("127.0.0.1", int(server_url.rsplit(":", 1)[1])))
    return await connect(
        ws_url(server_url, board_id), sock=tiny, max_queue=1, max_size=None,
        additional_headers=bearer(token), ping_interval=None,
    )  # fmt: skip


class Client:
    """One connection to a board; `inbox` keeps every message not yet taken."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.deferred: deque[dict[str, Any]] = deque()
        self.reader = asyncio.create_task(self._read())
        self.close_code: int | None = None

    @classmethod
    async def open(
        cls,
        url: str,
        board_id: str,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> "Client":
        all_headers = dict(headers or {}) | ({"Authorization": f"Bearer {token}"} if token else {})
        connection = await connect(
            ws_url(url, board_id, **params),
            additional_headers=all_headers,
            proxy=None,
            ping_interval=None,
            max_size=None,
        )
        return cls(connection)

    async def _read(self) -> None:
        try:
            async for text in self.connection:
                await self.inbox.put(json.loads(text))
        except ConnectionClosed:
            pass
        finally:
            self.close_code = self.connection.close_code

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def next(self, *types: str, within: float = 10) -> dict[str, Any]:
        """The next message of one of `types` (any type if none); others before it are dropped."""
        while True:
            message = await self._take(within)
            if not types or message["type"] in types:
                return message

    async def _take(self, within: float) -> dict[str, Any]:
        if self.deferred:
            return self.deferred.popleft()
        return await asyncio.wait_for(self.inbox.get(), within)

    async def submit(self, client_op_id: int, *ops: dict[str, Any]) -> dict[str, Any]:
        """Send ops and wait for this submission's ack or reject; other messages stay queued."""
        await self.send({"type": "submit", "client_op_id": client_op_id, "ops": list(ops)})
        skipped: list[dict[str, Any]] = []
        while True:
            message = await self._take(10)
            if message["type"] in ("ack", "reject") and message["client_op_id"] == client_op_id:
                self.deferred.extendleft(reversed(skipped))
                return message
            skipped.append(message)

    async def closed(self, within: float = 10) -> int | None:
        """Wait for the server to close the connection; its close code."""
        await asyncio.wait_for(asyncio.shield(self.reader), within)
        return self.close_code

    def abort(self) -> None:
        """Drop the TCP connection without a close handshake, like a crashed client."""
        self.reader.cancel()
        self.connection.transport.abort()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.connection.close()
        self.reader.cancel()


async def joined(
    server: RunningServer, board_id: str, token: str, **params: Any
) -> tuple[Client, dict[str, Any], dict[str, Any]]:
    """A client that has read its welcome and (unless it resumes with `since`) its snapshot."""
    client = await Client.open(server.url, board_id, token, **params)
    welcome = await client.next()
    assert welcome["type"] == "welcome", welcome
    snapshot = await whole_snapshot(client) if params.get("since") is None else {}
    return client, welcome, snapshot


async def whole_snapshot(client: Client) -> dict[str, Any]:
    """The next snapshot with the elements of its `snapshot_chunk`s joined in."""
    snapshot = await client.next()
    assert snapshot["type"] == "snapshot", snapshot
    more = snapshot.get("more", False)
    while more:
        chunk = await client.next()
        assert (chunk["type"], chunk["seq"]) == ("snapshot_chunk", snapshot["seq"]), chunk
        snapshot["elements"] += chunk["elements"]
        more = chunk["more"]
    snapshot["more"] = False
    return snapshot
