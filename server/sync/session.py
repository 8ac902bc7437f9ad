"""One connected client's asyncio side: its outbox, writer and timers; no protocol rules live here.

The decisions are the pure Connection's (server/sync/connection.py); the session feeds it
frames, outcomes and the time, and carries out the actions it returns. It talks to its
transport through a small Channel protocol, so the same code serves any websocket server;
server/ws.py adapts Starlette's.
"""

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Protocol

from schemas.auth import Role
from schemas.errors import CloseCode
from schemas.messages import Presence, ServerMessage
from schemas.ops import BoardOp
from server.settings import Settings
from server.store.mongo import StoreError
from server.sync.connection import Action, Close, Connection, Send, Share, Submit, Wake, encode
from server.sync.results import Committed, RetryCheck

log = logging.getLogger("journeyboard.sync")


class Channel(Protocol):
    """What a session needs from a websocket."""

    async def send(self, text: str) -> None:
        """Send a text frame once the transport takes it; OSError once the client is gone."""
        ...

    def send_now(self, text: str) -> bool:
        """Send without waiting if the transport can take it now; False: use `send`."""
        ...

    async def close(self, code: int, reason: str) -> None: ...

    def abort(self) -> None:
        """Drop the connection now, unsent data and all: for a client that takes nothing."""
        ...


# Submit ops: (ops, user, client_id, client_op_id, role, retry check, via) -> the outcome.
SubmitOps = Callable[
    [Sequence[BoardOp], str, str, int, Role, RetryCheck, str], "asyncio.Future[Committed]"
]


class Board(Protocol):
    """What a session needs of its room (server/sync/room.py), which it does not import."""

    @property
    def submit(self) -> SubmitOps: ...

    def share(self, text: str, skip: "Session | None" = None) -> None: ...


