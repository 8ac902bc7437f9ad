"""How instances hear from each other: change streams on the database, nothing home-made.

Commits come from the op log's stream. What the log does not carry (role changes,
presence, live insight) goes through `signals`, a small collection whose documents expire
after a minute: an instance inserts one, and every other instance's stream hands it on
to that board's room, if open there, within one poll.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from schemas.auth import Role
from server.clock import now_ms
from server.metrics import FANOUT_LAG, STREAM_LAG
from server.store.mongo import Store, StoreError
from server.sync.room import Rooms

log = logging.getLogger("journeyboard.sync")
T = TypeVar("T")


async def follow(
    name: str,
    watch: Callable[[], contextlib.AbstractAsyncContextManager[AsyncIterator[T]]],
    opened: Callable[[], Awaitable[None]],
    handle: Callable[[T], Awaitable[None]],
    max_wait: float = 5.0,
) -> None:
    """Hand every item of a change stream to `handle`, forever, reopening it when it breaks.

    `opened` runs after each (re)open, to fetch what the stream missed while it was down.
    Without streams (a standalone mongod has none), retries back off to `max_wait`.
    """
    wait = 0.5
    while True:
        try:
            async with watch() as items:
                await opened()
                wait = 0.5
                async for item in items:
                    await handle(item)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning("%s change stream unavailable (%s); retrying in %.1f s", name,
                        type(error).__name__, wait)  # fmt: skip
            await asyncio.sleep(wait)
            wait = min(max_wait, wait * 2)


async def follow_commits(store: Store, rooms: Rooms) -> None:
    """Feed every commit on the shared op log to the open room of its board.

    Each (re)open catches every open room up, so a commit made while the stream was down
    is fetched from the log rather than lost.
    """

    async def deliver(change: tuple[str, list[Any]]) -> None:
        board_id, entries = change
        STREAM_LAG.observe(max(0, now_ms() - entries[-1].at) / 1000)
        await rooms.remote(board_id, entries)
        FANOUT_LAG.observe(max(0, now_ms() - entries[-1].at) / 1000)

    await follow("op-log", store.watch_ops, rooms.catch_up_all, deliver)


class Signals:
    """Role changes and messages for a board's sockets on every other instance."""

    def __init__(self, store: Store, rooms: Rooms) -> None:
        self.store = store
        self.rooms = rooms
        self._sending: set[asyncio.Task[None]] = set()

    def role_changed(self, board_id: str, user: str, role: Role | None) -> None:
        """Apply a membership change to the user's sockets here at once, and everywhere else."""
        self.rooms.role_changed(board_id, user, role)
        self._send({"kind": "role", "board": board_id, "user": user, "role": role})

    def share(self, board_id: str, text: str) -> None:
        """Send an encoded message to this board's sockets on the other instances."""
        self._send({"kind": "message", "board": board_id, "text": text})

    def _send(self, doc: dict[str, Any]) -> None:
        task = asyncio.create_task(self._insert(doc))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _insert(self, doc: dict[str, Any]) -> None:
        try:
            await self.store.send_signal(doc)
        except StoreError as error:  # ephemeral: the next heartbeat re-reads roles anyway
            log.warning("signal %s not sent (%s)", doc["kind"], type(error).__name__)

    async def follow(self) -> None:
        await follow("signals", self.store.watch_signals, _nothing, self._receive)

    async def _receive(self, doc: dict[str, Any]) -> None:
        room = self.rooms.get(doc["board"])
        if room is None:
            return
        if doc["kind"] == "role":
            room.apply_roles({doc["user"]: doc["role"]})
        elif doc["kind"] == "message":
            room.broadcast(doc["text"])


async def _nothing() -> None:
    """Signals are ephemeral: what was missed while the stream was down is not fetched."""
