"""A protocol-2 client written from docs/protocol.md and schemas/json alone.

It imports nothing from server/, client_sdk/ or schemas/ (tests/test_architecture.py keeps it
so): plain `websockets`, `json` and `jsonschema_rs`, as a frontend in another language would
be. It keeps a replica by applying effects, resends unanswered submissions on resume, and
validates every frame it receives against the published schemas.
"""

import asyncio
import contextlib
import itertools
import json
from pathlib import Path
from typing import Any

import jsonschema_rs
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

SCHEMAS = Path(__file__).parent.parent.parent / "schemas" / "json"
RESEND = {"busy", "unavailable", "rate_limited", "outcome_unknown"}  # docs: resend, same id


def validator(name: str) -> Any:
    return jsonschema_rs.validator_for(json.loads((SCHEMAS / f"{name}.json").read_text()))


SERVER_MESSAGE = validator("ws-server-message")


class Replica:
    """One client of one board: a replica from effects plus its unanswered submissions."""

    def __init__(self, url: str, board: str, token: str, client_id: str) -> None:
        self.url = f"{url.replace('http', 'ws', 1)}/ws/boards/{board}"
        self.token = token
        self.client_id = client_id
        self.user = ""
        self.seq: int | None = None
        self.board: dict[str, Any] = {}
        self.elements: dict[str, dict[str, Any]] = {}
        self.pending: dict[int, list[dict[str, Any]]] = {}
        self.answers: dict[int, dict[str, Any]] = {}
        self.invalid_frames: list[str] = []
        self.closes: list[tuple[int | None, str | None]] = []  # closed by the server, not us
        self.gaps = 0
        self._ids = itertools.count(1)
        self._incoming: list[dict[str, Any]] | None = None
        self._socket: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._live = asyncio.Event()

    async def connect(self) -> None:
        since = "" if self.seq is None else f"&since={self.seq}"
        self._live.clear()
        self._socket = await connect(
            f"{self.url}?client_id={self.client_id}{since}",
            additional_headers={"Authorization": f"Bearer {self.token}"},
            max_size=None,
            ping_interval=None,
            proxy=None,
        )
        self._reader = asyncio.create_task(self._read(self._socket))

    async def drop(self) -> None:
        """Lose the connection without a goodbye, like a closed laptop."""
        if self._reader is not None:
            self._reader.cancel()
        if self._socket is not None:
            self._socket.transport.abort()
        self._socket = None

    async def submit(self, ops: list[dict[str, Any]]) -> None:
        client_op_id = next(self._ids)
        self.pending[client_op_id] = ops
        await self._send(client_op_id)

    async def send_raw(self, frame: dict[str, Any]) -> None:
        if self._socket is not None and self._live.is_set():
            with contextlib.suppress(ConnectionClosed):
                await self._socket.send(json.dumps(frame))

    def next_op_id(self) -> int:
        return next(self._ids)

    async def settle(self, head: int, within: float = 30) -> None:
        """Wait until the replica has reached `head` with nothing unanswered.

        It may pass `head`: a resend sent on resume can commit after the caller's snapshot.
        """
        try:
            async with asyncio.timeout(within):
                while (
                    self.seq is None
                    or self.seq < head
                    or self.pending
                    or self._incoming is not None
                ):
                    if self._socket is None:
                        await self.connect()
                    await asyncio.sleep(0.02)
        except TimeoutError:
            state = (
                f"seq {self.seq} of {head}, pending {sorted(self.pending)}, closes {self.closes}"
            )
            raise AssertionError(f"{self.client_id} did not settle: {state}") from None

    async def close(self) -> None:
        await self.drop()

    async def _send(self, client_op_id: int) -> None:
        frame = {"type": "submit", "client_op_id": client_op_id, "ops": self.pending[client_op_id]}
        await self.send_raw(frame)

    async def _read(self, socket: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for frame in socket:
                message = json.loads(frame)
                if not SERVER_MESSAGE.is_valid(message):
                    self.invalid_frames.append(str(frame)[:500])
                await self._receive(message)
        self.closes.append((socket.close_code, socket.close_reason))
        if self._socket is socket:  # the server closed it: resume, as the docs say
            self._socket = None

    async def _receive(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "welcome":
            self.user = message["user"]
            self._live.set()
            for client_op_id in list(self.pending):  # resend, oldest first, same ids
                await self._send(client_op_id)
        elif kind == "snapshot":
            self.board = {k: message["board"][k] for k in ("title", "description", "tags")}
            self._incoming = list(message["elements"])
            self._snapshot_seq = message["seq"]
            if not message.get("more", False):
                self._install()
        elif kind == "snapshot_chunk":
            assert self._incoming is not None and message["seq"] == self._snapshot_seq
            self._incoming += message["elements"]
            if not message["more"]:
                self._install()
        elif kind == "op":
            self._apply(message)
        elif kind == "ack":
            self.answers[message["client_op_id"]] = message
            self.pending.pop(message["client_op_id"], None)
        elif kind == "reject":
            self.answers[message["client_op_id"]] = message
            if message["code"] not in RESEND:
                self.pending.pop(message["client_op_id"], None)
            elif message["client_op_id"] in self.pending:
                await asyncio.sleep(0.05)
                await self._send(message["client_op_id"])
        elif kind == "ping":
            await self.send_raw({"type": "pong"})

    def _install(self) -> None:
        assert self._incoming is not None
        self.elements = {e["id"]: e for e in self._incoming}
        self.seq, self._incoming = self._snapshot_seq, None

    def _apply(self, message: dict[str, Any]) -> None:
        """Effects, as the protocol says: remove ids, put elements, set the board's fields."""
        assert self.seq is not None
        if message["seq"] <= self.seq:
            return
        if message["seq"] != self.seq + 1:
            self.gaps += 1
            return
        effects = message["effects"]
        for gone in effects["removed"]:
            del self.elements[gone]
        for element in effects["put"]:
            self.elements[element["id"]] = element
        if effects["board"] is not None:
            self.board = dict(effects["board"])
        self.seq = message["seq"]
        if message["client_id"] == self.client_id and message["user"] == self.user:
            self.pending.pop(message["client_op_id"], None)