class Session:
    """A client on a board: it queues what the room broadcasts and answers what the client sends."""

    __slots__ = (  # no per-instance dict: every idle connection holds a session
        "_catch_up",
        "_outbox",
        "_stopped",
        "_timer",
        "_writer",
        "admin",
        "channel",
        "connection",
        "on_over",
        "over",
        "role",
        "room",
    )

    def __init__(
        self,
        channel: Channel,
        room: Board,
        user: str,
        role: Role,
        client_id: str,
        settings: Settings,
        admin: bool = False,
    ) -> None:
        self.channel = channel
        self.room = room
        self.role = role
        self.admin = admin  # admins act as owners without being members
        self.connection = Connection(user, client_id, settings, time.monotonic())
        self.over = False  # nothing more will be sent: the close frame is out, or it never will be
        self.on_over: Callable[[], object] | None = None  # how the reader (server/ws.py) hears it
        self._outbox: list[str] = []  # not a deque: an empty one already holds a 64-slot block
        self._catch_up: AsyncGenerator[str, None] | None = None
        self._writer: asyncio.Task[None] | None = None  # only while there is something to send
        self._timer: asyncio.TimerHandle | None = None
        self._stopped = False

    @property
    def user(self) -> str:
        return self.connection.user

    @property
    def client_id(self) -> str:
        return self.connection.client_id

    @property
    def presence(self) -> Presence | None:
        return self.connection.presence

    @property
    def closing(self) -> tuple[int, str] | None:
        return self.connection.closing

    @property
    def last_heard(self) -> float:
        return self.connection.last_heard

    def send(self, text: str) -> None:
        """Queue an encoded message; a client too far behind is dropped, never buffered."""
        self._do(self.connection.send(text))

    def start(self, catch_up: AsyncGenerator[str, None]) -> None:
        """What to send before anything queued: welcome and catch-up, pulled as the socket
        drains, so only live traffic counts against the slow-consumer limit."""
        self._catch_up = catch_up
        self._wake_writer()

    def send_message(self, message: ServerMessage) -> None:
        self.send(encode(message).decode())

    def close_soon(self, code: int, reason: str) -> None:
        """Close after nothing more is sent; the writer does it."""
        self._do(self.connection.close(code, reason))

    def beat(self, now: float) -> None:
        """Ping the client; close it if it has said nothing for interval + timeout."""
        self._do(self.connection.beat(now))

    def receive(self, text: str) -> None:
        """Handle one frame from the client."""
        self._do(self.connection.receive(text, time.monotonic()))

    async def stop(self) -> None:
        """The socket is gone: carry out nothing more (outcomes still on their way included),
        and wait for a writer still running to be cancelled."""
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
        writer = self._writer
        if writer is not None:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)

    def _do(self, actions: list[Action]) -> None:
        """Carry out what the connection decided, in order."""
        if self._stopped or self.over:  # over: nothing more can be sent, the reader is stopping
            return
        for action in actions:
            match action:
                case Send(text=text):
                    # No writer running: no catch-up or queued message is ahead of this one.
                    if self._writer is None and self.channel.send_now(text):
                        self.connection.sent(text)
                    else:
                        self._outbox.append(text)
                        self._wake_writer()
                case Submit(ops=ops, client_op_id=client_op_id):
                    self._submit(ops, client_op_id)
                case Share(text=text):
                    self.room.share(text, skip=self)
                case Close():
                    self._outbox.clear()
                    self._wake_writer()
                    # A client that reads nothing cannot take our close frame: give up after 2 s.
                    asyncio.get_running_loop().call_later(2, self._abandon)
                case Wake(at=at):
                    self._wake_at(at)

    def _submit(self, ops: Sequence[BoardOp], client_op_id: int) -> None:
        user, client_id = self.connection.user, self.connection.client_id
        future = self.room.submit(ops, user, client_id, client_op_id, self.role, "session", "ws")
        future.add_done_callback(functools.partial(self._answered, client_op_id))

    def _answered(self, client_op_id: int, future: "asyncio.Future[Committed]") -> None:
        if not future.cancelled():
            outcome = future.exception() or future.result()
            self._do(self.connection.answer(client_op_id, outcome))

    def _wake_at(self, at: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        delay = max(0.0, at - time.monotonic())
        self._timer = asyncio.get_running_loop().call_later(delay, self._woken)

    def _woken(self) -> None:
        self._timer = None
        self._do(self.connection.wake(time.monotonic()))

    def _wake_writer(self) -> None:
        """Start a writer unless one is running: it runs only while there is something to send,
        so an idle connection holds no task."""
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write())

    def _abandon(self) -> None:
        """Two seconds into closing: a client that has not taken the close frame is given up,
        and its connection dropped, since closing it would wait for it to read."""
        if self._writer is not None:
            self._writer.cancel()
            self.channel.abort()
        self._end()

    def _end(self) -> None:
        """Nothing more will be sent, so nothing more is read either."""
        if self.over or self._stopped:
            return
        self.over = True
        if self.on_over is not None:
            self.on_over()

    async def _write(self) -> None:
        """Send the catch-up and what is queued, in order, and return once all is out; or, once
        closing, send the close frame and end the session, as when sending fails."""
        try:
            await self._send_catch_up()
            await self._send_queued()
            if self.closing is None:
                return
            await self.channel.close(*self.closing)
        except OSError:
            pass  # the client is gone
        except Exception:
            log.exception("sending to %s failed; its session ends", self.client_id)
        finally:
            self._writer = None
        self._end()

    async def _send_queued(self) -> None:
        while self._outbox and self.closing is None:
            taken, self._outbox = self._outbox, []
            for text in taken:
                if self.closing is not None:
                    return
                self.connection.sent(text)
                await self.channel.send(text)

    async def _send_catch_up(self) -> None:
        if self._catch_up is None:
            return
        catch_up, self._catch_up = self._catch_up, None
        try:
            async with contextlib.aclosing(catch_up):
                async for text in catch_up:
                    if self.closing is not None:
                        return
                    await self.channel.send(text)
        except StoreError:
            self.close_soon(CloseCode.TRY_AGAIN, "the database is unavailable; reconnect later")
